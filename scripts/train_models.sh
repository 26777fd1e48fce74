#!/usr/bin/env bash
# Regenerates the committed weights of the DNN app (apps/dnn/models/*.weights) and the baseline
# accuracies recorded in their architecture files, with approxtune's own deterministic trainer
# on Fashion-MNIST's 60,000 training images (Debian package dataset-fashion-mnist).
# Same seed, same machine -> the same weights, bit for bit. Another CPU can differ in the last bits
# of OpenBLAS's GEMMs, which training amplifies (apps/dnn/models/README.md).
# Takes ~75 min on 2 idle cores (lenet ~5, vgg ~12, vgg-wide ~18, vgg-256 ~22).
# Usage: bash scripts/train_models.sh [lenet|vgg|vgg-wide|vgg-256 ...]   (default: all four)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
if [ ! -x "$BUILD_DIR/bin/approxtune-train" ]; then
  cmake --build "$BUILD_DIR" --target approxtune_train
fi
TRAIN="$BUILD_DIR/bin/approxtune-train"
models=("$@")
[ "${#models[@]}" -eq 0 ] && models=(lenet vgg vgg-wide vgg-256)
for m in "${models[@]}"; do
  case "$m" in
    lenet) "$TRAIN" lenet --epochs 10 --batch 64 --lr 0.002 --lr-decay 0.75 --seed 1 --threads "${THREADS:-2}" ;;
    vgg)   "$TRAIN" vgg --epochs 6 --batch 64 --lr 0.002 --lr-decay 0.6 --seed 1 --threads "${THREADS:-2}" ;;
    vgg-wide) "$TRAIN" vgg-wide --epochs 5 --batch 64 --lr 0.002 --lr-decay 0.6 --seed 1 --threads "${THREADS:-2}" ;;
    vgg-256) "$TRAIN" vgg-256 --epochs 5 --batch 64 --lr 0.002 --lr-decay 0.6 --seed 1 --threads "${THREADS:-2}" ;;
    *) echo "unknown model '$m' (lenet, vgg, vgg-wide, vgg-256)" >&2; exit 2 ;;
  esac
done
