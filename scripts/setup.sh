#!/usr/bin/env bash
# Installs the Debian 12 packages trk needs, only those missing. Idempotent; fast when nothing is missing.
set -euo pipefail
packages=(build-essential cmake pkg-config libeigen3-dev libhdf5-dev libcli11-dev nlohmann-json3-dev
          libfmt-dev libgtest-dev libbenchmark-dev gnuplot-nox ccache
          python3-numpy python3-h5py)  # python/trk_model.py and its test
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "setup: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
