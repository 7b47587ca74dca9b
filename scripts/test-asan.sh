#!/usr/bin/env bash
# Builds the test binaries with AddressSanitizer + UndefinedBehaviorSanitizer (CMake preset
# "asan", build-asan/) and runs the unit, integration, fault and emulator suites under them.
# A sanitizer report fails the test that triggered it. Run after scripts/test.sh in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
cmake --preset asan >/dev/null
targets=(experiture-emulator integration_tests fault_tests emulator_tests)
for dir in tests/unit/*/; do
  targets+=("unit_$(basename "$dir")")
done
cmake --build --preset asan -j2 --target "${targets[@]}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
ctest --test-dir build-asan --output-on-failure -j2 -R '^(unit/|integration:|fault:|emulator:)' \
  -E '^install:'
