#!/usr/bin/env bash
# Runs a job list through a real Slurm: starts a one-node cluster on this machine (munged, slurmctld, slurmd on
# localhost; Debian 12's slurm-wlm 22.05 and munge, installed when missing; run as root), submits the list as a job
# array (scripts/slurm_array.sh) and the report as a job that depends on it, waits, checks the results against the
# baselines with trk report --check, and stops the daemons it started (also on failure or Ctrl-C).
#   scripts/slurm_check.sh [JOBFILE [BASELINE [OUT]]]
# Defaults: experiments/regress.jobs, tests/regress, out/slurm. Run from anywhere; `make slurm-check` runs it.
# BASELINE "-": a list without baselines (experiments/reliability_l63.jobs): every job and the report must complete.
# The cluster's configuration, state and logs live in OUT/cluster/ (slurm.conf, slurmctld.log, slurmd.log); the
# jobs' output in OUT/slurm/. Exit: 0 when every job completed and the check passed, 1 otherwise, 2 on bad usage.
set -euo pipefail
cd "$(dirname "$0")/.."
jobfile=${1:-experiments/regress.jobs} baseline=${2:-tests/regress} out=${3:-out/slurm}
trk=${TRK:-build/trk}  # TRK=path: another binary (tests)
[[ -x $trk ]] || { echo "slurm_check: $trk: not built (make build)" >&2; exit 2; }
[[ -f $jobfile ]] || { echo "slurm_check: $jobfile: no such job list" >&2; exit 2; }
[[ $baseline == - || -d $baseline ]] || { echo "slurm_check: $baseline: no such baseline folder (- for none)" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "slurm_check: run as root (slurmd starts jobs as their users)" >&2; exit 2; }
start=$SECONDS
need=()
for p in slurm-wlm munge; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p"); done
if [[ ${#need[@]} -gt 0 ]]; then
  echo "slurm_check: installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

rm -rf "$out"
mkdir -p "$out/cluster/state" "$out/cluster/spool" "$out/slurm"
cluster=$(realpath "$out/cluster")
node=$(hostname -s)
cpus=$(nproc)
# Ports of our own, so that a system Slurm (if any) is left alone.
cat >"$cluster/slurm.conf" <<CONF
ClusterName=trk
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$cluster/state
SlurmdSpoolDir=$cluster/spool
SlurmctldPidFile=$cluster/slurmctld.pid
SlurmdPidFile=$cluster/slurmd.pid
SlurmctldLogFile=$cluster/slurmctld.log
SlurmdLogFile=$cluster/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=3600
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=trk Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$cluster/slurm.conf

started=()  # pid files of the daemons this script started
stop() {
  local f
  for f in "${started[@]}"; do
    [[ -f $f ]] && kill "$(cat "$f")" 2>/dev/null || true
  done
  started=()
}
trap stop EXIT
trap 'exit 130' INT TERM

# munge: the system's daemon if it runs already, else one started here (and stopped at the end).
if ! munge -n </dev/null >/dev/null 2>&1; then
  install -d -o munge -g munge -m 0755 /run/munge
  runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
  started+=(/run/munge/munged.pid)
  for _ in $(seq 50); do munge -n </dev/null >/dev/null 2>&1 && break; sleep 0.1; done
fi
munge -n </dev/null | unmunge >/dev/null || { echo "slurm_check: munge does not work" >&2; exit 1; }
slurmctld -c -f "$SLURM_CONF"
started+=("$cluster/slurmctld.pid")
slurmd -f "$SLURM_CONF"
started+=("$cluster/slurmd.pid")
for _ in $(seq 100); do
  sinfo -h -o '%t' 2>/dev/null | grep -q -E '^(idle|mix|alloc)' && break
  sleep 0.2
done
sinfo -h -o '%t' | grep -q -E '^(idle|mix|alloc)' || { echo "slurm_check: the node did not come up (see $cluster/*.log)" >&2; exit 1; }
echo "slurm_check: one-node cluster up ($node, $cpus CPUs, Slurm $(sinfo -V | cut -d' ' -f2)) in $((SECONDS - start)) s"

n=$(scripts/jobs.sh "$jobfile" "$out" "$trk" --count)
jid=$(sbatch --parsable --array=1-"$n" --output="$out/slurm/task-%A_%a.out" \
      scripts/slurm_array.sh "$jobfile" "$out" "$trk")
rid=$(sbatch --parsable --dependency=afterok:"$jid" --job-name=trk-report --output="$out/slurm/report-%j.out" \
      --wrap "$trk report --results $out --out $out/report --quiet")
echo "slurm_check: submitted array $jid ($n tasks from $jobfile) and report $rid (afterok:$jid)"
last=""
while squeue -h -j "$jid,$rid" 2>/dev/null | grep -q .; do
  now=$(squeue -h -j "$jid,$rid" -o '%T' | sort | uniq -c | tr -s ' ' | paste -sd, -)
  [[ $now != "$last" ]] && echo "slurm_check: $((SECONDS - start)) s:$now" && last=$now
  sleep 2
done
# Every task and the report must have completed (no accounting database: scontrol keeps finished jobs for MinJobAge).
states=$(scontrol -o show job "$jid" | grep -o 'JobState=[A-Z_]*' | sort | uniq -c | tr -s ' ')
report_state=$(scontrol -o show job "$rid" | grep -o 'JobState=[A-Z_]*')
echo "slurm_check: array:$states; report: $report_state"
if grep -q -v 'JobState=COMPLETED' <<<"$(scontrol -o show job "$jid" | grep -o 'JobState=[A-Z_]*')" ||
   [[ $report_state != JobState=COMPLETED ]]; then
  echo "slurm_check: a job did not complete (output in $out/slurm/)" >&2
  exit 1
fi
if [[ $baseline == - ]]; then
  echo "slurm_check: no baseline; report in $out/report/index.md"
else
  "$trk" report --check "$baseline" --results "$out"
fi
stop
echo "slurm_check: done in $((SECONDS - start)) s (daemons stopped)"
