# tests/sweep_lib.sh - what tests/sweep.sh and tests/sweep_slurm.sh share
# (sourced, with $me naming the script, $tmp its temporary directory and $PY
# a python3 that has sqlite3).

pass=0
fail=0
ok() { pass=$((pass + 1)); }
no() { fail=$((fail + 1)); echo "$me: FAIL: $*"; }
skip() {
	echo "$me: SKIP: $*"
	if [ "${CI:-}" = true ]; then no "CI must run this: $*"; fi
}
expect() { # expect STATUS DESCRIPTION -- command...
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

q() { # q DB SQL: the rows, '|'-separated
	"$PY" - "$1" "$2" <<'PY'
import sqlite3, sys
for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]):
    print("|".join("" if x is None else str(x) for x in r))
PY
}
# the rows of a campaign without what differs between two runs of it
# (wall-clock times, where and when it ran)
rows() {
	"$PY" - "$1" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
skip = {"wall_s", "run_wall_s", "host", "finished_at"}
for t, order in (("runs", "key"), ("workloads", "key, workload"),
                 ("counters", "key, name"), ("params", "ord")):
    cur = db.execute("SELECT * FROM %s ORDER BY %s" % (t, order))
    names = [d[0] for d in cur.description]
    for r in cur:
        d = {n: v for n, v in zip(names, r) if n not in skip}
        if d.get("summary"):
            s = json.loads(d["summary"]); s.pop("wall_s", None)
            d["summary"] = s
        print(t, json.dumps(d, sort_keys=True))
PY
}

