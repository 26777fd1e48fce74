#!/usr/bin/env bash
# End-to-end test of the results store with real `approxtune tune` processes:
#  1. an uninterrupted reference run;
#  2. the same run killed with SIGKILL twice (after some evaluations are committed, then again
#     after resuming), resumed with --resume, and compared with the reference: same configs.json
#     configs, same stored evaluations (as a set), no (config, split) stored twice, nothing
#     committed before a kill lost or rewritten, one run resumed twice;
#  3. concurrent `approxtune show` while a run writes: works, sees the writer, does not block it;
#  4. refused resume (different --ops), refused non-empty folder, resume of a folder someone is
#     writing refused;
#  5. config cache across runs (--new-run): nothing measured again; --no-cache measures again;
#  6. SIGINT: outputs written, run marked interrupted, --resume finishes it identically.
# Usage: kill_resume_test.sh /path/to/approxtune
set -euo pipefail
BIN=${1:?usage: kill_resume_test.sh /path/to/approxtune}
WORK=$(mktemp -d /tmp/approxtune_kill_resume.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
q() { sqlite3 -bail "$1/results.db" "$2"; }
rows() { q "$1" "SELECT count(*) FROM evaluations" 2>/dev/null || echo 0; }
# Every stored evaluation of the (only) run, as an order-free set: split, config, status, qos, cost.
eval_set() {
  q "$1" "SELECT split, hex(code), status, quote(qos), quote(cost) FROM evaluations ORDER BY 1, 2"
}
dups() {
  q "$1" "SELECT count(*) FROM (SELECT 1 FROM evaluations GROUP BY run_id, split, code HAVING count(*) > 1)"
}
configs() { jq -S '.configs' "$1/configs.json"; }

# Waits until the store in $1 holds at least $2 rows (the run is still going), then SIGKILLs $3.
kill_after_rows() {
  local dir=$1 want=$2 pid=$3 n=0
  for _ in $(seq 1 600); do
    n=$(rows "$dir")
    if [ "$n" -ge "$want" ]; then break; fi
    kill -0 "$pid" 2>/dev/null || fail "the run ended before $want rows were committed (had $n)"
    sleep 0.02
  done
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  echo "killed after $(rows "$dir") committed rows (waited for $want)"
}

ITER=2500
BASE=(-q tune --app synthetic --knobs 8 --eval-latency-ms 2 --batch 8 --seed 7
      --qos-loss 3 --iterations $ITER --devices cpu:2)
ARGS=("${BASE[@]}" --ops 12)

# 1. Reference run; `show` polls it concurrently (3).
"$BIN" "${ARGS[@]}" --out "$WORK/ref" > "$WORK/ref.log" 2>&1 &
REF=$!
PIDS+=($REF)
shows=0
while kill -0 $REF 2>/dev/null; do
  if [ -f "$WORK/ref/results.db" ]; then
    start=$(date +%s%N)
    if out=$("$BIN" show "$WORK/ref" 2>&1); then
      end=$(date +%s%N)
      [ $(( (end - start) / 1000000 )) -lt 3000 ] || fail "show took $(( (end - start) / 1000000 )) ms"
      if grep -q "writer active" <<< "$out"; then shows=$((shows + 1)); fi
      "$BIN" show --json "$WORK/ref" | jq -e '.progress.tune_evaluations >= 0' > /dev/null \
        || fail "show --json during the run"
    else
      # The run may end between the liveness check and show; only a failure while running counts.
      kill -0 $REF 2>/dev/null && fail "show failed while the run was writing: $out"
    fi
  fi
  sleep 0.1
done
wait $REF || fail "reference run failed: $(cat "$WORK/ref.log")"
[ "$shows" -ge 2 ] || fail "show saw the live run only $shows times"
ok "concurrent show saw the live run $shows times, each within 3 s; the writer finished"
REF_ROWS=$(rows "$WORK/ref")
[ "$(q "$WORK/ref" "SELECT count(*) FROM evaluations WHERE split=0")" -eq $ITER ] \
  || fail "reference run stored $(q "$WORK/ref" "SELECT count(*) FROM evaluations WHERE split=0") tune rows, expected $ITER"
[ "$(dups "$WORK/ref")" -eq 0 ] || fail "reference run stored duplicates"
"$BIN" show "$WORK/ref" | grep -q "status: finished" || fail "show after the run"
ok "reference run: $REF_ROWS rows ($ITER tune)"

# 2. Killed twice, resumed.
"$BIN" "${ARGS[@]}" --out "$WORK/run" > "$WORK/run1.log" 2>&1 &
P=$!; PIDS+=($P)
kill_after_rows "$WORK/run" 400 $P
q "$WORK/run" "SELECT id, hex(code), split, quote(qos), quote(cost) FROM evaluations ORDER BY id" > "$WORK/kill1.txt"
[ -s "$WORK/kill1.txt" ] || fail "nothing committed before the first kill"
"$BIN" show "$WORK/run" | grep -q "no process is writing it" || fail "show does not report the dead writer"
# Without --resume the folder is refused.
if "$BIN" "${ARGS[@]}" --out "$WORK/run" > "$WORK/refused.log" 2>&1; then fail "non-empty folder accepted"; fi
grep -q "is not empty" "$WORK/refused.log" || fail "unclear refusal: $(cat "$WORK/refused.log")"
ok "non-empty --out refused without --resume"
# A resume with another knob space is refused, naming the option.
if "$BIN" "${BASE[@]}" --ops 13 --resume --out "$WORK/run" > "$WORK/refused.log" 2>&1; then
  fail "resume with different --ops accepted"
fi
grep -q -- "--ops differs (stored run: 12, requested: 13)" "$WORK/refused.log" \
  || fail "unclear refusal: $(cat "$WORK/refused.log")"
ok "resume with different --ops refused: $(head -c 200 "$WORK/refused.log")"

"$BIN" "${ARGS[@]}" --resume --out "$WORK/run" > "$WORK/run2.log" 2>&1 &
P=$!; PIDS+=($P)
sleep 0.3
# A second writer on the same folder is refused while the first runs.
if kill -0 $P 2>/dev/null; then
  if "$BIN" "${ARGS[@]}" --resume --out "$WORK/run" > "$WORK/refused.log" 2>&1; then
    fail "two writers on one folder"
  fi
  grep -q "being written by another approxtune process\|is locked" "$WORK/refused.log" \
    || fail "unclear refusal: $(cat "$WORK/refused.log")"
  ok "a second writer on a live run folder is refused"
fi
kill_after_rows "$WORK/run" 1500 $P
q "$WORK/run" "SELECT id, hex(code), split, quote(qos), quote(cost) FROM evaluations ORDER BY id" > "$WORK/kill2.txt"

# Only the run's own options on the command line: the stored ones are used for the rest.
"$BIN" -q tune --resume --out "$WORK/run" > "$WORK/run3.log" 2>&1 || fail "final resume failed: $(cat "$WORK/run3.log")"

RUN_ROWS=$(rows "$WORK/run")
[ "$RUN_ROWS" -eq "$REF_ROWS" ] || fail "resumed run stored $RUN_ROWS rows, the uninterrupted one $REF_ROWS"
[ "$(dups "$WORK/run")" -eq 0 ] || fail "resumed run stored a (config, split) twice"
diff <(eval_set "$WORK/ref") <(eval_set "$WORK/run") > /dev/null \
  || fail "stored evaluations differ from the uninterrupted run"
diff <(configs "$WORK/ref") <(configs "$WORK/run") > /dev/null || fail "configs.json differs"
[ "$(jq '.configs | length' "$WORK/run/configs.json")" -gt 1 ] || fail "configs.json has no configs"
q "$WORK/run" "SELECT id, hex(code), split, quote(qos), quote(cost) FROM evaluations ORDER BY id" > "$WORK/final.txt"
for k in kill1 kill2; do
  n=$(wc -l < "$WORK/$k.txt")
  cmp -s "$WORK/$k.txt" <(head -n "$n" "$WORK/final.txt") \
    || fail "rows committed before $k were lost or rewritten"
done
[ "$(q "$WORK/run" "SELECT count(*) || ' ' || status || ' ' || resumes FROM runs")" = "1 finished 2" ] \
  || fail "runs table: $(q "$WORK/run" "SELECT * FROM runs")"
ok "killed at $(wc -l < "$WORK/kill1.txt") and $(wc -l < "$WORK/kill2.txt") rows, resumed: $RUN_ROWS rows, no duplicates, committed rows kept, configs.json identical"

# 5. Cache across runs of one store.
cp -r "$WORK/ref" "$WORK/cache"
"$BIN" "${ARGS[@]}" --new-run --out "$WORK/cache" > "$WORK/cache.log" 2>&1 || fail "new run failed: $(cat "$WORK/cache.log")"
measured=$(q "$WORK/cache" "SELECT count(*) FROM evaluations WHERE run_id=2 AND cached=0")
served=$(q "$WORK/cache" "SELECT count(*) FROM evaluations WHERE run_id=2 AND cached=1")
[ "$measured" -eq 0 ] || fail "the second run measured $measured configs again"
[ "$served" -eq "$REF_ROWS" ] || fail "the second run served $served of $REF_ROWS from the store"
diff <(configs "$WORK/ref") <(configs "$WORK/cache") > /dev/null || fail "cached run's configs.json differs"
"$BIN" "${ARGS[@]}" --new-run --no-cache --out "$WORK/cache" > "$WORK/cache.log" 2>&1 || fail "--no-cache run failed"
measured=$(q "$WORK/cache" "SELECT count(*) FROM evaluations WHERE run_id=3 AND cached=0")
[ "$measured" -eq "$REF_ROWS" ] || fail "--no-cache measured $measured, expected $REF_ROWS"
ok "config cache: a second run served all $served from the store; --no-cache measured $measured again"

# 6. SIGINT: outputs written, run marked interrupted; --resume finishes it identically.
"$BIN" "${ARGS[@]}" --out "$WORK/int" > "$WORK/int.log" 2>&1 &
P=$!; PIDS+=($P)
for _ in $(seq 1 300); do [ "$(rows "$WORK/int")" -ge 300 ] && break; sleep 0.02; done
kill -INT $P
rc=0; wait $P || rc=$?
[ "$rc" -eq 130 ] || fail "SIGINT exit code $rc: $(cat "$WORK/int.log")"
[ -f "$WORK/int/configs.json" ] || fail "no outputs after SIGINT"
[ "$(q "$WORK/int" "SELECT status FROM runs")" = "interrupted" ] || fail "run not marked interrupted"
"$BIN" "${ARGS[@]}" --resume --out "$WORK/int" > "$WORK/int2.log" 2>&1 || fail "resume after SIGINT failed"
diff <(configs "$WORK/ref") <(configs "$WORK/int") > /dev/null || fail "configs.json differs after SIGINT + resume"
[ "$(rows "$WORK/int")" -eq "$REF_ROWS" ] || fail "rows after SIGINT + resume: $(rows "$WORK/int")"
ok "SIGINT: interrupted run written and marked; resume identical"

# Exports of the resumed run: every row, and the front as HPVM.
[ "$("$BIN" export "$WORK/run" --format csv | wc -l)" -eq $((REF_ROWS + 1)) ] || fail "csv export rows"
[ "$("$BIN" export "$WORK/run" --format json | jq '.evaluations | length')" -eq "$REF_ROWS" ] || fail "json export rows"
"$BIN" export "$WORK/run" --format hpvm -o "$WORK/front.txt"
grep -q "^conf1 " "$WORK/front.txt" || fail "hpvm export"
ok "exports"
echo "PASS"
