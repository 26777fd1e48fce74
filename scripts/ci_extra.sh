#!/usr/bin/env bash
# The extra CI builds (after scripts/test.sh), each in its own folder:
#   build-cpu   the whole suite in a CPU-only build (what a machine without a CUDA toolkit builds);
#   build-asan  the whole suite (without the install test) under AddressSanitizer +
#               UndefinedBehaviorSanitizer, LeakSanitizer included;
#   build-tsan  (only with APPROXTUNE_TSAN=1, not yet in CI) every test of the concurrent areas
#               (runtime: engine, store, remote slots; search: tuner, strategies, Thrust-on-TBB;
#               the CLI end to end) under ThreadSanitizer.
# APPROXTUNE_SANITIZERS=0 skips the sanitizer builds (a quicker local run).
# Any sanitizer report fails the test that produced it. Suppressions are allowed only for
# third-party code, each with its proof: cmake/ubsan.supp; for TSan, libtbb's own
# synchronisation is annotated instead (cmake/sanitizers/tsan_tbb_annotations.cpp).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
run_build() {  # run_build <dir> <cmake args...>: configure, build, run every test of the build
  local dir=$1; shift
  echo "=== $dir: $*"
  local t0=$SECONDS
  cmake -S . -B "$dir" -G Ninja -DAPPROXTUNE_BUILD_BENCHMARKS=OFF "$@"
  cmake --build "$dir" -j "$JOBS"
  local t1=$SECONDS
  ctest --test-dir "$dir" --output-on-failure -j "$JOBS" --timeout 900
  echo "=== $dir: build $((t1 - t0)) s, tests $((SECONDS - t1)) s"
}
# CPU-only: the same suite without the CUDA parts.
run_build build-cpu -DCMAKE_BUILD_TYPE=Release -DAPPROXTUNE_CUDA=OFF
[ "${APPROXTUNE_SANITIZERS:-1}" = 1 ] || exit 0

# ASan + UBSan + LSan. CPU-only: nvcc-compiled objects would not be instrumented. No install
# test: a sanitized static library cannot be linked by an unsanitized consumer, and the
# packaging is already tested by the two builds above. UBSan reports are recoverable at compile
# time so that the suppressions apply; halt_on_error makes every unsuppressed one fatal.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$PWD/cmake/ubsan.supp"
run_build build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAPPROXTUNE_CUDA=OFF \
  "-DAPPROXTUNE_SANITIZE=address,undefined" "-DAPPROXTUNE_TEST_AREAS=runtime;search;kernels;knobs;apps;cli;fuzz"
unset ASAN_OPTIONS UBSAN_OPTIONS

# TSan on the areas with concurrency: the engine (oneTBB flow graph, timeout threads), the
# store's writer thread, the tuner and strategies on the engine, pareto (Thrust on TBB), and
# the CLI end to end (SIGINT, kill and resume, MPI ranks). Not yet in CI: Debian's libtbb is
# not instrumented, and the hand-over of a spawned task to the worker that runs it happens
# inside libtbb with no hook to annotate, so TSan still reports the engine's task bodies
# against the thread that queued them (false positives; the store's own threads report
# nothing). It needs oneTBB built with -fsanitize=thread; we do not suppress frames of our code.
[ "${APPROXTUNE_TSAN:-0}" = 1 ] || exit 0
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
run_build build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAPPROXTUNE_CUDA=OFF \
  -DAPPROXTUNE_SANITIZE=thread "-DAPPROXTUNE_TEST_AREAS=runtime;search;cli"
unset TSAN_OPTIONS
