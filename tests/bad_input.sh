#!/bin/bash
# tests/bad_input.sh - the bad-input matrix: malformed scenarios, command
# lines and output paths, each asserted for the documented exit status, a
# one-line message (naming file:line:key where one applies), no signal,
# no hang (a timeout), and nothing left behind: every case runs in an
# empty directory that must hold only its inputs afterwards (no output
# file, no temporary, no directory made).  Run by `make check` with
# ODPSIM set to the binary.
set -u
ODPSIM=$(realpath "${ODPSIM:-build/odpsim}")
SRC=$(realpath "$(dirname "$0")/..")
W=$SRC/workloads
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
pass=0
fail=0
cases=0
ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "bad_input.sh: FAIL: $*"; }
TIMEOUT=${BAD_INPUT_TIMEOUT:-60}

# A fresh case directory; inputs are made in it before `bad` runs.
ndirs=0
new_case() {
	ndirs=$((ndirs + 1))
	case_dir="$tmp/case$ndirs"
	mkdir "$case_dir"
}

# listing of the case directory (what must not change)
listing() { (cd "$case_dir" && find . -mindepth 1 | LC_ALL=C sort); }

# bad STATUS PATTERN DESCRIPTION -- command...
# Runs the command in the case directory (made by new_case), stdin from
# /dev/null, under a timeout; asserts the exit status, a one-line message
# on stderr matching PATTERN (grep -E), no new file or directory.
bad() {
	local want=$1 pat=$2 what=$3
	shift 4
	cases=$((cases + 1))
	local before after got
	before=$(listing)
	(cd "$case_dir" && timeout -k 5 "$TIMEOUT" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null)
	got=$?
	after=$(listing)
	if [ "$got" = 124 ] || [ "$got" = 137 ]; then
		no "$what: hung (timeout ${TIMEOUT}s)"
	elif [ "$got" -ge 128 ]; then
		no "$what: killed by signal $((got - 128))"
		sed 's/^/    /' "$tmp/err" | tail -3
	elif [ "$got" != "$want" ]; then
		no "$what: exit $got, expected $want"
		sed 's/^/    /' "$tmp/err" | head -3
	elif [ "$(grep -c . "$tmp/err")" != 1 ]; then
		no "$what: message is not one line"
		sed 's/^/    /' "$tmp/err" | head -5
	elif ! grep -Eq -- "$pat" "$tmp/err"; then
		no "$what: message lacks /$pat/"
		sed 's/^/    /' "$tmp/err" | head -3
	elif [ "$before" != "$after" ]; then
		no "$what: left files behind: $(diff <(echo "$before") <(echo "$after") | grep '^>' | head -3 | tr '\n' ' ')"
	else
		ok
	fi
}

# a scenario that runs in a few milliseconds of wall time
cat >"$tmp/ok.ini" <<'INI'
[sim]
duration = 100us

[host a]
memory = 64MiB

[host b]
memory = 64MiB

[link ab]
ends = a b

[workload bw]
type = write_bw
client = a
server = b
msg_size = 4KiB
INI
OK=$tmp/ok.ini
# run_ok ARGS: odpsim run ok.ini -q ARGS (a script, so timeout can run it)
printf '#!/bin/sh\nexec "%s" run "%s" -q "$@"\n' "$ODPSIM" "$OK" >"$tmp/run_ok"
chmod +x "$tmp/run_ok"
run_ok=$tmp/run_ok

# ---- output paths (row 2 and row 7 of issue 17) ----

# Device targets.  As root a broken binary would replace the node with a
# regular file (the defect this checks), so root runs it on nodes made
# here, never on the system's /dev/full and /dev/null.
for dev in full:7 null:3; do
	new_case
	name=${dev%%:*}
	if [ "$(id -u)" = 0 ]; then
		mknod "$case_dir/$name" c 1 "${dev#*:}"
		d=$name
	else
		d=/dev/$name
	fi
	bad 1 "^odpsim: $d: refusing to write output: it is a character device" \
		"--trace $d" -- "$run_ok" --trace "$d"
	bad 1 "^odpsim: $d: refusing" "--timeline $d" -- "$run_ok" --timeline "$d"
	bad 1 "^odpsim: $d: refusing" "--snapshot $d --snapshot-host a" -- \
		"$run_ok" --snapshot-at 50us --snapshot "$d" --snapshot-host a
	(cd "$case_dir" && [ -c "$d" ]) && ok || no "$d is no longer a device"
done
new_case
bad 1 "standard output: cannot write: No space left on device" "run --json >/dev/full" -- \
	sh -c '"$0" run "$1" --json >/dev/full' "$ODPSIM" "$OK"
new_case
bad 1 "standard output: cannot write" "run (text) >/dev/full" -- \
	sh -c '"$0" run "$1" >/dev/full' "$ODPSIM" "$OK"
new_case
bad 1 "standard output: cannot write" "params >/dev/full" -- \
	sh -c '"$0" params >/dev/full' "$ODPSIM"
new_case
bad 1 "standard output: cannot write" "--help >/dev/full" -- \
	sh -c '"$0" --help >/dev/full' "$ODPSIM"
new_case
bad 1 "standard output: cannot write" "compare --json >/dev/full" -- \
	sh -c '"$0" compare "$1" --policy pin,suspend -j 1 --json >/dev/full' "$ODPSIM" "$OK"
new_case
echo keep >"$case_dir/target"
ln -s target "$case_dir/link"
bad 1 "^odpsim: link: refusing to write output: it is a symbolic link" "--trace to a symlink" -- \
	"$run_ok" --trace link
[ "$(cat "$case_dir/target")" = keep ] && [ -L "$case_dir/link" ] && ok || no "symlink target changed"
new_case
ln -s /nonexistent/x "$case_dir/dangling"
bad 1 "dangling: refusing .* symbolic link" "--timeline to a dangling symlink" -- \
	"$run_ok" --timeline dangling
new_case
mkfifo "$case_dir/fifo"
bad 1 "fifo: refusing .* a FIFO" "--trace to a FIFO" -- "$run_ok" --trace fifo
new_case
mkdir "$case_dir/d"
bad 1 "d: refusing .* a directory" "--trace to a directory" -- "$run_ok" --trace d
new_case
mkdir -p "$case_dir/o/summary.json"
bad 1 "summary.json: refusing .* a directory" "--out with summary.json a directory" -- \
	"$run_ok" --out o
new_case
echo x >"$case_dir/file"
bad 1 "file: cannot create output directory: it exists and is not a directory" \
	"--out names a file" -- "$run_ok" --out file
new_case
bad 1 "missing/t.csv: cannot create a file in missing: No such file or directory" \
	"--trace into a missing directory" -- "$run_ok" --trace missing/t.csv
new_case
bad 1 "/proc/odpsim-out: cannot create output directory" "--out in an unwritable place" -- \
	"$run_ok" --out /proc/odpsim-out
new_case
bad 1 "/proc/x.csv: cannot create a file in /proc" "--trace in an unwritable directory" -- \
	"$run_ok" --trace /proc/x.csv
new_case
bad 1 "two outputs of one run" "--trace and --timeline the same file" -- \
	"$run_ok" --trace t --timeline t
# a write error in the middle of the run (the file-size limit): exit 1,
# nothing of --out left, and an old file in place stays as it was
new_case
mkdir "$case_dir/o"
echo old >"$case_dir/o/summary.json"
bad 1 "t.csv: cannot write: File too large" "a write error mid-run" -- \
	sh -c 'ulimit -f 200; trap "" XFSZ; exec "$0" run "$1" -q --out o --trace o/t.csv --duration 1ms' "$ODPSIM" "$OK"
[ "$(cat "$case_dir/o/summary.json")" = old ] && ok || no "an existing output changed by a failed run"
new_case
bad 1 "cannot write: File too large" "a write error in a pcap" -- \
	sh -c 'ulimit -f 8; trap "" XFSZ; exec "$0" run "$1" -q --pcap p --duration 1ms' "$ODPSIM" "$OK"
new_case
bad 1 "cannot write snapshot: File too large" "a write error in a snapshot" -- \
	sh -c 'ulimit -f 8; trap "" XFSZ; exec "$0" run "$1" -q --snapshot-at 50us --snapshot s' "$ODPSIM" "$W/write_bw.ini"


# ---- scenario files: one line naming file:line and the key, exit 2 ----

# scen NAME TEXT: write the case's scenario file NAME (printf format)
scen() { new_case; printf "$2" >"$case_dir/$1"; }
HOSTS='[host a]\nmemory = 64MiB\n[host b]\nmemory = 64MiB\n[link ab]\nends = a b\n'
BW='[workload bw]\ntype = write_bw\nclient = a\nserver = b\n'
run() { "$ODPSIM" run -q "$@"; }
R=$tmp/run
printf '#!/bin/sh\nexec "%s" run -q "$@"\n' "$ODPSIM" >"$R"
chmod +x "$R"

scen s.ini "[sim]\nduration = 1ms\n$HOSTS[host c]\nmemroy = 8GiB\n"
bad 2 "s.ini:10: .*'memroy'.*did you mean 'memory'" "misspelt key" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n$HOSTS[hots c]\n"
bad 2 "s.ini:9: .*hots" "unknown section type" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n[host a]\nmemory = 8Gbps\n"
bad 2 "s.ini:4: .*memory.*is a rate" "wrong kind of unit" -- "$R" s.ini
scen s.ini "[sim]\nduration = 10\n[host a]\n"
bad 2 "s.ini:2: .*duration.*no unit" "no unit" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1 fortnight\n[host a]\n"
bad 2 "s.ini:2: .*duration.*unknown unit" "unknown unit" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n[host a]\nmemory = -1GiB\n"
bad 2 "s.ini:4: .*memory" "negative size" -- "$R" s.ini
scen s.ini "[sim]\nduration = 0s\n[host a]\n"
bad 2 "s.ini:2: .*duration" "zero duration" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n[host a]\nmemory = 2048TiB\n"
bad 2 "s.ini:4: .*memory" "memory above the range" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n[host a]\nmemory = 512KiB\n"
bad 2 "s.ini:4: .*memory" "memory below the range" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n[host a]\ncpus = 99999999999999999999999\n"
bad 2 "s.ini:4: .*cpus" "huge count" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n[host a]\ncpus = 0\n"
bad 2 "s.ini:4: .*cpus" "zero cpus" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1e30s\n[host a]\n"
bad 2 "s.ini:2: .*duration" "duration past 213 days" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n[host a]\nmemory = 1GiB x\n"
bad 2 "s.ini:4: .*memory" "trailing garbage in a value" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n[host a]\ncpu_freq = 2.5GB\n"
bad 2 "s.ini:4: .*cpu_freq.*is a size" "a size for a frequency" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n$HOSTS[link ab]\nrate = 0bps\n"
bad 2 "s.ini:[0-9]+: .*section \[link ab\] appears twice" "duplicate section" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\nduration = 2ms\n[host a]\n"
bad 2 "s.ini:3: .*'duration' is set twice \(first at line 2\)" "duplicate key" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n[host a]\n[link ab]\nends = a zz\n"
bad 2 "s.ini:5: \[link ab\] ends: no host or switch named 'zz'" "dangling link end" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n[host a]\n[link ab]\nends = a\n"
bad 2 "s.ini:5: .*ends" "link with one end" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n$HOSTS[host c]\n[link ac]\nends = a c\n"
bad 2 "s.ini:11: .*host a already has a link" "two links on one NIC" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n$HOSTS[switch a]\n"
bad 2 "s.ini:9: \[switch a\]: a host has that name" "switch named like a host" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n$HOSTS[workload bw]\ntype = write_bw\nclient = zz\nserver = b\n"
bad 2 "s.ini:11: \[workload bw\] client: no host named .zz." "dangling workload host" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n$HOSTS[workload bw]\ntype = write_bw\nclient = a\n"
bad 2 "s.ini:[0-9]+: .*server" "missing required key" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n$HOSTS[workload bw]\ntype = write_bww\nclient = a\nserver = b\n"
bad 2 "s.ini:10: .*write_bww.*did you mean 'write_bw'" "unknown workload type" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n$HOSTS[workload bw]\nclient = a\nserver = b\n"
bad 2 "s.ini:[0-9]+: .*type" "workload without a type" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n$HOSTS[workload bw]\ntype = write_bw\nclient = a\nserver = a\n"
bad 2 "s.ini:12: .*server.*loopback" "client and server the same host" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n$HOSTS${BW}mtu = 3KiB\n"
bad 2 "s.ini:13: \[workload bw\] mtu: 3072 bytes is not an IBA path MTU" "mtu = 3KiB (row 4)" -- "$R" s.ini --out o
scen s.ini "[sim]\nduration = 1ms\n$HOSTS${BW}mtu = 1000B\n"
bad 2 "s.ini:13: \[workload bw\] mtu: 1000 bytes is not an IBA path MTU" "mtu = 1000B (row 4)" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n$HOSTS${BW}"
bad 2 "--set workload.bw.mtu=3KiB.*\[workload bw\] mtu: 3072 bytes" "--set mtu=3KiB (row 4)" -- "$R" s.ini --set workload.bw.mtu=3KiB --out o
scen s.ini "[sim]\nduration = 1ms\n$HOSTS${BW}mtu = 8KiB\n"
bad 2 "s.ini:13: .*mtu: 8KiB is out of range" "mtu above 4KiB" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n$HOSTS${BW}implicit_odp = maybe\n"
bad 2 "s.ini:13: .*implicit_odp" "a bool that is not" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\npolicy = pinned\n$HOSTS"
bad 2 "s.ini:3: .*policy.*pinned" "unknown policy in the file" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n$HOSTS${BW}server_policy = odp-prefech\n"
bad 2 "s.ini:13: \[workload bw\] server_policy: 'odp-prefech' is not one of" "unknown server_policy" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n$HOSTS[workload s]\ntype = send_bw\nclient = a\nserver = b\nrx_depth = 5000\n"
bad 2 "s.ini:13: \[workload s\] rx_depth: 5000 is out of range" "rx_depth above the receive queue" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n$HOSTS${BW}rnr_retry = 8\n"
bad 2 "s.ini:13: .*rnr_retry" "rnr_retry out of the IBA range" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n$HOSTS[nic zz]\nmtt_cache_ways = 4\n"
bad 2 "s.ini:9: \[nic zz\] names host .zz." "per-host section of no host" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n$HOSTS[nic]\nmtt_cache_ways = 3\n"
bad 2 "s.ini:10: \[nic\] mtt_cache_ways" "impossible cache geometry" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n$HOSTS[iommu b]\nmode = translate\niotlb_ways = 3\n"
bad 2 "s.ini:11: \[iommu b\] iotlb_ways" "impossible IOTLB geometry" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n$HOSTS[iommu]\nmode = translate\nodp_faults = pri\n"
bad 2 "s.ini:11: \[iommu\] odp_faults: .*needs .*ats = true" "PRI without ATS" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n$HOSTS[migration]\nmigrate = a => b at 1ms\n"
bad 2 "s.ini:10: \[migration\] migrate" "bad migration syntax" -- "$R" s.ini
scen s.ini "duration = 1ms\n[sim]\n[host a]\n"
bad 2 "s.ini:1: key outside any section" "key before any section" -- "$R" s.ini
scen s.ini "[sim\nduration = 1ms\n"
bad 2 "s.ini:1: malformed section header" "malformed section header" -- "$R" s.ini
scen s.ini "[sim]\nduration 1ms\n[host a]\n"
bad 2 "s.ini:2: 'duration 1ms' is not 'key = value'" "a line without =" -- "$R" s.ini
scen s.ini "[host  a]\n"
bad 2 "s.ini:1: section name" "two spaces in a section name" -- "$R" s.ini

# empty scenarios and scenarios without hosts (row 9): nothing would run
scen s.ini ""
bad 2 "s.ini: no \[host NAME\] section.*is the file empty" "an empty scenario (row 9)" -- "$R" s.ini --out o
scen s.ini "# only a comment\n\n"
bad 2 "s.ini: no \[host NAME\] section" "a scenario of comments (row 9)" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n"
bad 2 "s.ini: no \[host NAME\] section" "a scenario with no host (row 9)" -- "$R" s.ini --out o
scen s.ini "[sim]\nduration = 1ms\n"
bad 2 "s.ini: no \[host NAME\] section" "compare of a scenario with no host" -- \
	"$ODPSIM" compare s.ini --out o

# bytes that are not scenario text (row 6 and the like)
scen s.ini "[sim]\nduration = 1ms\n[host a]\n\0[host b]\nmemory = 1 parsec\n"
bad 2 "s.ini:4: a NUL byte at column 1" "a NUL byte (row 6)" -- "$R" s.ini --out o
scen s.ini "[sim]\nduration = 1ms # caf\351\n[host a]\n"
bad 2 "s.ini:2: invalid UTF-8" "Latin-1 text" -- "$R" s.ini
scen s.ini "\377\376[\0s\0i\0m\0]\0\n\0"
bad 2 "s.ini:1: " "a UTF-16 file (its byte order mark)" -- "$R" s.ini
new_case
head -c 4096 /dev/urandom >"$case_dir/s.ini" 2>/dev/null
printf '\0' >>"$case_dir/s.ini"
bad 2 "s.ini:[0-9]+: " "random bytes" -- "$R" s.ini
new_case
cp "${ELF_FIXTURE:-$SRC/build/fixtures/elf_fixture}" "$case_dir/s.ini" 2>/dev/null ||
	cp "$ODPSIM" "$case_dir/s.ini"
bad 2 "s.ini:1: " "a binary given as the scenario" -- "$R" s.ini

# a UTF-8 byte order mark and CRLF line ends are text an editor writes: accepted
new_case
printf '\357\273\277[sim]\r\nduration = 10us\r\n[host a]\r\nmemory = 64MiB\r\n' >"$case_dir/s.ini"
(cd "$case_dir" && "$ODPSIM" run -q s.ini) 2>"$tmp/err" && ok || no "a BOM and CRLF line ends: $(head -1 "$tmp/err")"

# ---- the scenario path itself (row 10): exit 1, one line, no hang ----

new_case
mkfifo "$case_dir/s.ini"
bad 1 "s.ini: cannot read: it is a FIFO" "a FIFO as the scenario (row 10)" -- "$R" s.ini
new_case
mkfifo "$case_dir/s.ini"
bad 1 "s.ini: cannot read: it is a FIFO" "compare of a FIFO (row 10)" -- "$ODPSIM" compare s.ini
new_case
mkdir "$case_dir/s.ini"
bad 1 "s.ini: cannot read: it is a directory" "a directory as the scenario" -- "$R" s.ini
new_case
bad 1 "/dev/zero: cannot read: it is a device" "a device as the scenario" -- "$R" /dev/zero
new_case
bad 1 "nope.ini: cannot read" "a missing scenario" -- "$R" nope.ini
new_case
ln -s nowhere "$case_dir/s.ini"
bad 1 "s.ini: cannot read" "a dangling symlink as the scenario" -- "$R" s.ini
if [ "$(id -u)" != 0 ]; then
	scen s.ini "[sim]\n[host a]\n"
	chmod 000 "$case_dir/s.ini"
	bad 1 "s.ini: cannot read: .*Permission denied" "an unreadable scenario" -- "$R" s.ini
else
	echo "bad_input.sh: SKIP unreadable-scenario case (root reads any file)"
fi

# ---- ELF images (rows 3 and 8): exit 2, the key and the file named ----

FIX=${ELF_FIXTURE:-$SRC/build/fixtures/elf_fixture}
# elfcase EDIT: the fixture with one edit, as img in a new case directory
elfcase() {
	new_case
	/usr/bin/python3 - "$FIX" "$case_dir/img" "$1" <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], 'rb').read())
phoff, = struct.unpack_from('<Q', d, 32)
phsz, phn = struct.unpack_from('<HH', d, 54)
loads = [phoff + i * phsz for i in range(phn)
         if struct.unpack_from('<I', d, phoff + i * phsz)[0] == 1]
e = sys.argv[3]
if e == 'memsz0':
    for o in loads:
        struct.pack_into('<QQ', d, o + 32, 0, 0)
elif e == 'vaddr-wraps':
    struct.pack_into('<Q', d, loads[0] + 16, 2**64 - 4096)
    struct.pack_into('<Q', d, loads[0] + 40, 8192)
elif e == 'offset-wraps':
    struct.pack_into('<Q', d, loads[0] + 8, 2**64 - 16)
    struct.pack_into('<Q', d, loads[0] + 32, 32)
elif e == 'phoff-wraps':
    struct.pack_into('<Q', d, 32, 2**64 - 32)
elif e == 'cut':
    d = d[:100]
open(sys.argv[2], 'wb').write(d)
PY
}
if [ -f "$FIX" ]; then
	IMG="[sim]\nduration = 1ms\n$HOSTS[vmm a]\nimage = img\n"
	for e in memsz0 vaddr-wraps offset-wraps phoff-wraps cut; do
		elfcase $e
		printf "$IMG" >"$case_dir/s.ini"
		bad 2 "s.ini:10: \[vmm a\] image: img: " "ELF image: $e (rows 3, 8)" -- "$R" s.ini --out o
	done
	elfcase memsz0
	printf "[sim]\nduration = 1ms\n$HOSTS[workload p]\ntype = pressure\nhost = a\nsize = 1MiB\nimage = img\n" >"$case_dir/s.ini"
	bad 2 "s.ini:13: \[workload p\] image: img: no PT_LOAD segment with memory" "pressure image with p_memsz 0 (row 3)" -- "$R" s.ini
else
	no "ELF fixture $FIX missing (make builds it)"
fi
scen s.ini "[sim]\nduration = 1ms\n$HOSTS[vmm a]\nimage = none\n"
bad 2 "s.ini:10: \[vmm a\] image: none: cannot open" "a missing ELF image" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n$HOSTS[vmm a]\nimage = s.ini\n"
bad 2 "s.ini:10: \[vmm a\] image: s.ini: not an ELF file" "a text file as the ELF image" -- "$R" s.ini
scen s.ini "[sim]\nduration = 1ms\n$HOSTS[vmm a]\nimage = fifo\n"
mkfifo "$case_dir/fifo"
bad 2 "s.ini:10: \[vmm a\] image: fifo: an ELF image must be a regular file" "a FIFO as the ELF image" -- "$R" s.ini

# ---- command lines: exit 2, one line ----

new_case
bad 2 "missing SCENARIO" "run without a scenario" -- "$ODPSIM" run
bad 2 "more than one SCENARIO" "run with two scenarios" -- "$ODPSIM" run "$OK" "$OK"
bad 2 "unknown command 'frobnicate'" "an unknown command" -- "$ODPSIM" frobnicate
bad 2 "Unknown option --frob" "an unknown option" -- "$ODPSIM" run "$OK" --frob
bad 2 "--set nosuch: expected TYPE" "--set without =" -- "$run_ok" --set nosuch
bad 2 "--set .*hots" "--set of an unknown section" -- "$run_ok" --set hots.a.memory=1GiB
bad 2 "--set host.a.memory=8Gbps.*is a rate" "--set with a wrong unit" -- "$run_ok" --set host.a.memory=8Gbps
bad 2 "--set .*memroy.*did you mean 'memory'" "--set of a misspelt key" -- "$run_ok" --set host.a.memroy=1GiB
bad 2 "--duration 5 weeks" "--duration with an unknown unit" -- "$run_ok" --duration '5 weeks'
bad 2 "--duration 0s" "--duration 0" -- "$run_ok" --duration 0s
bad 2 "--seed must be >= 0" "a negative seed" -- "$run_ok" --seed -3
bad 2 "--seed" "a seed that is no number" -- "$run_ok" --seed lots
bad 2 "--policy pinn.*did you mean 'pin'" "an unknown policy" -- "$run_ok" --policy pinn
bad 2 "--migration.*names no migration" "--migration without a migration" -- "$run_ok" --migration pre-copy
bad 2 "--trace-to 1us is not after --trace-from 2us" "an empty trace window" -- "$run_ok" --trace t --trace-from 2us --trace-to 1us
bad 2 "--trace-cap 0B: a cap must be above 0" "a zero trace cap" -- "$run_ok" --trace t --trace-cap 0B
bad 2 "--trace-cap 10: .10. has no unit" "a trace cap without a unit" -- "$run_ok" --trace t --trace-cap 10
bad 2 "filter a --trace or --timeline" "trace filters without a trace" -- "$run_ok" --trace-kinds x
bad 2 "--snapshot FILE and --snapshot-at T go together" "--snapshot without --snapshot-at" -- "$run_ok" --snapshot s
bad 2 "--snapshot-at .* is not before the end" "--snapshot-at past the end" -- "$run_ok" --snapshot s --snapshot-at 1s
bad 2 "--snapshot-host: no host named 'zz'" "--snapshot-host of no host" -- "$run_ok" --snapshot s --snapshot-at 10us --snapshot-host zz
bad 2 "run --restore takes no SCENARIO" "--restore with a scenario" -- "$ODPSIM" run --restore x "$OK"
bad 2 "run --restore takes no SCENARIO, --policy" "--restore with --policy" -- "$ODPSIM" run --restore x --policy pin
bad 2 "two axes" "compare --policy and --migration" -- "$ODPSIM" compare "$OK" --policy pin --migration pre-copy
bad 2 "--jobs must be >= 1" "compare -j 0" -- "$ODPSIM" compare "$OK" -j 0
bad 2 "policy 'pin' given twice" "compare of one policy twice" -- "$ODPSIM" compare "$OK" --policy pin,pin
bad 2 "unknown policy 'pinn'" "compare of an unknown policy" -- "$ODPSIM" compare "$OK" --policy pin,pinn
bad 2 "no component 'hots'.*did you mean 'host'" "params of no component" -- "$ODPSIM" params hots
bad 2 "snapshot-info: one SNAPSHOT file" "snapshot-info without a file" -- "$ODPSIM" snapshot-info

# ---- snapshot files given to snapshot-info and --restore ----

new_case
printf '[sim]\n' >"$case_dir/s.core"
bad 2 "s.core: not an ELF file" "snapshot-info of a text file" -- "$ODPSIM" snapshot-info s.core
bad 2 "s.core: not an ELF file" "--restore of a text file" -- "$ODPSIM" run --restore s.core
new_case
head -c 200 "$ODPSIM" >"$case_dir/s.core"
bad 2 "s.core: " "snapshot-info of a cut ELF file" -- "$ODPSIM" snapshot-info s.core
new_case
mkfifo "$case_dir/s.core"
bad 1 "s.core: cannot open snapshot: not a regular file" "snapshot-info of a FIFO" -- "$ODPSIM" snapshot-info s.core
new_case
mkdir "$case_dir/s.core"
bad 1 "s.core: cannot open snapshot: it is a directory" "--restore of a directory" -- "$ODPSIM" run --restore s.core
new_case
bad 1 "none.core: cannot open snapshot" "--restore of a missing file" -- "$ODPSIM" run --restore none.core
new_case
cp "$ODPSIM" "$case_dir/s.core"
bad 2 "s.core: an ELF file, but not an odpsim snapshot" "snapshot-info of a program" -- "$ODPSIM" snapshot-info s.core

# a snapshot whose one PT_LOAD (program header 1, at byte 120: p_offset
# at 128, p_vaddr at 136, p_filesz at 152) is edited: wraps, overlaps the
# headers, exceeds the file
"$run_ok" --snapshot-at 50us --snapshot "$tmp/snap.core" --snapshot-host b
# put8 FILE OFFSET OCTAL-BYTES: overwrite 8 bytes in place
put8() { printf "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
new_case
cp "$tmp/snap.core" "$case_dir/s.core"
put8 "$case_dir/s.core" 136 '\0\360\377\377\377\377\377\377'
bad 2 "s.core: segment 0 .* wraps past the end of the address space" "snapshot-info of a wrapping segment" -- "$ODPSIM" snapshot-info s.core
bad 2 "s.core: segment 0 .* wraps" "--restore of a wrapping segment" -- "$ODPSIM" run --restore s.core
new_case
cp "$tmp/snap.core" "$case_dir/s.core"
put8 "$case_dir/s.core" 128 '\0\0\0\0\0\0\0\0'
bad 2 "s.core: the bytes of program header 1 .* overlap the ELF headers" "snapshot-info of a segment over the headers" -- "$ODPSIM" snapshot-info s.core
new_case
cp "$tmp/snap.core" "$case_dir/s.core"
put8 "$case_dir/s.core" 152 '\0\0\0\0\0\0\1\0'
bad 2 "s.core: truncated snapshot \(program header 1" "snapshot-info of a segment past the file" -- "$ODPSIM" snapshot-info s.core
rm -f "$tmp/snap.core"

# a compare output directory that cannot be one
new_case
echo x >"$case_dir/o"
bad 1 "o: cannot create output directory: it exists and is not a directory" "compare --out names a file" -- \
	"$ODPSIM" compare "$OK" --policy pin --out o


# ---- rows 5 and 11 of issue 17, now handled by tracks 16 and 15 ----

# row 5: a 16 TiB host (the range goes to 64 TiB) runs, in little memory
# (frames are made on first use), where it once hit an assertion
new_case
printf "[sim]\nduration = 1ms\n[host a]\nmemory = 16TiB\n[host b]\nmemory = 64MiB\n[link ab]\nends = a b\n${BW}msg_size = 4KiB\n" >"$case_dir/s.ini"
(cd "$case_dir" && /usr/bin/time -f %M -o rss timeout "$TIMEOUT" "$R" s.ini) 2>"$tmp/err"
got=$?
rss=$(cat "$case_dir/rss" 2>/dev/null || echo 0)
rm -f "$case_dir/rss"
if [ "$got" = 0 ] && [ "${rss:-0}" -lt 524288 ]; then ok; else
	no "a 16 TiB host (row 5): exit $got, ${rss} KiB resident"
	sed 's/^/    /' "$tmp/err" | head -3
fi
cases=$((cases + 1))
# row 11: a registration that runs out of memory says so on stderr
for pol in suspend pin; do
	new_case
	printf "[sim]\nduration = 50ms\n$HOSTS${BW}buffer = 256MiB\npopulate = false\npolicy = $pol\n" >"$case_dir/s.ini"
	(cd "$case_dir" && timeout "$TIMEOUT" "$R" s.ini) 2>"$tmp/err"
	got=$?
	cases=$((cases + 1))
	if [ "$got" -lt 128 ] && grep -q "workload bw (write_bw): registration of its .* MR on host .* ($pol, 256MiB) failed" "$tmp/err"; then ok; else
		no "a registration out of memory under $pol (row 11): exit $got, no message"
		sed 's/^/    /' "$tmp/err" | head -3
	fi
done

echo "bad_input.sh: $cases cases; $pass passed, $fail failed"
[ "$fail" = 0 ]
