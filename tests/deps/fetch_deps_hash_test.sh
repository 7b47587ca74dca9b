#!/usr/bin/env bash
# scripts/fetch-deps.sh refuses a cached source whose SHA-256 is not the one pinned in
# cmake/deps.cmake, with an error naming the file and both hashes. Runs the real script on a copy
# of the repository's layout (scripts/, cmake/deps.cmake) in a temporary folder whose
# .deps-cache/ holds a corrupted file: no network, no change to the real cache.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/scripts" "$tmp/cmake" "$tmp/.deps-cache"
cp "$repo/scripts/fetch-deps.sh" "$tmp/scripts/"
cp "$repo/cmake/deps.cmake" "$tmp/cmake/"
file=$(sed -n 's/^experiture_dep_file(sqlite3 [^ ]* \([^ ]*\) .*/\1/p' "$repo/cmake/deps.cmake" | head -1)
pinned=$(sed -n "s/^experiture_dep_file(sqlite3 [^ ]* $file \\([0-9a-f]*\\) .*/\\1/p" "$repo/cmake/deps.cmake")
[ -n "$file" ] && [ -n "$pinned" ] || { echo "no sqlite3 pin in cmake/deps.cmake"; exit 1; }
echo "not the SQLite release" >"$tmp/.deps-cache/$file"

set +e
output=$(bash "$tmp/scripts/fetch-deps.sh" 2>&1)
status=$?
set -e
echo "$output"
fail() { echo "FAIL: $1"; exit 1; }
[ "$status" -ne 0 ] || fail "fetch-deps.sh accepted a corrupted $file"
echo "$output" | grep -q "$tmp/.deps-cache/$file: SHA-256 mismatch" || fail "the error does not name the file"
echo "$output" | grep -q "expected $pinned" || fail "the error does not give the pinned hash"
actual=$(sha256sum "$tmp/.deps-cache/$file" | awk '{ print $1 }')
echo "$output" | grep -q "got      $actual" || fail "the error does not give the file's hash"
echo "OK: a corrupted $file is refused, naming the file"
