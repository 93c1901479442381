#!/usr/bin/env bash
# Records the side-by-side suite's answers (crates/flagpole/tests/parity/) from a real Unleash 8.2.
# The Unleash must be fresh (an empty database): the scenarios run in order on one server, and
# the replay starts Flagpole fresh as well.
#
#   UNLEASH_URL=http://127.0.0.1:4242 UNLEASH_ADMIN_TOKEN='*:*.<secret>' scripts/record-parity.sh
#
# `scripts/record-parity.sh --accept` records nothing: it replays against Flagpole and writes the
# differences found into the steps' `open` lists (review the diff before committing it).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--accept" ]; then
  PARITY_ACCEPT=1 exec cargo test -p flagpole --test api --locked -- --exact sqlite::same_answers_as_unleash
fi
export PARITY_UNLEASH_URL="${UNLEASH_URL:-http://127.0.0.1:4242}"
export PARITY_UNLEASH_ADMIN_TOKEN="${UNLEASH_ADMIN_TOKEN:-*:*.unleash-insecure-admin-api-token}"
curl -fsS "$PARITY_UNLEASH_URL/health" >/dev/null \
  || { echo "no Unleash answers at $PARITY_UNLEASH_URL" >&2; exit 1; }
cargo test -p flagpole --test api --locked -- --ignored --exact parity::record_against_unleash --nocapture
