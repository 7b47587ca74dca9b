#!/usr/bin/env bash
# The whole ctest suite under ThreadSanitizer (CMake preset "tsan", build-tsan/; the test preset
# says what it leaves out and why). A data race report ends the process, so it fails the test
# that triggered it.
set -euo pipefail
exec bash "$(dirname "$0")/sanitized-suites.sh" tsan
