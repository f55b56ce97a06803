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

launcher=()
# ccache, when installed, makes rebuilds and builds in other checkouts (git worktrees) cheap.
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(cd .. && pwd)}
fi
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" -DBAZAAR_SANITIZE="$sanitize" "${launcher[@]}" >/dev/null
cmake --build "$dir" -j"$jobs" "${targets[@]}"
