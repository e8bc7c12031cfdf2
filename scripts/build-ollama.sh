#!/usr/bin/env bash
# Builds a real Ollama (v0.17.4) from the Go module proxy into a cache
# folder, for the LLM engine tests (internal/assistant/llm/ollama_test.go).
# Recipe from ../shared/docs/ARCHITECTURE.md: the module zip leaves out a few
# C/C++ headers; nlohmann-json and stb come from Debian, miniaudio.h from the
# malgo module. Prints the binary's path on success.
#
#   OLLAMA_CACHE  where to put it (default: $XDG_CACHE_HOME/retinalgpt/ollama-0.17.4)
set -euo pipefail

version=0.17.4
cache="${OLLAMA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/retinalgpt/ollama-$version}"
bin="$cache/bin/ollama"
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi

need=()
[ -f /usr/include/nlohmann/json.hpp ] || need+=(nlohmann-json3-dev)
[ -f /usr/include/stb/stb_image.h ] || need+=(libstb-dev)
command -v g++ >/dev/null || need+=(g++)
if [ ${#need[@]} -gt 0 ]; then
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_="sudo"
  (export DEBIAN_FRONTEND=noninteractive; $sudo_ apt-get update -qq && $sudo_ apt-get install -y -qq --no-install-recommends "${need[@]}") >&2
fi

# miniaudio.h ships inside github.com/gen2brain/malgo.
malgo_dir="$(cd "$(mktemp -d)" && go mod init tmp >/dev/null 2>&1 && go mod download -json github.com/gen2brain/malgo@v0.11.24 | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
inc="$cache/include/miniaudio"
mkdir -p "$inc"
cp "$malgo_dir/miniaudio.h" "$inc/miniaudio.h"

mkdir -p "$cache/bin"
echo "building ollama $version (about 10 minutes the first time)..." >&2
GOBIN="$cache/bin" CGO_ENABLED=1 CGO_CPPFLAGS="-I$cache/include" \
  go install -ldflags "-X github.com/ollama/ollama/version.Version=$version" \
  "github.com/ollama/ollama@v$version" >&2
echo "$bin"
