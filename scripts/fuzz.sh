#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang into build-fuzz/ and runs each for a bounded
# time on a copy of the committed seed corpus.
#   scripts/fuzz.sh [seconds-per-target (default 60)] [target ...]
# Targets: record_validator, capi_json, response_classifier. Crash inputs land in
# build-fuzz/artifacts/<target>/; exit status 1 when any target found one.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  targets=(record_validator capi_json response_classifier)
fi
bash scripts/setup.sh clang-14 libclang-rt-14-dev
build_dir="${EXPERITURE_FUZZ_BUILD_DIR:-build-fuzz}"
cxx="${EXPERITURE_FUZZ_CXX:-clang++-14}"
cc="${EXPERITURE_FUZZ_CC:-clang-14}"

cmake -S tests/fuzz -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_C_COMPILER="$cc" >/dev/null
cmake --build "$build_dir" -j2 --target "${targets[@]/#/fuzz_}"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=0
for t in "${targets[@]}"; do
  corpus="$build_dir/corpus/$t"
  artifacts="$build_dir/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  cp -n tests/fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
  echo "== fuzz_$t for ${seconds}s"
  # EXPERITURE_FUZZ_SEED fixes libFuzzer's seed (CI uses it, so a run is repeatable).
  seed_arg=()
  if [ -n "${EXPERITURE_FUZZ_SEED:-}" ]; then seed_arg=(-seed="$EXPERITURE_FUZZ_SEED"); fi
  if ! "$build_dir/fuzz_$t" "${seed_arg[@]}" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" \
      >"$build_dir/fuzz_$t.log" 2>&1; then
    echo "fuzz_$t FAILED: see $build_dir/fuzz_$t.log and $artifacts/"
    tail -40 "$build_dir/fuzz_$t.log"
    failed=1
  else
    grep -E "^stat::number_of_executed_units|^Done" "$build_dir/fuzz_$t.log" || true
  fi
done
exit "$failed"
