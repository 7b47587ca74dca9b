#!/usr/bin/env bash
# Builds the test binaries with ThreadSanitizer (CMake preset
# "tsan", build-tsan/) and runs the unit, integration, fault and emulator suites under them.
# A sanitizer report fails the test that triggered it. Not part of .ci/run (time); run it before touching threads.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
cmake --preset tsan >/dev/null
targets=(experiture-emulator integration_tests fault_tests emulator_tests)
for dir in tests/unit/*/; do
  targets+=("unit_$(basename "$dir")")
done
cmake --build --preset tsan -j2 --target "${targets[@]}"
# A data race report ends the process, so it fails the test that triggered it.
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"
ctest --test-dir build-tsan --output-on-failure -j2 -R '^(unit/|integration:|fault:|emulator:)' \
  -E '^install:'
