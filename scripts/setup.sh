#!/usr/bin/env bash
# Installs what building and testing the SDK needs, from Debian 12 packages. Idempotent: packages
# already installed are skipped, and apt is not touched at all when nothing is missing.
# Extra package names given as arguments are installed too (scripts/fuzz.sh adds clang).
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ccache ca-certificates openssl
  libsqlite3-dev libmbedtls-dev libcurl4-openssl-dev nlohmann-json3-dev catch2
  libcpp-httplib-dev libssl-dev zlib1g-dev libbrotli-dev libphonenumber-dev
  default-jdk-headless junit4
  "$@"
)
# The emulator's dev console is tested in a real headless browser (ctest registers that test
# only when chromium and python3 are present): about 80 MB to download, 290 MB installed.
# EXPERITURE_NO_BROWSER=1 skips it.
if [ "${EXPERITURE_NO_BROWSER:-}" != "1" ]; then
  packages+=(chromium python3)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
