#!/usr/bin/env bash
# Proves that each Android package check fails on a planted violation (run by ctest):
#   a keep rule removed (a native, a callback method, a whole class), a JNI lookup with a literal
#   name outside the table, a class file newer than Java 8, and calls to JDK APIs Android 21 lacks.
# Usage: check-bites.sh REPO_ROOT
set -uo pipefail
root=$1
names=$root/bindings/java/jni/jni_names.inc
rules=$root/bindings/android/proguard.txt
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Compiled once (the single-file launcher would compile it again for every run).
javac -nowarn -d "$work/checker" "$root/bindings/android/AndroidPackageCheck.java"
check="java -cp $work/checker AndroidPackageCheck"
failed=0

# expect_failure NAME EXPECTED_TEXT COMMAND...: the check must exit 1 and print EXPECTED_TEXT.
expect_failure() {
  local name=$1 expected=$2
  shift 2
  local output status
  output=$("$@" 2>&1)
  status=$?
  if [ "$status" -eq 1 ] && grep -qF -- "$expected" <<<"$output"; then
    echo "bites: $name"
    grep -F -- "$expected" <<<"$output" | head -n 2 | sed 's/^/    /'
  else
    echo "DOES NOT BITE: $name (exit $status)"
    sed 's/^/    /' <<<"$output"
    failed=1
  fi
}

sed '/static native int upsert(/d' "$rules" >"$work/no-native.txt"
expect_failure "a registered native without a keep rule" \
  'NativeBridge { int upsert(long, byte[], byte[], byte[]); }' \
  $check keep-rules "$names" "$work/no-native.txt"
sed '/byte\[\] token(boolean);/d' "$rules" >"$work/no-method.txt"
expect_failure "a looked-up callback method without a keep rule" \
  'NativeCallbacks { byte[] token(boolean); }' \
  $check keep-rules "$names" "$work/no-method.txt"
sed 's/com\.experiture\.sdk\.NativeCallbacks {/com.experiture.sdk.Renamed {/' "$rules" >"$work/no-class.txt"
expect_failure "a found class without a keep rule" \
  'no -keep rule for class com.experiture.sdk.NativeCallbacks' \
  $check keep-rules "$names" "$work/no-class.txt"
{ cat "$names"; echo 'EXPERITURE_JNI_METHOD(callbacks, g_new, "newCallback", "(J)V")'; } \
  >"$work/new-lookup.inc"
expect_failure "a new lookup added to the table without a rule" \
  'NativeCallbacks { void newCallback(long); }' \
  $check keep-rules "$work/new-lookup.inc" "$rules"
sed 's/env->GetMethodID(cls, method.name, method.signature)/env->GetMethodID(cls, "extra", "()V")/' \
  "$root/bindings/java/jni/experiture_jni.cpp" >"$work/glue.cpp"
expect_failure "a JNI lookup with a literal name outside the table" \
  'GetMethodID with a literal name outside the name table' \
  $check keep-rules "$names" "$rules" "$work/glue.cpp"

mkdir -p "$work/src/planted" "$work/j8" "$work/j11"
cat >"$work/src/planted/NewerApis.java" <<'JAVA'
package planted;

public final class NewerApis {
  static final ThreadLocal<int[]> STATUS = ThreadLocal.withInitial(() -> new int[1]);

  static Object newer() {
    java.util.Set<String> keys = java.util.concurrent.ConcurrentHashMap.newKeySet();
    keys.add(java.util.Base64.getEncoder().encodeToString(new byte[] {1}));
    return java.util.Optional.of(keys);
  }
}
JAVA
cat >"$work/src/planted/Java11.java" <<'JAVA'
package planted;

public final class Java11 {
  static Object of() {
    return java.util.List.of("a").toString().strip().repeat(2);
  }
}
JAVA
javac --release 8 -nowarn -d "$work/j8" "$work/src/planted/NewerApis.java"
(cd "$work/j8" && jar cfM "$work/newer-apis.jar" planted)
javac --release 11 -nowarn -d "$work/j11" "$work/src/planted/Java11.java"
(cd "$work/j11" && jar cfM "$work/java11.jar" planted)
expect_failure "ThreadLocal.withInitial (Java 8 bytecode, missing on Android 21)" \
  'ThreadLocal.withInitial' $check android21-apis "$work/newer-apis.jar"
expect_failure "ConcurrentHashMap.newKeySet, Base64, Optional, java.util.function" \
  'ConcurrentHashMap.newKeySet' $check android21-apis "$work/newer-apis.jar"
expect_failure "java.util.Base64" 'java.util.Base64' $check android21-apis "$work/newer-apis.jar"
expect_failure "java.util.Optional" 'java.util.Optional' $check android21-apis "$work/newer-apis.jar"
expect_failure "List.of and String.strip/repeat" 'List/Set/Map.of' \
  $check android21-apis "$work/java11.jar"
expect_failure "a class file of Java 11 (version 55)" 'class file version 55 > 52' \
  $check class-versions "$work/java11.jar"

if [ "$failed" -ne 0 ]; then
  echo "FAIL: a check did not bite"
  exit 1
fi
echo "OK: every check fails on its planted violation"
