#!/usr/bin/env bash
# Runs every test Flagpole has. PostgreSQL tests run when TEST_DATABASE_URL is set
# (e.g. postgres://postgres@127.0.0.1:5432/test); otherwise they say they were skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --locked
