#!/usr/bin/env bash
# Distributed tuning under mpirun on localhost:
# 1. 3 ranks give results identical to a single process (same seed and batch);
# 2. a worker rank killed with SIGKILL mid-run ends the job with everything rank 0 committed in
#    the store; --resume on a different number of ranks finishes it, equal to an uninterrupted
#    run, with no (config, split) measured twice.
set -u
bin=$1
if ! command -v mpirun > /dev/null; then echo "mpirun not installed: skipped"; exit 0; fi
if ! "$bin" tune --help | grep -q -- --mpi-worker-timeout; then echo "built without MPI"; exit 1; fi
dir=$(mktemp -d)
trap 'pkill -KILL -f "$dir" 2> /dev/null; rm -rf "$dir"' EXIT
mpi=(mpirun --allow-run-as-root --oversubscribe)
fail() { echo "FAIL: $*"; for f in "$dir"/*.log; do echo "== $f"; tail -n 20 "$f"; done; exit 1; }
common=(tune --app synthetic --ops 12 --knobs 6 --seed 3 --batch 12 --qos-loss 2 --devices cpu:2)

"$bin" "${common[@]}" --iterations 600 --eval-latency-ms 1 --out "$dir/single" > "$dir/single.log" 2>&1 \
  || fail "single-process run"
"${mpi[@]}" -np 3 "$bin" "${common[@]}" --iterations 600 --eval-latency-ms 1 --out "$dir/three" \
  > "$dir/three.log" 2>&1 || fail "3-rank run"
cmp -s "$dir/single/configs.json" "$dir/three/configs.json" || fail "3 ranks differ from 1 process"
grep -q "evaluations per rank: rank 0: [0-9]*, rank 1: [0-9]*, rank 2: [0-9]*" "$dir/three.log" \
  || fail "no per-rank summary"
grep -q "rank 1: cpu" "$dir/three.log" || true
echo "ok: 3 ranks = 1 process"

# Reference for the kill test: uninterrupted, no latency (latency does not change results).
"$bin" "${common[@]}" --iterations 2000 --out "$dir/ref" > "$dir/ref.log" 2>&1 || fail "reference run"
"${mpi[@]}" -np 3 "$bin" "${common[@]}" --iterations 2000 --eval-latency-ms 4 --out "$dir/killed" \
  > "$dir/killed.log" 2>&1 &
launcher=$!
# Wait until some results are committed, then kill worker rank 1.
for _ in $(seq 1 300); do
  rows=$(sqlite3 "$dir/killed/results.db" "select count(*) from evaluations" 2> /dev/null || echo 0)
  [ "${rows:-0}" -ge 300 ] && break
  sleep 0.1
done
[ "${rows:-0}" -ge 300 ] || fail "no progress before the kill ($rows rows)"
victim=""
for p in $(pgrep -f "$dir/killed"); do
  if tr '\0' '\n' < "/proc/$p/environ" 2> /dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1"; then victim=$p; fi
done
[ -n "$victim" ] || fail "could not find rank 1"
kill -KILL "$victim"
wait "$launcher"
rc=$?
[ "$rc" -ne 0 ] || fail "the job did not fail after a worker was killed"
before=$(sqlite3 "$dir/killed/results.db" "select count(*) from evaluations")
[ "$before" -lt 2000 ] || fail "the run finished before the kill took effect"
# Resume on 2 ranks (a different count).
"${mpi[@]}" -np 2 "$bin" tune --out "$dir/killed" --resume --devices cpu:2 > "$dir/resume.log" 2>&1 \
  || fail "resume"
cmp -s "$dir/ref/configs.json" "$dir/killed/configs.json" || fail "resumed result differs from uninterrupted"
dups=$(sqlite3 "$dir/killed/results.db" \
  "select count(*) from (select 1 from evaluations group by run_id, hash, split having count(*) > 1)")
[ "$dups" -eq 0 ] || fail "$dups configs measured twice"
echo "ok: killed worker after $before rows, resumed on 2 ranks: identical results, nothing measured twice"
