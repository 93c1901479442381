#!/usr/bin/env bash
# Measures Flagpole's SDK-facing read paths on this machine, against a baseline in the same run.
#
#   bench/run.sh [flags=1000] [duration=10s] [connections=32]
#
# Builds in release mode, starts Flagpole on a fresh SQLite file on 127.0.0.1, seeds the flags
# through the Admin API, then runs wrk (installed from Debian's packages if missing) for each
# scenario and prints a Markdown table. Loopback only; every run is bounded by `duration`.
set -euo pipefail
cd "$(dirname "$0")/.."
FLAGS="${1:-1000}"
DURATION="${2:-10s}"
CONNECTIONS="${3:-32}"
PORT="${BENCH_PORT:-4299}"
ADMIN='*:*.bench-admin'
CLIENT='default:development.bench-client'
FRONTEND='default:development.bench-frontend'

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
cargo build --release --locked -q

DATA="$(mktemp -d)"
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$DATA"' EXIT
DATA_DIR="$DATA" HTTP_HOST=127.0.0.1 HTTP_PORT="$PORT" LOG_LEVEL=warn \
  INIT_ADMIN_API_TOKENS="$ADMIN" INIT_CLIENT_API_TOKENS="$CLIENT" INIT_FRONTEND_API_TOKENS="$FRONTEND" \
  ./target/release/flagpole serve &
SERVER=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/ready" >/dev/null && break; sleep 0.1; done
python3 bench/seed.py "http://127.0.0.1:$PORT" "$ADMIN" "$FLAGS" >&2
BASE="http://127.0.0.1:$PORT"

rss_mib() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$SERVER/status"; }
ETAG=$(curl -s -D - -o /dev/null -H "Authorization: $CLIENT" "$BASE/api/client/features" | awk 'tolower($1)=="etag:" {print $2}' | tr -d '\r')
BYTES=$(curl -s -H "Authorization: $CLIENT" "$BASE/api/client/features" | wc -c)
GZIP_BYTES=$(curl -s -H "Authorization: $CLIENT" -H 'Accept-Encoding: gzip' "$BASE/api/client/features" | wc -c)
IDLE_RSS=$(rss_mib)

# One wrk run; prints "requests/s p99".
measure() {
  wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "$@" 2>/dev/null | awk '
    /Requests\/sec/ {rps = $2}
    / 99%/ {p99 = $2}
    END {printf "%.0f %s", rps, p99}'
}

echo "Flagpole $(./target/release/flagpole --version | awk '{print $2}'), $FLAGS flags, wrk -t1 -c$CONNECTIONS -d$DURATION, $(nproc) cores"
echo "Client API body: $BYTES bytes ($GZIP_BYTES gzipped); idle RSS $IDLE_RSS MiB"
echo
echo "| scenario | requests/s | p99 | × baseline |"
echo "|---|---|---|---|"
read -r BASE_RPS BASE_P99 <<<"$(measure "$BASE/health")"
echo "| baseline: GET /health (static JSON) | $BASE_RPS | $BASE_P99 | 1.00 |"
row() {
  local label="$1"; shift
  read -r RPS P99 <<<"$(measure "$@")"
  echo "| $label | $RPS | $P99 | $(awk -v a="$RPS" -v b="$BASE_RPS" 'BEGIN {printf "%.2f", a / b}') |"
}
row "GET /api/client/features" -H "Authorization: $CLIENT" "$BASE/api/client/features"
row "GET /api/client/features, gzip" -H "Authorization: $CLIENT" -H 'Accept-Encoding: gzip' "$BASE/api/client/features"
row "GET /api/client/features, If-None-Match (304)" -H "Authorization: $CLIENT" -H "If-None-Match: $ETAG" "$BASE/api/client/features"
row "GET /api/frontend?userId=123" -H "Authorization: $FRONTEND" "$BASE/api/frontend?userId=123"
echo
echo "RSS after load: $(rss_mib) MiB"
ulimit -n 65536 2>/dev/null || true
python3 bench/streams.py 127.0.0.1 "$PORT" "$CLIENT" "$SERVER" "${STREAMS:-5000}"
