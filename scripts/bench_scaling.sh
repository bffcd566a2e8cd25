#!/usr/bin/env bash
# Cost of one full-batch training iteration (loss + gradient, chunks of 250, one thread) against the number of
# samples (500 .. 32000, TRK10) and of stages (4 .. 16, 2000 samples), bilinear and MLP 3-64-64-3, from trk_bench's
# BM_TrainingScaling; prints the times, the time per sample (or per stage) and a least-squares line through the
# origin-free fit t = a + b x with its largest relative residual.
# With --lorenz96 instead: the cost of one training iteration against the dimension, Lorenz-96
# with n = 40, 80, 160, 320 (F = 8, h = 0.1, 1000 training pairs), TRK10 with the local-bilinear model (stencil 2,
# 3 products: 45 parameters whatever n), full batch, ITERS Adam iterations and no other phase, on 1 and 2 threads
# (trk identify --threads); prints ms per iteration (train_seconds / iterations, the best of R runs), the cost
# per site, the speed-up of 2 threads and the load before and after.
#   scripts/bench_scaling.sh [--build DIR] [--repetitions R] [--lorenz96 [--iterations ITERS]]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$here/build
reps=3
lorenz96=0
iters=200
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --repetitions) reps=$2; shift 2 ;;
    --lorenz96) lorenz96=1; shift ;;
    --iterations) iters=$2; shift 2 ;;
    *) echo "bench_scaling.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ "$lorenz96" = 1 ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  echo "# $(date -u '+%F %T') UTC; trk $(git -C "$here" rev-parse --short HEAD); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  for n in 40 80 160 320; do
    "$build/trk" generate --system lorenz96 --param n=$n --h 0.1 --train-steps 1000 --test-steps 20 \
      --validation-steps 20 --out "$work/l96_$n.h5" --quiet >/dev/null
    for threads in 1 2; do
      for ((r = 0; r < reps; ++r)); do
        "$build/trk" identify --data "$work/l96_$n.h5" --solver trk10 --model local-bilinear --stencil 2 \
          --iterations "$iters" --meet-iterations 0 --substeps-iterations 0 --refine-iterations 0 --lm-iterations 0 --restarts 1 \
          --warmup 0 --threads $threads --out "$work/run" --quiet >/dev/null
        /usr/bin/python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(sys.argv[2], sys.argv[3], 1e3*j['train_seconds']/j['iterations'])" \
          "$work/run/identify.json" $n $threads >>"$work/times"
        rm -rf "$work/run"
      done
    done
  done
  echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
  /usr/bin/python3 - "$work/times" "$iters" <<'PY'
import sys
best = {}
for line in open(sys.argv[1]):
    n, t, ms = line.split(); key = (int(n), int(t))
    best[key] = min(best.get(key, float("inf")), float(ms))
print(f"Lorenz-96, TRK10, local-bilinear, 1000 pairs, {sys.argv[2]} Adam iterations (best of the runs): ms per iteration")
print("| n | 1 thread | per site (us) | 2 threads | speed-up |")
print("|---|---|---|---|---|")
ns = sorted({n for n, _ in best})
for n in ns:
    one, two = best[(n, 1)], best[(n, 2)]
    print(f"| {n} | {one:.2f} | {1e3 * one / n:.1f} | {two:.2f} | {one / two:.2f}x |")
# Linear in n: the time per site at each n against the one at the largest n (fixed costs weigh least there).
ref = best[(ns[-1], 1)] / ns[-1]
print("per-site cost relative to n = %d (1 thread): " % ns[-1] + ", ".join(f"n={n}: {best[(n, 1)] / n / ref:.2f}" for n in ns))
PY
  exit 0
fi
json=$(mktemp)
trap 'rm -f "$json"' EXIT
echo "# $(date -u '+%F %T') UTC; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/trk_bench" --benchmark_filter=BM_TrainingScaling --benchmark_repetitions="$reps" \
  --benchmark_report_aggregates_only=true --benchmark_format=json --benchmark_out="$json" \
  --benchmark_out_format=json >/dev/null
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$json" <<'PY'
import json, re, sys
rows = {}
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    if b.get("aggregate_name") != "median":
        continue
    m = re.search(r"model:(\d)/batch:(\d+)/stages:(\d+)", b["name"])
    rows[tuple(int(g) for g in m.groups())] = b["cpu_time"]  # ms, CPU time (the machine is shared)
names = {0: "bilinear", 1: "mlp 3-64-64-3"}
def fit(xs, ts):
    n = len(xs); mx = sum(xs) / n; mt = sum(ts) / n
    b = sum((x - mx) * (t - mt) for x, t in zip(xs, ts)) / sum((x - mx) ** 2 for x in xs)
    a = mt - b * mx
    worst = max(abs(a + b * x - t) / t for x, t in zip(xs, ts))
    return a, b, worst
for model in (0, 1):
    pts = sorted((n, t) for (m, n, q), t in rows.items() if m == model and q == 10)
    print(f"\n{names[model]}, TRK10: samples -> ms per iteration (CPU), us per sample")
    for n, t in pts:
        print(f"  {n:6d}  {t:9.3f} ms  {1e3 * t / n:7.3f} us/sample")
    a, b, w = fit([p[0] for p in pts], [p[1] for p in pts])
    print(f"  fit t = {a:.3f} ms + {1e3 * b:.4f} us x samples; largest relative residual {100 * w:.1f}%")
    pts = sorted((q, t) for (m, n, q), t in rows.items() if m == model and n == 2000)
    print(f"{names[model]}, 2000 samples: stages -> ms per iteration (CPU), ms per stage")
    for q, t in pts:
        print(f"  {q:6d}  {t:9.3f} ms  {t / q:7.4f} ms/stage")
    a, b, w = fit([p[0] for p in pts], [p[1] for p in pts])
    print(f"  fit t = {a:.3f} ms + {b:.4f} ms x stages; largest relative residual {100 * w:.1f}%")
PY
