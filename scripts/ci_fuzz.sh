#!/usr/bin/env bash
# Fuzzes every loader for a bounded time (issue 9): configures a clang-14 build with libFuzzer,
# ASan and UBSan (build-fuzz, CPU-only, only the fuzz targets and what they link), builds the
# fuzz_<target> binaries, runs each once on its committed seed corpus and regression inputs, then
# fuzzes each for FUZZ_SECONDS (default 20) from a copy of those inputs. Fails on any crash, sanitizer report,
# undocumented exception, timeout (-timeout=10 s per input) or out-of-memory (-rss_limit_mb=2048);
# the input that caused it is left in $FUZZ_OUT/<target>/ (copy it to
# tests/fuzz/regressions/<target>/ with the fix). Prints the execs each target ran.
#
#   FUZZ_SECONDS=60 FUZZ_TARGETS="hpvm idx" bash scripts/ci_fuzz.sh
#   FUZZ_NO_BUILD=1 bash scripts/ci_fuzz.sh     # reuse build-fuzz's binaries as they are
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-20}
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
OUT=${FUZZ_OUT:-$BUILD/fuzz-runs}
JOBS=${JOBS:-$(nproc)}
ALL="hpvm configs_json knob_catalogue model_arch model_weights idx cli_options"
TARGETS=${FUZZ_TARGETS:-$ALL}
CC=${FUZZ_CC:-clang-14}
CXX=${FUZZ_CXX:-clang++-14}
command -v "$CXX" >/dev/null || { echo "ci_fuzz: $CXX not found (scripts/setup.sh installs clang-14)" >&2; exit 1; }

start=$(date +%s)
if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then  # FUZZ_NO_BUILD=1: reuse the binaries already in $BUILD
# -fsanitize=fuzzer-no-link gives every library the coverage instrumentation libFuzzer needs;
# APPROXTUNE_SANITIZE adds ASan+UBSan to everything; UBSan findings abort (no recovery).
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
  "-DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link -fno-sanitize-recover=all" \
  -DAPPROXTUNE_SANITIZE=address,undefined -DAPPROXTUNE_CUDA=OFF -DAPPROXTUNE_MPI=OFF \
  -DAPPROXTUNE_BUILD_BENCHMARKS=OFF -DAPPROXTUNE_TEST_AREAS=fuzz -DAPPROXTUNE_BUILD_FUZZERS=ON >/dev/null
build_targets=""
for t in $TARGETS; do build_targets="$build_targets fuzz_$t"; done
# shellcheck disable=SC2086
cmake --build "$BUILD" -j "$JOBS" --target $build_targets
fi
built=$(date +%s)
echo "ci_fuzz: build took $((built - start)) s"

# Bound input sizes per target: big enough for every seed, small enough to keep execs fast.
max_len() {
  case $1 in
    model_arch | knob_catalogue) echo 8192 ;;
    *) echo 4096 ;;
  esac
}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=0
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$PWD/cmake/ubsan.supp"
failed=""
summary=""
for t in $TARGETS; do
  work="$OUT/$t"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  # The committed inputs first, each run once (what the fuzz_replay_<target> ctest test does).
  shopt -s nullglob
  committed=(tests/fuzz/corpus/"$t"/* tests/fuzz/regressions/"$t"/*)
  shopt -u nullglob
  "$BUILD/tests/fuzz/fuzz_$t" "${committed[@]}" >"$work/replay.log" 2>&1 ||
    { echo "ci_fuzz: $t fails on a committed input:" >&2; tail -30 "$work/replay.log" >&2
      failed="$failed $t(replay)"; continue; }
  cp tests/fuzz/corpus/"$t"/* "$work/corpus/"
  if [ -d tests/fuzz/regressions/"$t" ]; then cp tests/fuzz/regressions/"$t"/* "$work/corpus/" 2>/dev/null || true; fi
  dict=()
  if [ -f tests/fuzz/dicts/"$t".dict ]; then dict=(-dict=tests/fuzz/dicts/"$t".dict); fi
  log="$work/fuzz.log"
  rc=0
  "$BUILD/tests/fuzz/fuzz_$t" "$work/corpus" "${dict[@]}" -max_total_time="$SECONDS_EACH" \
    -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -seed="${FUZZ_SEED:-1}" \
    -artifact_prefix="$work/artifacts/" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  line=$(printf '%-15s execs %-9s cov %-6s %s s' "$t" "${execs:-?}" "${cov:-?}" "$SECONDS_EACH")
  if [ $rc -ne 0 ]; then
    line="$line  FAILED (exit $rc): $(ls "$work/artifacts" | tr '\n' ' ')"
    failed="$failed $t"
    echo "---- $t: last 40 lines of $log" >&2
    tail -40 "$log" >&2
  fi
  summary="$summary$line"$'\n'
done
echo "ci_fuzz: fuzzing took $(($(date +%s) - built)) s, total $(($(date +%s) - start)) s"
printf '%s' "$summary"
if [ -n "$failed" ]; then
  echo "ci_fuzz: FAILED:$failed (inputs in $OUT/<target>/artifacts/)" >&2
  exit 1
fi
echo "ci_fuzz: all targets clean"
