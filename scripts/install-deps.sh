#!/usr/bin/env bash
# Installs the Debian 12 packages Bazaar builds and tests with. Skips apt entirely when
# everything is already installed, so re-running is cheap. tests/deps/check_deps.py (ctest
# dependency_check) fails when a header, CMake package or command the project uses comes from
# no package of this list (or of a bare Debian: Essential, required, apt, and their Depends).
set -euo pipefail

packages=(
  build-essential cmake pkg-config git curl ca-certificates
  libcaf-dev libcaf-openssl0.17
  librdkafka-dev kafkacat
  libpqxx-dev postgresql
  libboost-json1.81-dev
  libpistache-dev
  libspdlog-dev
  catch2
  libcli11-dev
  prometheus-cpp-dev
  libssl-dev
  wrk
  valgrind  # bench/durable_bench.cpp: <valgrind/callgrind.h>, and profiling it under callgrind
  time      # bench/load_tool_bench.sh: /usr/bin/time (GNU time)
  python3   # bench/*.py, cluster.sh status, tests/deps/check_deps.py
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
