#!/usr/bin/env bash
# Runs a cluster of Bazaar nodes on this machine, in the background, against the local
# PostgreSQL and one standalone Kafka mock that all nodes share.
#
#   scripts/cluster.sh start [N]      install, build and start N nodes (default 3); waits until
#                                     every /readyz answers 200, then prints URLs, pids, a token
#   scripts/cluster.sh status         each pid alive or not, and GET /admin/cluster of a live node
#   scripts/cluster.sh stop           SIGTERM to each node, then to the Kafka mock; waits, reports
#                                     (status and stop act on the nodes recorded in CLUSTER_DIR)
#   scripts/cluster.sh start-node I   starts node I again (after it stopped or was killed)
#   scripts/cluster.sh stop-node I    SIGTERM to node I only (the others take its grains over)
#
# Node I (1..N) is `node-I` with HTTP on 127.0.0.1:$((8080 + I)) and its cluster port on
# 127.0.0.1:$((9080 + I)). Every BAZAAR_* variable you exported reaches the nodes (see
# `build/bin/bazaar config-keys`); the script sets only what must differ per node (node id,
# HTTP port, cluster port, given as --set), and these unless you exported them:
#   BAZAAR_POSTGRES_URL     the local PostgreSQL of scripts/postgres.sh
#   BAZAAR_POSTGRES_SCHEMA  bazaar
#   BAZAAR_JWT_SECRET       the development secret of scripts/run.sh
#   BAZAAR_KAFKA_BOOTSTRAP  a `bazaar kafka-mock` started here (with your Kafka, none is)
# The script's own settings:
#   CLUSTER_DIR        state: pids, logs, the mock's bootstrap list (default: .cluster/ in the
#                      repository, which git ignores)
#   CLUSTER_HTTP_BASE  8080, CLUSTER_PORT_BASE 9080: node I listens on BASE + I
#   CLUSTER_WAIT_S     how long start waits for the nodes to be ready (default 60)
#   CLUSTER_STOP_S     how long stop waits for a process before SIGKILL (default 30)
# Only 127.0.0.1 is used. Processes are signalled by the pids in CLUSTER_DIR, after checking
# that the pid still runs build/bin/bazaar; never by name.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

dir=${CLUSTER_DIR:-$repo/.cluster}
http_base=${CLUSTER_HTTP_BASE:-8080}
port_base=${CLUSTER_PORT_BASE:-9080}
wait_s=${CLUSTER_WAIT_S:-60}
stop_s=${CLUSTER_STOP_S:-30}
bin=$repo/build/bin
export BAZAAR_JWT_SECRET=${BAZAAR_JWT_SECRET:-bazaar-dev-secret-change-me}

say() { echo "cluster: $*"; }
die() {
  echo "cluster: $*" >&2
  exit 1
}

# The pid recorded in $dir/$1.pid if that process still runs our bazaar binary, else nothing.
live_pid() {
  local file=$dir/$1.pid pid
  [[ -f "$file" ]] || return 0
  pid=$(<"$file")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  if [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "^$bin/bazaar "; then
    echo "$pid"
  fi
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The node names recorded in $dir (node-1 node-2 ...), in order.
recorded_nodes() {
  local f
  for f in "$dir"/node-*.pid; do
    [[ -e "$f" ]] || continue
    f=${f##*/}
    echo "${f%.pid}"
  done | sort -t- -k2 -n
}

http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$@" 2>/dev/null || true; }

# A bearer token signed with BAZAAR_JWT_SECRET (bazaarctl's warning about the development
# secret is left out, as in scripts/run.sh).
token() { "$bin/bazaarctl" token --sub "$1" --role "$2" --ttl 86400 2>/dev/null; }

# Starts node $1 in the background (no build, no checks beyond its ports).
launch_node() {
  local i=$1 name=node-$1 http=$((http_base + $1)) cport=$((port_base + $1))
  local schema bootstrap
  schema=$(<"$dir/schema")
  bootstrap=$(<"$dir/bootstrap")
  for p in "$http" "$cport"; do
    port_taken "$p" && die "port $p (of $name) is taken; nothing started for $name"
  done
  echo "---- $(date -u +%FT%TZ) cluster.sh starts $name" >>"$dir/$name.log"
  BAZAAR_POSTGRES_SCHEMA=$schema BAZAAR_KAFKA_BOOTSTRAP_SERVERS=$bootstrap \
    nohup "$bin/bazaar" serve --set "cluster.node_id=$name" --set http.host=127.0.0.1 \
    --set "http.port=$http" --set "cluster.port=$cport" >>"$dir/$name.log" 2>&1 </dev/null &
  echo $! >"$dir/$name.pid"
}

# Waits until node $1 answers /readyz 200 (or dies, or CLUSTER_WAIT_S passes).
wait_ready() {
  local name=node-$1 url=http://127.0.0.1:$((http_base + $1)) deadline=$((SECONDS + wait_s))
  while ((SECONDS < deadline)); do
    [[ "$(http_code "$url/readyz")" == 200 ]] && return 0
    if [[ -z "$(live_pid "$name")" ]]; then
      echo "cluster: $name exited; the end of $dir/$name.log:" >&2
      tail -n 15 "$dir/$name.log" >&2
      return 1
    fi
    sleep 0.2
  done
  echo "cluster: $name is not ready after ${wait_s}s: $(curl -s --max-time 2 "$url/readyz")" >&2
  return 1
}

# SIGTERM to the processes named in $@ (recorded names), waits up to CLUSTER_STOP_S, then
# SIGKILL; reports each. Returns non-zero when one had to be killed.
stop_names() {
  local name pid status=0 start
  start=$(now_ms)
  declare -A pids=()
  for name in "$@"; do
    pid=$(live_pid "$name")
    if [[ -z "$pid" ]]; then
      say "$name: not running"
      rm -f "$dir/$name.pid"
      continue
    fi
    kill -TERM "$pid" 2>/dev/null || true
    pids[$name]=$pid
  done
  while ((${#pids[@]} > 0)); do
    for name in "${!pids[@]}"; do
      if ! kill -0 "${pids[$name]}" 2>/dev/null; then
        say "$name (pid ${pids[$name]}) stopped after $(seconds_since "$start") s"
        rm -f "$dir/$name.pid"
        unset "pids[$name]"
      elif (($(now_ms) - start >= stop_s * 1000)); then
        echo "cluster: $name (pid ${pids[$name]}) ignored SIGTERM for ${stop_s}s; SIGKILL" \
          "(its log: $dir/$name.log)" >&2
        kill -KILL "${pids[$name]}" 2>/dev/null || true
        rm -f "$dir/$name.pid"
        unset "pids[$name]"
        status=1
      fi
    done
    ((${#pids[@]} > 0)) && sleep 0.1
  done
  return "$status"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }
seconds_since() { awk -v a="$1" -v b="$(now_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }'; }

node_index() {
  [[ "${1:-}" =~ ^[1-9][0-9]*$ ]] || die "expected a node number (1, 2, ...), got '${1:-}'"
  echo "$1"
}

cmd_start() {
  local n=${1:-3} i name
  [[ "$n" =~ ^[1-9][0-9]?$ ]] || die "N must be 1..99, got '$n'"
  mkdir -p "$dir"
  for name in kafka-mock $(recorded_nodes); do
    [[ -n "$(live_pid "$name")" ]] &&
      die "already started ($name is pid $(live_pid "$name")); '$0 stop' first"
  done
  for ((i = 1; i <= n; i++)); do
    for p in $((http_base + i)) $((port_base + i)); do
      port_taken "$p" && die "port $p on 127.0.0.1 is taken (node-$i needs it); nothing started"
    done
  done

  ./scripts/install-deps.sh
  ./scripts/build.sh bazaar bazaarctl bazaar-load
  BAZAAR_POSTGRES_URL=$(./scripts/postgres.sh)
  export BAZAAR_POSTGRES_URL
  rm -f "$dir"/node-*.pid "$dir/kafka-mock.pid"
  echo "${BAZAAR_POSTGRES_SCHEMA:-bazaar}" >"$dir/schema"

  local bootstrap=${BAZAAR_KAFKA_BOOTSTRAP_SERVERS:-${BAZAAR_KAFKA_BOOTSTRAP:-}}
  if [[ -z "$bootstrap" ]]; then
    rm -f "$dir/kafka.bootstrap"
    nohup "$bin/bazaar" kafka-mock --partitions 3 --bootstrap-file "$dir/kafka.bootstrap" \
      >"$dir/kafka-mock.log" 2>&1 </dev/null &
    echo $! >"$dir/kafka-mock.pid"
    for _ in $(seq 100); do
      [[ -s "$dir/kafka.bootstrap" ]] && break
      [[ -n "$(live_pid kafka-mock)" ]] || die "kafka-mock exited: $(tail -n 5 "$dir/kafka-mock.log")"
      sleep 0.1
    done
    [[ -s "$dir/kafka.bootstrap" ]] || die "kafka-mock wrote no bootstrap list in 10 s"
    bootstrap=$(head -n1 "$dir/kafka.bootstrap")
  fi
  echo "$bootstrap" >"$dir/bootstrap"

  for ((i = 1; i <= n; i++)); do
    launch_node "$i"
  done
  local failed=0
  for ((i = 1; i <= n; i++)); do
    wait_ready "$i" || failed=1
  done
  if ((failed)); then
    echo "cluster: not every node became ready; stopping what was started" >&2
    cmd_stop >&2 || true
    exit 1
  fi

  local admin customer
  admin=$(token admin admin)
  customer=$(token alice customer)
  echo
  echo "  Bazaar cluster of $n nodes (schema $(<"$dir/schema"), state in $dir)"
  echo "  PostgreSQL: $BAZAAR_POSTGRES_URL"
  if [[ -n "$(live_pid kafka-mock)" ]]; then
    echo "  Kafka:      $bootstrap  (kafka-mock, pid $(live_pid kafka-mock))"
  else
    echo "  Kafka:      $bootstrap"
  fi
  for ((i = 1; i <= n; i++)); do
    echo "  node-$i:     http://127.0.0.1:$((http_base + i))  cluster port $((port_base + i))  pid $(live_pid "node-$i")"
  done
  cat <<BANNER

  export ADMIN_TOKEN=$admin
  export CUSTOMER_TOKEN=$customer

  curl -s http://127.0.0.1:$((http_base + 1))/admin/cluster -H "Authorization: Bearer \$ADMIN_TOKEN"
  curl -s -X POST http://127.0.0.1:$((http_base + 1))/api/v1/products -H "Authorization: Bearer \$ADMIN_TOKEN" \\
       -H 'Content-Type: application/json' \\
       -d '{"sku":"SKU-1","name":"Mug","category":"kitchen","price_cents":1250,"stock":10}'
  curl -s -X POST http://127.0.0.1:$((http_base + 1))/api/v1/basket/items -H "Authorization: Bearer \$CUSTOMER_TOKEN" \\
       -H 'Content-Type: application/json' -d '{"sku":"SKU-1","quantity":2}'
  curl -s http://127.0.0.1:$((http_base + n))/api/v1/basket -H "Authorization: Bearer \$CUSTOMER_TOKEN"

  build/bin/bazaarctl --url http://127.0.0.1:$((http_base + 1)) grain basket/alice   # any node answers
  build/bin/bazaarctl --url http://127.0.0.1:$((http_base + 2)) grains               # for the cluster

  $0 status | stop

BANNER
}

cmd_status() {
  local name pid first="" i
  [[ -d "$dir" ]] || die "nothing started here ($dir does not exist)"
  pid=$(live_pid kafka-mock)
  if [[ -n "$pid" ]]; then
    say "kafka-mock: pid $pid alive, bootstrap $(<"$dir/bootstrap")"
  elif [[ -f "$dir/kafka-mock.pid" ]]; then
    say "kafka-mock: not running (pid $(<"$dir/kafka-mock.pid")); log $dir/kafka-mock.log"
  fi
  for name in $(recorded_nodes); do
    pid=$(live_pid "$name")
    i=${name#node-}
    if [[ -n "$pid" ]]; then
      say "$name: pid $pid alive, http://127.0.0.1:$((http_base + i)) /readyz $(http_code "http://127.0.0.1:$((http_base + i))/readyz")"
      [[ -n "$first" ]] || first=$i
    else
      say "$name: not running (pid $(<"$dir/$name.pid")); log $dir/$name.log"
    fi
  done
  [[ -n "$first" ]] || {
    say "no live node"
    return 1
  }
  local url=http://127.0.0.1:$((http_base + first))/admin/cluster body
  body=$(curl -s --max-time 5 -H "Authorization: Bearer $(token admin admin)" "$url" || true)
  echo
  echo "GET $url:"
  if command -v python3 >/dev/null && python3 - "$body" <<'PY'; then return 0; fi
import json, sys
c = json.loads(sys.argv[1])
if "error" in c:
    raise SystemExit(1)
print(f"  seen from {c['node_id']}: joined={str(c['joined']).lower()} view_epoch={c['view_epoch']} alive={c['alive']}")
print(f"  {'id':<10} {'status':<6} {'inc':>4} {'address':<16} {'http':>5} {'hb_age_ms':>9} {'grains':>6}  in_view linked")
for m in c["nodes"]:
    print(f"  {m['id']:<10} {m['status']:<6} {m['incarnation']:>4} {m['address']:<16} {m['http_port']:>5} "
          f"{m['heartbeat_age_ms']:>9} {m['activations']:>6}  {str(m['in_view']).lower():<7} {str(m['linked']).lower()}")
PY
  echo "  $body"
  [[ "$body" != *'"error"'* ]] || echo "  (a 401 means BAZAAR_JWT_SECRET differs from the one the nodes started with)"
}

cmd_stop() {
  [[ -d "$dir" ]] || die "nothing started here ($dir does not exist)"
  local status=0
  # shellcheck disable=SC2046 # node names have no spaces
  stop_names $(recorded_nodes) || status=1
  if [[ -f "$dir/kafka-mock.pid" ]]; then
    stop_names kafka-mock || status=1
  fi
  rm -f "$dir/bootstrap"
  return "$status"
}

cmd_start_node() {
  local i
  i=$(node_index "${1:-}")
  [[ -f "$dir/bootstrap" && -f "$dir/schema" ]] || die "no cluster started here; '$0 start' first"
  [[ -z "$(live_pid "node-$i")" ]] || die "node-$i already runs (pid $(live_pid "node-$i"))"
  [[ -x "$bin/bazaar" ]] || die "$bin/bazaar is missing; '$0 start' builds it"
  BAZAAR_POSTGRES_URL=$(./scripts/postgres.sh)
  export BAZAAR_POSTGRES_URL
  launch_node "$i"
  wait_ready "$i" || exit 1
  say "node-$i: http://127.0.0.1:$((http_base + i)) pid $(live_pid "node-$i") ready"
}

cmd_stop_node() {
  local i
  i=$(node_index "${1:-}")
  [[ -f "$dir/node-$i.pid" ]] || die "node-$i was not started here"
  stop_names "node-$i"
}

case "${1:-}" in
  start) cmd_start "${2:-3}" ;;
  status) cmd_status ;;  # a node count after status or stop is accepted and not needed
  stop) cmd_stop ;;
  start-node) cmd_start_node "${2:-}" ;;
  stop-node) cmd_stop_node "${2:-}" ;;
  *)
    sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
