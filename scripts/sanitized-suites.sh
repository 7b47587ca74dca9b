#!/usr/bin/env bash
# Shared by scripts/test-asan.sh and scripts/test-tsan.sh: builds the test binaries with CMake
# preset $1 (asan or tsan, into build-$1/) and runs the unit, integration, fault and emulator
# suites under them. The caller exports the sanitizer's options; a report fails the test that
# triggered it.
set -euo pipefail
preset="${1:?usage: scripts/sanitized-suites.sh asan|tsan}"
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
cmake --preset "$preset" >/dev/null
targets=(experiture-emulator integration_tests fault_tests emulator_tests)
for dir in tests/unit/*/; do
  targets+=("unit_$(basename "$dir")")
done
cmake --build --preset "$preset" -j2 --target "${targets[@]}"
ctest --test-dir "build-$preset" --output-on-failure -j2 \
  -R '^(unit/|integration:|fault:|emulator:)' -E '^install:'
