#!/usr/bin/env bash
# Runs a job list (experiments/*.jobs) on this machine, then merges the results into a report.
#   scripts/run_jobs.sh [-j N] [--trk PATH] JOBFILE OUT
# At most N jobs at a time (default: the number of cores), each with OMP_NUM_THREADS = cores / N (at least 1);
# a progress line per finished job; each job's output in OUT/logs/job<k>.log. Then
#   trk report --results OUT --out OUT/report
# Exits 1 if a job failed (the others still run; the report is not made), 2 on bad usage.
set -uo pipefail
cores=$(nproc)
jobs=$cores
trk=build/trk
while [[ $# -gt 0 ]]; do
  case $1 in
    -j) jobs=${2:?-j needs N}; shift 2 ;;
    --trk) trk=${2:?--trk needs a path}; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run_jobs.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[[ $# -eq 2 ]] || { echo "usage: scripts/run_jobs.sh [-j N] [--trk PATH] JOBFILE OUT" >&2; exit 2; }
jobfile=$1 out=$2
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "run_jobs.sh: -j $jobs: expected a positive integer" >&2; exit 2; }
[[ -x $trk ]] || { echo "run_jobs.sh: $trk: not an executable (build first: make build)" >&2; exit 2; }
here=$(dirname "$0")
mapfile -t cmds < <("$here/jobs.sh" "$jobfile" "$out" "$trk") || exit 2
total=${#cmds[@]}
[[ $total -gt 0 ]] || { echo "run_jobs.sh: $jobfile: no jobs" >&2; exit 2; }
threads=$(( cores / jobs )); (( threads < 1 )) && threads=1
mkdir -p "$out/logs" || exit 2
echo "run_jobs: $total jobs from $jobfile, $jobs at a time, $threads thread(s) each -> $out"

start=$SECONDS
declare -A started=() which=()
failed=() done=0 next=0
finish() {  # reaps one finished job
  local pid=$1 rc=$2 k=${which[$1]}
  done=$((done + 1))
  local secs=$((SECONDS - started[$1]))
  if [[ $rc -eq 0 ]]; then
    printf '[%d/%d] ok     %4ds  %s\n' "$done" "$total" "$secs" "${cmds[$k]}"
  else
    printf '[%d/%d] FAILED %4ds  %s (exit %d, log %s)\n' "$done" "$total" "$secs" "${cmds[$k]}" "$rc" "$out/logs/job$((k + 1)).log"
    failed+=("$((k + 1))")
  fi
  unset "started[$1]" "which[$1]"
}
while [[ $next -lt $total || ${#started[@]} -gt 0 ]]; do
  while [[ $next -lt $total && ${#started[@]} -lt $jobs ]]; do
    OMP_NUM_THREADS=$threads bash -c "${cmds[$next]}" >"$out/logs/job$((next + 1)).log" 2>&1 &
    started[$!]=$SECONDS
    which[$!]=$next
    next=$((next + 1))
  done
  wait -n -p pid; rc=$?
  [[ -n ${pid:-} && -n ${which[$pid]+x} ]] && finish "$pid" "$rc"
done
echo "run_jobs: $total jobs in $((SECONDS - start)) s"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "run_jobs: ${#failed[@]} job(s) failed: ${failed[*]} (logs in $out/logs); no report made" >&2
  exit 1
fi
"$trk" report --results "$out" --out "$out/report" --quiet || exit 1
