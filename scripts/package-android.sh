#!/usr/bin/env bash
# Builds the Android library: <out>/experiture-android-<version>.aar with
#   classes.jar          the Java SDK + com.experiture.sdk.android, javac --release 8
#   AndroidManifest.xml  package com.experiture.sdk, minSdkVersion 21, INTERNET, ACCESS_NETWORK_STATE
#   proguard.txt         consumer keep rules for every JNI name (bindings/android/proguard.txt)
#   jni/<abi>/libexperiture.so, libexperiture_jni.so   only with an NDK (ANDROID_NDK set)
# Usage: bash scripts/package-android.sh [--out DIR]   (default DIR: build/android)
# Environment: ANDROID_NDK (NDK root: builds the native libraries per ABI with the NDK's CMake
# toolchain and EXPERITURE_BUNDLED_DEPS=ON), EXPERITURE_ANDROID_ABIS (default
# "arm64-v8a armeabi-v7a x86_64"), ANDROID_JAR (an SDK platform's android.jar to compile
# com.experiture.sdk.android against; else the test stand-ins' signatures are used, see below).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out="$root/build/android"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    *) echo "usage: $0 [--out DIR]" >&2; exit 2 ;;
  esac
done
if ! command -v javac >/dev/null || ! command -v jar >/dev/null; then
  bash scripts/setup.sh  # a fresh Debian 12: installs the JDK with the rest (as root)
fi
for tool in javac jar; do
  command -v "$tool" >/dev/null || { echo "package-android: $tool not found (a JDK is needed)" >&2; exit 1; }
done
version=$(sed -n 's/^project(experiture VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
[ -n "$version" ] || { echo "package-android: no version in CMakeLists.txt" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "$out/.package.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/stage" "$work/classes" "$work/compile-only"

# Compile-only classpath for com.experiture.sdk.android: android.jar when given, and the
# test-only stand-ins (bindings/android/src/standins, written from the Android and AndroidX API
# references) for whatever it lacks (androidx.work always: it is a Maven library, not in the SDK).
# The stand-ins are never packaged; on a device the real classes are used.
classpath="$work/compile-only"
if [ -n "${ANDROID_JAR:-}" ]; then
  [ -f "$ANDROID_JAR" ] || { echo "package-android: ANDROID_JAR=$ANDROID_JAR is not a file" >&2; exit 1; }
  classpath="$ANDROID_JAR:$classpath"
  echo "package-android: compiling com.experiture.sdk.android against $ANDROID_JAR"
else
  echo "package-android: no ANDROID_JAR: com.experiture.sdk.android is compiled against the"
  echo "  test stand-ins of the Android classes it uses (same names and signatures as the API reference)"
fi
javac --release 8 -encoding UTF-8 -nowarn -d "$work/compile-only" \
  $(find bindings/android/src/standins -name '*.java' | sort)
javac --release 8 -encoding UTF-8 -Xlint:all -Werror -cp "$classpath" -d "$work/classes" \
  bindings/java/src/main/java/com/experiture/sdk/*.java \
  $(find bindings/android/src/main/java -name '*.java' | sort)
(cd "$work/classes" && jar cfM "$work/stage/classes.jar" com)

cat > "$work/stage/AndroidManifest.xml" <<MANIFEST
<?xml version="1.0" encoding="utf-8"?>
<manifest xmlns:android="http://schemas.android.com/apk/res/android"
    package="com.experiture.sdk"
    android:versionName="$version">
    <uses-sdk android:minSdkVersion="21" />
    <uses-permission android:name="android.permission.INTERNET" />
    <uses-permission android:name="android.permission.ACCESS_NETWORK_STATE" />
</manifest>
MANIFEST
cp bindings/android/proguard.txt "$work/stage/proguard.txt"
: > "$work/stage/R.txt"  # no Android resources

if [ -z "${ANDROID_NDK:-}" ]; then
  echo "package-android: ANDROID_NDK is not set: no native libraries (jni/<abi>/) in the AAR;"
  echo "  it holds the Java part alone. Set ANDROID_NDK to an NDK root to build them."
else
  toolchain="$ANDROID_NDK/build/cmake/android.toolchain.cmake"
  [ -f "$toolchain" ] || { echo "package-android: no $toolchain" >&2; exit 1; }
  if ! grep -rqs EXPERITURE_BUNDLED_DEPS CMakeLists.txt cmake; then
    echo "package-android: this checkout has no EXPERITURE_BUNDLED_DEPS (bundled SQLite and" >&2
    echo "  mbedTLS), which the NDK build needs: Android has neither as a system library" >&2
    exit 1
  fi
  for abi in ${EXPERITURE_ANDROID_ABIS:-arm64-v8a armeabi-v7a x86_64}; do
    build="$out/ndk-$abi"
    echo "package-android: building $abi in $build"
    cmake -S . -B "$build" -DCMAKE_TOOLCHAIN_FILE="$toolchain" -DANDROID_ABI="$abi" \
      -DANDROID_PLATFORM=android-21 -DANDROID_STL=c++_static -DCMAKE_BUILD_TYPE=Release \
      -DEXPERITURE_BUNDLED_DEPS=ON -DEXPERITURE_WITH_CURL=OFF -DEXPERITURE_WITH_PHONENUMBER=OFF \
      -DEXPERITURE_WITH_SWIFT=OFF -DEXPERITURE_BUILD_TESTS=OFF -DEXPERITURE_BUILD_TOOLS=OFF \
      -DEXPERITURE_BUILD_SAMPLES=OFF >/dev/null
    cmake --build "$build" -j2 --target experiture experiture_jni
    mkdir -p "$work/stage/jni/$abi"
    cp "$build/core/libexperiture.so" "$build/bindings/java/libexperiture_jni.so" \
       "$work/stage/jni/$abi/"
  done
fi

aar="$out/experiture-android-$version.aar"
rm -f "$aar"
(cd "$work/stage" && jar cfM "$aar" .)
echo "package-android: $aar"
(cd "$work/stage" && find . -type f | sort | sed 's|^\./|  |')
