#!/usr/bin/env bash
# Obtains the ONNX Runtime shared library that RetinalGPT's inference needs.
# The library ships inside the npm package onnxruntime-node; we take the
# pinned version's tarball from the npm registry (with `npm pack` when npm is
# installed, else curl or wget; no node_modules, no install scripts), check
# its checksum and extract the one library. Result:
# $CACHE/onnxruntime/VERSION/libonnxruntime.so, printed on success.
# With ONNXRUNTIME_LIB set to an existing file, nothing is fetched.
#
# Usage: scripts/fetch-onnxruntime.sh            # into the user cache
#        RETINALGPT_CACHE=/some/dir scripts/fetch-onnxruntime.sh
set -euo pipefail

ORT_VERSION=1.24.3
ORT_TGZ_SHA256=aa1bb5fa261ea68de05dd53efbba210cd7adf2d2850f4c3a201054c74cc78040

cache_root="${RETINALGPT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/retinalgpt}"
dest="$cache_root/onnxruntime/$ORT_VERSION"
lib="$dest/libonnxruntime.so"

if [ -n "${ONNXRUNTIME_LIB:-}" ] && [ -s "$ONNXRUNTIME_LIB" ]; then
  echo "$ONNXRUNTIME_LIB"
  exit 0
fi
if [ -s "$lib" ]; then
  echo "$lib"
  exit 0
fi

case "$(uname -m)" in
  x86_64|amd64) arch=x64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) echo "fetch-onnxruntime: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tgz="$tmp/onnxruntime-node-$ORT_VERSION.tgz"
url="https://registry.npmjs.org/onnxruntime-node/-/onnxruntime-node-$ORT_VERSION.tgz"
echo "fetch-onnxruntime: downloading ONNX Runtime $ORT_VERSION (86 MB npm tarball, once)" >&2
if command -v npm >/dev/null; then
  (cd "$tmp" && npm pack --silent "onnxruntime-node@$ORT_VERSION" >/dev/null)
elif command -v curl >/dev/null; then
  curl -fsSL -o "$tgz" "$url"
elif command -v wget >/dev/null; then
  wget -q -O "$tgz" "$url"
else
  echo "fetch-onnxruntime: need npm, curl or wget to download $url" >&2; exit 1
fi
echo "$ORT_TGZ_SHA256  $tgz" | sha256sum -c --quiet - || { echo "fetch-onnxruntime: checksum mismatch" >&2; exit 1; }
tar -xzf "$tgz" -C "$tmp" "package/bin/napi-v6/linux/$arch/libonnxruntime.so.1"
mkdir -p "$dest"
# Rename into place last so an interrupted run never leaves a partial library.
cp "$tmp/package/bin/napi-v6/linux/$arch/libonnxruntime.so.1" "$lib.tmp"
mv "$lib.tmp" "$lib"
echo "$lib"
