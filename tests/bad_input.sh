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
new_case() {
	case_dir="$tmp/case$cases"
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
	sh -c '"$0" compare "$1" --policy pin,odp -j 1 --json >/dev/full' "$ODPSIM" "$OK"
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
	sh -c 'ulimit -f 40; trap "" XFSZ; exec "$0" run "$1" -q --out o --trace o/t.csv --duration 1ms' "$ODPSIM" "$OK"
[ "$(cat "$case_dir/o/summary.json")" = old ] && ok || no "an existing output changed by a failed run"
new_case
bad 1 "cannot write: File too large" "a write error in a pcap" -- \
	sh -c 'ulimit -f 8; trap "" XFSZ; exec "$0" run "$1" -q --pcap p --duration 1ms' "$ODPSIM" "$OK"
new_case
bad 1 "cannot write snapshot: File too large" "a write error in a snapshot" -- \
	sh -c 'ulimit -f 8; trap "" XFSZ; exec "$0" run "$1" -q --snapshot-at 50us --snapshot s' "$ODPSIM" "$W/write_bw.ini"

echo "bad_input.sh: $cases cases; $pass passed, $fail failed"
[ "$fail" = 0 ]
