#!/usr/bin/env bash
# The unit, integration, fault and emulator suites under ThreadSanitizer (CMake preset "tsan",
# build-tsan/). A data race report ends the process, so it fails the test that triggered it.
# Not part of .ci/run (time); run it before touching threads.
set -euo pipefail
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"
exec bash "$(dirname "$0")/sanitized-suites.sh" tsan
