#!/usr/bin/env bash
# Peak resident memory (maximum RSS, /usr/bin/time) of trk identify on 2000 training pairs: every training stage
# of the default pipeline with few iterations (peak memory does not grow with iterations), per solver and model.
#   scripts/bench_memory.sh [--build DIR] [--out DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$here/build
out=${TMPDIR:-/tmp}/trk_bench_memory
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "bench_memory.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
trk=$build/trk
mkdir -p "$out"
data=$out/l63_h0.2_2000.h5
[ -f "$data" ] || "$trk" generate --system lorenz63 --h 0.2 --train-steps 2000 --out "$data" >/dev/null
short=(--iterations 20 --meet-iterations 20 --refine-iterations 5 --threads 2 --quiet)
run() {  # label, then identify arguments
  local label=$1; shift
  local kb
  kb=$( { /usr/bin/time -f '%M' "$trk" identify --data "$data" "$@" --out "$out/$label" >/dev/null; } 2>&1 | tail -1)
  [[ $kb =~ ^[0-9]+$ ]] || { echo "bench_memory.sh: $label failed: $kb" >&2; return 1; }
  printf '%-34s %8.1f MB   trk identify %s\n' "$label" "$(echo "$kb / 1024" | bc -l)" "$*"
}
echo "# peak RSS, 2000 pairs, $(date -u '+%F %T') UTC"
run bilinear_trk10_all_stages --solver trk10 --model bilinear "${short[@]}" --lm-iterations 1
run bilinear_trk10_no_lm --solver trk10 --model bilinear "${short[@]}" --lm-iterations 0
run mlp_trk10_all_stages --solver trk10 --model mlp --widths 64,64 "${short[@]}" --lm-iterations 1
run mlp_trk10_no_lm --solver trk10 --model mlp --widths 64,64 "${short[@]}" --lm-iterations 0
run bilinear_dopri8 --solver dopri8 --model bilinear --meet-iterations 2 --iterations 3 --refine-iterations 2 --threads 2 --quiet
run mlp_dopri8 --solver dopri8 --model mlp --widths 64,64 --meet-iterations 2 --iterations 2 --refine-iterations 2 --threads 2 --quiet
