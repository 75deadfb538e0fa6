#!/bin/bash
# tests/test_plots.sh - tools/plot_run.py on a short run's --out directory
# writes non-empty PNG and SVG files (also with fault/invalidation marker
# columns and without latency.csv), and a missing matplotlib is a clear
# error naming the package.  Run by tests/cli.sh (so by `make check`) with
# ODPSIM set to the binary; prints "SKIP plots: ..." when /usr/bin/python3
# cannot import matplotlib.
set -u
ODPSIM=${ODPSIM:-build/odpsim}
PY=${PYTHON:-/usr/bin/python3}
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "test_plots.sh: FAIL: $*"; }

if ! [ -x "$PY" ]; then
	echo "SKIP plots: no $PY (apt-get install python3 python3-matplotlib)"
	exit 0
fi

# matplotlib absent: a clear error naming the package, not a traceback
mkdir -p "$tmp/nompl/matplotlib"
echo 'raise ImportError("blocked for the test")' >"$tmp/nompl/matplotlib/__init__.py"
mkdir -p "$tmp/o0"
ODPSIM_PLOT_REEXEC=1 PYTHONPATH="$tmp/nompl" "$PY" "$here/tools/plot_run.py" \
	"$tmp/o0" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" != 0 ] && grep -q "apt-get install python3-matplotlib" "$tmp/err" &&
	! grep -q Traceback "$tmp/err"; then ok; else
	no "missing matplotlib: exit $rc, stderr: $(head -3 "$tmp/err")"
fi

if ! "$PY" -c 'import matplotlib' 2>/dev/null; then
	echo "SKIP plots: matplotlib missing for $PY (apt-get install python3-matplotlib)"
	echo "test_plots.sh: $pass passed, $fail failed, plots skipped"
	[ "$fail" = 0 ]
	exit
fi

# is_image FILE MAGIC DESCRIPTION
is_image() {
	if [ -s "$1" ] && head -c 16 "$1" | grep -aq "$2"; then ok; else
		no "$3: $(basename "$1") missing, empty or not $2"
	fi
}

o="$tmp/o"
if "$ODPSIM" run "$here/workloads/write_bw.ini" --duration 300us -q --out "$o" \
	2>"$tmp/err"; then ok; else no "odpsim run: $(head -3 "$tmp/err")"; fi
[ -s "$o/latency.csv" ] && ok || no "--out writes latency.csv"
if "$PY" "$here/tools/plot_run.py" "$o" >"$tmp/out" 2>"$tmp/err"; then ok; else
	no "plot_run.py: $(tail -3 "$tmp/err")"
fi
is_image "$o/run.png" PNG "plot_run.py"
is_image "$o/run.svg" "<?xml" "plot_run.py"
[ "$(wc -c <"$o/run.png")" -gt 10000 ] && ok || no "run.png is too small to hold the panels"

# a run with NIC page faults and invalidations (ODP under memory pressure,
# its 32 MiB of buffer fresh: every first touch faults) draws their
# markers; no latency.csv: the CDF falls back on the summary
m="$tmp/m"
if "$ODPSIM" run "$here/workloads/odp_pressure.ini" --duration 40ms -q --set workload.bw.buffer=32MiB \
	--set workload.bw.populate=false --out "$m" 2>"$tmp/err"; then ok; else
	no "odp run: $(head -3 "$tmp/err")"
fi
rm -f "$m/latency.csv"
awk -F, 'NR > 2 && $0 ~ /,/ { n++ } END { exit n == 0 }' "$m/series.csv" \
	&& ok || no "odp_pressure series has rows"
if "$PY" "$here/tools/plot_run.py" "$m" >"$tmp/out" 2>"$tmp/err"; then ok; else
	no "plot_run.py with markers: $(tail -3 "$tmp/err")"
fi
is_image "$m/run.png" PNG "plot_run.py with markers"
# matplotlib names each legend entry in an SVG comment; a bare
# "invalidations" would also match a panel's nic.page_invalidations label
grep -q "<!-- b NIC page faults -->" "$m/run.svg" && ok || no "fault markers in the legend"
grep -q "<!-- b invalidations -->" "$m/run.svg" && ok || no "invalidation markers in the legend"

# plot_compare.py: each lane row is its workload's goodput, the bytes it
# completed per interval from series.csv (not the NIC's tx_bytes, which
# counts retransmissions), whose sum is the summary's bytes; counts are
# labelled as plain integers
c="$tmp/c"
if "$ODPSIM" compare "$here/workloads/odp_pressure.ini" --duration 10ms --set workload.bw.buffer=32MiB \
	--set workload.bw.populate=false --policy pin,odp --out "$c" \
	>/dev/null 2>"$tmp/err"; then ok; else
	no "odpsim compare: $(head -3 "$tmp/err")"
fi
if "$PY" "$here/tools/plot_compare.py" "$c" --data "$c/data.json" \
	>"$tmp/out" 2>"$tmp/err"; then ok; else
	no "plot_compare.py: $(tail -3 "$tmp/err")"
fi
is_image "$c/compare.png" PNG "plot_compare.py"
"$PY" - "$c" "$here/tools" <<'PY' >"$tmp/chk" 2>&1 && ok || no "compare lanes: $(tail -2 "$tmp/chk")"
import csv, json, os, sys
d, tools = sys.argv[1], sys.argv[2]
sys.path.insert(0, tools)
import plot_compare
assert plot_compare.label(3370.0) == "3,370", plot_compare.label(3370.0)
assert plot_compare.label(0.0421) == "0.042", plot_compare.label(0.0421)
assert plot_compare.label(None) == "-"
data = json.load(open(os.path.join(d, "data.json")))
runs = json.load(open(os.path.join(d, "compare.json")))
for r in runs:
    p = r["policy"]
    rows = [l for l in open(os.path.join(d, p, "series.csv"))
            if not l.startswith("#")]
    rd = list(csv.DictReader(rows))
    t = [int(x["time_ps"]) for x in rd]
    dt = (t[1] - t[0]) / 1e12
    for w, wr in r["workloads"].items():
        col = [int(x["wl.%s.completed_bytes" % w]) for x in rd]
        lane = data["lanes"][p][w]["gbps"]
        assert len(lane) == len(col), (p, w)
        for g, b in zip(lane, col):
            assert abs(g * 1e9 / 8 * dt - b) <= 1e-6 * max(b, 1), (p, w, g, b)
        assert sum(col) == wr["bytes"], (p, w, sum(col), wr["bytes"])
    tx = sum(int(x["a.nic.tx_bytes"]) for x in rd)
    if p == "odp":
        # retransmissions and headers: what the old lanes drew
        assert tx > 1.05 * r["workloads"]["bw"]["bytes"], (tx, r["workloads"]["bw"]["bytes"])
bars = data["bars"]
assert "p99 latency (us)" in bars and "registration time per MR (ms)" in bars
assert "memory per MR: resident pages (peak)" in bars
print("ok")
PY

# plot_translation.py: a two-point campaign of the translation-miss
# scenario (shortened), one panel per campaign
tr="$tmp/tr"
if "$ODPSIM" sweep "$here/workloads/translation.ini" \
	--grid workload.bw.buffer=1MiB,2MiB --grid vmm.huge_pages=false,true \
	--set sim.duration=2.5ms --set sim.warmup=2ms -o "$tr" -q -j 1 \
	>"$tmp/out" 2>"$tmp/err"; then ok; else
	no "sweep of translation.ini: $(tail -3 "$tmp/err")"
fi
if "$PY" "$here/tools/plot_translation.py" "$tr" "$tr" --title one \
	>"$tmp/out" 2>"$tmp/err"; then ok; else
	no "plot_translation.py: $(tail -3 "$tmp/err")"
fi
is_image "$tr/translation.png" PNG "plot_translation.py"
is_image "$tr/translation.svg" "<?xml" "plot_translation.py"
if "$PY" "$here/tools/plot_translation.py" "$tmp/none" >"$tmp/out" \
	2>"$tmp/err"; then no "plot_translation.py of no campaign: exit 0"
elif grep -q "no campaign database" "$tmp/err" &&
	! grep -q Traceback "$tmp/err"; then ok; else
	no "plot_translation.py of no campaign: $(head -3 "$tmp/err")"
fi

echo "test_plots.sh: $pass passed, $fail failed"
[ "$fail" = 0 ]
