#!/usr/bin/env bash
# The whole ctest suite under AddressSanitizer + UndefinedBehaviorSanitizer (CMake preset "asan",
# build-asan/; the test preset says what it leaves out and why). A report fails the test that
# triggered it. Run after scripts/test.sh in CI.
set -euo pipefail
exec bash "$(dirname "$0")/sanitized-suites.sh" asan
