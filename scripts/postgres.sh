#!/usr/bin/env bash
# Makes a local PostgreSQL usable for Bazaar and prints its URL on stdout.
# - With BAZAAR_POSTGRES_URL set, prints it and does nothing else.
# - Otherwise starts Debian's cluster (pg_ctlcluster 15 main start; initdb refuses root),
#   creates the role `bazaar` (password `bazaar`) and the database `bazaar` if missing.
#   An already running server is left alone.
set -euo pipefail

if [ -n "${BAZAAR_POSTGRES_URL:-}" ]; then
  echo "$BAZAAR_POSTGRES_URL"
  exit 0
fi

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/bash -c "$1"; else sudo -u postgres bash -c "$1"; fi
}

version=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
[ -n "$version" ] || { echo "postgres.sh: PostgreSQL is not installed (scripts/install-deps.sh)" >&2; exit 1; }

if ! pg_lsclusters -h 2>/dev/null | awk -v v="$version" '$1 == v && $2 == "main"' | grep -q .; then
  echo "postgres.sh: creating cluster $version/main" >&2
  as_postgres "pg_createcluster $version main" >&2
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $4}' | grep -q online; then
  echo "postgres.sh: starting PostgreSQL $version" >&2
  pg_ctlcluster "$version" main start >&2
fi
for _ in $(seq 1 50); do
  as_postgres "psql -qtAc 'select 1'" >/dev/null 2>&1 && break
  sleep 0.2
done

as_postgres "psql -qtAc \"DO \\\$\\\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bazaar') THEN CREATE ROLE bazaar LOGIN PASSWORD 'bazaar' CREATEDB; END IF; END\\\$\\\$;\"" >&2
if ! as_postgres "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname = 'bazaar'\"" | grep -q 1; then
  as_postgres "createdb -O bazaar bazaar" >&2
fi
port=$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" {print $3}')
echo "postgresql://bazaar:bazaar@127.0.0.1:${port}/bazaar"
