#!/usr/bin/env bash
# Puts the sources pinned in cmake/deps.cmake (SQLite, mbedTLS) into the cache folder .deps-cache/
# that -DEXPERITURE_BUNDLED_DEPS=ON builds from. Every file is checked against its SHA-256.
#   - EXPERITURE_DEPS_DIR set: the files are taken from that folder (any OS; file names in
#     cmake/deps.cmake and README "Building for devices").
#   - otherwise, on Debian: `apt-get source --download-only` from Debian 12's source archive, with a
#     deb-src list, package lists and download folder of its own in a temporary folder, so the
#     system's apt configuration and state are not touched. The mirror is the one apt already uses
#     for bookworm (or EXPERITURE_DEBIAN_MIRROR).
# Idempotent: a dependency whose file is already cached with the right hash is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="$PWD/.deps-cache"
mkdir -p "$cache"

# name version file sha256 kind, one line per accepted file, in the order of cmake/deps.cmake.
pins=$(sed -n 's/^experiture_dep_file(\(.*\))[[:space:]]*$/\1/p' cmake/deps.cmake)
[ -n "$pins" ] || { echo "fetch-deps: no experiture_dep_file lines in cmake/deps.cmake" >&2; exit 1; }
names=$(echo "$pins" | awk '{ print $1 }' | uniq)

sha256_of() { sha256sum "$1" | awk '{ print $1 }'; }

# verify FILE EXPECTED: a clear error naming the file when the bytes are not the pinned ones.
verify() {
  local actual
  actual=$(sha256_of "$1")
  if [ "$actual" != "$2" ]; then
    echo "fetch-deps: $1: SHA-256 mismatch" >&2
    echo "  expected $2 (cmake/deps.cmake)" >&2
    echo "  got      $actual" >&2
    echo "  this is not the pinned file: delete it and fetch it again" >&2
    exit 1
  fi
}

# cached NAME: true when one of NAME's accepted files is in the cache (verified).
cached() {
  local name version file sha kind
  while read -r name version file sha kind; do
    [ "$name" = "$1" ] || continue
    if [ -f "$cache/$file" ]; then
      verify "$cache/$file" "$sha"
      echo "fetch-deps: $name $version: $file (cached, SHA-256 ok)"
      return 0
    fi
  done <<<"$pins"
  return 1
}

# take_from DIR NAME: copy NAME's first accepted file found in DIR into the cache.
take_from() {
  local dir="$1" name version file sha kind accepted=""
  while read -r name version file sha kind; do
    [ "$name" = "$2" ] || continue
    accepted="$accepted $file"
    if [ -f "$dir/$file" ]; then
      verify "$dir/$file" "$sha"
      cp "$dir/$file" "$cache/$file.tmp" && mv "$cache/$file.tmp" "$cache/$file"
      echo "fetch-deps: $name $version: $file (from $dir, SHA-256 ok)"
      return 0
    fi
  done <<<"$pins"
  echo "fetch-deps: $dir holds none of the files accepted for $2:$accepted" >&2
  exit 1
}

missing=()
for name in $names; do
  cached "$name" || missing+=("$name")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ -n "${EXPERITURE_DEPS_DIR:-}" ]; then
  for name in "${missing[@]}"; do take_from "$EXPERITURE_DEPS_DIR" "$name"; done
  exit 0
fi

if ! command -v apt-get >/dev/null; then
  echo "fetch-deps: no apt-get here: download the files named in cmake/deps.cmake into a folder" >&2
  echo "  and run again with EXPERITURE_DEPS_DIR=/that/folder" >&2
  exit 1
fi
mirror="${EXPERITURE_DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  # The mirror apt is configured with for bookworm's main component ("500 URI bookworm/main ...").
  mirror=$(apt-cache policy 2>/dev/null | awk '$3 == "bookworm/main" { print $2; exit }')
fi
if [ -z "$mirror" ]; then
  echo "fetch-deps: apt has no bookworm/main source: set EXPERITURE_DEBIAN_MIRROR to a Debian" >&2
  echo "  mirror URL, or EXPERITURE_DEPS_DIR to a folder holding the files of cmake/deps.cmake" >&2
  exit 1
fi
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$keyring" ] || { echo "fetch-deps: $keyring missing (package debian-archive-keyring)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/parts" "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/download"
echo "deb-src [signed-by=$keyring] $mirror bookworm main" >"$tmp/sources.list"
apt_options=(
  -o "Dir::Etc::SourceList=$tmp/sources.list" -o "Dir::Etc::SourceParts=$tmp/parts"
  -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache" -o Debug::NoLocking=1
  -o APT::Get::List-Cleanup=0
)
if [ "$(id -u)" -eq 0 ]; then
  apt_options+=(-o APT::Sandbox::User=root)  # the temporary folder is not readable by _apt
fi
packages=()
for name in "${missing[@]}"; do packages+=("$name"); done
echo "fetch-deps: apt-get source --download-only ${packages[*]} (bookworm, $mirror)"
apt-get "${apt_options[@]}" -qq update
(cd "$tmp/download" && apt-get "${apt_options[@]}" -qq source --download-only "${packages[@]}" >/dev/null)
for name in "${missing[@]}"; do take_from "$tmp/download" "$name"; done
