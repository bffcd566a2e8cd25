#!/usr/bin/env bash
#SBATCH --job-name=trk
#SBATCH --cpus-per-task=1
#SBATCH --time=02:00:00
#SBATCH --output=slurm-%A_%a.out
# One job of a job list per Slurm array task (task k runs line k of scripts/jobs.sh's output):
#   n=$(scripts/jobs.sh experiments/reproduce.jobs OUT build/trk --count)
#   jid=$(sbatch --parsable --array=1-$n scripts/slurm_array.sh experiments/reproduce.jobs OUT build/trk)
#   sbatch --dependency=afterok:$jid --wrap "build/trk report --results OUT --out OUT/report"
# Submit from the repository's root (configs are named relative to it). Outside Slurm, set SLURM_ARRAY_TASK_ID
# to run one task by hand.
set -euo pipefail
[[ $# -ge 2 ]] || { echo "usage: sbatch --array=1-N scripts/slurm_array.sh JOBFILE OUT [TRK]" >&2; exit 2; }
: "${SLURM_ARRAY_TASK_ID:?not in a Slurm array task (set SLURM_ARRAY_TASK_ID=k to run task k by hand)}"
cd "${SLURM_SUBMIT_DIR:-.}"
export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
cmd=$(scripts/jobs.sh "$1" "$2" "${3:-build/trk}" --line "$SLURM_ARRAY_TASK_ID")
echo "task $SLURM_ARRAY_TASK_ID: $cmd"
exec bash -c "$cmd"
