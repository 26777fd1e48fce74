#!/usr/bin/env bash
# The numbers behind the README's DNN results table, rerunnable by anyone:
#  1. `approxtune models --measure`: each model's baseline accuracy on the tune and test splits.
#  2. For each model, tune on all 5,000 tune images with a 2-point accuracy-loss threshold, by
#     STRATEGY:
#       auto (default): empirical search (`--strategy auto`, ITERATIONS evaluations, default 300)
#         with measured CPU wall-time cost (paired timing, 500 images, median of 5);
#       predictive: ApproxTuner's predictive tuning with Pi-1 (`--strategy predictive`, profiling
#         of every (op, knob) alone, model search, VALIDATE real validations, default 40) with
#         the FLOP cost model, as ApproxTuner tunes; the final configurations are timed in step 3.
#  3. `approxtune dnn-report`: re-measure every kept configuration on the whole 5,000-image test
#     split (accuracy) with paired timing over 1,000 images (median of 11 ratios), and print the
#     best measured speedup whose test-split accuracy loss is <= 1 and <= 2 points.
# Times on 2 idle cores: auto ~7 min for lenet and vgg together at 300 evaluations, ~33 min for
# vgg-wide at ITERATIONS=500 (what the README's rows used); predictive ~14 min for vgg-256
# (MODELS=vgg-256 STRATEGY=predictive). Outputs in $OUT/<model>/ and $OUT/table.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
AT="$BUILD_DIR/bin/approxtune"
OUT=${OUT:-runs/report}
MODELS=${MODELS:-"lenet vgg vgg-wide"}
STRATEGY=${STRATEGY:-auto}
case "$STRATEGY" in
  auto|predictive) ;;
  *) echo "report_dnn.sh: unknown STRATEGY '$STRATEGY' (auto or predictive)" >&2; exit 2 ;;
esac
mkdir -p "$OUT"
"$AT" models --measure | tee "$OUT/models.txt"
TABLE="$OUT/table.md"
{
  echo "| model | baseline test acc. | best speedup, loss <= 1 pt (test acc.) | best speedup, loss <= 2 pt (test acc.) |"
  echo "|---|---|---|---|"
} > "$TABLE"
for m in $MODELS; do
  rm -rf "${OUT:?}/$m"
  case "$STRATEGY" in
    auto) search=(--strategy auto --iterations "${ITERATIONS:-300}" --timing-images 500 --timing-repeats 5) ;;
    predictive) search=(--strategy predictive --strategy-params "{\"qos_model\": \"pi1\", \"validate\": ${VALIDATE:-40}}"
                        --iterations "${ITERATIONS:-1000}" --cost model) ;;
  esac
  "$AT" tune --app "dnn:$m" "${search[@]}" --qos-loss 2 --tune-images "${TUNE_IMAGES:-0}" --seed 1 \
    --out "$OUT/$m" | tee "$OUT/$m.tune.txt"
  "$AT" dnn-report --model "$m" --configs "$OUT/$m/configs.json" --timing-images 1000 --repeats 11 \
    --markdown "$TABLE" | tee "$OUT/$m.report.txt"
done
cat "$TABLE"
