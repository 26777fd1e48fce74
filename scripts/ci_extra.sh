#!/usr/bin/env bash
# The extra CI builds (after scripts/test.sh): the same tests in a CPU-only build (what a machine
# without a CUDA toolkit builds). With APPROXTUNE_SANITIZERS=1 also under AddressSanitizer +
# UndefinedBehaviorSanitizer, and the concurrency tests (engine, store, tuner, CLI) under
# ThreadSanitizer (not yet part of CI: see the README's "Status"). Each build has its own folder.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
run_build() {  # run_build <dir> <ctest -R regex or ""> <cmake args...>
  local dir=$1 filter=$2; shift 2
  echo "=== $dir: $*"
  cmake -S . -B "$dir" -G Ninja -DAPPROXTUNE_BUILD_BENCHMARKS=OFF "$@"
  cmake --build "$dir" -j "$JOBS"
  if [ -n "$filter" ]; then
    ctest --test-dir "$dir" --output-on-failure -j "$JOBS" --timeout 900 -R "$filter"
  else
    ctest --test-dir "$dir" --output-on-failure -j "$JOBS" --timeout 900
  fi
}
# CPU-only: the same suite without the CUDA parts.
run_build build-cpu "" -DCMAKE_BUILD_TYPE=Release -DAPPROXTUNE_CUDA=OFF
[ "${APPROXTUNE_SANITIZERS:-0}" = 1 ] || exit 0
# ASan + UBSan (CPU-only: nvcc objects are not instrumented). halt_on_error makes UBSan fatal.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$PWD/cmake/ubsan.supp"
run_build build-asan "" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAPPROXTUNE_CUDA=OFF \
  "-DAPPROXTUNE_SANITIZE=address,undefined" -DAPPROXTUNE_MPI=OFF
unset ASAN_OPTIONS UBSAN_OPTIONS
# TSan on the concurrent parts: the engine, the store and the tuner.
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
run_build build-tsan "engine|store|tuner|cli_" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAPPROXTUNE_CUDA=OFF \
  -DAPPROXTUNE_SANITIZE=thread -DAPPROXTUNE_MPI=OFF "-DAPPROXTUNE_TEST_AREAS=runtime;search;cli"
