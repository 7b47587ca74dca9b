#!/usr/bin/env bash
# Cross-builds the SDK for ARM and runs its tests under qemu-user:
#   bash scripts/test-cross.sh armhf     # 32-bit ARM (arm-linux-gnueabihf), e.g. kiosk boards
#   bash scripts/test-cross.sh aarch64   # 64-bit ARM (aarch64-linux-gnu)
# Installs what it needs (Debian's cross g++, qemu-user, tclsh, and through multiarch the target's
# libcurl, which only the tests use to talk to the emulator), fetches the pinned SQLite and mbedTLS
# sources (scripts/fetch-deps.sh), builds the host experiture-emulator, then cross-builds the core,
# the platform layer and every unit, integration, fault and C API test with
# EXPERITURE_BUNDLED_DEPS=ON, EXPERITURE_WITH_CURL=OFF, EXPERITURE_WITH_PHONENUMBER=OFF, and runs
# them with ctest (CMAKE_CROSSCOMPILING_EMULATOR = qemu) against the host emulator.
# Build folder: build-cross-<arch> (or EXPERITURE_CROSS_BUILD_DIR). Warnings are errors in CI.
set -euo pipefail
cd "$(dirname "$0")/.."

arch="${1:-}"
case "$arch" in
  armhf) triple=arm-linux-gnueabihf debian_arch=armhf ;;
  aarch64 | arm64) arch=aarch64 triple=aarch64-linux-gnu debian_arch=arm64 ;;
  *)
    echo "usage: $0 armhf|aarch64" >&2
    exit 2
    ;;
esac

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive

# Host packages: the project's own list plus the cross compiler, qemu-user and tclsh (SQLite's
# amalgamation is generated with it; it is never linked).
bash scripts/setup.sh "g++-$triple" qemu-user tcl

# Through Debian multiarch: the target's libcurl for the tests, and the C/C++ runtime qemu runs
# them with (see the toolchain file).
if ! dpkg-query -W -f='${Status}\n' "libcurl4-openssl-dev:$debian_arch" "libstdc++6:$debian_arch" \
  2>/dev/null | grep -c "install ok installed" | grep -qx 2; then
  if ! dpkg --print-foreign-architectures | grep -qx "$debian_arch"; then
    echo "test-cross: dpkg --add-architecture $debian_arch"
    $sudo dpkg --add-architecture "$debian_arch"
  fi
  echo "test-cross: installing libcurl4-openssl-dev:$debian_arch libstdc++6:$debian_arch"
  # A third-party apt source without $debian_arch indexes makes update complain; the Debian
  # indexes it needs still arrive, and the install below fails clearly if they did not.
  $sudo apt-get update -qq || true
  $sudo apt-get install -y -qq --no-install-recommends "libcurl4-openssl-dev:$debian_arch" \
    "libstdc++6:$debian_arch" >/dev/null
fi

bash scripts/fetch-deps.sh

export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
werror=OFF
if [ "${CI:-}" = "true" ]; then
  werror=ON
fi

# The emulator runs on the host (it stands in for the CDP, which is never on the device).
host_build="${EXPERITURE_BUILD_DIR:-build}"
if [ ! -f "$host_build/CMakeCache.txt" ]; then
  cmake -S . -B "$host_build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEXPERITURE_WERROR="$werror" >/dev/null
fi
cmake --build "$host_build" -j2 --target experiture-emulator
emulator="$PWD/$host_build/tools/emulator/experiture-emulator"

cross_build="${EXPERITURE_CROSS_BUILD_DIR:-build-cross-$arch}"
start=$(date +%s)
cmake -S . -B "$cross_build" \
  -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/toolchains/$triple.cmake" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEXPERITURE_WERROR="$werror" \
  -DEXPERITURE_BUNDLED_DEPS=ON -DEXPERITURE_WITH_CURL=OFF -DEXPERITURE_WITH_PHONENUMBER=OFF \
  -DEXPERITURE_WITH_JAVA=OFF -DEXPERITURE_WITH_SWIFT=OFF \
  -DEXPERITURE_BUILD_TOOLS=OFF -DEXPERITURE_BUILD_SAMPLES=OFF \
  -DEXPERITURE_HOST_EMULATOR="$emulator" >/dev/null
cmake --build "$cross_build" -j2
built=$(date +%s)

lib="$cross_build/core/libexperiture.so"
echo "test-cross: $(readelf -h "$lib" | awk -F: '/Class|Machine/ { gsub(/^ +/, "", $2); printf "%s ", $2 }')"
stripped=$(mktemp)
"$triple-strip" -o "$stripped" "$lib"
echo "test-cross: libexperiture $(stat -c %s "$(readlink -f "$lib")") bytes," \
  "stripped $(stat -c %s "$stripped") bytes; build $((built - start)) s"
rm -f "$stripped"
echo "test-cross: needs $("$triple-readelf" -d "$lib" | awk '/NEEDED/ { printf "%s ", $5 }')"
ctest --test-dir "$cross_build" --output-on-failure -j2
