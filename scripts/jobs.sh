#!/usr/bin/env bash
# Prints the jobs of a job list (experiments/*.jobs), one command per line, with {trk} and {out} filled in.
#   scripts/jobs.sh JOBFILE OUT [TRK]          all jobs
#   scripts/jobs.sh JOBFILE OUT [TRK] --count  how many
#   scripts/jobs.sh JOBFILE OUT [TRK] --line N the N-th job (1-based; what a Slurm array task runs)
# The jobs are independent; once all have finished: trk report --results OUT --out OUT/report.
set -euo pipefail
if [[ $# -lt 2 ]]; then
  sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
jobfile=$1 out=$2 trk=${3:-build/trk}
shift $(( $# >= 3 ? 3 : 2 ))
[[ -f $jobfile ]] || { echo "jobs.sh: $jobfile: no such job list" >&2; exit 2; }
list() { grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$jobfile" | sed -e "s|{trk}|$trk|g" -e "s|{out}|$out|g"; }
case "${1:-}" in
  "") list ;;
  --count) list | wc -l ;;
  --line)
    n=${2:?--line needs N}
    total=$(list | wc -l)
    [[ $n =~ ^[0-9]+$ && $n -ge 1 && $n -le $total ]] || { echo "jobs.sh: line $n: expected 1..$total" >&2; exit 2; }
    list | sed -n "${n}p" ;;
  *) echo "jobs.sh: unknown option $1" >&2; exit 2 ;;
esac
