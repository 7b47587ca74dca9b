#!/usr/bin/env bash
# Builds the SDK and runs the kiosk sample (samples/kiosk). Extra arguments go to the sample.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh >/dev/null
build_dir="${EXPERITURE_BUILD_DIR:-build}"
exec "$build_dir/samples/kiosk/experiture-kiosk" "$@"
