#!/usr/bin/env bash
# Bad command lines give one clear message and a non-zero exit, and write nothing.
set -u
bin=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fails=0
expect_error() {  # expect_error "<needle>" args...
  local needle=$1; shift
  if "$bin" "$@" > "$dir/out" 2> "$dir/err"; then
    echo "FAIL: succeeded: $*"; fails=$((fails + 1)); return
  fi
  if ! grep -qi -- "$needle" "$dir/err"; then
    echo "FAIL: '$*' did not mention '$needle':"; cat "$dir/err"; fails=$((fails + 1))
  fi
}
expect_error "no-such" tune --app synthetic --qos-loss 3 --strategy no-such --out "$dir/a"
expect_error "random" tune --app synthetic --qos-loss 3 --strategy no-such --out "$dir/a2"
expect_error "unknown app" tune --app nope --qos-loss 3 --out "$dir/b"
expect_error "exactly one" tune --app synthetic --out "$dir/c"
expect_error "qos-min" tune --app synthetic --qos-loss 3 --qos-min 90 --out "$dir/d"
expect_error "iterations" tune --app synthetic --qos-loss 3 --iterations 0 --out "$dir/e"
expect_error "iterations" tune --app synthetic --qos-loss 3 --iterations abc --out "$dir/e2"
expect_error "keep-loss" tune --app synthetic --qos-min 97 --keep-loss 1 --out "$dir/f"
expect_error "available" tune --app synthetic --qos-loss 3 --devices cuda:9 --out "$dir/g"
expect_error "not writable\|cannot create" tune --app synthetic --qos-loss 3 --out /proc/approxtune-x
mkdir -p "$dir/full" && echo data > "$dir/full/notes.txt"
expect_error "not empty\|approxtune did not write" tune --app synthetic --qos-loss 3 --out "$dir/full"
[ -f "$dir/full/notes.txt" ] || { echo "FAIL: a user file was removed"; fails=$((fails + 1)); }
[ ! -e "$dir/a" ] || [ -z "$(ls -A "$dir/a")" ] || { echo "FAIL: output written for a bad run"; fails=$((fails + 1)); }
if [ "$fails" -ne 0 ]; then echo "$fails failure(s)"; exit 1; fi
echo "ok: all bad command lines rejected with a clear message"
