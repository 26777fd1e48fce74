#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: install dependencies (Fashion-MNIST included),
# build, then tune the VGG-style CNN (6 conv layers) on real Fashion-MNIST and show the result.
#
# Defaults sized for a few minutes on 2 shared cores: 300 evaluations of the `auto` search
# strategy; QoS = top-1 accuracy in percent on the first 1,000 images of the 5,000-image tune
# split (--tune-images; the threshold is a 2-point accuracy loss);
# cost = measured CPU wall time of 250-image inference runs, paired with the exact network
# (median of 3 ratios). The kept configurations are then measured on the whole 5,000-image
# test split. Set TUNE_ARGS to override, e.g. TUNE_ARGS="--tune-images 0 --iterations 600".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
BUILD_DIR=${BUILD_DIR:-build}
MODEL=${MODEL:-vgg}
OUT=${OUT:-runs/main}
rm -rf "$OUT"
"$BUILD_DIR/bin/approxtune" models
"$BUILD_DIR/bin/approxtune" tune --app "dnn:$MODEL" --strategy auto --qos-loss "${QOS_LOSS:-2}" \
  --iterations "${ITERATIONS:-300}" --tune-images 1000 --timing-images 250 --timing-repeats 3 --seed 1 \
  --out "$OUT" ${TUNE_ARGS:-}
echo "trade-off plot: $OUT/tradeoff.svg; configurations: $OUT/configs.json, $OUT/configs.txt"
