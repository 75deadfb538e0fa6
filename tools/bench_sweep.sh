#!/bin/bash
# tools/bench_sweep.sh [ODPSIM] - the cost of `odpsim sweep` itself: 20
# points of write_bw (4 message sizes x 5 seeds, 100 ms of simulated time
# each) on both cores (-j 2), against the same 20 runs launched by hand
# (`odpsim run --set ... -q`, two at once through xargs -P 2).  The two are
# timed in turn, REPS times each (A B A B ...: drift on a shared machine
# hits both), and the medians are printed:
#   sweep points=20 jobs=2 sweep_s=S by_hand_s=H overhead=O%
# The sweep does more than the hand runs: it builds every point once to
# key it, records each run in SQLite, and forks rather than execs.
# Target: overhead under 5%.  Wall-clock figures: quote them with the
# machine's load.
set -eu
ODPSIM=${1:-build/odpsim}
REPS=${REPS:-3}
S=workloads/write_bw.ini
D=100ms
SIZES="4KiB 16KiB 64KiB 256KiB"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for sz in $SIZES; do
	for seed in 1 2 3 4 5; do
		echo "$ODPSIM run $S --set workload.bw.msg_size=$sz --seed $seed --duration $D -q"
	done
done >"$tmp/by_hand"
now() { date +%s.%N; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
: >"$tmp/a"
: >"$tmp/b"
for r in $(seq "$REPS"); do
	rm -rf "$tmp/camp"
	t0=$(now)
	"$ODPSIM" sweep "$S" --grid workload.bw.msg_size="${SIZES// /,}" --seeds 5 \
		--duration $D -j 2 -q -o "$tmp/camp"
	t1=$(now)
	xargs -P 2 -I{} sh -c '{}' <"$tmp/by_hand"
	t2=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }' >>"$tmp/a"
	awk -v a="$t1" -v b="$t2" 'BEGIN { print b - a }' >>"$tmp/b"
done
a=$(median <"$tmp/a")
b=$(median <"$tmp/b")
awk -v a="$a" -v b="$b" 'BEGIN { printf "sweep points=20 jobs=2 sweep_s=%.3f by_hand_s=%.3f overhead=%.1f%%\n", a, b, (a - b) / b * 100 }'
