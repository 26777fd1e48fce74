#!/usr/bin/env bash
# Installs everything approxtune needs on a Debian 12 machine, from Debian's own repositories.
# Idempotent: packages already present are skipped by apt. Needs root (or sudo).
# CUDA is not installed here: when a CUDA toolkit is present (/usr/local/cuda or nvcc on PATH)
# the build uses it; otherwise it builds CPU-only, with Thrust from Debian's libthrust-dev.
set -euo pipefail

pkgs=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libtbb-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libsqlite3-dev sqlite3 libopenblas-dev libcli11-dev zlib1g-dev
  libopenmpi-dev openmpi-bin
  dataset-fashion-mnist gnuplot-nox
  clang libclang-rt-14-dev
  dpkg-dev debian-archive-keyring  # scripts/build_tsan_tbb.sh: apt-get source + dpkg-source
)

# Thrust: the CUDA toolkit's CCCL when a toolkit is present, else Debian's libthrust-dev (the
# build never mixes the two: see cmake/approxtune_thrust.cmake).
if [ ! -d /usr/local/cuda/include/cccl ] && ! command -v nvcc >/dev/null 2>&1; then
  pkgs+=(libthrust-dev libcub-dev)
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup: all ${#pkgs[@]} packages already installed"
  exit 0
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
