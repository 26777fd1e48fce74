#!/usr/bin/env bash
# Configures and builds approxtune into ${BUILD_DIR:-build} (Release, Ninja).
# CUDA: APPROXTUNE_CUDA=AUTO (default) uses nvcc when present; set APPROXTUNE_CUDA=OFF|ON to force.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-Release} \
  -DAPPROXTUNE_CUDA="${APPROXTUNE_CUDA:-AUTO}" ${CMAKE_ARGS:-}
cmake --build "$BUILD_DIR" -j "$JOBS"
