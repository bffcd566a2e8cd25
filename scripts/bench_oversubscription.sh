#!/usr/bin/env bash
# Concurrent trk identify processes on this machine's cores (a shared node, or make reproduce beside other work):
# for each variant and each count P (1, 2, 4), P copies of the same short identify run start together; prints the
# wall time of each copy (train_seconds) and their median, and the load. Variants: the default (threads and OpenMP
# wait policy as trk chooses them), and the environment overrides that the choice was made from.
#
#   scripts/bench_oversubscription.sh [--build DIR] [--out DIR] [--counts "1 2 4"] [--repeats R] [--iterations N]
#                                     [--variants "default threads1 threads2 passive"]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$here/build
out=${TMPDIR:-/tmp}/trk_bench_oversubscription
counts="1 2 4"
repeats=2
iters=3000
variants="default threads2 threads2passive threads1"
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --counts) counts=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --iterations) iters=$2; shift 2 ;;
    --variants) variants=$2; shift 2 ;;
    *) echo "bench_oversubscription.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
trk=$build/trk
mkdir -p "$out"
data=$out/l63_h0.2_2000.h5
[ -f "$data" ] || "$trk" generate --system lorenz63 --h 0.2 --train-steps 2000 --out "$data" >/dev/null
echo "# $(date -u '+%F %T') UTC, $(nproc) cores, trk $(git -C "$here" rev-parse --short HEAD); identify bilinear trk10," \
     "$iters Adam iterations (+ L-BFGS 200 + LM 20: the parallel phases of a cell); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-16s %-3s %-3s %10s  %s\n' variant P rep median_s "each copy (s): train_seconds"
for r in $(seq 1 "$repeats"); do
  for v in $variants; do
    for p in $counts; do
      env_args=(); thr_args=()
      case $v in
        default) ;;
        threads1) thr_args=(--threads 1) ;;
        threads2) thr_args=(--threads 2) ;;   # two threads on 2 cores
        threads2passive) env_args=(OMP_WAIT_POLICY=passive); thr_args=(--threads 2) ;;
        threads2spin10k) env_args=(GOMP_SPINCOUNT=10000); thr_args=(--threads 2) ;;
        *) echo "unknown variant $v" >&2; exit 2 ;;
      esac
      pids=()
      for i in $(seq 1 "$p"); do
        dir=$out/$v/p$p/r$r/c$i
        env "${env_args[@]}" "$trk" identify --data "$data" --solver trk10 --model bilinear --iterations "$iters" \
          --meet-iterations 0 --substeps-iterations 0 --refine-iterations 200 --lm-iterations 20 --quiet "${thr_args[@]}" --out "$dir" \
          >/dev/null 2>&1 &
        pids+=($!)
      done
      wait "${pids[@]}"
      secs=()
      for i in $(seq 1 "$p"); do
        secs+=("$(python3 -c "import json; print('%.2f' % json.load(open('$out/$v/p$p/r$r/c$i/identify.json'))['train_seconds'])")")
      done
      med=$(printf '%s\n' "${secs[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}')
      printf '%-16s %-3s %-3s %10s  %s  (load %s)\n' "$v" "$p" "$r" "$med" "${secs[*]}" "$(cut -d' ' -f1 /proc/loadavg)"
    done
  done
done
