#!/bin/bash
# tests/sweep_slurm.sh - `odpsim sweep --emit slurm` on a real Slurm: the
# test starts a single-node cluster of its own (munged with a generated
# key, slurmctld and slurmd with a generated slurm.conf, all under a
# temporary directory, on loopback ports), submits the emitted job array
# (throttled to 2 tasks at once), waits for it, merges the point files and
# compares the rows with the same campaign run locally.  It stops the
# daemons it started (by their pid files) whatever happens.  Needs root
# (slurmd runs jobs as their user), Debian's slurm-wlm and munge, and
# /usr/bin/python3; without them it prints SKIP loudly (and fails under
# CI=true: .ci/run installs them).  Run by `make check` with ODPSIM set.
set -u
ODPSIM=${ODPSIM:-build/odpsim}
ODPSIM=$(cd "$(dirname "$ODPSIM")" && pwd)/$(basename "$ODPSIM")
PY=${PYTHON:-/usr/bin/python3}
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
me=sweep_slurm.sh
. "$here/tests/sweep_lib.sh"

stop_daemons() {
	for f in "$tmp/slurmd.pid" "$tmp/slurmctld.pid" "$tmp/munge/pid"; do
		[ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	# give them a moment to go before their directory does
	for _ in $(seq 50); do
		alive=0
		for f in "$tmp/slurmd.pid" "$tmp/slurmctld.pid" "$tmp/munge/pid"; do
			[ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null && alive=1
		done
		[ $alive = 0 ] && break
		sleep 0.1
	done
}
trap 'stop_daemons; rm -rf "$tmp"' EXIT

missing=""
[ "$(id -u)" = 0 ] || missing="$missing root"
for b in /usr/sbin/munged /usr/sbin/slurmctld /usr/sbin/slurmd sbatch squeue; do
	command -v "$b" >/dev/null 2>&1 || missing="$missing $b"
done
"$PY" -c 'import sqlite3' 2>/dev/null || missing="$missing python3"
if [ -n "$missing" ]; then
	skip "a single-node Slurm (missing:$missing; apt-get install slurm-wlm munge, as root)"
	echo "$me: $pass passed, $fail failed"
	[ "$fail" = 0 ]
	exit
fi

# --- the cluster: munge, then slurmctld and slurmd on free loopback ports ---
mkdir -p "$tmp/munge" "$tmp/state" "$tmp/spool"
chmod 755 "$tmp" "$tmp/munge"
head -c 1024 /dev/urandom >"$tmp/munge/munge.key"
chmod 400 "$tmp/munge/munge.key"
if /usr/sbin/munged --force -S "$tmp/munge/sock" --key-file="$tmp/munge/munge.key" \
	--log-file="$tmp/munge/log" --pid-file="$tmp/munge/pid" \
	--seed-file="$tmp/munge/seed" 2>"$tmp/munged.err"; then ok; else
	no "munged: $(cat "$tmp/munged.err" "$tmp/munge/log" 2>/dev/null | tail -3)"
fi
read -r p1 p2 < <("$PY" -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s:
    x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
node=$(hostname -s)
cpus=$(nproc)
cat >"$tmp/slurm.conf" <<EOF
ClusterName=odpsimtest
SlurmctldHost=$node
SlurmctldPort=$p1
SlurmdPort=$p2
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$tmp/munge/sock
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
NodeName=$node CPUs=$cpus State=UNKNOWN
PartitionName=odpsim Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$tmp/slurm.conf"
/usr/sbin/slurmctld -c -i >"$tmp/slurmctld.err" 2>&1 && ok || no "slurmctld: $(tail -3 "$tmp/slurmctld.err" "$tmp/slurmctld.log")"
/usr/sbin/slurmd >"$tmp/slurmd.err" 2>&1 && ok || no "slurmd: $(tail -3 "$tmp/slurmd.err" "$tmp/slurmd.log")"
up=0
for _ in $(seq 100); do
	if sinfo -h -o %t 2>/dev/null | grep -q idle; then up=1; break; fi
	sleep 0.2
done
[ $up = 1 ] && ok || no "the node never came up: $(tail -3 "$tmp/slurmctld.log" "$tmp/slurmd.log" 2>/dev/null)"

# --- the campaign: emitted, submitted, merged, compared with a local run ---
cd "$tmp" || exit 1
S="$here/workloads/write_bw.ini"
G=(--grid workload.bw.msg_size=4KiB,64KiB --policy pin,odp --duration 200us)
expect 0 "--emit slurm" -- "$ODPSIM" sweep "$S" "${G[@]}" -o C --emit slurm --throttle 2 \
	--sbatch-option=--time=10
has C/sweep.sbatch "^#SBATCH --array=0-3%2$" "the array has 4 tasks, 2 at once"
has C/sweep.sbatch "^#SBATCH --time=10$" "--sbatch-option adds a line"
has C/sweep.sbatch '--point "$SLURM_ARRAY_TASK_ID"' "a task runs its point"
if [ $up = 1 ] && sbatch --parsable C/sweep.sbatch >sbatch.out 2>&1; then ok; else
	no "sbatch: $(cat sbatch.out)"
fi
job=$(cut -d';' -f1 sbatch.out)
done_=0
for _ in $(seq 600); do
	[ -z "$(squeue -h -j "$job" 2>/dev/null)" ] && { done_=1; break; }
	sleep 0.2
done
[ $done_ = 1 ] && ok || no "the array did not finish in 120 s: $(squeue 2>&1 | head -5)"
[ "$(ls C/points/*.sqlite 2>/dev/null | wc -l)" = 4 ] && ok || \
	no "4 point files: $(ls C/points C/logs 2>&1; cat C/logs/*.out 2>/dev/null | head -5)"
expect 0 "--merge" -- "$ODPSIM" sweep --merge C
has err "merged 4 rows from 4 files" "the merge counts the array's rows"
expect 0 "the same campaign locally" -- "$ODPSIM" sweep "$S" "${G[@]}" -o L -q
rows C/campaign.sqlite >rows.C
rows L/campaign.sqlite >rows.L
[ -s rows.L ] && cmp -s rows.C rows.L && ok || no "the Slurm campaign differs from the local one: $(diff rows.C rows.L | head -3)"
# the array again: every task finds its point done and rewrites nothing
md5sum C/points/*.sqlite >sums
if [ $up = 1 ] && sbatch --parsable --wait C/sweep.sbatch >sbatch2.out 2>&1; then ok; else
	no "sbatch again: $(cat sbatch2.out)"
fi
md5sum -c --quiet sums && ok || no "a second array rewrote point files"
[ "$(cat C/logs/point-*.out 2>/dev/null | wc -c)" = 0 ] && ok || \
	no "tasks print nothing under --quiet: $(cat C/logs/point-*.out | head -3)"

echo "$me: $pass passed, $fail failed"
[ "$fail" = 0 ]
