#!/usr/bin/env bash
# bazaar-load against wrk: can its figures be trusted not to be its own limit? Both drive the
# same node with the same basket writes (POST /api/v1/basket/items, a uniformly chosen sku for
# a uniformly chosen customer) over the same number of kept-alive connections, in alternating
# rounds of one run. The figure is bazaar-load's rate, the raw baseline wrk's (C, one thread,
# no checking); the ratio near 1 says the tool measures the node, not itself. The client CPU
# per request of each is printed too (GNU time, user + system).
#
# Usage: bench/load_tool_bench.sh [BUILD_DIR] [SECONDS]
#   BUILD_DIR  holds bin/bazaar, bin/bazaar-load, bin/bazaarctl (this script builds nothing;
#              default: build)
#   SECONDS    measured time per tool, split into ROUNDS rounds (default: 10)
# Environment: ROUNDS (2), CONNECTIONS (64), CUSTOMERS (200), SKUS (20), GOAL (0.9).
# Needs the local PostgreSQL of scripts/postgres.sh (BAZAAR_POSTGRES_URL); the node writes
# into a scratch schema that is dropped at the end. Only 127.0.0.1 is used; the node is stopped
# by its PID. Exits 1 when a tool saw errors or the node failed, 3 when the ratio is below GOAL.
set -euo pipefail

build_dir=${1:-build}
seconds=${2:-10}
rounds=${ROUNDS:-2}
connections=${CONNECTIONS:-64}
customers=${CUSTOMERS:-200}
skus=${SKUS:-20}
goal=${GOAL:-0.9}
bin="$build_dir/bin"
here=$(cd "$(dirname "$0")" && pwd)

for exe in bazaar bazaar-load bazaarctl; do
  [[ -x "$bin/$exe" ]] || {
    echo "load_tool_bench: $bin/$exe not found; build it first" >&2
    exit 2
  }
done
for tool in wrk curl /usr/bin/time psql; do
  command -v "$tool" >/dev/null || {
    echo "load_tool_bench: $tool is required" >&2
    exit 2
  }
done
slice=$((seconds / rounds))
((slice >= 1)) || {
  echo "load_tool_bench: SECONDS must be at least ROUNDS" >&2
  exit 2
}
: "${BAZAAR_POSTGRES_URL:?load_tool_bench: set BAZAAR_POSTGRES_URL (scripts/postgres.sh prints it)}"
export BAZAAR_JWT_SECRET="${BAZAAR_JWT_SECRET:-load-tool-bench-$RANDOM$RANDOM}"

work=$(mktemp -d)
schema="load_tool_bench_$$"
node_pid=""
cleanup() {
  if [[ -n "$node_pid" ]] && kill -0 "$node_pid" 2>/dev/null; then
    kill -TERM "$node_pid" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$node_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$node_pid" 2>/dev/null || true
  fi
  psql "$BAZAAR_POSTGRES_URL" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

port=0
for _ in $(seq 100); do
  candidate=$((20000 + RANDOM % 30000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
    port=$candidate
    break
  fi
done
((port > 0)) || { echo "load_tool_bench: no free port" >&2; exit 2; }
url="http://127.0.0.1:$port"

"$bin/bazaar" serve --set http.host=127.0.0.1 --set "http.port=$port" --set log.level=warn \
  --set "postgres.schema=$schema" >"$work/node.log" 2>&1 &
node_pid=$!
for _ in $(seq 150); do
  [[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz" || true)" == 200 ]] && break
  sleep 0.1
done
[[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz" || true)" == 200 ]] || {
  echo "load_tool_bench: the node did not become ready; its log:" >&2
  cat "$work/node.log" >&2
  exit 1
}

echo "load_tool_bench: $rounds rounds of ${slice}s per tool, -c$connections, $customers customers," \
  "$skus skus, nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg)"

# The products (and the run's names) come from bazaar-load itself; wrk's script uses the same.
"$bin/bazaar-load" basket --url "$url" --run-id cal --customers "$customers" --skus "$skus" \
  --concurrency 1 --requests 1 --no-progress >"$work/seed.out" 2>&1 || {
  echo "load_tool_bench: seeding failed:" >&2
  cat "$work/seed.out" >&2
  exit 1
}
{
  echo "tokens = {"
  for ((i = 0; i < customers; i++)); do
    echo "  \"$("$bin/bazaarctl" token --sub "load-cal-c$i" --role customer --ttl 7200)\","
  done
  echo "}"
  cat <<LUA
skus = $skus
request = function()
  local token = tokens[math.random(#tokens)]
  local body = '{"sku":"load-cal-s' .. math.random(0, skus - 1) .. '","quantity":1}'
  return wrk.format("POST", "/api/v1/basket/items",
    {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, body)
end
LUA
} >"$work/writes.lua"

status=0
declare -a load_rates wrk_rates load_cpu wrk_cpu
for ((r = 1; r <= rounds; r++)); do
  /usr/bin/time -f "%U %S" -o "$work/load.time" "$bin/bazaar-load" basket --url "$url" \
    --run-id cal --customers "$customers" --skus "$skus" --distribution uniform \
    --mix add=1,set=0,remove=0,get=0,clear=0 --concurrency "$connections" \
    --duration "${slice}s" --no-progress --no-check --json "$work/load.json" >"$work/load.out" 2>&1 || true
  read -r requests errors secs < <(python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(j['requests'], j['errors'], j['seconds'])" "$work/load.json")
  read -r user sys <"$work/load.time"
  rate=$(awk -v n="$requests" -v s="$secs" 'BEGIN{printf "%.1f", n/s}')
  cpu=$(awk -v u="$user" -v y="$sys" -v n="$requests" 'BEGIN{printf "%.1f", (u+y)*1e6/n}')
  load_rates+=("$rate")
  load_cpu+=("$cpu")
  echo "round $r bazaar-load: $rate req/s, $errors errors, client CPU $cpu us per request"
  ((errors == 0)) || status=1

  /usr/bin/time -f "%U %S" -o "$work/wrk.time" wrk -t1 -c"$connections" -d"${slice}s" \
    -s "$work/writes.lua" "$url" >"$work/wrk.out" 2>&1 || true
  rate=$(awk '/Requests\/sec:/ {print $2}' "$work/wrk.out")
  total=$(awk '/requests in/ {print $1}' "$work/wrk.out")
  non2xx=$(awk '/Non-2xx/ {print $5}' "$work/wrk.out")
  read -r user sys <"$work/wrk.time"
  cpu=$(awk -v u="$user" -v y="$sys" -v n="$total" 'BEGIN{printf "%.1f", (u+y)*1e6/n}')
  wrk_rates+=("$rate")
  wrk_cpu+=("$cpu")
  echo "round $r wrk:         $rate req/s, ${non2xx:-0} non-2xx, client CPU $cpu us per request"
  [[ -z "$non2xx" ]] || status=1
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
load_rate=$(median "${load_rates[@]}")
wrk_rate=$(median "${wrk_rates[@]}")
ratio=$(awk -v a="$load_rate" -v b="$wrk_rate" 'BEGIN{printf "%.3f", a/b}')
echo
printf '%-40s %12s %12s %7s\n' "basket writes, median of rounds" "bazaar-load" "wrk" "ratio"
printf '%-40s %12s %12s %7s\n' "requests/s" "$load_rate" "$wrk_rate" "$ratio"
printf '%-40s %12s %12s\n' "client CPU per request (us)" "$(median "${load_cpu[@]}")" "$(median "${wrk_cpu[@]}")"
if [[ -f "$here/bench_result.py" ]]; then
  python3 "$here/bench_result.py" --name load_tool.basket_writes --figure "$load_rate" \
    --unit req/s --baseline "$wrk_rate" --baseline-unit "req/s (wrk)" --goal "ratio:>=:$goal"
fi
if ! kill -0 "$node_pid" 2>/dev/null; then
  echo "load_tool_bench: the node died; its log:" >&2
  cat "$work/node.log" >&2
  exit 1
fi
((status == 0)) || exit 1
awk -v r="$ratio" -v g="$goal" 'BEGIN{exit !(r >= g)}' || exit 3
