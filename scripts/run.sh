#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: install dependencies (Fashion-MNIST included),
# build, then tune the VGG-style CNN vgg-256 (6 conv layers, batch-norm) on real Fashion-MNIST
# and show the result.
#
# Defaults sized for about 3 minutes on 2 cores (after the build), the way ApproxTuner tunes:
# predictive tuning with the Pi-1 QoS model (`--strategy predictive`: every (op, knob) alone
# measured for real, a search on the model, then up to 20 predicted configurations validated
# for real), QoS = top-1 accuracy in percent on the first 1,000 images of the 5,000-image tune split
# (--tune-images), at most 2 points of accuracy loss, and the FLOP cost model (--cost model).
# The best configurations are then measured on the whole 5,000-image test split by the tuner,
# and `approxtune dnn-report` times each of them against the exact network (measured CPU wall
# time, paired, median of 11 ratios over 1,000 images) and prints the best measured speedup within
# 1 and 2 points of test-split accuracy loss.
# MODEL, OUT, QOS_LOSS, VALIDATE and TUNE_ARGS (extra tune options, e.g.
# TUNE_ARGS="--tune-images 0" for the whole tune split) override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
BUILD_DIR=${BUILD_DIR:-build}
AT="$BUILD_DIR/bin/approxtune"
MODEL=${MODEL:-vgg-256}
OUT=${OUT:-runs/main}
rm -rf "$OUT"
"$AT" models
"$AT" tune --app "dnn:$MODEL" --strategy predictive \
  --strategy-params "{\"qos_model\": \"pi1\", \"validate\": ${VALIDATE:-20}}" --cost model \
  --qos-loss "${QOS_LOSS:-2}" --tune-images 1000 --seed 1 --out "$OUT" ${TUNE_ARGS:-}
"$AT" dnn-report --model "$MODEL" --configs "$OUT/configs.json" --timing-images 1000 --repeats 11
echo "trade-off plot: $OUT/tradeoff.svg; configurations: $OUT/configs.json, $OUT/configs.txt"
