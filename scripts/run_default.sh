#!/usr/bin/env bash
# The main job on its default: the authors' Lorenz-63 dataset (h = 0.2, 2000 training pairs, 500 test steps),
# then the stability and order analysis of the classical schemes. Outputs go to out/.
set -euo pipefail
trk=${1:-build/trk}
mkdir -p out
"$trk" generate --system lorenz63 --h 0.2 --out out/lorenz63_h0.2.h5
for scheme in rk4 dopri8; do
  "$trk" report stability --scheme "$scheme" --out "out/analysis/$scheme"
  "$trk" report order --scheme "$scheme" --out "out/analysis/$scheme"
done
