#!/usr/bin/env bash
# Installs what is missing, builds (Release) and runs one Bazaar node in the foreground on
# embedded defaults. Ctrl-C stops it. Extra arguments go to `bazaar serve`, e.g.
#   ./scripts/run.sh --set http.port=9090
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
./scripts/build.sh bazaar bazaarctl bazaar-load
BAZAAR_POSTGRES_URL=$(./scripts/postgres.sh)
export BAZAAR_POSTGRES_URL

export BAZAAR_JWT_SECRET=${BAZAAR_JWT_SECRET:-bazaar-dev-secret-change-me}
port=${BAZAAR_HTTP_PORT:-8080}
for ((i = 1; i <= $#; i++)); do
  if [ "${!i}" = "--set" ]; then
    j=$((i + 1))
    case "${!j:-}" in http.port=*) port=${!j#http.port=} ;; esac
  fi
done
customer=$(build/bin/bazaarctl token --sub alice --role customer --ttl 86400 2>/dev/null)
admin=$(build/bin/bazaarctl token --sub admin --role admin --ttl 86400 2>/dev/null)

cat <<BANNER

  Bazaar node on http://127.0.0.1:${port}   (Ctrl-C stops it)
  PostgreSQL: ${BAZAAR_POSTGRES_URL}

  export CUSTOMER_TOKEN=${customer}
  export ADMIN_TOKEN=${admin}

  curl -s http://127.0.0.1:${port}/readyz
  curl -s -X POST http://127.0.0.1:${port}/api/v1/products -H "Authorization: Bearer \$ADMIN_TOKEN" \\
       -H 'Content-Type: application/json' \\
       -d '{"sku":"SKU-1","name":"Mug","category":"kitchen","price_cents":1250,"stock":10}'
  curl -s -X POST http://127.0.0.1:${port}/api/v1/basket/items -H "Authorization: Bearer \$CUSTOMER_TOKEN" \\
       -H 'Content-Type: application/json' -d '{"sku":"SKU-1","quantity":2}'

  build/bin/bazaarctl --url http://127.0.0.1:${port} grain basket/alice    # or: cluster, grains,
                                                  # kafka, dlq list, sagas --stuck 30s (--help)
  build/bin/bazaar-load basket --url http://127.0.0.1:${port} --duration 30s --concurrency 64
                                                  # load test; ends with a consistency check

BANNER
exec build/bin/bazaar serve --set "http.port=${port}" "$@"
