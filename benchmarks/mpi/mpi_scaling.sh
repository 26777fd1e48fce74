#!/usr/bin/env bash
# Throughput of distributed tuning: the synthetic app with a fixed evaluation latency (no CPU
# used, a stand-in for a remote or GPU measurement) on 1, 2 and 4 ranks x SLOTS slots each,
# relative to one rank, all measured in this one run.
# Usage: benchmarks/mpi/mpi_scaling.sh [build/bin/approxtune] [latency_ms] [slots_per_rank]
set -euo pipefail
bin=${1:-build/bin/approxtune}
latency=${2:-5}
slots=${3:-2}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mpi=(mpirun --allow-run-as-root --oversubscribe)
base=""
printf "%-6s %-12s %-10s %-12s %-10s\n" ranks total_slots evals/s vs_1_rank efficiency
for ranks in 1 2 4; do
  total=$((ranks * slots))
  iters=$((total * 150))
  out="$dir/r$ranks"
  "${mpi[@]}" -np "$ranks" "$bin" tune --app synthetic --ops 30 --knobs 10 --seed 1 --no-test \
    --eval-latency-ms "$latency" --devices "cpu:$slots" --batch $((2 * total)) \
    --iterations "$iters" --qos-loss 3 --out "$out" > "$dir/log$ranks" 2>&1
  secs=$(grep -oE "in [0-9.]+ s" "$dir/log$ranks" | grep -oE "[0-9.]+")
  rate=$(awk -v n="$iters" -v s="$secs" 'BEGIN { printf "%.1f", n / s }')
  [ -z "$base" ] && base=$rate
  ratio=$(awk -v r="$rate" -v b="$base" 'BEGIN { printf "%.2f", r / b }')
  eff=$(awk -v r="$rate" -v b="$base" -v k="$ranks" 'BEGIN { printf "%.2f", r / b / k }')
  printf "%-6s %-12s %-10s %-12s %-10s\n" "$ranks" "$total" "$rate" "$ratio" "$eff"
done
