#!/usr/bin/env bash
# dopri8 training, trk against torchdiffeq 0.2.5 (bench/torchdiffeq_dopri8.py; the authors' solver) on the
# same dataset, alternating so that both see the same load: bilinear network, one adaptive solve of the whole batch
# over [0, h] per iteration (rtol 1e-7, atol 1e-9), one-step MSE, Adam at 1e-3 constant, full batch, one thread.
# trk runs `trk identify --solver dopri8 --iterations N --meet-iterations 0 --refine-iterations 0 --schedule constant
# --learning-rate 1e-3 --threads 1`; its rate is iterations / train_seconds (identify.json) and its forward NFE per
# iteration the mean of model.h5's history. torchdiffeq prints its own rate and forward NFE. Both start from a
# random bilinear network of the same distribution (torch's generator, trk's seeded one), so their NFE per solve
# differ by the model as well as by the solver; scripts/torchdiffeq_same_model.py compares them on one model.
#
#   scripts/bench_torchdiffeq.sh [--build DIR] [--out DIR] [--repeats R] [--iterations N] [--pairs P] [--h H]
# Needs python3-torch, python3-h5py and python3-scipy for /usr/bin/python3 (torchdiffeq imports scipy) and torchdiffeq
# 0.2.5 on PYTHONPATH (PYTHONPATH=/path/to/torchdiffeq scripts/bench_torchdiffeq.sh ...).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$here/build
out=${TMPDIR:-/tmp}/trk_bench_torchdiffeq
repeats=3
iters=100
pairs=2000
h=0.2
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --iterations) iters=$2; shift 2 ;;
    --pairs) pairs=$2; shift 2 ;;
    --h) h=$2; shift 2 ;;
    *) echo "bench_torchdiffeq.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
py=/usr/bin/python3
reference=$here/bench/torchdiffeq_dopri8.py
trk=$build/trk
[ -x "$trk" ] || { echo "bench_torchdiffeq.sh: no $trk (build first)" >&2; exit 2; }
$py "$reference" --check || exit 2  # one line saying what is missing and how to get it
mkdir -p "$out"
data=$out/l63_h${h}_${pairs}.h5
[ -f "$data" ] || "$trk" generate --system lorenz63 --h "$h" --train-steps "$pairs" --out "$data" >/dev/null

echo "# $(date -u '+%F %T') UTC, $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# torch $($py -c 'import torch; print(torch.__version__)'), trk $(git -C "$here" rev-parse --short HEAD)"
echo "# dataset $data: $pairs one-step pairs, h $h; $iters iterations each; repeats $repeats; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-4s %10s %10s %8s %14s %14s %8s\n' run trk_it/s tdq_it/s ratio trk_nfe_fwd tdq_nfe_fwd load
trk_rates=(); tdq_rates=(); ratios=()
for r in $(seq 1 "$repeats"); do
  dir=$out/r$r
  OMP_NUM_THREADS=1 "$trk" identify --data "$data" --solver dopri8 --model bilinear --iterations "$iters" \
    --meet-iterations 0 --refine-iterations 0 --schedule constant --learning-rate 1e-3 --threads 1 --quiet \
    --out "$dir" >/dev/null
  read -r trk_rate trk_nfe < <($py -c "
import json, h5py, numpy as np
j = json.load(open('$dir/identify.json'))
print(j['iterations'] / j['train_seconds'], j['nfe']['train_forward_per_iteration']['mean'])")
  line=$(OMP_NUM_THREADS=1 $py "$reference" "$data" --iterations "$iters" | grep '^torchdiffeq_dopri8:')
  tdq_rate=$(sed 's/.*iterations_per_second=\([^ ]*\).*/\1/' <<<"$line")
  tdq_nfe=$(sed 's/.*nfe_forward_mean=\([^ ]*\).*/\1/' <<<"$line")
  ratio=$($py -c "print($trk_rate / $tdq_rate)")
  trk_rates+=("$trk_rate"); tdq_rates+=("$tdq_rate"); ratios+=("$ratio")
  printf '%-4s %10.1f %10.2f %8.1f %14.1f %14s %8s\n' "$r" "$trk_rate" "$tdq_rate" "$ratio" "$trk_nfe" "$tdq_nfe" \
    "$(cut -d' ' -f1 /proc/loadavg)"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
echo "median: trk $(median "${trk_rates[@]}") it/s, torchdiffeq $(median "${tdq_rates[@]}") it/s, ratio $(median "${ratios[@]}")x (median of the per-run ratios); load after: $(cut -d' ' -f1-3 /proc/loadavg)"
