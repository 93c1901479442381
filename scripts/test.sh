#!/usr/bin/env bash
# Runs every test Flagpole has, installing what the SDK tests need first (the official Unleash
# SDKs from npm and PyPI, into sdk-tests/). PostgreSQL tests run when TEST_DATABASE_URL is set
# (e.g. postgres://postgres@127.0.0.1:5432/test); otherwise they say they were skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

# The SDKs, pinned by sdk-tests/package-lock.json and sdk-tests/requirements.txt.
(cd sdk-tests && npm ci --no-audit --no-fund --loglevel=error)
if [ ! -x sdk-tests/.venv/bin/python ]; then
  python3 -m venv sdk-tests/.venv
fi
sdk-tests/.venv/bin/pip install --quiet --disable-pip-version-check -r sdk-tests/requirements.txt
export FLAGPOLE_REQUIRE_SDKS=1

cargo test --workspace --locked
