#!/usr/bin/env bash
# Mutation testing: plants one small bug at a time in the delivery core and checks that a test
# fails. Not part of .ci/run (slow: about 1-2 minutes per mutant on two cores).
#
# usage: scripts/mutation.sh [--seed N] [--count K] [--timeout S] [--paths P...]
#   --seed N     sampling seed (default 1): the same seed, tool version and sources give the same
#                mutants
#   --count K    compiling mutants to test (default 40); mutants that do not compile are skipped
#                and not counted
#   --timeout S  seconds per mutant for its tests (default 300); a mutant that runs past it
#                (a mutated loop that never ends) counts as killed
#   --paths P... files or folders to mutate (default: core/src/{drain,outbox,identity,client,
#                record,crypto})
#
# Mutants come from universalmutator (PyPI, pinned below, installed into a venv under the work
# folder). Each one is applied to a scratch copy of the tracked sources in
# ${EXPERITURE_MUTATION_DIR:-build-mutation}/src (the working tree is never touched), rebuilt
# incrementally there, and the tests run in two stages, stopping at the first failure: the
# unit suites, then the integration, fault, CLI and C API suites. Prints each survivor
# (file:line and the change) and, last, `mutation score: killed/total`. Survivors listed in
# scripts/mutation-equivalents.txt (reviewed: they change no behaviour) are reported but left
# out of the total.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

seed=1
count=40
timeout_s=300
paths=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seed) seed="$2"; shift 2 ;;
    --count) count="$2"; shift 2 ;;
    --timeout) timeout_s="$2"; shift 2 ;;
    --paths)
      shift
      while [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; do paths+=("$1"); shift; done ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "mutation.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
if [ ${#paths[@]} -eq 0 ]; then
  paths=(core/src/drain core/src/outbox core/src/identity core/src/client core/src/record
         core/src/crypto)
fi

work="$(realpath -m "${EXPERITURE_MUTATION_DIR:-build-mutation}")"
src="$work/src"
build="$src/build"  # inside the copy, as build/ is in the tree: ccache finds the same objects
mkdir -p "$work"

# The tool, pinned, in its own venv.
if [ ! -x "$work/venv/bin/mutate" ]; then
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install -q "universalmutator==1.14.1"
fi

# A scratch copy of the tracked sources (refreshed each run; the build dir is kept, so a run
# after an unchanged tree rebuilds nothing). Same flags as scripts/build.sh and the same layout
# relative to the sources, so the first build mostly reuses ccache's objects from build/.
mkdir -p "$src"
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$src"  # keeps mtimes: unchanged stays built
export CCACHE_BASEDIR="$src" CCACHE_NOHASHDIR=1
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEXPERITURE_WERROR=OFF \
  -DEXPERITURE_WITH_JAVA=OFF -DEXPERITURE_WITH_SWIFT=OFF \
  >"$work/configure.log" 2>&1 || { cat "$work/configure.log"; exit 1; }

stage1_targets=()
for dir in tests/unit/*/; do
  module="$(basename "$dir")"
  [ "$module" = http ] && continue  # the curl transport: no core code under it
  stage1_targets+=("unit_$module")
done
stage2_targets=(integration_tests fault_tests cli_tests capi_test experiture-cli experiture-emulator)
stage1_regex='^unit/(client|crypto|drain|drainloop|outbox|record):'
stage2_regex='^(integration|fault|cli|capi):'

echo "mutation: building the unmutated copy in $build (first run: several minutes)"
cmake --build "$build" -j2 --target "${stage1_targets[@]}" "${stage2_targets[@]}" \
  >"$work/build.log" 2>&1 || { tail -30 "$work/build.log"; exit 1; }

# Runs ctest for one stage in its own process group; kills the group at the deadline.
# Returns 0 when every test passed, 1 when one failed, 2 on timeout.
run_stage() {
  local regex="$1" deadline="$2" left pid rc
  left=$((deadline - $(date +%s)))
  [ "$left" -le 0 ] && return 2
  setsid ctest --test-dir "$build" -j2 --stop-on-failure -R "$regex" >>"$work/mutant.log" 2>&1 &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      kill -TERM -- "-$pid" 2>/dev/null || true
      sleep 2
      kill -KILL -- "-$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
      return 2
    fi
    sleep 1
  done
  if wait "$pid"; then rc=0; else rc=1; fi
  return "$rc"
}

# Every mutant of every file under the paths, in a fixed order, as one-line edits (the mutant
# files themselves are large in number and deleted at once): file, line, old text, new text.
files=()
for p in "${paths[@]}"; do
  if [ -d "$p" ]; then
    while IFS= read -r f; do files+=("$f"); done < <(git ls-files "$p" | grep -E '\.cpp$' | sort)
  else
    files+=("$p")
  fi
done
list="$work/mutant-list.jsonl"
: >"$list"
for f in "${files[@]}"; do
  rm -rf "$work/mutants"
  mkdir -p "$work/mutants"
  (cd "$src" && "$work/venv/bin/mutate" "$f" cpp --noCheck --mutantDir "$work/mutants" \
    >/dev/null 2>&1) || true
  python3 - "$src/$f" "$f" "$work/mutants" >>"$list" <<'PY'
import json, os, re, sys
original_path, name, folder = sys.argv[1:4]
original = open(original_path, encoding="utf-8").read().split("\n")
def number(entry):
    m = re.search(r"\.mutant\.(\d+)\.", entry)
    return int(m.group(1)) if m else -1
for entry in sorted(os.listdir(folder), key=number):
    mutant = open(os.path.join(folder, entry), encoding="utf-8").read().split("\n")
    i = 0
    while i < min(len(original), len(mutant)) and original[i] == mutant[i]:
        i += 1
    if len(mutant) == len(original):
        old, new = original[i], mutant[i]
    elif len(mutant) == len(original) + 1:
        old, new = None, mutant[i]
    elif len(mutant) + 1 == len(original):
        old, new = original[i], None
    else:
        continue
    print(json.dumps({"file": name, "line": i + 1, "old": old, "new": new}))
PY
done
rm -rf "$work/mutants"
total_generated="$(wc -l <"$list")"
echo "mutation: $total_generated mutants generated in ${#files[@]} files; seed $seed, testing $count"

# apply_mutant JSON: writes the mutant into the scratch copy; prints file, line, old, new (tabs).
apply_mutant() {
  python3 - "$src" "$1" <<'PY'
import json, sys
src, spec = sys.argv[1], json.loads(sys.argv[2])
path = src + "/" + spec["file"]
lines = open(path, encoding="utf-8").read().split("\n")
i = spec["line"] - 1
if spec["old"] is None:
    lines.insert(i, spec["new"])
elif spec["new"] is None:
    del lines[i]
else:
    lines[i] = spec["new"]
open(path, "w", encoding="utf-8").write("\n".join(lines))
show = lambda t: "(none)" if t is None else t.strip()
print("\t".join([spec["file"], str(spec["line"]), show(spec["old"]), show(spec["new"])]))
PY
}

equivalents="$root/scripts/mutation-equivalents.txt"
killed=0
survived=0
equivalent=0
skipped=0
tested=0
survivors=()
start_all=$(date +%s)
while IFS= read -r spec; do
  [ "$tested" -ge "$count" ] && break
  file="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["file"])' "$spec")"
  cp "$src/$file" "$work/original"
  IFS=$'\t' read -r file line old_text new_text < <(apply_mutant "$spec")
  : >"$work/mutant.log"
  t0=$(date +%s)
  verdict=""
  if ! cmake --build "$build" -j2 --target "${stage1_targets[@]}" >>"$work/mutant.log" 2>&1; then
    verdict="no-compile"
  else
    deadline=$((t0 + timeout_s))
    set +e
    run_stage "$stage1_regex" "$deadline"
    rc=$?
    if [ "$rc" -eq 0 ]; then
      if ! cmake --build "$build" -j2 --target "${stage2_targets[@]}" >>"$work/mutant.log" 2>&1; then
        rc=1  # compiles in the core but breaks another target: the build caught it
      else
        run_stage "$stage2_regex" "$deadline"
        rc=$?
      fi
    fi
    set -e
    case "$rc" in
      0) verdict="survived" ;;
      2) verdict="killed (timeout)" ;;
      *) verdict="killed" ;;
    esac
  fi
  cp "$work/original" "$src/$file"
  touch "$src/$file"  # newer than the mutant's object: the next build recompiles it
  secs=$(($(date +%s) - t0))
  if [ "$verdict" = "no-compile" ]; then
    skipped=$((skipped + 1))
    continue
  fi
  tested=$((tested + 1))
  where="$file:$line"
  case "$verdict" in
    killed*) killed=$((killed + 1)) ;;
    survived)
      if [ -f "$equivalents" ] && grep -v '^#' "$equivalents" | cut -f1-3 |
          grep -F -q -x -- "$(printf '%s\t%s\t%s' "$file" "$old_text" "$new_text")"; then
        verdict="equivalent (reviewed)"
        equivalent=$((equivalent + 1))
      else
        survived=$((survived + 1))
        survivors+=("$where: - $old_text  + $new_text")
      fi
      ;;
  esac
  printf '[%d/%d] %-22s %s: - %s  + %s (%ss)\n' "$tested" "$count" "$verdict" "$where" \
    "$old_text" "$new_text" "$secs"
done < <(python3 -c '
import random, sys
lines = open(sys.argv[1]).read().splitlines()
random.Random(int(sys.argv[2])).shuffle(lines)
print("\n".join(lines))' "$list" "$seed")

cmake --build "$build" -j2 --target "${stage1_targets[@]}" >/dev/null 2>&1 || true
echo
echo "mutation: $tested mutants tested ($skipped did not compile and are not counted)," \
  "$killed killed, $survived survived, $equivalent reviewed equivalents;" \
  "$(( $(date +%s) - start_all ))s"
for s in "${survivors[@]}"; do echo "survivor: $s"; done
echo "mutation score: $killed/$((tested - equivalent))"
