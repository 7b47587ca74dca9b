#!/usr/bin/env bash
# Builds everything and runs every test through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
build_dir="${EXPERITURE_BUILD_DIR:-build}"
ctest --test-dir "$build_dir" --output-on-failure -j2
