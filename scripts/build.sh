#!/usr/bin/env bash
# Configures and builds Bazaar. Usage: scripts/build.sh [--sanitize] [--debug] [cmake targets...]
#   BUILD_DIR  where to build (default: build, or build-asan with --sanitize)
#   JOBS       parallel jobs (default: core count)
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=OFF
type=Release
targets=()
for arg in "$@"; do
  case "$arg" in
    --sanitize) sanitize=ON; type=Debug ;;
    --debug) type=Debug ;;
    *) targets+=(--target "$arg") ;;
  esac
done
dir=${BUILD_DIR:-$([ "$sanitize" = ON ] && echo build-asan || echo build)}
jobs=${JOBS:-$(nproc)}

cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" -DBAZAAR_SANITIZE="$sanitize" >/dev/null
cmake --build "$dir" -j"$jobs" "${targets[@]}"
