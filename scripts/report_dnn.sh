#!/usr/bin/env bash
# The numbers behind the README's DNN results table, rerunnable by anyone:
#  1. `approxtune models --measure`: each model's baseline accuracy on the tune and test splits.
#  2. For each model: tune with measured CPU wall-time cost (paired timing) and a 2-point
#     accuracy-loss threshold (strategy auto, all 5,000 tune images, 300 evaluations).
#  3. `approxtune dnn-report`: re-measure every kept configuration on the whole 5,000-image test
#     split (accuracy) with paired timing over 1,000 images (median of 11 ratios), and print the
#     best speedup whose test-split accuracy loss is <= 1 and <= 2 points.
# Takes ~25 minutes on 2 idle cores, most of them for vgg-wide (MODELS="lenet vgg" runs the two
# small ones; ITERATIONS=500 is what the README's vgg-wide row used). Outputs in
# runs/report/<model>/ and runs/report/table.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
AT="$BUILD_DIR/bin/approxtune"
OUT=${OUT:-runs/report}
MODELS=${MODELS:-"lenet vgg vgg-wide"}
mkdir -p "$OUT"
"$AT" models --measure | tee "$OUT/models.txt"
TABLE="$OUT/table.md"
{
  echo "| model | baseline test acc. | best speedup, loss <= 1 pt (test acc.) | best speedup, loss <= 2 pt (test acc.) |"
  echo "|---|---|---|---|"
} > "$TABLE"
for m in $MODELS; do
  rm -rf "${OUT:?}/$m"
  "$AT" tune --app "dnn:$m" --strategy auto --qos-loss 2 --iterations "${ITERATIONS:-300}" \
    --tune-images "${TUNE_IMAGES:-0}" --timing-images 500 --timing-repeats 5 --seed 1 --out "$OUT/$m" \
    | tee "$OUT/$m.tune.txt"
  "$AT" dnn-report --model "$m" --configs "$OUT/$m/configs.json" --timing-images 1000 --repeats 11 \
    --markdown "$TABLE" | tee "$OUT/$m.report.txt"
done
cat "$TABLE"
