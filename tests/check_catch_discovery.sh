#!/usr/bin/env bash
# Every test case of every Catch binary runs under ctest, and a filter that matches nothing fails.
# usage: check_catch_discovery.sh BUILD_DIR BINARY...
# For each binary: the names it lists itself (--list-test-names-only) must equal, in number, the
# ctest entries whose command runs it (a name with a list separator in it, or a binary whose
# discovery went wrong, shows up as a difference); every entry must pass `-w NoTests`; and the
# binary run with a filter matching no test case and `-w NoTests` must exit non-zero.
set -euo pipefail
build_dir="$1"
shift
registered="$(ctest --test-dir "$build_dir" --show-only=json-v1)"
failures=0
for binary in "$@"; do
  binary="$(realpath "$binary")"
  listed="$("$binary" --list-test-names-only | grep -c . || true)"
  counts="$(printf '%s' "$registered" | python3 -c '
import json, sys
binary = sys.argv[1]
tests = [t for t in json.load(sys.stdin)["tests"] if t.get("command", [""])[0] == binary]
guarded = [t for t in tests if "-w" in t["command"] and "NoTests" in t["command"]]
print(len(tests), len(guarded))' "$binary")"
  read -r entries guarded <<<"$counts"
  name="$(basename "$binary")"
  if [ "$listed" -ne "$entries" ]; then
    echo "FAIL $name: lists $listed test cases, ctest registers $entries"
    failures=$((failures + 1))
  elif [ "$guarded" -ne "$entries" ]; then
    echo "FAIL $name: $((entries - guarded)) of $entries ctest entries run without -w NoTests"
    failures=$((failures + 1))
  else
    echo "ok   $name: $listed test cases, $entries ctest entries, all with -w NoTests"
  fi
  set +e
  "$binary" "no test case has this name" -w NoTests >/dev/null 2>&1
  rc=$?
  set -e
  if [ "$rc" -eq 0 ]; then
    echo "FAIL $name: a filter matching no test case exits 0"
    failures=$((failures + 1))
  fi
done
if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "every Catch test case is registered with ctest ($# binaries)"
