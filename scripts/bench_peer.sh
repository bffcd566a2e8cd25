#!/usr/bin/env bash
# trk identify against the PyTorch peer (bench/torch_reference.py) on the same dataset: the same loop
# (full batch, one-step MSE, TRK10 with A = 0, b = 1/q at the start, Adam at 1e-3 constant), the same threads;
# one start (--restarts 1: identify's default screens 8 starts of 2000 iterations, which train_seconds would count).
# Prints iterations per second of each, their ratio, and whether trk's trained parameters at 2 threads equal
# those at 1 thread bit for bit. Repeats interleave trk and the peer so both see the same machine load.
#
#   scripts/bench_peer.sh [--build DIR] [--out DIR] [--repeats R] [--threads "1 2"] [--models "bilinear mlp"]
#                         [--trk-iterations N] [--peer-iterations M] [--pairs P] [--peer FILE]
# Needs Debian's python3-torch and python3-h5py (apt-get install -y python3-torch python3-h5py) for /usr/bin/python3.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$here/build
out=${TMPDIR:-/tmp}/trk_bench_peer
repeats=3
threads_list="1 2"
models="bilinear mlp"
trk_iters_bilinear=2000
trk_iters_mlp=200
peer_iters_bilinear=200
peer_iters_mlp=50
pairs=2000
peer=$here/bench/torch_reference.py
trk_iters=""
peer_iters=""
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --repeats) repeats=$2; shift 2 ;;
    --threads) threads_list=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    --trk-iterations) trk_iters=$2; shift 2 ;;
    --peer-iterations) peer_iters=$2; shift 2 ;;
    --pairs) pairs=$2; shift 2 ;;
    --peer) peer=$2; shift 2 ;;
    *) echo "bench_peer.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
py=/usr/bin/python3
trk=$build/trk
[ -x "$trk" ] || { echo "bench_peer.sh: no $trk (build first)" >&2; exit 2; }
$py "$peer" --check || exit 2  # one line saying what is missing and how to get it
mkdir -p "$out"
data=$out/l63_h0.2_${pairs}.h5
[ -f "$data" ] || "$trk" generate --system lorenz63 --h 0.2 --train-steps "$pairs" --out "$data" >/dev/null

echo "# $(date -u '+%F %T') UTC, $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# torch $($py -c 'import torch; print(torch.__version__)'), trk $(git -C "$here" rev-parse --short HEAD)"
echo "# dataset $data: $pairs one-step pairs; repeats $repeats; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-9s %-7s %-6s %10s %10s %10s %8s  %s\n' model threads run trk_it/s peer_it/s ratio load "trk loss / peer loss"

for model in $models; do
  if [ "$model" = mlp ]; then
    model_args=(--model mlp --widths 64,64)
    ti=${trk_iters:-$trk_iters_mlp}; pi=${peer_iters:-$peer_iters_mlp}
  else
    model_args=(--model bilinear)
    ti=${trk_iters:-$trk_iters_bilinear}; pi=${peer_iters:-$peer_iters_bilinear}
  fi
  for t in $threads_list; do
    trk_rates=(); peer_rates=()
    for r in $(seq 1 "$repeats"); do
      dir=$out/$model/t$t/r$r
      OMP_NUM_THREADS=$t "$trk" identify --data "$data" --solver trk10 "${model_args[@]}" --iterations "$ti" \
        --meet-iterations 0 --substeps-iterations 0 --refine-iterations 0 --lm-iterations 0 --schedule constant --learning-rate 1e-3 \
        --tableau-init zeros --restarts 1 --threads "$t" --quiet --out "$dir" >/dev/null
      read -r trk_rate trk_loss < <($py -c "
import json, h5py
j = json.load(open('$dir/identify.json'))
with h5py.File('$dir/model.h5', 'r') as f:
    print(j['iterations'] / j['train_seconds'], '%.6e' % f['history/loss'][-1])")
      peer_line=$(OMP_NUM_THREADS=$t $py "$peer" "$data" --iterations "$pi" --stages 10 --model "$model" \
        --threads "$t" | grep '^torch_reference:')
      peer_rate=$(sed 's/.*iterations_per_second=\([^ ]*\).*/\1/' <<<"$peer_line")
      peer_loss=$(sed 's/.*final_loss=\([^ ]*\).*/\1/' <<<"$peer_line")
      trk_rates+=("$trk_rate"); peer_rates+=("$peer_rate")
      printf '%-9s %-7s %-6s %10.1f %10.2f %10.1f %8s  %s / %s\n' "$model" "$t" "$r" "$trk_rate" "$peer_rate" \
        "$($py -c "print($trk_rate / $peer_rate)")" "$(cut -d' ' -f1 /proc/loadavg)" "$trk_loss" "$peer_loss"
    done
    $py - "$model" "$t" "${trk_rates[*]}" "${peer_rates[*]}" <<'PY'
import statistics, sys
model, t, a, b = sys.argv[1], sys.argv[2], [float(x) for x in sys.argv[3].split()], [float(x) for x in sys.argv[4].split()]
m, p = statistics.median(a), statistics.median(b)
print(f"{model:<9} {t:<7} {'median':<6} {m:10.1f} {p:10.2f} {m / p:10.1f}   "
      f"(trk {min(a):.1f}..{max(a):.1f}, peer {min(b):.2f}..{max(b):.2f})")
PY
  done
  # Threads: speed-up of trk and bit-identity of the trained parameters (run 1 at each thread count).
  set -- $threads_list
  if [ $# -ge 2 ]; then
    $py - "$out/$model" "$threads_list" <<'PY'
import sys, h5py, numpy as np
base, ts = sys.argv[1], sys.argv[2].split()
def arrays(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset) and "seconds" not in name:
                out[name] = obj[()]
        f.visititems(visit)
    return out
ref = arrays(f"{base}/t{ts[0]}/r1/model.h5")
for t in ts[1:]:
    other = arrays(f"{base}/t{t}/r1/model.h5")
    same = ref.keys() == other.keys() and all(
        np.asarray(ref[k]).tobytes() == np.asarray(other[k]).tobytes() for k in ref)
    print(f"# {base.rsplit('/', 1)[-1]}: model.h5 datasets at {t} threads vs {ts[0]}: "
          f"{'identical bit for bit' if same else 'DIFFERENT'} ({len(ref)} datasets)")
PY
  fi
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
