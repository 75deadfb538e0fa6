#!/bin/bash
# tests/sweep.sh - `odpsim sweep` as a user meets it: a 2x3 grid gives 6
# rows with the right parameter columns; each point's fingerprint is the
# one `odpsim run` gives alone; a campaign killed halfway resumes with only
# the missing points; the same campaign twice gives identical rows; a
# failing point is recorded and the others complete; --emit parallel jobs
# run through GNU parallel and --merge gives the same rows as a local run;
# results.csv read by pandas keeps integers as integers; --plot draws;
# bad input is a one-line error.  Run by `make check` with ODPSIM set.
# Needs /usr/bin/python3 (its sqlite3 module reads the databases); GNU
# parallel, pandas and matplotlib parts print SKIP loudly when missing
# (and fail under CI=true, where .ci/run installs them).
set -u
ODPSIM=${ODPSIM:-build/odpsim}
ODPSIM=$(cd "$(dirname "$ODPSIM")" && pwd)/$(basename "$ODPSIM")
PY=${PYTHON:-/usr/bin/python3}
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
me=sweep.sh
. "$here/tests/sweep_lib.sh"

if ! [ -x "$PY" ] || ! "$PY" -c 'import sqlite3' 2>/dev/null; then
	skip "no $PY with sqlite3 (apt-get install python3)"
	echo "sweep.sh: $pass passed, $fail failed"
	[ "$fail" = 0 ]
	exit
fi
cd "$tmp" || exit 1
S="$here/workloads/write_bw.ini"
G=(--grid link.ab.rate=25Gbps,100Gbps --grid workload.bw.msg_size=4KiB..64KiB*4
   --duration 300us)

expect 0 "--help" -- "$ODPSIM" --help
has out "sweep SCENARIO" "odpsim --help lists sweep"
expect 0 "sweep --help" -- "$ODPSIM" sweep --help
for o in --grid --zip --policy --seeds --seed-list --out --jobs --force --point \
	--emit --merge --export --columns --plot --list --progress; do
	has out "$o" "sweep --help lists $o"
done

# --- a 2x3 grid: 6 rows, typed parameter columns ---
expect 0 "2x3 sweep" -- "$ODPSIM" sweep "$S" "${G[@]}" -j 2 -o A
has err "6 points: 6 to run, 0 done already" "sweep says what it runs"
[ "$(q A/campaign.sqlite "SELECT COUNT(*) FROM runs WHERE status = 'ok'")" = 6 ] \
	&& ok || no "6 ok rows"
got=$(q A/campaign.sqlite 'SELECT point, "link.ab.rate", "workload.bw.msg_size",
	typeof("link.ab.rate") FROM runs ORDER BY point' | tr '\n' ' ')
want="0|25000000000|4096|integer 1|25000000000|16384|integer 2|25000000000|65536|integer 3|100000000000|4096|integer 4|100000000000|16384|integer 5|100000000000|65536|integer "
[ "$got" = "$want" ] && ok || no "parameter columns: $got"
[ "$(q A/campaign.sqlite "SELECT COUNT(*) FROM workloads WHERE workload = 'bw' AND bw_gbps > 0")" = 6 ] \
	&& ok || no "a workload row per run"
[ "$(q A/campaign.sqlite "SELECT unit FROM params WHERE name = 'link.ab.rate'")" = bit/s ] \
	&& ok || no "a rate axis is in bit/s"
# a point's run is the one odpsim run does alone
fp=$("$ODPSIM" run "$S" --set link.ab.rate=100Gbps --set workload.bw.msg_size=16KiB \
	--duration 300us --json | grep -o '"fingerprint":"[0-9a-f]*"' | cut -d'"' -f4)
[ -n "$fp" ] && [ "$(q A/campaign.sqlite 'SELECT fingerprint FROM runs WHERE point = 4')" = "$fp" ] \
	&& ok || no "point 4's fingerprint is odpsim run's ($fp)"
# again: everything is done
expect 0 "sweep again" -- "$ODPSIM" sweep "$S" "${G[@]}" -o A
has err "0 to run, 6 done already" "a finished campaign runs nothing"
# --force reruns, with the same rows
rows A/campaign.sqlite >rows.A
expect 0 "sweep --force" -- "$ODPSIM" sweep "$S" "${G[@]}" -o A --force -q
[ ! -s err ] && ok || no "-q prints nothing"
rows A/campaign.sqlite >rows.A2
cmp -s rows.A rows.A2 && ok || no "--force gives the same rows"
# the same campaign elsewhere: identical rows
expect 0 "sweep into B" -- "$ODPSIM" sweep "$S" "${G[@]}" -j 1 -o B -q
rows B/campaign.sqlite >rows.B
cmp -s rows.A rows.B && ok || no "two campaigns of the same points differ: $(diff rows.A rows.B | head -3)"

# --- --zip, seeds, policies ---
expect 0 "zip x policy x seeds" -- "$ODPSIM" sweep "$S" --zip \
	--grid workload.bw.msg_size=4KiB,64KiB --grid workload.bw.tx_depth=64,16 \
	--policy pin,odp --seeds 2 --duration 200us -o Z -q
got=$(q Z/campaign.sqlite 'SELECT point, "workload.bw.msg_size", "workload.bw.tx_depth",
	policy, seed FROM runs ORDER BY point' | tr '\n' ' ')
want="0|4096|64|pin|1 1|4096|64|pin|2 2|4096|64|odp|1 3|4096|64|odp|2 4|65536|16|pin|1 5|65536|16|pin|2 6|65536|16|odp|1 7|65536|16|odp|2 "
[ "$got" = "$want" ] && ok || no "zip, policy and seed axes: $got"
expect 0 "--list" -- "$ODPSIM" sweep "$S" --zip \
	--grid workload.bw.msg_size=4KiB,64KiB --grid workload.bw.tx_depth=64,16 \
	--policy pin,odp --seeds 2 --duration 200us -o Z --list
[ "$(grep -c $'\tdone\t' out)" = 8 ] && ok || no "--list shows 8 points done"

# --- killed halfway, then resumed: only the missing points run ---
K=(--grid workload.bw.msg_size=16KiB,32KiB,64KiB --seeds 2 --duration 60ms)
"$ODPSIM" sweep "$S" "${K[@]}" -j 1 -o R -q 2>kill.err &
pid=$!
for _ in $(seq 600); do
	n=$(q R/campaign.sqlite "SELECT COUNT(*) FROM runs" 2>/dev/null || echo 0)
	[ "${n:-0}" -ge 2 ] && break
	sleep 0.05
done
kill -TERM $pid
wait $pid
st=$?
[ "$st" = 143 ] && ok || no "a campaign killed by SIGTERM exits 143 (got $st)"
has kill.err "interrupted: .* the same command resumes" "an interrupted campaign says how to resume"
done1=$(q R/campaign.sqlite "SELECT COUNT(*) FROM runs WHERE status = 'ok'")
[ "$done1" -ge 2 ] && [ "$done1" -lt 6 ] && ok || no "killed halfway: $done1 of 6 rows"
[ "$(q R/campaign.sqlite "SELECT COUNT(*) FROM runs WHERE status != 'ok'")" = 0 ] \
	&& ok || no "an interrupted run is not recorded as failed"
q R/campaign.sqlite "SELECT key, finished_at, wall_s FROM runs ORDER BY key" >before
expect 0 "resume" -- "$ODPSIM" sweep "$S" "${K[@]}" -j 2 -o R
has err "6 points: $((6 - done1)) to run, $done1 done already" "resume runs only the missing points"
[ "$(q R/campaign.sqlite "SELECT COUNT(*) FROM runs WHERE status = 'ok'")" = 6 ] \
	&& ok || no "resumed campaign complete"
q R/campaign.sqlite "SELECT key, finished_at, wall_s FROM runs ORDER BY key" >after
[ "$(grep -c -F -x -f before after)" = "$done1" ] && ok || no "the rows from before the kill were kept"

# --- a failing point is recorded, the others complete ---
F=(--grid workload.bw.msg_size=4KiB,16KiB,64KiB --duration 200us)
ODPSIM_RUNPOOL_TEST_CRASH="point 1" expect 1 "a crashing point" -- \
	"$ODPSIM" sweep "$S" "${F[@]}" -o F
has err "point 1 \[workload.bw.msg_size=16KiB\] failed: killed by signal 6" "the failure is named"
got=$(q F/campaign.sqlite "SELECT point, status, exit_status, message FROM runs ORDER BY point" | tr '\n' ' ')
want="0|ok|0| 1|failed|134|killed by signal 6 (Aborted) 2|ok|0| "
[ "$got" = "$want" ] && ok || no "failed point recorded: $got"
expect 0 "rerun after a failure" -- "$ODPSIM" sweep "$S" "${F[@]}" -o F
has err "3 points: 1 to run, 2 done already" "a failed point is run again"
# a point that does not build is recorded with its message
expect 1 "a point that does not build" -- "$ODPSIM" sweep "$S" \
	--grid workload.bw.msg_size=4KiB,3GiB --duration 200us -o C
has err "point 1 \[workload.bw.msg_size=3GiB\] does not build, recorded as failed: --set workload.bw.msg_size=3GiB: \[workload bw\] msg_size: 3GiB is out of range" \
	"the configuration error of the point is named"
[ "$(q C/campaign.sqlite "SELECT status, exit_status FROM runs WHERE point = 1")" = "failed|2" ] \
	&& ok || no "the point that does not build is a failed row"
# no point builds: a configuration error, nothing written
expect 2 "no point builds" -- "$ODPSIM" sweep "$S" --grid workload.bw.msg_sise=1,2 -o N
has err "msg_sise" "the unknown key is named"
[ "$(wc -l <err)" = 1 ] && ok || no "one line"
[ -e N ] && no "nothing is written when no point builds" || ok

# --- export: results.csv, typed for pandas ---
expect 0 "export" -- "$ODPSIM" sweep --export csv A
head -1 A/results.csv | grep -q '^key,point,status,link.ab.rate,workload.bw.msg_size,' \
	&& ok || no "results.csv header: $(head -1 A/results.csv | cut -c1-80)"
[ "$(wc -l <A/results.csv)" = 7 ] && ok || no "results.csv: a header and 6 rows"
if "$PY" -c 'import pandas' 2>/dev/null; then
	"$PY" - A <<'PY' && ok || no "pandas reads results.csv with its dtypes"
import json, sqlite3, sys
import pandas as pd
d = sys.argv[1]
df = pd.read_csv(d + "/results.csv",
                 dtype=json.load(open(d + "/results.dtypes.json")))
assert len(df) == 6, len(df)
for c in ("point", "completed", "bytes", "events", "link.ab.rate",
          "workload.bw.msg_size", "nic_tx_bytes", "seed"):
    assert str(df[c].dtype) == "Int64", (c, df[c].dtype)
assert str(df["bw_gbps"].dtype) == "float64"
assert str(df["policy"].dtype) == "string"
db = sqlite3.connect(d + "/campaign.sqlite")
for key, b, bw in db.execute("SELECT key, bytes, bw_gbps FROM workloads"):
    r = df[df["key"] == key].iloc[0]
    assert int(r["bytes"]) == b and float(r["bw_gbps"]) == bw, key
PY
else
	skip "pandas (apt-get install python3-pandas)"
fi
"$ODPSIM" sweep --columns >cols
for c in key status fingerprint nic_page_faults bw_gbps lat_p99_ns window_from_ps; do
	grep -q "^  $c " cols && ok || no "--columns lists $c"
done
# every column is documented in README (the declaration is the source)
undoc=""
for c in $(awk '/^  [a-z]/ { print $1 }' cols); do
	grep -q "| \`$c\` |" "$here/README.md" || undoc="$undoc $c"
done
[ -z "$undoc" ] && ok || no "README lacks the columns:$undoc"

# --- GNU parallel: the emitted jobs, merged, are the local campaign ---
expect 0 "--emit parallel" -- "$ODPSIM" sweep "$S" "${G[@]}" -o P --emit parallel
[ "$(wc -l <P/jobs.txt)" = 6 ] && ok || no "6 jobs"
has P/jobs.txt "sweep .* --point 5 --quiet" "a job runs one point"
if command -v parallel >/dev/null 2>&1; then
	if parallel --will-cite --jobs 2 <P/jobs.txt >par.out 2>&1; then ok; else
		no "parallel: $(head -3 par.out)"; fi
	[ "$(ls P/points/*.sqlite | wc -l)" = 6 ] && ok || no "6 point files"
	# a job again: done already
	expect 0 "a job again" -- bash -c "$(sed -n 3p P/jobs.txt | sed 's/ --quiet$//')"
	has err "point 2 .* done already" "a finished point job does nothing"
	expect 0 "--merge" -- "$ODPSIM" sweep --merge P
	has err "merged 6 rows from 6 files" "merge counts rows"
	rows P/campaign.sqlite >rows.P
	cmp -s rows.A rows.P && ok || no "merged parallel campaign differs from the local one: $(diff rows.A rows.P | head -3)"
	expect 0 "--merge again" -- "$ODPSIM" sweep --merge P
	has err "merged 0 rows" "merging twice adds nothing"
	# runs of another build are refused unless asked
	mkdir -p X/points
	cp "$(ls P/points/*.sqlite | head -1)" X/points/
	"$PY" - X/points/*.sqlite <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE runs SET source_commit = 'otherbuild', key = 'k2'")
db.commit()
PY
	expect 1 "--merge of another build" -- "$ODPSIM" sweep --merge P X
	has err "more than one odpsim build would mix: .*otherbuild" "mixed builds named"
	expect 0 "--merge --allow-mixed" -- "$ODPSIM" sweep --merge P X --allow-mixed
	[ "$(q P/campaign.sqlite "SELECT COUNT(*) FROM runs")" = 7 ] && ok || no "--allow-mixed merges"
else
	skip "GNU parallel (apt-get install parallel)"
fi

# --- the plot ---
if "$PY" -c 'import matplotlib' 2>/dev/null; then
	expect 0 "--plot" -- env PYTHONDONTWRITEBYTECODE=1 "$ODPSIM" sweep "$S" "${G[@]}" \
		-o A -q --plot bw_gbps --x workload.bw.msg_size --lines link.ab.rate
	[ -s A/sweep-bw_gbps.png ] && head -c 8 A/sweep-bw_gbps.png | grep -aq PNG \
		&& ok || no "--plot writes a PNG"
	[ -s A/sweep-bw_gbps.svg ] && ok || no "--plot writes an SVG"
	expect 0 "plot_sweep.py with seeds" -- env PYTHONDONTWRITEBYTECODE=1 \
		"$PY" "$here/tools/plot_sweep.py" Z nic_tx_bytes
	[ -s Z/sweep-nic_tx_bytes.png ] && ok || no "plot over a zipped grid with seeds"
	expect 1 "plot of an unknown metric" -- env PYTHONDONTWRITEBYTECODE=1 \
		"$PY" "$here/tools/plot_sweep.py" A bw_gbs
	has err "no metric 'bw_gbs'.*bw_gbps" "an unknown metric is named, with the near one"
else
	skip "matplotlib (apt-get install python3-matplotlib)"
fi

# --- bad input: one line, exit 2, nothing run ---
bad() { # bad DESCRIPTION PATTERN -- args...
	local what=$1 pat=$2
	shift 3
	expect 2 "$what" -- "$ODPSIM" sweep "$@"
	has err "$pat" "$what: message"
	[ "$(grep -c . err)" -le 2 ] && ok || no "$what: short message"
}
bad "no --out" "--out DIR is required" -- "$S" --grid a.b=1
bad "no SCENARIO" "missing SCENARIO" -- -o Q
bad "--grid without =" "expected KEY=V1,V2" -- "$S" --grid nic.mtt_cache_entries -o Q
bad "bad range" "'1..x\*2': expected LO..HI" -- "$S" --grid nic.mtt_cache_entries=1..x*2 -o Q
bad "duplicate value" "the value '64' is given twice" -- "$S" --grid nic.mtt_cache_entries=64,128,64 -o Q
bad "seed as a grid" "use --seeds N" -- "$S" --grid sim.seed=1,2 -o Q
bad "axis twice" "already an axis" -- "$S" --grid nic.mtt_cache_entries=1,2 --grid nic.mtt_cache_entries=3 -o Q
bad "zip of unequal lists" "zipped lists are as long" -- "$S" --zip --grid nic.mtt_cache_entries=1,2 --grid nic.mtt_cache_ways=1 -o Q
bad "unknown policy" "did you mean 'odp'" -- "$S" --policy pin,opd -o Q
bad "--seeds and --seed-list" "one axis" -- "$S" --seeds 2 --seed-list 1,2 -o Q
bad "bad seed" "'x' is not a seed" -- "$S" --seed-list 1,x -o Q
bad "--point out of range" "points 0 to 5" -- "$S" "${G[@]}" -o Q --point 6
bad "--emit unknown" "parallel or slurm" -- "$S" -o Q --emit condor
bad "--throttle without slurm" "go with --emit slurm" -- "$S" -o Q --throttle 2
bad "--export xml" "the format is csv" -- --export xml A
[ -e Q ] && no "bad input writes nothing" || ok
expect 1 "--merge of nothing" -- "$ODPSIM" sweep --merge nowhere
has err "nowhere: no such directory" "a missing merge input is named"
mkdir -p E
expect 1 "--merge of an empty directory" -- "$ODPSIM" sweep --merge E
has err "no campaign.sqlite and no points" "an empty merge input is named"
echo "not sqlite" >E/campaign.sqlite
expect 1 "--export of a non-database" -- "$ODPSIM" sweep --export csv E
has err "E/campaign.sqlite: not a campaign database" "a file that is not a campaign is named"

echo "sweep.sh: $pass passed, $fail failed"
[ "$fail" = 0 ]
