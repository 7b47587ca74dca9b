#!/usr/bin/env bash
# Configures and builds everything into ${EXPERITURE_BUILD_DIR:-build}. Warnings are errors in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
build_dir="${EXPERITURE_BUILD_DIR:-build}"
# Let ccache reuse objects across clones in different folders.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
werror=OFF
if [ "${CI:-}" = "true" ]; then
  werror=ON
fi
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEXPERITURE_WERROR="$werror" >/dev/null
cmake --build "$build_dir" -j2
