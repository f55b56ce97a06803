#!/usr/bin/env bash
# Every benchmark of docs/BENCHMARKS.md's "figures now", back to back in one run, each line of
# output kept; a header before each benchmark gives the UTC time and the load average.
#
# Usage: bench/run_all.sh [BUILD_DIR]     (default: build; this script builds nothing)
#   build first: JOBS=2 ./scripts/build.sh bench_grains bench_durable bench_kafka \
#                  bench_bridge bench_checkout bench_pistache_baseline bazaar bazaarctl
# Needs the local PostgreSQL of ./scripts/postgres.sh (started if it is not running). The
# HTTP benchmark's node writes into a scratch schema that is dropped afterwards; bench_durable
# and bench_kafka drop their own schemas. Only 127.0.0.1 is used. Exits non-zero if any
# benchmark did (a benchmark below its goal exits non-zero too; all of them still run).
set -uo pipefail

cd "$(dirname "$0")/.."
build_dir=${1:-build}
bin="$build_dir/bin"
for exe in bench_grains bench_durable bench_kafka bench_bridge bench_checkout bench_pistache_baseline \
  bazaar bazaarctl; do
  if [[ ! -x "$bin/$exe" ]]; then
    echo "run_all: $bin/$exe not found; build it first (see the usage above)" >&2
    exit 2
  fi
done
BAZAAR_POSTGRES_URL=$(./scripts/postgres.sh) || exit 2
export BAZAAR_POSTGRES_URL

status=0
stamp() { echo "## $(date -u +%H:%M:%S) UTC, load $(cut -d' ' -f1-3 /proc/loadavg): $*"; }
run() {
  stamp "$*"
  "$@" || status=1
}

echo "run_all: commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), nproc $(nproc)"
run "$bin/bench_grains" --only get call set add client
run "$bin/bench_durable" --seconds 5
schema=http_bench_$$
run env NODE_ARGS="--set postgres.schema=$schema" bench/http_bench.sh "$build_dir" 10
psql "$BAZAAR_POSTGRES_URL" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
run "$bin/bench_kafka" --records 50000
run "$bin/bench_bridge" --records 50000
run "$bin/bench_checkout" --seconds 10 --latency-seconds 10
stamp "done"
exit "$status"
