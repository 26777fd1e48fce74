#!/usr/bin/env bash
# Ctrl-C during a run: the in-flight evaluations finish, outputs are still written, exit 130.
set -u
bin=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$bin" tune --app synthetic --ops 20 --knobs 5 --eval-latency-ms 5 --iterations 100000 \
  --qos-loss 3 --devices cpu:4 --out "$dir/run" > "$dir/stdout" 2> "$dir/stderr" &
pid=$!
sleep 1.5
kill -INT "$pid"
wait "$pid"
rc=$?
fail() { echo "FAIL: $*"; cat "$dir/stdout" "$dir/stderr"; exit 1; }
[ "$rc" -eq 130 ] || fail "exit code $rc, expected 130"
for f in configs.json configs.txt tradeoff.svg; do
  [ -s "$dir/run/$f" ] || fail "$f missing after SIGINT"
done
grep -q "\[interrupted\]" "$dir/stdout" || fail "summary does not say interrupted"
n=$(grep -oE "^evaluations: [0-9]+" "$dir/stdout" | grep -oE "[0-9]+")
[ "$n" -gt 10 ] && [ "$n" -lt 100000 ] || fail "unexpected evaluation count $n"
echo "ok: interrupted after $n evaluations, outputs written"
