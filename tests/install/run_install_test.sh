#!/usr/bin/env bash
# Installs the SDK from BUILD_DIR into a temp prefix, then builds and runs a consumer against it
# twice: with find_package(experiture) and with pkg-config. Neither may need nlohmann_json (a
# private dependency): its package config is disabled for the consumer, and pkg-config looks only
# in the SDK's own folder.
# EXPERITURE_CONSUMER_CXXFLAGS / EXPERITURE_CONSUMER_LDFLAGS: the flags the SDK was built with
# (set by ctest), so that a sanitizer build's consumer links the sanitizer runtime too.
set -euo pipefail
build_dir="$1"
cxxflags="${EXPERITURE_CONSUMER_CXXFLAGS:-}"
ldflags="${EXPERITURE_CONSUMER_LDFLAGS:-}"
source_dir="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
if grep -rl nlohmann "$work/prefix" --include='*.cmake' --include='*.pc'; then
  echo "install test: the installed package config names nlohmann_json" >&2
  exit 1
fi
cmake -S "$source_dir/consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_DISABLE_FIND_PACKAGE_nlohmann_json=TRUE \
  -DCMAKE_CXX_FLAGS="$cxxflags" -DCMAKE_EXE_LINKER_FLAGS="$ldflags" >/dev/null
cmake --build "$work/consumer" >/dev/null
libdir="$(dirname "$(find "$work/prefix" -name 'libexperiture.so' | head -n 1)")"
LD_LIBRARY_PATH="$libdir" "$work/consumer/consumer" "$work/a.db" | tee "$work/out.txt"
grep -q "upsert: OK" "$work/out.txt"
grep -q "queued: 2" "$work/out.txt"

export PKG_CONFIG_LIBDIR="$libdir/pkgconfig" PKG_CONFIG_PATH=""
# shellcheck disable=SC2046,SC2086
c++ -std=c++17 $cxxflags "$source_dir/consumer/main.cpp" -o "$work/pc-consumer" $ldflags \
  $(pkg-config --cflags --libs experiture)
LD_LIBRARY_PATH="$libdir" "$work/pc-consumer" "$work/b.db" | grep -q "persist: OK"
echo "install test: find_package and pkg-config consumers passed"
