#!/usr/bin/env bash
# Installs every Debian package adbench needs to build, test and run. Idempotent and
# non-interactive; run as root (or through sudo).
#   bash scripts/setup.sh          build + test dependencies
#   bash scripts/setup.sh --dev    also the Python stack that regenerates golden files
#                                  (tests/gen/*.py) and runs the PyTorch benchmarks
set -euo pipefail

PKGS=(build-essential pkg-config git
      libopenblas-openmp-dev libopencv-dev libyaml-dev libcsv-dev libcjson-dev libigraph-dev
      libcriterion-dev)
DEV_PKGS=(python3-numpy python3-torch python3-torchvision python3-sklearn python3-scipy python3-pil python3-skimage
          python3-opencv hyperfine valgrind time chromium)

want=("${PKGS[@]}")
[[ "${1:-}" == "--dev" ]] && want+=("${DEV_PKGS[@]}")

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# OpenBLAS calls from inside OpenMP regions need the OpenMP build (OpenBLAS FAQ); make it
# the active libopenblas alternative if another variant was installed first.
for alt in libopenblas.so.0-x86_64-linux-gnu libopenblas.so-x86_64-linux-gnu; do
    path=$(update-alternatives --list "$alt" 2>/dev/null | grep openmp | head -1 || true)
    [[ -n "$path" ]] && $SUDO update-alternatives --set "$alt" "$path" >/dev/null
done
echo "setup: all dependencies present"
