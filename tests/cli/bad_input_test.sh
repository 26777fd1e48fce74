#!/usr/bin/env bash
# Bad input and faults, end to end (the rows of docs/bad-input.md that the command line sees):
# hand-written or foreign model files, IDX data and configs.json, thresholds out of range,
# --out paths that are not approxtune's, a locked store, a full disk, a tampered store.
# Each case checks the exit code, that the message names the problem, and what is left on disk.
# Prints every message it saw ("[case] message"), so a run shows what the user gets.
# usage: bad_input_test.sh /path/to/approxtune
set -u
bin=$1
dir=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2> /dev/null; done
  rm -rf "$dir"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# expect_error <case> "<needle regex>" args...: non-zero exit, no crash, message matches.
expect_error() {
  local name=$1 needle=$2
  shift 2
  timeout 120 "$bin" "$@" > "$dir/out" 2> "$dir/err"
  local rc=$?
  if [ "$rc" -eq 0 ]; then fail "[$name] succeeded: $*"; return; fi
  if [ "$rc" -ge 124 ]; then fail "[$name] crashed, hung or was killed (exit $rc): $*"; cat "$dir/err"; return; fi
  if ! grep -qiE -- "$needle" "$dir/err"; then
    fail "[$name] '$*' did not mention '$needle':"; cat "$dir/err"; return
  fi
  echo "[$name] $(grep -iE -- "$needle" "$dir/err" | head -1)"
}
expect_ok() {  # expect_ok <case> args...
  local name=$1
  shift
  if ! timeout 300 "$bin" "$@" > "$dir/out" 2> "$dir/err"; then fail "[$name] failed: $*"; cat "$dir/err"; fi
}
nothing_at() { [ ! -e "$1" ] || fail "something was written for a bad command line: $1 ($(ls -A "$1" | tr '\n' ' '))"; }
syn=(tune --app synthetic --ops 6 --knobs 3 --iterations 20 --qos-loss 3)

# ---- thresholds and options out of range: nothing is written --------------------------------
expect_error qos-loss-nan "--qos-loss must be a finite number" "${syn[@]:0:7}" --qos-loss nan --out "$dir/t1"
nothing_at "$dir/t1"
expect_error qos-loss-inf "--qos-loss must be a finite number" "${syn[@]:0:7}" --qos-loss inf --out "$dir/t2"
nothing_at "$dir/t2"
expect_error keep-loss-negative "a QoS loss must be >= 0" "${syn[@]}" --keep-loss -1 --out "$dir/t3"
nothing_at "$dir/t3"
expect_error qos-min-nan "--qos-min must be a finite number" "${syn[@]:0:7}" --qos-min nan --out "$dir/t4"
nothing_at "$dir/t4"
expect_error eval-timeout-nan "--eval-timeout must be a finite number" "${syn[@]}" --eval-timeout nan --out "$dir/t5"
nothing_at "$dir/t5"
expect_error strategy-params-type "param \"validate\" must be a number" "${syn[@]}" --strategy predictive \
  --strategy-params '{"validate": "x"}' --out "$dir/t6"
nothing_at "$dir/t6"
expect_error strategy-params-not-object "must be a JSON object" "${syn[@]}" --strategy-params '[1]' --out "$dir/t7"
nothing_at "$dir/t7"
expect_error huge-ops "--ops: Value 100001 not in range" "${syn[@]}" --ops 100001 --out "$dir/t8"
expect_error huge-iterations "--iterations: Value 2199023255552 not in range" "${syn[@]}" --iterations 2199023255552 --out "$dir/t9"
expect_error empty-knob-list "--knobs: Value 0 not in range" "${syn[@]}" --knobs 0 --out "$dir/t10"
nothing_at "$dir/t8"; nothing_at "$dir/t9"; nothing_at "$dir/t10"

# ---- --out that approxtune did not write ---------------------------------------------------
echo "precious" > "$dir/afile"
expect_error out-is-a-file "exists and is not a folder" "${syn[@]}" --out "$dir/afile"
expect_error out-is-a-file-overwrite "exists and is not a folder" "${syn[@]}" --out "$dir/afile" --overwrite
[ "$(cat "$dir/afile")" = precious ] || fail "a regular file given as --out was changed"
expect_error out-under-a-file "cannot create --out" "${syn[@]}" --out "$dir/afile/sub"
mkdir -p "$dir/foreign1" && echo '{"mine": true}' > "$dir/foreign1/configs.json"
expect_error foreign-configs-json "holds a 'configs.json' that approxtune did not write" "${syn[@]}" --out "$dir/foreign1" --overwrite
[ "$(cat "$dir/foreign1/configs.json")" = '{"mine": true}' ] || fail "a foreign configs.json was replaced"
mkdir -p "$dir/foreign2" && echo "my notes" > "$dir/foreign2/results.db"
expect_error foreign-results-db "holds a 'results.db' that approxtune did not write" "${syn[@]}" --out "$dir/foreign2" --resume
[ "$(cat "$dir/foreign2/results.db")" = "my notes" ] || fail "a foreign results.db was changed"
mkdir -p "$dir/foreign3" && echo "<svg>my drawing</svg>" > "$dir/foreign3/tradeoff.svg"
expect_error foreign-svg "holds a 'tradeoff.svg' that approxtune did not write" "${syn[@]}" --out "$dir/foreign3" --overwrite
# Positive control: approxtune's own run folder is recognised (overwrite, resume, new run).
expect_ok own-run "${syn[@]}" --out "$dir/own"
expect_ok own-run-overwrite "${syn[@]}" --out "$dir/own" --overwrite
expect_ok own-run-resume tune --out "$dir/own" --resume --iterations 30
expect_ok own-run-new-run "${syn[@]}" --out "$dir/own" --new-run
mkdir -p "$dir/empty"
expect_ok empty-out "${syn[@]}" --out "$dir/empty"

# ---- a tampered store -----------------------------------------------------------------------
if command -v sqlite3 > /dev/null; then
  expect_ok tamper-setup "${syn[@]}" --out "$dir/tamper"
  sqlite3 "$dir/tamper/results.db" "UPDATE runs SET options = '{\"app\": {\"ops\": \"many\"}}'"
  expect_error tampered-options "tamper/results.db.: the app option .ops. stored with the run (has the wrong type|is not an integer in range) \(\"many\"\)" tune --out "$dir/tamper" --resume
  # The tune options a resume reads back: integers must be integers in range (no wrap, no UB).
  expect_ok tamper-setup-2 "${syn[@]}" --out "$dir/tamper2"
  sqlite3 "$dir/tamper2/results.db" "UPDATE runs SET options = json_set(options, '\$.tune.iterations', -1)"
  expect_error tampered-iterations-negative "the tune option .iterations. stored with the run is not an integer in range \(-1\)" tune --out "$dir/tamper2" --resume
  sqlite3 "$dir/tamper2/results.db" "UPDATE runs SET options = json_set(options, '\$.tune.iterations', 1e20)"
  expect_error tampered-iterations-float "the tune option .iterations. stored with the run is not an integer in range \(1e\+20\)" tune --out "$dir/tamper2" --resume
  sqlite3 "$dir/tamper2/results.db" "UPDATE runs SET options = json_set(options, '\$.tune', 5)"
  expect_error tampered-tune-not-object "the tune options stored with the run are not a JSON object" tune --out "$dir/tamper2" --resume
else
  echo "skip: sqlite3 not installed (tampered store, disk full)"
fi

# ---- a second tune on the same --out while one runs ----------------------------------------
"$bin" tune --app synthetic --ops 20 --knobs 5 --eval-latency-ms 5 --iterations 100000 --qos-loss 3 \
  --devices cpu:2 --out "$dir/busy" > /dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$dir/busy/results.db" ] && break; sleep 0.1; done
sleep 0.5
expect_error locked-fresh "being written by another approxtune process" "${syn[@]}" --out "$dir/busy"
expect_error locked-resume "being written by another approxtune process" tune --out "$dir/busy" --resume
expect_error locked-new-run "being written by another approxtune process" "${syn[@]}" --out "$dir/busy" --new-run
expect_error locked-overwrite "being written by another approxtune process" "${syn[@]}" --out "$dir/busy" --overwrite
kill -0 "${pids[0]}" 2> /dev/null || fail "the running tune did not survive the refused ones"
kill -9 "${pids[0]}"; wait "${pids[0]}" 2> /dev/null
expect_ok killed-then-resumed tune --out "$dir/busy" --resume --iterations 200 --eval-latency-ms 0

# ---- disk full: RLIMIT_FSIZE (SIGXFSZ ignored, so writes fail with EFBIG like ENOSPC) -------
if command -v sqlite3 > /dev/null; then
  ( trap '' XFSZ; ulimit -f 3000; exec "$bin" tune --app synthetic --ops 30 --knobs 10 --strategy random \
      --iterations 1000000 --qos-loss 3 --out "$dir/full" ) > "$dir/out" 2> "$dir/err"
  rc=$?
  if [ "$rc" -eq 0 ] || [ "$rc" -ge 124 ]; then fail "[disk-full] exit $rc"; fi
  grep -qi "file system is full" "$dir/err" || { fail "[disk-full] message"; cat "$dir/err"; }
  echo "[disk-full] $(grep -i "error:" "$dir/err" | head -1)"
  kept=$(sqlite3 "$dir/full/results.db" "SELECT count(*) FROM evaluations")
  [ "$kept" -gt 1000 ] || fail "[disk-full] only $kept evaluations stayed on disk"
  [ "$(sqlite3 "$dir/full/results.db" "PRAGMA integrity_check")" = ok ] || fail "[disk-full] store corrupt"
  expect_ok disk-full-resume tune --out "$dir/full" --resume --iterations 30000
  [ "$(sqlite3 "$dir/full/results.db" "SELECT count(*) FROM evaluations")" -ge "$kept" ] ||
    fail "[disk-full] committed evaluations were lost on resume"
  grep -q "$kept of its results are replayed" "$dir/err" || { fail "[disk-full] resume did not replay $kept"; cat "$dir/err"; }
  expect_error export-to-full-device "writing the export failed|cannot write" export "$dir/full" --format csv --output /dev/full
fi

# ---- no usable TMPDIR for the results buffer's spill file (past 16,384 results) ------------
if command -v sqlite3 > /dev/null; then
  TMPDIR="$dir/no-such-tmp" expect_error spill-no-tmpdir "approxtune: error: .*no usable temporary folder \(TMPDIR=$dir/no-such-tmp\)" \
    tune --app synthetic --ops 30 --knobs 10 --strategy random --iterations 40000 --qos-loss 3 --out "$dir/spill"
  for f in configs.json configs.txt tradeoff.svg; do
    [ -s "$dir/spill/$f" ] || fail "[spill-no-tmpdir] $f was not written from the results so far"
  done
  spilled=$(sqlite3 "$dir/spill/results.db" "SELECT count(*) FROM evaluations WHERE split = 0")
  [ "$spilled" -gt 16000 ] || fail "[spill-no-tmpdir] only $spilled evaluations stayed on disk"
  stored=$(sqlite3 "$dir/spill/results.db" "SELECT count(*) FROM evaluations")  # both splits
  expect_ok spill-no-tmpdir-resume tune --out "$dir/spill" --resume
  grep -q "$stored of its results are replayed" "$dir/err" || { fail "[spill-no-tmpdir] resume did not replay $stored"; cat "$dir/err"; }
  [ "$(sqlite3 "$dir/spill/results.db" "SELECT count(*) FROM evaluations WHERE split = 0")" -ge 40000 ] ||
    fail "[spill-no-tmpdir] the resumed run did not finish its 40000 evaluations"
fi

# ---- DNN inputs: model files, IDX data, configs.json ---------------------------------------
models=$("$bin" models 2> /dev/null | sed -n 's/^models in \(.*\) (Fashion-MNIST.*/\1/p')
if [ -z "$models" ] || [ ! -f "$models/lenet.json" ]; then
  echo "skip: no dnn app or no lenet model"
else
  # model_dir <name> <python-free jq-less edit: sed expression on lenet.json>
  model_dir() {
    mkdir -p "$dir/m_$1"
    cp "$models/lenet.json" "$models/lenet.weights" "$dir/m_$1/"
    [ -z "$2" ] || sed -i "$2" "$dir/m_$1/lenet.json"
  }
  dnn=(tune --app dnn:lenet --qos-loss 1 --iterations 3 --tune-images 20 --test-images 20 --timing-images 10
       --timing-repeats 1 --cost model)
  model_dir trunc ""; head -c 300 "$models/lenet.json" > "$dir/m_trunc/lenet.json"
  expect_error model-truncated "lenet.json': .*parse error" "${dnn[@]}" --models-dir "$dir/m_trunc" --out "$dir/d1"
  nothing_at "$dir/d1"
  model_dir type 's/"filters": *8/"filters": "8"/'
  expect_error model-wrong-type "layer 'conv1'.*(type must be number, but is string|field 'filters' must be an integer)" "${dnn[@]}" --models-dir "$dir/m_type" --out "$dir/d2"
  model_dir layer 's/"type": *"conv"/"type": "conv3d"/'
  expect_error model-unknown-layer "unknown layer type 'conv3d'" "${dnn[@]}" --models-dir "$dir/m_layer" --out "$dir/d3"
  model_dir dup 's/"name": *"relu1"/"name": "conv1"/'
  expect_error model-duplicate-op "duplicate layer name 'conv1'" "${dnn[@]}" --models-dir "$dir/m_dup" --out "$dir/d4"
  model_dir huge 's/"filters": *8/"filters": 16000000/'
  expect_error model-huge-layer "layer 'conv1': weights .* at most 2\^28" "${dnn[@]}" --models-dir "$dir/m_huge" --out "$dir/d5"
  model_dir huge2 's/"filters": *8/"filters": 2000000000/'
  expect_error model-huge-number "layer 'conv1'.*(at most 2\^28|must be an integer in \[0, 16777216\])" "${dnn[@]}" --models-dir "$dir/m_huge2" --out "$dir/d5a"
  model_dir neg 's/"units": *120/"units": -120/'
  expect_error model-negative-size "layer 'fc1'.*(negative size|must be an integer in \[0, 16777216\])" "${dnn[@]}" --models-dir "$dir/m_neg" --out "$dir/d5b"
  model_dir mism ""; cp "$models/vgg.weights" "$dir/m_mism/lenet.weights"
  expect_error weights-mismatch "holds [0-9]+ tensors, the architecture needs [0-9]+" "${dnn[@]}" --models-dir "$dir/m_mism" --out "$dir/d6"
  model_dir wtrunc ""; head -c 1000 "$models/lenet.weights" > "$dir/m_wtrunc/lenet.weights"
  expect_error weights-truncated "checksum mismatch \(truncated or corrupt\)" "${dnn[@]}" --models-dir "$dir/m_wtrunc" --out "$dir/d7"
  model_dir wtype 's/"weights": *"lenet.weights"/"weights": 5/'
  expect_error weights-path-type "field 'weights' must be a string" "${dnn[@]}" --models-dir "$dir/m_wtype" --out "$dir/d8"
  model_dir wabs "s|\"weights\": *\"lenet.weights\"|\"weights\": \"$dir/outside.weights\"|"
  cp "$models/lenet.weights" "$dir/outside.weights"
  expect_error weights-path-outside "outside the models folder" "${dnn[@]}" --models-dir "$dir/m_wabs" --out "$dir/d9"
  nothing_at "$dir/d9"
  model_dir wdot 's|"weights": *"lenet.weights"|"weights": "../outside.weights"|'
  expect_error weights-path-dotdot "outside the models folder" models --models-dir "$dir/m_wdot"
  expect_ok weights-path-outside-allowed models --models-dir "$dir/m_wabs" --allow-outside-paths
  grep -q "^lenet" "$dir/out" || fail "[weights-path-outside-allowed] lenet not listed"
  # One broken model among good ones: `models` lists the good ones, names the broken one, and
  # exits non-zero.
  mkdir -p "$dir/m_mixed"
  cp "$models/lenet.json" "$models/lenet.weights" "$models/vgg.json" "$dir/m_mixed/"
  head -c 1000 "$models/vgg.weights" > "$dir/m_mixed/vgg.weights"
  expect_error models-one-broken "vgg.weights.*checksum mismatch" models --models-dir "$dir/m_mixed"
  grep -q "^lenet  *[0-9]" "$dir/out" || fail "[models-one-broken] the good model is not listed: $(cat "$dir/out")"
  grep -q "^vgg .*cannot be loaded" "$dir/out" || fail "[models-one-broken] the broken model has no row: $(cat "$dir/out")"
  expect_error model-name-outside "leads outside the models folder" tune --app dnn:../m_wabs/lenet "${dnn[@]:3}" --models-dir "$dir/m_type" --out "$dir/d10"

  data=/usr/share/datasets/fashion-mnist
  if [ -f "$data/t10k-images-idx3-ubyte.gz" ]; then
    mkdir -p "$dir/data1" "$dir/data2"
    cp "$data/t10k-labels-idx1-ubyte.gz" "$dir/data1/"
    head -c 100000 "$data/t10k-images-idx3-ubyte.gz" > "$dir/data1/t10k-images-idx3-ubyte.gz"
    expect_error idx-truncated "truncated gzip stream" "${dnn[@]}" --data-dir "$dir/data1" --out "$dir/d11"
    nothing_at "$dir/d11"
    cp "$data/t10k-labels-idx1-ubyte.gz" "$dir/data2/"
    printf '\x00\x00\x08\x03\xff\xff\xff\xff\x00\x00\x00\x1c\x00\x00\x00\x1c' > "$dir/data2/t10k-images-idx3-ubyte"
    expect_error idx-huge-dims "bad IDX dimension 0 = 4294967295" "${dnn[@]}" --data-dir "$dir/data2" --out "$dir/d12"
    expect_error idx-missing "does not exist; .*install" "${dnn[@]}" --data-dir "$dir/nodata" --out "$dir/d13"

    # configs.json handed to dnn-report (and to tuned_configs::load / read_configs_json)
    write_configs() {  # write_configs <file> <configs array>
      cat > "$1" << EOF
{"schema": "approxtune.configs", "version": 1, "app": "dnn:lenet",
 "thresholds": {"relative": true, "tuner": {"given": 1, "absolute": 89},
                "keep": {"given": 1, "tune_absolute": 89, "test_absolute": 90}},
 "baseline": {"tune_qos": 90, "test_qos": 91, "cost": 1},
 "configs": $2}
EOF
    }
    rep=(dnn-report --model lenet --repeats 1 --timing-images 10)
    write_configs "$dir/c_ok.json" '[{"knobs": {"conv1": "121"}, "qos": 89.5, "test_qos": null, "cost": 0.8, "speedup": 1.25}]'
    expect_ok configs-ok "${rep[@]}" --configs "$dir/c_ok.json" --losses 100
    grep -q "^best measured speedup with test-split accuracy loss <= 100.0 point(s): .*(config 0, .*; conv1: 121)$" "$dir/out" ||
      fail "[configs-ok] dnn-report does not name the best configuration's knobs: $(cat "$dir/out")"
    head -c 150 "$dir/c_ok.json" > "$dir/c_trunc.json"
    expect_error configs-truncated "c_trunc.json' is not valid JSON" "${rep[@]}" --configs "$dir/c_trunc.json"
    write_configs "$dir/c_type.json" '[{"knobs": {"conv1": "121"}, "qos": "high", "test_qos": null, "cost": 0.8}]'
    expect_error configs-wrong-type "field 'configs\[0\].qos' must be a number" "${rep[@]}" --configs "$dir/c_type.json"
    write_configs "$dir/c_inf.json" '[{"knobs": {"conv1": "121"}, "qos": 1e999, "test_qos": null, "cost": 0.8}]'
    expect_error configs-infinite "c_inf.json' is not valid JSON: .*number overflow" "${rep[@]}" --configs "$dir/c_inf.json"
    write_configs "$dir/c_nan.json" '[{"knobs": {"conv1": "121"}, "qos": NaN, "test_qos": null, "cost": 0.8}]'
    expect_error configs-nan "not valid JSON" "${rep[@]}" --configs "$dir/c_nan.json"
    write_configs "$dir/c_cost.json" '[{"knobs": {"conv1": "121"}, "qos": 89, "test_qos": null, "cost": -1}]'
    expect_error configs-cost-out-of-range "field 'configs\[0\].cost' must be > 0" "${rep[@]}" --configs "$dir/c_cost.json"
    write_configs "$dir/c_dup.json" '[{"knobs": {"conv1": "121", "conv1": "122"}, "qos": 89, "test_qos": null, "cost": 0.8}]'
    expect_error configs-duplicate-op "key 'conv1' appears twice" "${rep[@]}" --configs "$dir/c_dup.json"
    write_configs "$dir/c_op.json" '[{"knobs": {"conv9": "121"}, "qos": 89, "test_qos": null, "cost": 0.8}]'
    expect_error configs-unknown-op "names op 'conv9', which is not a conv or dense layer" "${rep[@]}" --configs "$dir/c_op.json"
    write_configs "$dir/c_knob.json" '[{"knobs": {"conv1": "999"}, "qos": 89, "test_qos": null, "cost": 0.8}]'
    expect_error configs-unknown-knob "unknown knob '999'" "${rep[@]}" --configs "$dir/c_knob.json"
    write_configs "$dir/c_fit.json" '[{"knobs": {"fc1": "121"}, "qos": 89, "test_qos": null, "cost": 0.8}]'
    expect_error configs-knob-misfit "op 'fc1' knob '121'" "${rep[@]}" --configs "$dir/c_fit.json"

    # Folders stored with a run are followed on --resume / export only with consent.
    mkdir -p "$dir/mm" && cp "$models/lenet.json" "$models/lenet.weights" "$dir/mm/"
    expect_ok stored-dirs-run "${dnn[@]}" --models-dir "$dir/mm" --out "$dir/sd"
    grep -q "^best speedup within the threshold: .* by the FLOP cost model" "$dir/out" ||
      fail "[stored-dirs-run] a --cost model run's speedups are not labelled as the FLOP model: $(cat "$dir/out")"
    expect_error stored-dirs-resume "was started with --models-dir '$dir/mm'.*without your consent" tune --out "$dir/sd" --resume --iterations 4
    expect_ok stored-dirs-resume-given tune --out "$dir/sd" --resume --iterations 4 --models-dir "$dir/mm"
    expect_ok stored-dirs-resume-allowed tune --out "$dir/sd" --resume --iterations 5 --allow-outside-paths
    expect_error stored-dirs-export "was started with --models-dir '$dir/mm'.*without your consent" export "$dir/sd" --format hpvm
    expect_ok stored-dirs-export-allowed export "$dir/sd" --format hpvm --allow-outside-paths
    grep -q "^+++++" "$dir/out" || fail "[stored-dirs-export-allowed] no HPVM configurations written"
  else
    echo "skip: Fashion-MNIST not installed (IDX, configs.json and stored-folder cases)"
  fi
fi

if [ "$fails" -ne 0 ]; then echo "$fails failure(s)"; exit 1; fi
echo "ok: every bad input was refused with a clear message; completed results stayed on disk"
