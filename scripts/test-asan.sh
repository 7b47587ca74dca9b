#!/usr/bin/env bash
# The unit, integration, fault and emulator suites under AddressSanitizer + UndefinedBehavior-
# Sanitizer (CMake preset "asan", build-asan/). A report fails the test that triggered it.
# Run after scripts/test.sh in CI.
set -euo pipefail
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
exec bash "$(dirname "$0")/sanitized-suites.sh" asan
