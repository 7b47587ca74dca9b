#!/usr/bin/env bash
# Shared by scripts/test-asan.sh and scripts/test-tsan.sh: builds everything with CMake preset $1
# (asan or tsan, into build-$1/) and runs the whole ctest suite with the test preset of the same
# name (the tests it leaves out, and why, are in that preset's description in CMakePresets.json).
# The caller exports the sanitizer's options; a report fails the test that triggered it.
set -euo pipefail
preset="${1:?usage: scripts/sanitized-suites.sh asan|tsan}"
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
ctest --preset "$preset"
