#!/usr/bin/env bash
# Long-run stability of `approxtune tune` with the results store on: N evaluations (default
# 10^6) of the zero-cost synthetic app. While the run goes, samples the process's VmRSS and
# VmHWM (/proc/PID/status) and the number of evaluations committed to the store (max rowid,
# a cheap B-tree lookup) every 0.5 s; afterwards computes the throughput of each tenth of the
# run from the evaluations' commit timestamps (`evaluations.at`, set when the tuner hands a
# batch to the store).
#
# usage: [SAMPLE_SECONDS=0.5] benchmarks/runtime/long_run.sh BIN [N] [STRATEGY] [OPS] [KNOBS]
#   (a run of 10^6 takes a few seconds: SAMPLE_SECONDS=0.1 gives the CPU-time ratio enough samples)
#   e.g. benchmarks/runtime/long_run.sh build/bin/approxtune 1000000 random 30 10
# Prints: peak RSS at 10% and 100% of the run (and at 10^5 evaluations when N > 10^5), the
# growth ratio, bytes per evaluation, evaluations per CPU-second of the process over the first
# and last tenth (also sampled: user + system ticks from /proc/PID/stat, robust to other load),
# and evaluations per wall-second for each tenth with the last/first ratio.
set -eu
bin=$1
n=${2:-1000000}
strategy=${3:-random}
ops=${4:-30}
knobs=${5:-10}
command -v sqlite3 > /dev/null || { echo "needs the sqlite3 command (apt-get install sqlite3)"; exit 2; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
samples="$dir/samples.txt"  # seconds-since-start evaluations vm_rss_kib vm_hwm_kib cpu_ticks

"$bin" tune --app synthetic --ops "$ops" --knobs "$knobs" --strategy "$strategy" --seed 1 \
  --iterations "$n" --qos-loss 3 --no-test --out "$dir/run" > "$dir/stdout" 2> "$dir/stderr" &
pid=$!
start=$(date +%s.%N)
while kill -0 "$pid" 2> /dev/null; do
  status=$(cat "/proc/$pid/status" 2> /dev/null) || break
  rss=$(awk '/^VmRSS:/ {print $2}' <<< "$status")
  hwm=$(awk '/^VmHWM:/ {print $2}' <<< "$status")
  ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2> /dev/null || echo 0)
  done_n=$(sqlite3 -readonly "$dir/run/results.db" "SELECT coalesce(max(id), 0) FROM evaluations" 2> /dev/null || echo -1)
  now=$(date +%s.%N)
  [ -n "$rss" ] && echo "$(awk -v a="$now" -v b="$start" 'BEGIN {printf "%.2f", a - b}') $done_n $rss $hwm $ticks" >> "$samples"
  sleep "${SAMPLE_SECONDS:-0.5}"
done
wait "$pid" || { echo "approxtune failed:"; cat "$dir/stderr"; exit 1; }
cat "$dir/stdout"

total=$(sqlite3 -readonly "$dir/run/results.db" "SELECT count(*) FROM evaluations WHERE split = 0")
echo "evaluations stored (tune split): $total"
# Peak RSS (VmHWM) when the run had committed at least k evaluations (first sample at or after k).
hwm_at() { awk -v k="$1" '$2 >= k {print $4; exit}' "$samples"; }
last_hwm=$(tail -1 "$samples" | awk '{print $4}')
tenth=$((n / 10))
h10=$(hwm_at "$tenth")
echo "samples: $(wc -l < "$samples") (every ${SAMPLE_SECONDS:-0.5} s)"
echo "peak RSS (VmHWM) at ${tenth} evaluations: ${h10} KiB"
if [ "$n" -gt 100000 ] && [ "$tenth" -ne 100000 ]; then
  echo "peak RSS (VmHWM) at 100000 evaluations: $(hwm_at 100000) KiB"
fi
echo "peak RSS (VmHWM) at the last sample (${n} evaluations, outputs written): ${last_hwm} KiB"
last_running=$(awk -v k="$n" '$2 < k && $2 >= 0 {r=$3} END {print r}' "$samples")
h100=$(hwm_at "$n")
[ -n "$h100" ] || h100=$last_hwm
echo "peak RSS when the last evaluation was committed: ${h100} KiB (VmRSS of the last sample before: ${last_running} KiB)"
awk -v a="$h10" -v b="$h100" -v n="$n" -v t="$tenth" \
  'BEGIN {printf "growth %d -> %d evaluations: %.2fx; %.0f bytes per evaluation\n", t, n, b / a, (b - a) * 1024 / (n - t)}'
# Throughput per CPU second of the process (user + system, all its threads) over the first and
# the last tenth, from the samples nearest the tenth boundaries: insensitive to other processes
# taking the cores, unlike the wall-clock rates below.
awk -v n="$n" -v hz="$(getconf CLK_TCK)" '
  $2 >= 1 && !a0 { a0 = 1; e0 = $2; c0 = $5 }
  $2 >= n / 10 && !a1 { a1 = 1; e1 = $2; c1 = $5 }
  $2 >= 0.9 * n && !b0 { b0 = 1; f0 = $2; d0 = $5 }
  $2 >= 1 && $2 < n { f1 = $2; d1 = $5 }
  END {
    if (!a1 || !b0 || c1 == c0 || d1 == d0 || f1 <= f0) { print "cpu-time throughput: too few samples"; exit }
    r0 = (e1 - e0) / ((c1 - c0) / hz); r1 = (f1 - f0) / ((d1 - d0) / hz)
    printf "cpu-time throughput: first tenth (evaluations %d-%d) %.0f/cpu-s, last tenth (%d-%d) %.0f/cpu-s, ratio %.3f\n", e0, e1, r0, f0, f1, r1, r1 / r0
  }' "$samples"
# Throughput per tenth from the commit timestamps of the tune-split evaluations (ids in order).
sqlite3 -readonly "$dir/run/results.db" "SELECT at FROM evaluations WHERE split = 0 ORDER BY id" |
  awk -v n="$total" '
    { at[NR] = $1 }
    END {
      t = int(n / 10)
      for (d = 0; d < 10; ++d) {
        a = d * t + 1; b = (d + 1) * t
        rate[d] = (b - a) / (at[b] - at[a])
        printf "tenth %d: evaluations %d-%d, %.0f evaluations/s\n", d + 1, a, b, rate[d]
      }
      printf "throughput last tenth / first tenth: %.3f\n", rate[9] / rate[0]
    }'
