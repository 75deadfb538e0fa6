#!/bin/bash
# tests/cli.sh - the odpsim command as a user meets it: exit statuses,
# help, one-line configuration errors, output files, progress line only on
# a terminal.  Run by `make check` with ODPSIM set to the binary.
set -u
ODPSIM=${ODPSIM:-build/odpsim}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "cli.sh: FAIL: $*"; }

# expect STATUS DESCRIPTION -- command...; output in $tmp/out, $tmp/err
expect() {
	local want=$1 what=$2
	shift 3
	"$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	local got=$?
	if [ "$got" = "$want" ]; then ok; else
		no "$what: exit $got, expected $want"
		sed 's/^/    /' "$tmp/err" | head -5
	fi
}
has() { # has FILE PATTERN DESCRIPTION
	if grep -q -- "$2" "$1"; then ok; else
		no "$3: '$2' not in $(basename "$1")"
		sed 's/^/    /' "$1" | head -5
	fi
}

cat >"$tmp/ok.ini" <<'INI'
[sim]
duration = 200us
seed = 3

[host a]
memory = 64MiB
INI
printf '[sim]\nduration = 1ms\n\n[host a]\nmemroy = 8GiB\n' >"$tmp/typo.ini"

expect 0 "--version" -- "$ODPSIM" --version
has "$tmp/out" "^odpsim [0-9]" "--version"
expect 0 "--help" -- "$ODPSIM" --help
has "$tmp/out" "run SCENARIO" "--help lists run"
has "$tmp/out" "params" "--help lists params"
expect 0 "run --help" -- "$ODPSIM" run --help
for o in --policy --seed --duration --set --json --out --trace --timeline -q; do
	has "$tmp/out" "$o[=, ]" "run --help lists $o"
done
expect 2 "no command" -- "$ODPSIM"
expect 2 "unknown command" -- "$ODPSIM" frobnicate
expect 2 "run without scenario" -- "$ODPSIM" run
expect 1 "missing scenario file" -- "$ODPSIM" run "$tmp/nope.ini"
has "$tmp/err" "nope.ini" "missing file is named"

expect 2 "misspelt key" -- "$ODPSIM" run "$tmp/typo.ini"
has "$tmp/err" "typo.ini:5:" "error names file and line"
has "$tmp/err" "'memroy'" "error names the key"
has "$tmp/err" "did you mean 'memory'?" "error suggests the key"
[ "$(wc -l <"$tmp/err")" = 1 ] && ok || no "configuration error is one line"
[ -s "$tmp/out" ] && no "nothing runs on a configuration error" || ok

expect 2 "bad --set" -- "$ODPSIM" run "$tmp/ok.ini" --set host.a.memory=8Gbps
has "$tmp/err" "is a rate" "wrong kind of unit"
expect 2 "bad --policy" -- "$ODPSIM" run "$tmp/ok.ini" --policy pinn
has "$tmp/err" "--policy pinn" "bad policy named"

expect 0 "run" -- "$ODPSIM" run "$tmp/ok.ini"
has "$tmp/out" "fingerprint" "summary shows the fingerprint"
has "$tmp/out" "oracle:" "summary shows the oracle"
[ -s "$tmp/err" ] && no "stderr stays empty when it is not a terminal" || ok
expect 0 "run --json" -- "$ODPSIM" run "$tmp/ok.ini" --json
[ "$(head -c1 "$tmp/out")" = "{" ] && ok || no "--json prints an object"
has "$tmp/out" '"fingerprint":' "--json has the fingerprint"
expect 0 "run -q --out" -- "$ODPSIM" run "$tmp/ok.ini" -q --out "$tmp/o"
[ -s "$tmp/out" ] && no "-q prints nothing" || ok
for f in summary.json config.ini series.csv; do
	[ -s "$tmp/o/$f" ] && ok || no "--out writes $f"
done
has "$tmp/o/config.ini" "duration = 200us" "effective config has file values"
has "$tmp/o/config.ini" "series_interval = 10us  # default" "effective config has defaults"

expect 0 "params" -- "$ODPSIM" params
has "$tmp/out" "duration" "params lists sim keys"
expect 0 "params host" -- "$ODPSIM" params host
has "$tmp/out" "memory" "params host lists memory"
expect 2 "params unknown" -- "$ODPSIM" params hots
has "$tmp/err" "did you mean 'host'?" "params suggests"

expect 0 "trace" -- "$ODPSIM" run "$tmp/ok.ini" -q --trace "$tmp/t.csv"
has "$tmp/t.csv" "^time_ps,nic_cycle,host,component,kind" "trace header"
expect 1 "unwritable trace" -- "$ODPSIM" run "$tmp/ok.ini" -q --trace /nonexistent/dir/t.csv
has "$tmp/err" "/nonexistent/dir/t.csv" "trace path named"

expect 0 "timeline" -- "$ODPSIM" run "$tmp/ok.ini" -q --timeline "$tmp/t.json"
has "$tmp/t.json" '"traceEvents":' "timeline is a trace-event file"
expect 1 "unwritable timeline" -- "$ODPSIM" run "$tmp/ok.ini" -q --timeline /nonexistent/dir/t.json
has "$tmp/err" "/nonexistent/dir/t.json" "timeline path named"
has "$tmp/o/latency.csv" "^workload,low_ps,high_ps,count$" "--out writes latency.csv"

# spans of a faulting ODP run (faults, stalls, RNR waits, invalidations)
# all pair up on the timeline
expect 0 "odp timeline" -- "$ODPSIM" run workloads/odp_write_bw.ini \
	--duration 30ms -q --timeline "$tmp/odp.json"
grep -q "without a BEGIN" "$tmp/err" && no "odp timeline: unpaired span ends: $(head -1 "$tmp/err")" || ok
has "$tmp/odp.json" '"name":"fault"' "odp timeline has fault spans"
has "$tmp/odp.json" '"name":"stall"' "odp timeline has stall spans"
has "$tmp/odp.json" '"name":"rnr_wait"' "odp timeline has rnr_wait spans"

# the trace's address-space column tells two processes' pages at one
# address apart; pandas, with the dtypes traces/README.md gives, keeps
# every integer column an exact integer
expect 0 "trace of two tenants" -- "$ODPSIM" run workloads/compaction.ini --duration 5ms -q --trace "$tmp/tc.csv"
has "$tmp/tc.csv" "^# odpsim trace schema 2$" "trace schema version 2"
has "$tmp/tc.csv" "^time_ps,nic_cycle,host,component,kind,qp,psn,as,va,frame,len,detail$" "trace header has as"
python3 - "$tmp/tc.csv" <<'PY' >"$tmp/chk" 2>&1 && ok || no "as column: $(tail -1 "$tmp/chk")"
import csv, sys
rows = list(csv.reader(l for l in open(sys.argv[1]) if not l.startswith("#")))
h = rows[0]
pages = {}
for r in rows[1:]:
    d = dict(zip(h, r))
    if d["kind"] == "vmm_fault" and d["host"] == "b":
        pages.setdefault(int(d["va"], 16) >> 12, set()).add(d["as"])
both = [p for p, a in pages.items() if a >= {"wl.bw", "wl.puts"}]
assert both, "no page address faulted in both address spaces"
print(len(both))
PY
if /usr/bin/python3 -c "import pandas" 2>/dev/null; then
	/usr/bin/python3 - "$tmp/tc.csv" <<'PY' >"$tmp/chk" 2>&1 && ok || no "pandas dtypes: $(tail -1 "$tmp/chk")"
import csv, sys
import pandas as pd
path = sys.argv[1]
t = pd.read_csv(path, skiprows=1, keep_default_na=False,
                dtype={"time_ps": "int64", "nic_cycle": "int64",
                       "qp": "Int64", "psn": "Int64", "frame": "Int64",
                       "len": "Int64", "host": "string",
                       "component": "string", "kind": "string",
                       "as": "string", "detail": "string"},
                na_values={c: [""] for c in ("qp", "psn", "frame", "len")},
                converters={"va": lambda s: int(s, 16) if s else pd.NA})
t["va"] = t["va"].astype("UInt64")
for c, want in (("time_ps", "int64"), ("nic_cycle", "int64"), ("qp", "Int64"),
                ("psn", "Int64"), ("frame", "Int64"), ("len", "Int64"),
                ("va", "UInt64")):
    assert str(t[c].dtype) == want, (c, t[c].dtype)
rows = list(csv.reader(l for l in open(path) if not l.startswith("#")))[1:]
assert len(rows) == len(t), (len(rows), len(t))
for i, r in enumerate(rows):
    assert int(r[0]) == t["time_ps"].iat[i]
    for j, c in ((5, "qp"), (6, "psn"), (9, "frame"), (10, "len")):
        v = t[c].iat[i]
        assert (r[j] == "" and v is pd.NA) or int(r[j]) == v, (i, c, r[j], v)
    v = t["va"].iat[i]
    assert (r[8] == "" and v is pd.NA) or int(r[8], 16) == v, (i, r[8], v)
print("ok")
PY
else
	echo "cli.sh: SKIP pandas read of the trace: /usr/bin/python3 has no pandas (apt-get install python3-pandas)"
fi

# the progress line appears on a terminal for a run over a second (write_bw
# for 4 s of simulated time takes about 3 s of wall time)
slow=${ODPSIM_SLOW_SCENARIO:-workloads/write_bw.ini --duration 4s}
if command -v script >/dev/null 2>&1; then
	script -qec "$ODPSIM run $slow -q" /dev/null </dev/null >"$tmp/tty" 2>&1
	has "$tmp/tty" "events/s" "progress line on a terminal"
	has "$tmp/tty" "ETA [0-9]*:[0-9][0-9]" "progress line has an ETA"
else
	echo "cli.sh: SKIP progress-on-terminal check (needs script(1))"
fi

# snapshots: write, inspect, restore; bad files and option mix-ups
expect 0 "--snapshot" -- "$ODPSIM" run workloads/write_bw.ini --duration 1ms \
	--snapshot-at 500us --snapshot "$tmp/s.core" --json
fp=$(grep -o '"fingerprint":"[0-9a-f]\{16\}"' "$tmp/out")
[ -n "$fp" ] && ok || no "--snapshot --json prints the fingerprint"
[ -s "$tmp/s.core.a" ] && [ -s "$tmp/s.core.b" ] && ok || no "--snapshot wrote FILE.HOST"
expect 0 "snapshot-info" -- "$ODPSIM" snapshot-info "$tmp/s.core.b"
has "$tmp/out" "^QP qpn=" "snapshot-info lists QPs"
has "$tmp/out" "^MR lkey=" "snapshot-info lists MRs"
expect 0 "--restore" -- "$ODPSIM" run --restore "$tmp/s.core.a" --json
has "$tmp/out" "$fp" "--restore ends with the uninterrupted fingerprint"
head -c 1000 "$tmp/s.core.b" >"$tmp/cut.core"
expect 2 "truncated snapshot" -- "$ODPSIM" snapshot-info "$tmp/cut.core"
has "$tmp/err" "cut.core: truncated" "truncated snapshot message names the file"
expect 2 "non-ELF snapshot" -- "$ODPSIM" run --restore "$tmp/ok.ini"
has "$tmp/err" "ok.ini: not an ELF file" "non-ELF message names the file"
python3 - "$tmp/s.core.b" "$tmp/bad.core" <<'PY' && ok || no "tamper a snapshot"
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
i = d.find(bytes.fromhex('01 00 44 4f'))  # NT_ODPSIM_MR, LE
d[i + 4 + 8 + 4 + 4] ^= 1                  # type, name, version, lkey: rkey
open(sys.argv[2], 'wb').write(d)
PY
expect 1 "--restore of a tampered snapshot" -- "$ODPSIM" run --restore "$tmp/bad.core"
has "$tmp/err" "bad.core: restore diverged from the snapshot at 0.000500 s: note .*: MR field rkey" "divergence names the record and field"
expect 1 "missing snapshot" -- "$ODPSIM" snapshot-info "$tmp/none.core"
expect 2 "--restore with SCENARIO" -- "$ODPSIM" run --restore "$tmp/s.core.a" workloads/write_bw.ini
expect 2 "--snapshot without --snapshot-at" -- "$ODPSIM" run workloads/write_bw.ini --snapshot "$tmp/x"
expect 2 "--snapshot-at past the end" -- "$ODPSIM" run workloads/write_bw.ini --duration 1ms --snapshot-at 2ms --snapshot "$tmp/x"
expect 1 "--snapshot into a missing directory" -- "$ODPSIM" run workloads/write_bw.ini --duration 1ms --snapshot-at 1us --snapshot "$tmp/nodir/x"
has "$tmp/err" "nodir/x.a: cannot create a file in" "unwritable snapshot path named"
expect 2 "--snapshot-host unknown" -- "$ODPSIM" run workloads/write_bw.ini --duration 1ms --snapshot-at 1us --snapshot "$tmp/x" --snapshot-host zz

# a negative seed is no seed (it once meant "the scenario's")
expect 2 "run --seed -1" -- "$ODPSIM" run -q --seed -1 "$tmp/ok.ini"
has "$tmp/err" "--seed must be >= 0" "negative seed explained"
expect 2 "compare --seed -1" -- "$ODPSIM" compare --seed -1 "$tmp/ok.ini"

# trace filters without a trace, and impossible windows
expect 2 "--trace-from without --trace" -- "$ODPSIM" run -q --trace-from 1ms workloads/write_bw.ini
has "$tmp/err" "give one" "trace filter without a trace explained"
expect 2 "--trace-to before --trace-from" -- "$ODPSIM" run -q --duration 1ms --trace "$tmp/t.csv" --trace-from 2ms --trace-to 1ms workloads/write_bw.ini
has "$tmp/err" "--trace-to 1ms is not after --trace-from 2ms" "empty trace window named"
expect 2 "--trace-cap 0" -- "$ODPSIM" run -q --duration 1ms --trace "$tmp/t.csv" --trace-cap 0B workloads/write_bw.ini

# a compaction daemon aimed at a process that does not exist
sed 's/^process = wl.bw$/process = wl.bwx/' workloads/compaction.ini >"$tmp/cproc.ini"
expect 2 "compaction process typo" -- "$ODPSIM" run -q "$tmp/cproc.ini"
has "$tmp/err" "cproc.ini:66: \[workload kcompactd\] process: 'wl.bwx' is no address space on host b" "process typo named with file and line"

# a run that ends while pinned registrations of 16384 pages are still in
# progress tears down cleanly (under SAN=1, LeakSanitizer checks it)
expect 0 "run ending during registration" -- "$ODPSIM" run -q --duration 300us --policy pin workloads/demo.ini
# ... and while a prefetch (odp-prefetch registration) is in progress
expect 0 "run ending during a prefetch" -- "$ODPSIM" run -q --duration 1ms --policy odp-prefetch workloads/odp_write_bw.ini

# live migration: a run, the compare axis, the mistakes
expect 0 "post-copy migration run" -- "$ODPSIM" run --migration post-copy --duration 25ms workloads/migrate_precopy.ini
has "$tmp/out" "^migration srv -> spare (post-copy, separate link) at 0.020000 s: DONE" "migration summary line"
has "$tmp/out" "remote faults" "remote faults reported"
has "$tmp/out" "oracle: 0 lost writes, 0 stale reads, 0 pages" "migration keeps the oracle clean"
expect 2 "unknown --migration" -- "$ODPSIM" run -q --migration pre-cpy workloads/migrate_precopy.ini
has "$tmp/err" "did you mean 'pre-copy'" "migration policy typo"
expect 2 "compare --policy with --migration" -- "$ODPSIM" compare --policy pin --migration pre-copy workloads/migrate_precopy.ini
has "$tmp/err" "two axes" "one compare axis at a time"
expect 2 "compare unknown --migration" -- "$ODPSIM" compare --migration stop-copy,postcopy workloads/migrate_precopy.ini
has "$tmp/err" "unknown migration policy 'postcopy' (did you mean 'post-copy'?)" "compare migration typo"
expect 0 "compare --migration" -- "$ODPSIM" compare -j 2 --duration 23ms --migration stop-copy,pre-copy workloads/migrate_precopy.ini
has "$tmp/out" "^  downtime ms" "compare migration group"
has "$tmp/out" "^  longest stall ms" "compare longest stall row"
sed 's/^migrate = srv -> spare at 20ms$/migrate = srv => spare at 20ms/' workloads/migrate_precopy.ini >"$tmp/mig.ini"
expect 2 "migrate syntax" -- "$ODPSIM" run -q "$tmp/mig.ini"
has "$tmp/err" "mig.ini:[0-9]*: \[migration\] migrate: 'srv => spare at 20ms': expected 'HOST -> SPARE at TIME'" "migrate syntax error names file:line"
sed 's/^ends = spare sw$/ends = spare p9/' workloads/migrate_precopy.ini >"$tmp/sw.ini"
expect 2 "link end typo" -- "$ODPSIM" run -q "$tmp/sw.ini"
has "$tmp/err" "no host or switch named 'p9'" "link end typo named"
expect 3 "run --strict: final mismatches" -- "$ODPSIM" run --strict --duration 25ms --set migration.nic_dirty_report=false workloads/migrate_precopy.ini
has "$tmp/err" "pages not holding their last write at the end" "--strict names the final mismatches"
has "$tmp/out" "^oracle: 0 lost writes, 0 stale reads, [1-9][0-9]* pages" "summary still printed"
expect 2 "--migration without a migration" -- "$ODPSIM" run -q --migration pre-copy workloads/write_bw.ini
has "$tmp/err" "write_bw.ini names no migration" "--migration needs a migration"
expect 0 "params switch" -- "$ODPSIM" params switch
has "$tmp/out" "latency" "switch parameters"
expect 0 "params migration" -- "$ODPSIM" params migration
has "$tmp/out" "nic_dirty_report" "migration parameters"

# compare's forked children free what they made (issue 17, row 12: 24 B
# and then the whole system were lost in each child); valgrind follows
# forks.  Not under ASan, which valgrind cannot run.
if ! command -v valgrind >/dev/null 2>&1; then
	echo "cli.sh: SKIP compare leak check (needs valgrind)"
elif grep -q __asan_init "$ODPSIM"; then
	echo "cli.sh: SKIP compare leak check under ASan (LeakSanitizer covers the parent)"
else
	expect 0 "compare under valgrind: no definite leak in any child" -- \
		valgrind -q --leak-check=full --errors-for-leak-kinds=definite \
		--error-exitcode=9 "$ODPSIM" compare "$tmp/ok.ini" -j 1 \
		--policy pin,odp --duration 20us
fi
# registration you can see: an MR still registering at the end, an
# over-commit and an out-of-memory pin are one warning line each on
# stderr naming the workload, the host and the reason; --strict: exit 4
expect 0 "unfinished registration" -- "$ODPSIM" run workloads/kv.ini --duration 1ms
has "$tmp/err" "^odpsim: warning: workload gets (kv) never started: its server MR on host b (pin, 256MiB) was still registering at the end of the run, after 1.000 ms$" "unfinished registration warned"
[ "$(wc -l <"$tmp/err")" = 1 ] && ok || no "one warning line for one unfinished registration"
has "$tmp/out" "^  gets *server b *pin *256MiB  0.000000 s  unfinished at the end (1.000 ms so far)$" "summary lists the unfinished MR"
has "$tmp/out" "^  gets *client a *pin *4KiB  0.000000 s  done in 0.0[0-9][0-9] ms$" "summary lists the client MR's time"
expect 4 "unfinished registration under --strict" -- "$ODPSIM" run workloads/kv.ini --duration 1ms --strict -q
has "$tmp/err" "^odpsim: --strict: warning: workload gets" "--strict names the warning"
cat >"$tmp/over.ini" <<'INI'
[sim]
duration = 100ms
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
buffer = 96MiB
populate = false
INI
expect 0 "suspend over-commit" -- "$ODPSIM" run "$tmp/over.ini" --policy suspend --json
has "$tmp/err" "^odpsim: warning: workload bw (write_bw): registration of its server MR on host b (suspend, 96MiB) failed at 0.000005 s: over-commit: 24576 pages cannot be committed with 16384 frames free, 0 of them reserved (vmm.commit_failed); the workload never started$" "commit failure on stderr"
[ "$(grep -c warning "$tmp/err")" = 2 ] && ok || no "one line per failed registration (client and server)"
has "$tmp/out" '"state":"failed","start_ps":0,"end_ps":5[0-9]*,"time_ps":[0-9]*,"elapsed_ps":null,"error":"over-commit: ' "summary JSON records the failure"
has "$tmp/out" '"warnings":\["workload bw (write_bw): registration of its client MR' "summary JSON carries the warnings"
expect 0 "out-of-memory pin" -- "$ODPSIM" run "$tmp/over.ini" --policy pin -q
has "$tmp/err" "registration of its server MR on host b (pin, 96MiB) failed at [0-9.]* s: out of memory pinning 24576 pages (0 frames free; vmm.oom)" "pin OOM on stderr"
expect 4 "compare --strict with a failed registration" -- "$ODPSIM" compare "$tmp/over.ini" --policy suspend,odp --duration 1ms --strict
has "$tmp/err" "^odpsim: compare --strict: suspend: warning: workload bw (write_bw): registration of its client MR on host a (suspend, 96MiB) failed" "compare names the policy of a warning"
has "$tmp/out" "^  bw server MR on b ms *failed *[0-9.]*$" "compare's registration row says failed"
expect 0 "compare of a small bandwidth" -- "$ODPSIM" compare workloads/read_lat.ini -p pin,suspend --set workload.lat.msg_size=8B
has "$tmp/out" "^  bandwidth Gb/s *0\.0[0-9]\{5\} *0\.0[0-9]\{5\}$" "a small bandwidth keeps its digits in compare's table"

# migration windows: each peer's stall and RNR NAKs from the freeze until
# the host served again (a peer NAKed in the freeze waits ConnectX-4's
# 1.5 ms RNR floor, [nic] rnr_timer); pre-copy's downtime target missed; a
# fallback to stop-copy; a max_downtime below the quiesce is a warning
expect 0 "pre-copy window" -- "$ODPSIM" run workloads/migrate_precopy.ini --duration 25ms
has "$tmp/out" "^  downtime target missed (1503.4 us > 20.0 us)$" "downtime target miss reported"
has "$tmp/out" "^  window: frozen at 0.022811 s, served again at 0.024314 s (1503.4 us)$" "migration window"
has "$tmp/out" "^  bw (write_bw) from p1: stalled 1.516 ms (last completion 0.022811 s, next 0.024327 s), 1 completed in the window, p1 received 1 RNR NAKs in it$" "peer stall and RNR NAKs in the window"
has "$tmp/out" "^  puts (kv) from p2: stalled" "every peer reported"
has "$tmp/err" "^odpsim: warning: migration srv -> spare (pre-copy): max_downtime = 20.0 us is below this run's quiesce alone (61.0 us" "max_downtime below the quiesce warned"
expect 0 "pre-copy fallback" -- "$ODPSIM" run workloads/migrate_precopy.ini --duration 25ms --set migration.max_rounds=1 --set migration.max_downtime=1us --json
has "$tmp/out" '"fell_back_to_stop_copy":true,"fallback_dirty_send_ps":[1-9][0-9]*,"downtime_target_ps":1000000,"downtime_target_missed":true' "fallback and target miss in JSON"
expect 0 "pre-copy fallback (text)" -- "$ODPSIM" run workloads/migrate_precopy.ini --duration 25ms --set migration.max_rounds=1 --set migration.max_downtime=1us
has "$tmp/out" "^  fell back to stop-copy after 1 round: the pages still dirty would have taken [0-9.]* us to send (max_downtime 1.0 us)$" "fallback in the text block"
expect 0 "pre-copy that meets its target" -- "$ODPSIM" run workloads/migrate_precopy.ini --duration 25ms --set migration.max_downtime=2ms
grep -q "target missed" "$tmp/out" && no "a met target is not reported missed" || ok
[ -s "$tmp/err" ] && no "no warning when max_downtime is above the quiesce: $(head -1 "$tmp/err")" || ok

# pcap that Wireshark reads: with default settings tshark flags no frame
# as malformed (whole frames); --pcap-snaplen sets every link's snap
# length (0B: headers only, which the InfiniBand dissector flags)
if command -v tshark >/dev/null 2>&1; then
	expect 0 "pcap of a write_bw" -- "$ODPSIM" run workloads/write_bw.ini --duration 300us -q --pcap "$tmp/pc"
	tshark -r "$tmp/pc/ab.pcap" >"$tmp/tshark" 2>/dev/null
	n=$(wc -l <"$tmp/tshark")
	bad=$(grep -c -i malformed "$tmp/tshark")
	[ "$n" -gt 100 ] && [ "$bad" = 0 ] && ok || no "tshark on a default pcap: $bad of $n frames malformed"
	expect 0 "pcap of an odp run (NAKs, faults)" -- "$ODPSIM" run workloads/odp_write_bw.ini --duration 2ms -q --pcap "$tmp/pc3"
	tshark -r "$tmp/pc3/ab.pcap" >"$tmp/tshark" 2>/dev/null
	# RNR NAKs: AETH syndrome 001xxxxx (IBA 9.7.5.2.8)
	nak=$(tshark -r "$tmp/pc3/ab.pcap" -Y "infiniband.aeth.syndrome >= 0x20 && infiniband.aeth.syndrome <= 0x3f" 2>/dev/null | wc -l)
	[ "$nak" -gt 0 ] && ok || no "the odp pcap has RNR NAKs"
	bad=$(grep -c -i malformed "$tmp/tshark")
	[ "$bad" = 0 ] && ok || no "tshark on an odp pcap: $bad frames malformed"
	expect 0 "--pcap-snaplen 0B" -- "$ODPSIM" run workloads/write_bw.ini --duration 300us -q --pcap "$tmp/pc2" --pcap-snaplen 0B
	tshark -r "$tmp/pc2/ab.pcap" 2>/dev/null | grep -q "Malformed" && ok || no "--pcap-snaplen 0B cuts every link's payload"
else
	echo "cli.sh: SKIP tshark checks of the default pcap: tshark is not installed (apt-get install tshark)"
fi
expect 2 "--pcap-snaplen too large" -- "$ODPSIM" run workloads/write_bw.ini --pcap "$tmp/pc4" --pcap-snaplen 70000B
has "$tmp/err" "pcap-snaplen 70000B" "bad --pcap-snaplen named"

# SIGINT and SIGTERM: the run stops at the next event, its summary says
# "interrupted" at the time reached, every output file is complete (no
# temporary left, series.csv rows whole, the trace ends with a record, the
# pcap's last record whole), exit 128 + signal
interrupt() { # interrupt SIGNAL AFTER_S command... ; stdout $tmp/out, stderr $tmp/err
	local sig=$1 after=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err" </dev/null &
	local pid=$!
	sleep "$after"
	kill -"$sig" "$pid"
	wait "$pid"
}
i="$tmp/intr"
interrupt INT 1.2 "$ODPSIM" run workloads/write_bw.ini --duration 4s --json \
	--out "$i" --trace "$i/trace.csv" --pcap "$i"
rc=$?
[ "$rc" = 130 ] && ok || no "SIGINT: exit $rc, expected 130"
has "$tmp/err" "^odpsim: interrupted by SIGINT at [0-9.]* s simulated: summary and output files are up to that time$" "SIGINT said on stderr"
has "$tmp/out" '"interrupted":true,"signal":"SIGINT"' "summary on stdout marked interrupted"
python3 - "$i" <<'PY' >"$tmp/chk" 2>&1 && ok || no "interrupted outputs: $(tail -1 "$tmp/chk")"
import csv, json, os, struct, sys
d = sys.argv[1]
left = [f for f in os.listdir(d) if f.startswith(".")]
assert not left, "temporaries left: %s" % left
s = json.load(open(os.path.join(d, "summary.json")))
assert s["interrupted"] is True and s["signal"] == "SIGINT", s["interrupted"]
assert 0 < s["sim_time_ps"] < 4 * 10**12, s["sim_time_ps"]
rows = [l for l in open(os.path.join(d, "series.csv")) if not l.startswith("#")]
n = len(rows[0].split(","))
assert len(rows) > 10 and all(len(r.split(",")) == n for r in rows), "series"
assert int(rows[-1].split(",")[0]) <= s["sim_time_ps"]
t = open(os.path.join(d, "trace.csv")).read()
assert t.endswith("\n") and len(t.splitlines()) > 1000, "trace"
last = list(csv.reader(t.splitlines()[-1:]))[0]
assert int(last[0]) <= s["sim_time_ps"], "trace past the end"
p = open(os.path.join(d, "ab.pcap"), "rb").read()
off, recs = 24, 0
while off < len(p):
    _, _, incl, _ = struct.unpack_from("<IIII", p, off)
    off += 16 + incl
    recs += 1
assert off == len(p) and recs > 1000, "pcap ends inside a record"
print("ok")
PY
interrupt TERM 1.2 "$ODPSIM" run workloads/write_bw.ini --duration 4s -q
rc=$?
[ "$rc" = 143 ] && ok || no "SIGTERM: exit $rc, expected 143"
# compare: the runs going stop and send their summaries, the ones not
# started are named; --progress forces the line when stderr is a file
interrupt INT 1.5 "$ODPSIM" compare workloads/write_bw.ini --duration 4s -j 1 \
	--policy pin,odp --progress --out "$tmp/ci"
rc=$?
[ "$rc" = 130 ] && ok || no "compare SIGINT: exit $rc, expected 130"
has "$tmp/err" "^  *[0-9.]*%  ETA [0-9:]*  0 of 2 runs done, 1 running$" "compare --progress line"
has "$tmp/err" "^odpsim: compare: interrupted by SIGINT: 1 run stopped or finished (each summary says which); not run: odp$" "compare interruption said"
has "$tmp/out" "^  interrupted  *SIGINT at [0-9.]* s$" "compare table marks the interrupted run"
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert [x['policy'] for x in r]==['pin'] and r[0]['interrupted']" "$tmp/ci/compare.json" && ok || no "compare.json holds the interrupted run"
expect 0 "compare -q" -- "$ODPSIM" compare "$tmp/ok.ini" -q --policy pin,odp
[ -s "$tmp/out" ] && no "compare -q prints nothing" || ok
expect 2 "--progress with --no-progress" -- "$ODPSIM" run "$tmp/ok.ini" --progress --no-progress

# --format perftest: the blocks of ib_write_bw and ib_read_lat, read by a
# parser that knows perftest's column names (src/perftest_parameters.h:
# RESULT_FMT_G and RESULT_FMT_LAT)
cat >"$tmp/ptparse.py" <<'PY'
import sys
BW = ["#bytes", "#iterations", "BW peak[Gb/sec]", "BW average[Gb/sec]",
      "MsgRate[Mpps]"]
LAT = ["#bytes", "#iterations", "t_min[usec]", "t_max[usec]",
       "t_typical[usec]", "t_avg[usec]", "t_stdev[usec]",
       "99% percentile[usec]", "99.9% percentile[usec]"]
# the header lines exactly as perftest prints them
HEADS = {" #bytes     #iterations    BW peak[Gb/sec]    BW average[Gb/sec]"
         "   MsgRate[Mpps]": BW,
         " #bytes #iterations    t_min[usec]    t_max[usec]  t_typical[usec]"
         "    t_avg[usec]    t_stdev[usec]   99% percentile[usec]   99.9% "
         "percentile[usec] ": LAT}
lines = open(sys.argv[1]).read().splitlines()
blocks = []
for i, l in enumerate(lines):
    cols = HEADS.get(l)
    if cols:
        vals = lines[i + 1].split()
        assert len(vals) == len(cols), (cols, vals)
        title = lines[i - 5].strip()  # the test's name, as perftest prints it
        blocks.append((title, dict(zip(cols, vals))))
want = sys.argv[2:]
titles = [t for t, _ in blocks]
assert titles == want, titles
for t, b in blocks:
    f = {k: float(v) for k, v in b.items()}
    if "BW peak[Gb/sec]" in f:
        assert f["BW average[Gb/sec]"] <= f["BW peak[Gb/sec]"] <= 100, b
        # MsgRate x #bytes is the average bandwidth
        gbps = f["MsgRate[Mpps]"] * 1e6 * f["#bytes"] * 8 / 1e9
        assert abs(gbps - f["BW average[Gb/sec]"]) < 0.01 * gbps + 0.01, b
    else:
        assert (f["t_min[usec]"] <= f["t_typical[usec]"] <= f["t_max[usec]"]
                and f["t_typical[usec]"] <= f["99% percentile[usec]"]
                <= f["99.9% percentile[usec]"] and f["t_stdev[usec]"] >= 0), b
print(len(blocks))
PY
expect 0 "run --format perftest" -- "$ODPSIM" run workloads/write_bw.ini --duration 1ms --format perftest
python3 "$tmp/ptparse.py" "$tmp/out" "RDMA_Write BW Test" \
	"RDMA_Write latency under load" >"$tmp/pt" 2>&1 && ok || no "write_bw perftest blocks: $(tail -1 "$tmp/pt")"
expect 0 "run -f perftest (read_lat)" -- "$ODPSIM" run workloads/read_lat.ini -f perftest
python3 "$tmp/ptparse.py" "$tmp/out" "RDMA_Read Latency Test" >"$tmp/pt" 2>&1 \
	&& ok || no "read_lat perftest block: $(tail -1 "$tmp/pt")"
has "$tmp/out" "^ 64 *409 *2\.41 " "read_lat block: #bytes, #iterations, t_min"
expect 0 "compare --format perftest" -- "$ODPSIM" compare workloads/read_lat.ini -p pin,odp --duration 5ms --format perftest
python3 "$tmp/ptparse.py" "$tmp/out" "RDMA_Read Latency Test" \
	"RDMA_Read Latency Test" >"$tmp/pt" 2>&1 && ok || no "compare perftest blocks: $(tail -1 "$tmp/pt")"
has "$tmp/out" "^# odpsim compare: policy odp" "compare perftest names each run"
expect 2 "--format unknown" -- "$ODPSIM" run workloads/read_lat.ini --format xml
has "$tmp/err" "unknown format" "bad --format explained"
expect 2 "--json with --format perftest" -- "$ODPSIM" run workloads/read_lat.ini --json --format perftest

# hosts up to 64 TiB run (frames are created as first used, so this takes
# no more memory than a small host); above it, one line naming the key
printf '[sim]\nduration = 200us\n[host a]\nmemory = 64TiB\n[host b]\nmemory = 64TiB\n[link ab]\nends = a b\n[workload w]\ntype = write_bw\nclient = a\nserver = b\n' >"$tmp/huge.ini"
expect 0 "two 64 TiB hosts" -- "$ODPSIM" run "$tmp/huge.ini" --json
has "$tmp/out" '"completed"' "64 TiB hosts run traffic"
sed 's/64TiB/65TiB/' "$tmp/huge.ini" >"$tmp/huge2.ini"
expect 2 "a 65 TiB host" -- "$ODPSIM" run "$tmp/huge2.ini"
has "$tmp/err" "huge2.ini:4: \[host a\] memory: 65TiB is out of range (1MiB to 64TiB)" "65 TiB refused with file, line and key"

# like a GNU tool: help CMD, CMD --version, params --json, scenarios by
# name, every --help option in the man page
expect 0 "help run" -- "$ODPSIM" help run
has "$tmp/out" "^  odpsim run \[OPTION" "help run is run's --help"
has "$tmp/out" "--pcap-snaplen" "help run lists run's options"
expect 0 "help" -- "$ODPSIM" help
has "$tmp/out" "run SCENARIO" "help lists the commands"
expect 2 "help of an unknown command" -- "$ODPSIM" help frobnicate
for c in run compare sweep validate params snapshot-info; do
	expect 0 "$c --version" -- "$ODPSIM" $c --version
	has "$tmp/out" "^odpsim [0-9]" "$c --version prints the version"
done
expect 0 "params --json" -- "$ODPSIM" params --json
python3 -c "
import json, sys
t = json.load(open(sys.argv[1]))
sim = [x for x in t if x['section'] == 'sim'][0]
d = [p for p in sim['params'] if p['name'] == 'duration'][0]
assert d['type'] == 'time' and d['default'] == '10ms' and d['unit'] == 'time', d
kv = [x for x in t if x['when'] == 'type = kv'][0]
assert any(p['name'] == 'theta' and p['source'] for p in kv['params'])
assert all('meaning' in p and 'source' in p for x in t for p in x['params'])
" "$tmp/out" && ok || no "params --json holds every table"
expect 0 "params nic --json" -- "$ODPSIM" params nic --json
python3 -c "import json,sys; t=json.load(open(sys.argv[1])); assert [x['section'] for x in t]==['nic'], t" "$tmp/out" && ok || no "params nic --json: one table"
odp_abs=$(cd "$(dirname "$ODPSIM")" && pwd)/$(basename "$ODPSIM")
(cd "$tmp" && "$odp_abs" run read_lat -q 2>"$tmp/err") && ok || no "a scenario by name from another directory: $(head -1 "$tmp/err")"
if ODPSIM="$ODPSIM" "$(dirname "$0")/man.sh" >"$tmp/man" 2>&1; then ok; else
	no "man page coverage"; sed 's/^/    /' "$tmp/man" | head -10
fi

# server_policy registers the server's MR alone under its policy; send_bw's
# rx_depth = 0 posts no receive: every SEND meets an RNR NAK
expect 0 "server_policy" -- "$ODPSIM" run workloads/write_bw.ini --duration 1ms --set workload.bw.server_policy=odp --json
has "$tmp/out" '"registrations":\[{"side":"client","host":"a","policy":"pin",.*{"side":"server","host":"b","policy":"odp",' "server_policy: a pinned client, an odp server"
printf '[sim]\nduration = 1ms\n[host a]\nmemory = 64MiB\n[host b]\nmemory = 64MiB\n[link ab]\nends = a b\n[workload s]\ntype = send_bw\nclient = a\nserver = b\nmsg_size = 64B\ntx_depth = 1\nrx_depth = 0\nrnr_retry = 2\nmin_rnr_timer = 1\n[nic]\nrnr_timer = iba\n' >"$tmp/rx0.ini"
expect 0 "send_bw rx_depth = 0" -- "$ODPSIM" run "$tmp/rx0.ini"
has "$tmp/out" "^  a.nic.rnr_naks_received  *3$" "rx_depth = 0: rnr_retry + 1 RNR NAKs"
has "$tmp/err" "workload s (send_bw) completed no operation (1 errors)" "rx_depth = 0: the SEND fails"

# odpsim validate: the shipped cases pass (exit 0), as a markdown table
# with one row per figure; a figure that fails is exit 5 and a line on
# stderr; the case is named with file, line and key; --json; --fast; a
# path that is not a file or directory is exit 1
expect 0 "validate --help" -- "$ODPSIM" validate --help
has "$tmp/out" "Exit status: 0 every figure passes" "validate --help: exit statuses"
expect 0 "validate" -- "$ODPSIM" validate -j2
has "$tmp/out" "^| quantity | published | source | simulated | ratio | pass |$" "validate: the table's header"
has "$tmp/out" "^| page_faults for one cold 2 MiB WRITE (pages) | 512 (exactly) | .* | 512 pages | 1.000 | yes |$" "validate: a row"
has "$tmp/out" "^[0-9]* of [0-9]* figures pass ([0-9]* case files, [0-9]* runs)$" "validate: the count"
[ "$(grep -c '| NO |' "$tmp/out")" = 0 ] && ok || no "validate: a shipped figure fails"
expect 0 "validate --fast --json" -- "$ODPSIM" validate --fast --json workloads/validation/rnr_retry.ini
has "$tmp/out" '"figures":4,"failed":0,"files":1,"runs":1,"rows":\[{"file":"workloads/validation/rnr_retry.ini","name":"naks3"' "validate --json"
sed 's/^published = 1.5ms$/published = 0.12ms/' workloads/validation/cx4_rnr_delay.ini >"$tmp/iba.ini"
expect 5 "validate: a figure that fails" -- "$ODPSIM" validate "$tmp/iba.ini"
has "$tmp/out" "| 0.12ms (+-10%) | .* | 1.5 ms | 12.500 | NO |$" "validate: the failing row"
has "$tmp/err" "^odpsim: validate: $tmp/iba.ini \[validate delay\] failed: " "validate: the failure on stderr"
sed 's/^read = hist a.nic.rnr_wait_ns min$/read = hist a.nic.rnr_wait_ns mxa/' workloads/validation/cx4_rnr_delay.ini >"$tmp/bad.ini"
expect 2 "validate: a bad read" -- "$ODPSIM" validate "$tmp/bad.ini"
has "$tmp/err" "bad.ini:[0-9]*: \[validate delay\] read: 'mxa' is no histogram field .*did you mean 'm[a-z]*'?" "validate: bad read named with file, line and key"
expect 1 "validate: not a file" -- "$ODPSIM" validate /dev/null
has "$tmp/err" "/dev/null: not a regular file or a directory" "validate: a device refused"
expect 0 "a case is a scenario: odpsim run" -- "$ODPSIM" run -q workloads/validation/odp_first_touch.ini

# every default of [driver] and [nic] shows where it comes from (a source,
# or the word estimate)
for c in driver nic; do
	expect 0 "params $c" -- "$ODPSIM" params "$c"
	nosrc=$(awk '/^  [a-z_0-9]+ +(count|time|choice|size|bool|real|string|rate|freq) /{n=$1; all[n]=1}
		/^ +source: /{src[n]=1} END{for (k in all) if (!src[k]) print k}' "$tmp/out")
	[ -z "$nosrc" ] && ok || no "params $c: no source for: $nosrc"
done

# plotting scripts on a short run (prints SKIP plots without matplotlib)
if "$(dirname "$0")/test_plots.sh"; then ok; else no "tests/test_plots.sh"; fi

echo "cli.sh: $pass passed, $fail failed"
[ "$fail" = 0 ]
