#!/usr/bin/env bash
# Throughput of distributed tuning: the synthetic app with a fixed evaluation latency (a sleep:
# no CPU used, a stand-in for a remote or GPU measurement) on 1, 2 and 4 ranks x SLOTS slots
# each, relative to one rank. Each repetition runs every rank count once, side by side, and
# compares it with that repetition's 1-rank run; the summary gives the median and range.
#
# Usage: benchmarks/mpi/mpi_scaling.sh [bin] [latency_ms] [slots_per_rank] [repetitions] [-- extra tune args]
#   ITERS_PER_SLOT=300 evaluations per evaluating slot (the budget scales with the slots, so
#                     every run has the same number of batches)
#   MODE=coordinator  rank 0 only coordinates: k evaluating ranks run as k+1 processes with
#                     --coordinator-only (the 1-rank reference stays a plain single rank), which
#                     isolates the cost of the remote path.
# Columns: evaluations per second, ratio to the 1-rank run of the same repetition, efficiency
# (ratio / evaluating ranks), and the CPU seconds (user+sys) all processes of the run used.
set -euo pipefail
bin=${1:-build/bin/approxtune}
latency=${2:-5}
slots=${3:-2}
reps=${4:-1}
shift $(($# < 4 ? $# : 4))
[ "${1:-}" = "--" ] && shift
extra=("$@")
mode=${MODE:-plain}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mpi=(mpirun --allow-run-as-root --oversubscribe)
echo "# $(date -u '+%F %T UTC'); load: $(cut -d' ' -f1-3 /proc/loadavg); latency ${latency} ms," \
  "${slots} slots/rank, mode ${mode}, extra: ${extra[*]:-none}"

# run <processes> <evaluating ranks> [args...]: prints "rate cpu_seconds"
run() {
  local np=$1 k=$2
  shift 2
  local total=$((k * slots))
  local iters=$((total * ${ITERS_PER_SLOT:-300}))
  local out="$dir/run"
  rm -rf "$out"
  /usr/bin/time -f "%U %S" -o "$dir/time" "${mpi[@]}" -np "$np" "$bin" tune --app synthetic \
    --ops 30 --knobs 10 --seed 1 --no-test --eval-latency-ms "$latency" --devices "cpu:$slots" \
    --batch $((2 * total)) --iterations "$iters" --qos-loss 3 --out "$out" "$@" > "$dir/log" 2>&1 \
    || { echo "run failed (-np $np):" >&2; tail -n 20 "$dir/log" >&2; exit 1; }
  local secs
  secs=$(grep -oE "in [0-9.]+ s" "$dir/log" | grep -oE "[0-9.]+")
  awk -v n="$iters" -v s="$secs" -v t="$(cat "$dir/time")" \
    'BEGIN { split(t, c, " "); printf "%.1f %.2f\n", n / s, c[1] + c[2] }'
}

printf "%-4s %-6s %-12s %-10s %-9s %-10s %-8s\n" rep ranks total_slots evals/s vs_1_rank efficiency cpu_s
: > "$dir/rows"
for rep in $(seq 1 "$reps"); do
  read -r base cpu < <(run 1 1 "${extra[@]}")
  printf "%-4s %-6s %-12s %-10s %-9s %-10s %-8s\n" "$rep" 1 "$slots" "$base" 1.00 1.00 "$cpu"
  for k in 2 4; do
    if [ "$mode" = coordinator ]; then
      read -r rate cpu < <(run $((k + 1)) "$k" --coordinator-only "${extra[@]}")
    else
      read -r rate cpu < <(run "$k" "$k" "${extra[@]}")
    fi
    ratio=$(awk -v r="$rate" -v b="$base" 'BEGIN { printf "%.2f", r / b }')
    eff=$(awk -v r="$rate" -v b="$base" -v k="$k" 'BEGIN { printf "%.3f", r / b / k }')
    printf "%-4s %-6s %-12s %-10s %-9s %-10s %-8s\n" "$rep" "$k" $((k * slots)) "$rate" "$ratio" "$eff" "$cpu"
    echo "$k $eff $rate" >> "$dir/rows"
  done
done
echo "# summary over $reps repetitions (efficiency = throughput / (1-rank throughput x ranks)):"
for k in 2 4; do
  awk -v k="$k" '$1 == k { print $2 }' "$dir/rows" | sort -g | awk -v k="$k" '
    { v[NR] = $1 } END {
      m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "ranks %d: efficiency median %.3f, min %.3f, max %.3f (n=%d)\n", k, m, v[1], v[NR], NR }'
done
echo "# end $(date -u '+%F %T UTC'); load: $(cut -d' ' -f1-3 /proc/loadavg)"
