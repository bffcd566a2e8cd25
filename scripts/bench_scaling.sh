#!/usr/bin/env bash
# Cost of one full-batch training iteration (loss + gradient, chunks of 250, one thread) against the number of
# samples (500 .. 32000, TRK10) and of stages (4 .. 16, 2000 samples), bilinear and MLP 3-64-64-3, from trk_bench's
# BM_TrainingScaling; prints the times, the time per sample (or per stage) and a least-squares line through the
# origin-free fit t = a + b x with its largest relative residual.
#   scripts/bench_scaling.sh [--build DIR] [--repetitions R]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$here/build
reps=3
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --repetitions) reps=$2; shift 2 ;;
    *) echo "bench_scaling.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
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
