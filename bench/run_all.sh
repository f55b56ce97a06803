#!/usr/bin/env bash
# Every benchmark of docs/BENCHMARKS.md, back to back in one run, with quick but meaningful
# settings. Each prints its own output and BENCH_RESULT lines (bench_result.hpp): its figure
# beside its raw baseline from the same run, the ratio and the goal. At the end one table of
# every figure (bench/results_table.py); --write-doc also regenerates the block "The figures
# now" at the top of docs/BENCHMARKS.md with the machine, date, commit, load and commands.
#
# Usage: bench/run_all.sh [--write-doc] [--no-cluster] [--log FILE] [BUILD_DIR]
#   BUILD_DIR       default build; this script builds nothing. Build first:
#                     JOBS=2 ./scripts/build.sh bench_grains bench_durable bench_kafka \
#                       bench_bridge bench_checkout bench_projector bench_cluster \
#                       bench_activation bench_pistache_baseline bazaar bazaarctl bazaar-load
#   --write-doc     regenerate the block between <!-- run_all:begin --> and <!-- run_all:end -->
#                   of docs/BENCHMARKS.md (the rest of the file is left as it is)
#   --no-cluster    skip bench/cluster_failover.py, which runs last (three nodes of
#                   scripts/cluster.sh, 3 SIGKILL failovers and two rolling restarts: about
#                   1.5 minutes with the small settings below, and it loads the machine; it
#                   uses build/bin of this checkout, whatever BUILD_DIR is, and cluster.sh
#                   start runs scripts/build.sh for bazaar, bazaarctl and bazaar-load, a no-op
#                   when built)
#   --log FILE      where the whole output goes (default BUILD_DIR/run_all/run_all-<UTC>.log)
# Took 6 min 53 s on the 2-core machine of docs/BENCHMARKS.md at load 2.6, 7 to 8 min under heavier
# load (about 5.5 without the cluster).
# Needs the local PostgreSQL of ./scripts/postgres.sh (started if it is not running), wrk and
# python3. Every benchmark works in a scratch schema that is dropped afterwards; only 127.0.0.1.
#
# Exit status: 0 when every benchmark ran; 1 when one failed to run (an exit status other than
# 0 or 3, no BENCH_RESULT line, or still running after 15 min; the others still run); 2 when something is missing before
# the start. A goal not met does NOT change it (a benchmark exits 3 for that, which counts as
# having run): the table's "met" column shows it.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2
write_doc=0
with_cluster=1
log=""
build_dir=build
while (($#)); do
  case "$1" in
    --write-doc) write_doc=1 ;;
    --no-cluster) with_cluster=0 ;;
    --log)
      log=${2:?--log needs a file}
      shift
      ;;
    -h | --help)
      sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    -*)
      echo "run_all: unknown option $1 (see --help)" >&2
      exit 2
      ;;
    *) build_dir=$1 ;;
  esac
  shift
done
bin="$build_dir/bin"
for exe in bench_grains bench_durable bench_kafka bench_bridge bench_checkout bench_projector \
  bench_cluster bench_activation bench_pistache_baseline bazaar bazaarctl bazaar-load; do
  if [[ ! -x "$bin/$exe" ]]; then
    echo "run_all: $bin/$exe not found; build it first (see --help)" >&2
    exit 2
  fi
done
for tool in wrk python3 psql; do
  command -v "$tool" >/dev/null || {
    echo "run_all: $tool is required" >&2
    exit 2
  }
done
BAZAAR_POSTGRES_URL=$(./scripts/postgres.sh) || exit 2
export BAZAAR_POSTGRES_URL
if [[ -z "$log" ]]; then
  mkdir -p "$build_dir/run_all"
  log="$build_dir/run_all/run_all-$(date -u +%Y%m%dT%H%M%SZ).log"
fi
: >"$log" || exit 2

# A BENCH_META line (JSON) into the log.
meta() {
  python3 -c 'import json, sys; print("BENCH_META " + json.dumps({"key": sys.argv[1], "value": sys.argv[2]}, ensure_ascii=False))' \
    "$1" "$2" | tee -a "$log"
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

failed=0
# run NAME COMMAND...: runs one benchmark, its output to the terminal and the log, then a
# BENCH_RUN line: how long it took, its exit status, how many results it printed, whether it ran.
run() {
  local name=$1
  shift
  # The command as it can be typed again (an argument with spaces in single quotes).
  local shown="" arg
  for arg in "$@"; do
    if [[ "$arg" == *" "* ]]; then
      if [[ "$arg" =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; then
        arg="${arg%%=*}='${arg#*=}'"
      else
        arg="'$arg'"
      fi
    fi
    shown+="${shown:+ }$arg"
  done
  echo "## $(date -u +%H:%M:%S) UTC, load $(loadavg): $name: $shown" | tee -a "$log"
  local start part="$log.part"
  start=$(date +%s.%N)
  # A benchmark that hangs is interrupted (SIGINT, so that the scripts clean up) after 15 min.
  timeout --foreground -s INT -k 60 900 "$@" 2>&1 | tee "$part"
  local rc=${PIPESTATUS[0]} end
  end=$(date +%s.%N)
  cat "$part" >>"$log"
  local results
  results=$(grep -c '^BENCH_RESULT ' "$part")
  rm -f "$part"
  local ran=true
  if [[ $rc -ne 0 && $rc -ne 3 ]] || ((results == 0)); then
    ran=false
    failed=1
  fi
  python3 -c 'import json, sys; print("BENCH_RUN " + json.dumps({"bench": sys.argv[1], "command": sys.argv[2], "exit": int(sys.argv[3]), "seconds": round(float(sys.argv[7]) - float(sys.argv[4]), 1), "results": int(sys.argv[5]), "ran": sys.argv[6] == "true"}))' \
    "$name" "$shown" "$rc" "$start" "$results" "$ran" "$end" | tee -a "$log"
}

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n "$(git status --porcelain 2>/dev/null)" ]] && commit="$commit, dirty"
mem_gib=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
os=$( (. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME") || echo unknown)
options=""
((with_cluster)) || options+=" --no-cluster"
((write_doc)) && options+=" --write-doc"
meta options "$options"
meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
meta commit "$commit"
meta machine "nproc $(nproc), ${cpu:-unknown CPU}, $mem_gib RAM, Linux $(uname -r), $os"
meta load_start "$(loadavg)"
echo "run_all: log $log"
started=$SECONDS

run bench_grains "$bin/bench_grains" --only get call set add client
run bench_durable "$bin/bench_durable" --seconds 5
schema=http_bench_$$
run http_bench.sh env NODE_ARGS="--set postgres.schema=$schema" bench/http_bench.sh "$build_dir" 10
psql "$BAZAAR_POSTGRES_URL" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
run bench_kafka "$bin/bench_kafka" --records 50000
run bench_bridge "$bin/bench_bridge" --records 30000
run bench_checkout "$bin/bench_checkout" --seconds 8 --latency-seconds 8
run bench_checkout "$bin/bench_checkout" --seconds 8 --latency-seconds 8 --transport kafka
run bench_projector "$bin/bench_projector" --records 20000
run bench_cluster "$bin/bench_cluster" --seconds 6
run bench_activation "$bin/bench_activation" --storage postgres
run bench_activation "$bin/bench_activation" --only latency --storage memory
run load_tool_bench.sh bench/load_tool_bench.sh "$build_dir" 10
if ((with_cluster)); then
  run cluster_failover.py bench/cluster_failover.py --kills 3 --warmup-seconds 3 --baseline-seconds 10
fi

took=$((SECONDS - started))
meta duration "$((took / 60)) min $((took % 60)) s"
meta load_end "$(loadavg)"
echo
echo "## $(date -u +%H:%M:%S) UTC: every benchmark done in $((took / 60)) min $((took % 60)) s" \
  "(load $(loadavg)); log $log"
echo
doc_args=()
((write_doc)) && doc_args=(--write-doc docs/BENCHMARKS.md)
python3 bench/results_table.py "$log" "${doc_args[@]}" || failed=1
exit "$failed"
