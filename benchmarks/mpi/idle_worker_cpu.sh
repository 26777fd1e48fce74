#!/usr/bin/env bash
# CPU time an idle MPI worker uses while it waits for work: a 2-rank run (2 slots per rank)
# whose first evaluation (the baseline, always alone and on rank 0's first slot) takes
# `seconds` + 3 s, so the worker has been connected and idle meanwhile; its user+sys CPU time
# over a window inside that evaluation (from /proc/<pid>/stat), as a share of one core.
# Repeated; one line per binary and repetition, so binaries compare side by side.
# Usage: benchmarks/mpi/idle_worker_cpu.sh <seconds> <repetitions> bin [bin...]
set -euo pipefail
secs=${1:-5}
reps=${2:-3}
shift 2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
hz=$(getconf CLK_TCK)
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
find_rank() {
  local p
  for p in $(pgrep -f "$1"); do
    if tr '\0' '\n' < "/proc/$p/environ" 2> /dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2"; then
      echo "$p"
      return
    fi
  done
}
echo "# $(date -u '+%F %T UTC'); load: $(cut -d' ' -f1-3 /proc/loadavg); window ${secs} s"
printf "%-40s %-4s %s\n" binary rep "idle worker CPU (% of one core)"
for rep in $(seq 1 "$reps"); do
  for bin in "$@"; do
    out="$dir/run$rep"
    rm -rf "$out"
    mpirun --allow-run-as-root --oversubscribe -np 2 "$bin" tune --app synthetic --ops 20 \
      --knobs 6 --seed 1 --no-test --eval-latency-ms $(((secs + 3) * 1000)) --devices cpu:2 --iterations 3 \
      --qos-loss 3 --out "$out" > "$dir/log" 2>&1 &
    launcher=$!
    r0="" r1=""
    for _ in $(seq 1 200); do
      r0=$(find_rank "$out" 0)
      r1=$(find_rank "$out" 1)
      [ -n "$r0" ] && [ -n "$r1" ] && break
      sleep 0.05
    done
    sleep 1.5  # startup: the worker connects, the baseline starts on rank 0
    t0=$(ticks "$r1")
    sleep "$secs"
    t1=$(ticks "$r1")
    grep -q "evaluations:" "$dir/log" && { echo "the baseline ended inside the window" >&2; exit 1; }
    kill -TERM "$launcher" 2> /dev/null || true
    wait "$launcher" 2> /dev/null || true
    awk -v b="$bin" -v r="$rep" -v d=$((t1 - t0)) -v hz="$hz" -v s="$secs" \
      'BEGIN { printf "%-40s %-4s %.2f\n", b, r, 100 * d / hz / s }'
  done
done
