#!/usr/bin/env bash
# The soak test for longer: mixed SDK reads, evaluations, metrics posts and admin writes against
# a server process, failing on any error or on memory or open files growing after warm-up.
#
#   bench/soak.sh [seconds]      # default 600; PostgreSQL too when TEST_DATABASE_URL is set
#
# CI runs the same test for 20 seconds as part of the normal suite.
set -euo pipefail
cd "$(dirname "$0")/.."
export SOAK_SECONDS="${1:-600}"
exec cargo test --locked -p flagpole --test api -- --nocapture --test-threads 1 mixed_traffic_stays_flat
