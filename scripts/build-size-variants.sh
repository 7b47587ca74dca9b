#!/usr/bin/env bash
# Builds the library variants whose sizes experiture-bench reports (issue 15) into OUT
# (default build-variants/), each in its own build folder, and the minimal C app against one:
#   OUT/minsizerel: -DCMAKE_BUILD_TYPE=MinSizeRel, bundled deps OFF, curl OFF, phonenumber OFF
#   OUT/release:    -DCMAKE_BUILD_TYPE=Release, curl ON, phonenumber OFF (bundled deps OFF)
#   OUT/minsizerel-curl: MinSizeRel with curl ON (the smallest library that can deliver)
#   OUT/minimal_app: tools/bench/minimal_app.c linked against OUT/minsizerel-curl's library
#   OUT/rss_app: tools/bench/rss_app.c (rss_100k), library chosen at run time
# Only the library target is built (no tests, tools, bindings); ccache makes a rebuild quick.
# Prints one line per artefact, "<name> <path>" (also into OUT/variants.txt), which the bench
# reads; EXPERITURE_BENCH_VARIANTS=OUT makes it use them without building.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-build-variants}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
common=(-DEXPERITURE_BUNDLED_DEPS=OFF -DEXPERITURE_WITH_PHONENUMBER=OFF -DEXPERITURE_WITH_JAVA=OFF
  -DEXPERITURE_WITH_SWIFT=OFF -DEXPERITURE_BUILD_TESTS=OFF -DEXPERITURE_BUILD_TOOLS=OFF
  -DEXPERITURE_BUILD_SAMPLES=OFF)
build() {  # name build-type curl
  cmake -S . -B "$out/$1" -DCMAKE_BUILD_TYPE="$2" -DEXPERITURE_WITH_CURL="$3" "${common[@]}" \
    >"$out/$1.log" 2>&1 || { cat "$out/$1.log" >&2; exit 1; }
  cmake --build "$out/$1" --target experiture -j"${EXPERITURE_JOBS:-2}" >>"$out/$1.log" 2>&1 ||
    { tail -50 "$out/$1.log" >&2; exit 1; }
}
build minsizerel MinSizeRel OFF
build release Release ON
build minsizerel-curl MinSizeRel ON
lib_release="$(readlink -f "$out/release/core/libexperiture.so")"
cc -std=c99 -Os -Icore/include -Iplatform/include tools/bench/minimal_app.c \
  -L"$out/minsizerel-curl/core" -lexperiture -Wl,-rpath,"$out/minsizerel-curl/core" \
  -o "$out/minimal_app"
# rss_100k's app: no rpath, the bench picks the library with LD_LIBRARY_PATH.
cc -std=c99 -O2 -Icore/include -Iplatform/include tools/bench/rss_app.c \
  -L"$out/release/core" -lexperiture -o "$out/rss_app"
{
echo "lib_minsizerel $(readlink -f "$out/minsizerel/core/libexperiture.so")"
echo "lib_release $lib_release"
echo "lib_minsizerel_curl $(readlink -f "$out/minsizerel-curl/core/libexperiture.so")"
echo "minimal_app $out/minimal_app"
echo "rss_app $out/rss_app"
} | tee "$out/variants.txt"
