#!/usr/bin/env bash
# Installs the SDK from BUILD_DIR into a temp prefix, then builds and runs a consumer against it
# twice: with find_package(experiture) and with pkg-config.
set -euo pipefail
build_dir="$1"
source_dir="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
cmake -S "$source_dir/consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null
libdir="$(dirname "$(find "$work/prefix" -name 'libexperiture.so' | head -n 1)")"
LD_LIBRARY_PATH="$libdir" "$work/consumer/consumer" "$work/a.db" | tee "$work/out.txt"
grep -q "upsert: OK" "$work/out.txt"
grep -q "queued: 2" "$work/out.txt"

export PKG_CONFIG_PATH="$libdir/pkgconfig"
# shellcheck disable=SC2046
c++ -std=c++17 "$source_dir/consumer/main.cpp" -o "$work/pc-consumer" $(pkg-config --cflags --libs experiture)
LD_LIBRARY_PATH="$libdir" "$work/pc-consumer" "$work/b.db" | grep -q "persist: OK"
echo "install test: find_package and pkg-config consumers passed"
