#!/bin/sh
# Fails when libexperiture exports a symbol other than experiture_*, JNI_OnLoad,
# Java_com_experiture_* or C++ names in namespace experiture (with their typeinfo and vtables).
# NM: the nm to use (a cross build passes its own); default nm.
set -eu
lib="$1"
symbols=$("${NM:-nm}" -D --defined-only "$lib" | awk 'NF >= 3 { print $3 }')
[ -n "$symbols" ] || { echo "no dynamic symbols in $lib"; exit 1; }
echo "$symbols" | grep -q '^experiture_client_open$' || { echo "experiture_client_open missing"; exit 1; }
bad=$(echo "$symbols" | grep -v -E '^(experiture_|JNI_OnLoad$|Java_com_experiture_)' | c++filt |
      grep -v -E '^((typeinfo|typeinfo name|vtable) for )?experiture::' || true)
if [ -n "$bad" ]; then
  echo "unexpected exports in $lib:"
  echo "$bad"
  exit 1
fi
echo "$(echo "$symbols" | wc -l) exported symbols, all in the public API"
