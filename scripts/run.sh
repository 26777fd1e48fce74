#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: install dependencies, build, tune, show the result.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
OUT=${OUT:-runs/main}
rm -rf "$OUT"
./build/bin/approxtune -v tune --app synthetic --ops 30 --knobs 10 --seed 1 \
  --iterations 5000 --qos-loss 3 --out "$OUT"
echo "trade-off plot: $OUT/tradeoff.svg"
