#!/usr/bin/env bash
# HTTP basket writes per second: the Bazaar node against a bare Pistache endpoint
# (bench_pistache_baseline), both driven by the same wrk settings in the same run.
#
# Usage: bench/http_bench.sh [BUILD_DIR] [SECONDS]
#   BUILD_DIR  a build directory holding bin/bazaar, bin/bazaarctl, bin/bench_pistache_baseline
#              (this script builds nothing; default: build)
#   SECONDS    measured wrk time per server (default: 10)
# Environment:
#   ROUNDS (5)       the SECONDS are split into ROUNDS wrk runs per server, alternating between
#                    the servers, so that a change of machine load hits both alike; ROUNDS=1 is
#                    one continuous wrk run per server
#   CUSTOMERS (1000), SKUS (20), CONNECTIONS (64), WARMUP (2 seconds per server)
#   GOAL (0.3)       the ratio node/baseline to meet (issue 7: durable basket writes on
#                    PostgreSQL; 0.5 was the goal of the in-memory grains)
#   JWT_BASELINE=1   also measure the baseline verifying the bearer token (an analysis row that
#                    shows what authentication alone costs)
#   NODE_ARGS        extra arguments of `bazaar serve`, split at spaces. A node whose grains
#                    live in PostgreSQL writes every benchmark request there: the script refuses
#                    to run it unless NODE_ARGS names a scratch schema, e.g.
#                    NODE_ARGS="--set postgres.schema=http_bench" (drop it afterwards)
#
# Only 127.0.0.1 is used. Every server is stopped by its PID. Exits non-zero when the node
# answered any non-2xx, had socket errors, died, or did not stop cleanly on SIGTERM (a ratio
# below GOAL does not change the exit status). Prints a BENCH_RESULT line (bench_result.py).
set -euo pipefail

build_dir=${1:-build}
seconds=${2:-10}
rounds=${ROUNDS:-5}
customers=${CUSTOMERS:-1000}
sku_count=${SKUS:-20}
connections=${CONNECTIONS:-64}
warmup=${WARMUP:-2}
jwt_baseline=${JWT_BASELINE:-0}
goal=${GOAL:-0.3}
read -r -a node_args <<<"${NODE_ARGS:-}"
bin="$build_dir/bin"

for exe in bazaar bazaarctl bench_pistache_baseline; do
  if [[ ! -x "$bin/$exe" ]]; then
    echo "http_bench: $bin/$exe not found; build it first (see docs/BENCHMARKS.md)" >&2
    exit 2
  fi
done
for tool in wrk curl awk; do
  command -v "$tool" >/dev/null || {
    echo "http_bench: $tool is required" >&2
    exit 2
  }
done
slice=$((seconds / rounds))
if ((slice < 1)); then
  echo "http_bench: SECONDS ($seconds) must be at least ROUNDS ($rounds)" >&2
  exit 2
fi

# The node and bazaarctl read the same secret from the environment.
export BAZAAR_JWT_SECRET="${BAZAAR_JWT_SECRET:-http-bench-$RANDOM$RANDOM$RANDOM}"

work=$(mktemp -d)
node_pid=""
base_pid=""
jwt_pid=""

# Stops a server by PID: SIGTERM, then SIGKILL after 15 s. Returns its exit status.
stop_pid() {
  local pid=$1
  [[ -n "$pid" ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "http_bench: PID $pid ignored SIGTERM for 15 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  local status=0
  wait "$pid" 2>/dev/null || status=$?
  return "$status"
}

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
  stop_pid "$node_pid" || true
  stop_pid "$base_pid" || true
  stop_pid "$jwt_pid" || true
  rm -rf "$work"
}
trap cleanup EXIT

# A port on 127.0.0.1 that nothing listens on now.
free_port() {
  local port
  for _ in $(seq 100); do
    port=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  echo "http_bench: no free port found" >&2
  return 1
}

# Waits until `curl ARGS...` answers the expected status, at most 10 s.
wait_status() {
  local expected=$1
  shift
  for _ in $(seq 100); do
    if [[ "$(curl -s -o /dev/null -w '%{http_code}' "$@" || true)" == "$expected" ]]; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

token() {
  "$bin/bazaarctl" token --sub "$1" --role "$2" --ttl 7200
}

load() { cut -d' ' -f1-3 /proc/loadavg; }

# CPU clock ticks used so far: "node postgres machine_busy machine_total", where node is
# $node_pid, postgres every process named postgres (the server the node writes to), and the
# machine figures come from /proc/stat. Differences of two samples give cores busy.
cpu_ticks() {
  local node=0 pg=0 stat
  if [[ -r "/proc/$node_pid/stat" ]]; then
    stat=$(<"/proc/$node_pid/stat")
    read -r -a f <<<"${stat##*) }"
    node=$((f[11] + f[12]))
  fi
  for s in /proc/[0-9]*/stat; do
    stat=$(cat "$s" 2>/dev/null) || continue
    [[ "$stat" == *"(postgres) "* ]] || continue
    read -r -a f <<<"${stat##*) }"
    pg=$((pg + f[11] + f[12]))
  done
  read -r _ u n sy id io irq sirq st _ </proc/stat
  echo "$node $pg $((u + n + sy + irq + sirq + st)) $((u + n + sy + id + io + irq + sirq + st))"
}

# Ports on 127.0.0.1, distinct from each other.
node_port=$(free_port)
base_port=$(free_port)
while [[ "$base_port" == "$node_port" ]]; do base_port=$(free_port); done
jwt_port=$(free_port)
while [[ "$jwt_port" == "$node_port" || "$jwt_port" == "$base_port" ]]; do jwt_port=$(free_port); done

echo "http_bench: build=$build_dir seconds=$seconds in $rounds rounds of ${slice}s" \
  "customers=$customers skus=$sku_count wrk -t1 -c$connections, nproc=$(nproc)," \
  "load before: $(load)"

"$bin/bazaar" serve --set http.host=127.0.0.1 --set "http.port=$node_port" \
  --set log.level=warn "${node_args[@]}" >"$work/node.log" 2>&1 &
node_pid=$!
"$bin/bench_pistache_baseline" --port "$base_port" --threads 2 \
  >"$work/baseline_$base_port.log" 2>&1 &
base_pid=$!
if [[ "$jwt_baseline" == 1 ]]; then
  "$bin/bench_pistache_baseline" --port "$jwt_port" --threads 2 \
    --jwt-secret "$BAZAAR_JWT_SECRET" >"$work/baseline_$jwt_port.log" 2>&1 &
  jwt_pid=$!
fi

if ! wait_status 200 "http://127.0.0.1:$node_port/healthz"; then
  echo "http_bench: the node did not become healthy; its log:" >&2
  cat "$work/node.log" >&2
  exit 1
fi
if ! wait_status 200 "http://127.0.0.1:$node_port/readyz"; then
  echo "http_bench: the node is not ready: $(curl -s "http://127.0.0.1:$node_port/readyz")" >&2
  echo "http_bench: (a node on PostgreSQL needs NODE_ARGS=\"--set postgres.url=...\")" >&2
  exit 1
fi
if curl -s "http://127.0.0.1:$node_port/readyz" | grep -q PostgreSQL &&
  [[ "${NODE_ARGS:-}" != *postgres.schema=* ]]; then
  echo "http_bench: the node stores grains in PostgreSQL; refusing to write benchmark data into" \
    "its default schema. Set NODE_ARGS=\"--set postgres.schema=<scratch schema>\"." >&2
  exit 2
fi
admin=$(token admin admin)
for port in "$base_port" ${jwt_pid:+"$jwt_port"}; do
  if ! wait_status 200 -X PUT -H 'Content-Type: application/json' -d '{"quantity":1}' \
    -H "Authorization: Bearer $admin" "http://127.0.0.1:$port/api/v1/basket/items/SKU-0"; then
    echo "http_bench: the baseline on port $port did not answer; its log:" >&2
    cat "$work/baseline_$port.log" >&2
    exit 1
  fi
done

# Products, created with an admin token.
for ((i = 0; i < sku_count; i++)); do
  status=$(curl -s -o /dev/null -w '%{http_code}' -X POST \
    -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    -d "{\"sku\":\"SKU-$i\",\"name\":\"Product $i\",\"category\":\"bench\",\"price_cents\":1999,\"stock\":1000000}" \
    "http://127.0.0.1:$node_port/api/v1/products")
  if [[ "$status" != 201 ]]; then
    echo "http_bench: creating SKU-$i answered $status" >&2
    exit 1
  fi
done

# The wrk script: each request is a PUT of a random quantity (1..999, always a 2xx) on a
# random sku of a random customer's basket (20000 such requests, cycled).
lua="$work/basket_writes.lua"
{
  echo "local tokens = {"
  for ((i = 0; i < customers; i++)); do
    echo "  \"$(token "customer-$i" customer)\","
  done
  echo "}"
  echo "local skus = {"
  for ((i = 0; i < sku_count; i++)); do
    echo "  \"SKU-$i\","
  done
  echo "}"
  cat <<'LUA'
-- Requests are formatted once, up front, so that wrk spends its CPU on sending, not on Lua.
local requests = {}
local next_request = 0
init = function()
  math.randomseed(42)
  for i = 1, 20000 do
    local headers = {}
    headers["Authorization"] = "Bearer " .. tokens[math.random(#tokens)]
    headers["Content-Type"] = "application/json"
    local body = '{"quantity": ' .. math.random(999) .. '}'
    requests[i] = wrk.format("PUT", "/api/v1/basket/items/" .. skus[math.random(#skus)], headers, body)
  end
end
request = function()
  next_request = next_request % #requests + 1
  return requests[next_request]
end
LUA
} >"$lua"

# Runs wrk for $1 seconds against port $2; prints its output.
run_wrk() {
  wrk -t1 "-c$connections" "-d${1}s" --latency -s "$lua" "http://127.0.0.1:$2"
}

# Sums the wrk outputs of one server (all rounds, concatenated) into
# "req/s requests p50 p99 non2xx socket_errors": p50 is the median of the rounds' p50,
# p99 the worst round's p99.
summarize() {
  awk '
    function micros(text,   n) {
      n = text + 0
      if (text ~ /us$/) return n
      if (text ~ /ms$/) return n * 1000
      if (text ~ /m$/) return n * 60000000
      return n * 1000000
    }
    function show(us) { return us >= 1000 ? sprintf("%.2fms", us / 1000) : sprintf("%.0fus", us) }
    / requests in / { total += $1; d = $4; sub(",", "", d); secs += (d ~ /m$/) ? d * 60 : d + 0 }
    /^ +50%/ { p50[++rounds] = micros($2) }
    /^ +99%/ { v = micros($2); if (v > p99) p99 = v }
    /Non-2xx or 3xx responses:/ { non2xx += $NF }
    /Socket errors:/ { gsub(",", ""); sock += $4 + $6 + $8 + $10 }
    END {
      n = rounds
      for (i = 2; i <= n; i++)
        for (j = i; j > 1 && p50[j - 1] > p50[j]; j--) { t = p50[j]; p50[j] = p50[j - 1]; p50[j - 1] = t }
      printf "%.2f %d %s %s %d %d\n", (secs > 0 ? total / secs : 0), total,
        show(p50[int((n + 1) / 2)]), show(p99), non2xx, sock
    }'
}

names=("bare pistache" "bazaar node")
ports=("$base_port" "$node_port")
if [[ -n "$jwt_pid" ]]; then
  names+=("pistache + JWT")
  ports+=("$jwt_port")
fi

echo "baseline: $(head -n1 "$work/baseline_$base_port.log")"
for i in "${!ports[@]}"; do
  run_wrk "$warmup" "${ports[$i]}" >/dev/null
done
load_start=$(load)
node_cpu=(0 0 0 0) # ticks during the node's rounds: node, postgres, machine busy, machine
for ((r = 0; r < rounds; r++)); do
  for i in "${!ports[@]}"; do
    [[ "$i" == 1 ]] && read -r -a before < <(cpu_ticks)
    run_wrk "$slice" "${ports[$i]}" >>"$work/wrk_$i.txt"
    if [[ "$i" == 1 ]]; then
      read -r -a after < <(cpu_ticks)
      for k in 0 1 2 3; do node_cpu[k]=$((node_cpu[k] + after[k] - before[k])); done
    fi
  done
done
load_end=$(load)
declare -a rps total p50 p99 non2xx sock
for i in "${!ports[@]}"; do
  read -r "rps[$i]" "total[$i]" "p50[$i]" "p99[$i]" "non2xx[$i]" "sock[$i]" \
    < <(summarize <"$work/wrk_$i.txt")
  if [[ -z "${non2xx[$i]:-}" ]]; then
    echo "http_bench: could not read the wrk output of ${names[$i]}:" >&2
    cat "$work/wrk_$i.txt" >&2
    exit 1
  fi
done

failed=0
node_alive=yes
if ! kill -0 "$node_pid" 2>/dev/null; then
  node_alive=no
  failed=1
fi
health=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$node_port/healthz" || true)
[[ "$health" == 200 ]] || failed=1
sample_customer=$((RANDOM % customers))
sample=$(curl -s -H "Authorization: Bearer $(token "customer-$sample_customer" customer)" \
  "http://127.0.0.1:$node_port/api/v1/basket" | head -c 160 || true)

ratio=$(awk -v a="${rps[1]}" -v b="${rps[0]}" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }')
verdict=$(awk -v r="$ratio" -v g="$goal" 'BEGIN { print (r + 0 >= g + 0) ? "meets goal" : "BELOW GOAL" }')
# Cores busy during the node's rounds (ticks over the machine's ticks, times its cores), and
# the CPU per request.
cores=$(nproc)
cpu_line=$(awk -v n="${node_cpu[0]}" -v p="${node_cpu[1]}" -v b="${node_cpu[2]}" \
  -v t="${node_cpu[3]}" -v c="$cores" -v req="${total[1]}" -v hz="$(getconf CLK_TCK)" 'BEGIN {
    if (t <= 0) { print "n/a"; exit }
    printf "node %.2f, PostgreSQL %.2f, others (wrk, kernel, ...) %.2f of %d cores", \
      n / t * c, p / t * c, (b - n - p) / t * c, c
    if (req > 0) printf "; per request: node %.0f us, PostgreSQL %.0f us", \
      n / hz / req * 1e6, p / hz / req * 1e6
  }')

echo
row_format='%-16s %12s %10s %10s %10s %8s %13s\n'
# shellcheck disable=SC2059
printf "$row_format" server "req/s" requests "p50" "p99" non-2xx "socket-errors"
for i in "${!ports[@]}"; do
  # shellcheck disable=SC2059
  printf "$row_format" "${names[$i]}" "${rps[$i]}" "${total[$i]}" "${p50[$i]}" "${p99[$i]}" \
    "${non2xx[$i]}" "${sock[$i]}"
done
echo "(p50: median of the rounds; p99: worst round)"
if [[ -n "$jwt_pid" ]]; then
  echo "(pistache + JWT: the baseline also verifying the HS256 bearer token, for analysis)"
fi
echo "ratio node/baseline: $ratio (goal >= $goal: $verdict)"
python3 "$(dirname "$0")/bench_result.py" --name http.basket_writes --figure "${rps[1]}" \
  --unit req/s --baseline "${rps[0]}" --baseline-unit "req/s (bare Pistache)" --goal "ratio:>=:$goal"
echo "cpu during the node's rounds: $cpu_line"
echo "load (1 5 15 min) at the first round: $load_start; after the last: $load_end"
echo "node after the run: alive=$node_alive, /healthz=$health," \
  "GET /api/v1/basket of customer-$sample_customer: ${sample}..."

if [[ "${non2xx[1]}" != 0 ]]; then
  echo "http_bench: FAIL: the node answered ${non2xx[1]} non-2xx responses" >&2
  failed=1
fi
if [[ "${sock[1]}" != 0 ]]; then
  echo "http_bench: FAIL: ${sock[1]} socket errors against the node" >&2
  failed=1
fi

node_status=0
stop_pid "$node_pid" || node_status=$?
node_pid=""
stop_pid "$base_pid" || true
base_pid=""
stop_pid "$jwt_pid" || true
jwt_pid=""
if [[ "$node_alive" == no ]]; then
  echo "http_bench: FAIL: the node died during the run (exit status $node_status); its log:" >&2
  tail -n 20 "$work/node.log" >&2
elif [[ "$node_status" != 0 ]]; then
  echo "http_bench: FAIL: the node exited with status $node_status on SIGTERM; its log:" >&2
  tail -n 20 "$work/node.log" >&2
  failed=1
fi
if [[ "$failed" == 0 ]]; then
  echo "http_bench: PASS (node served $((slice * rounds))s of basket writes in $rounds wrk" \
    "run(s): no non-2xx, no socket errors, alive, stopped cleanly)"
fi
exit "$failed"
