#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole suite with ctest.
# Exit code is non-zero on any failure.
#   ./scripts/test.sh              Release build in build/
#   ./scripts/test.sh --sanitize   AddressSanitizer + UBSan build in build-asan/
#   CTEST_ARGS="-L unit"           extra ctest arguments
# PostgreSQL: BAZAAR_POSTGRES_URL if set, otherwise the local cluster, started if needed.
set -euo pipefail
cd "$(dirname "$0")/.."

build_args=()
[ "${1:-}" = "--sanitize" ] && build_args+=(--sanitize)
dir=$([ "${1:-}" = "--sanitize" ] && echo build-asan || echo build)
dir=${BUILD_DIR:-$dir}

./scripts/install-deps.sh
BUILD_DIR=$dir ./scripts/build.sh "${build_args[@]}"
# Integration and fault tests use a real PostgreSQL, each test in a schema of its own.
BAZAAR_POSTGRES_URL=$(./scripts/postgres.sh)
export BAZAAR_POSTGRES_URL

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$dir"
# shellcheck disable=SC2086
ctest --output-on-failure -j2 --timeout 300 ${CTEST_ARGS:-}
