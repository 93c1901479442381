#!/usr/bin/env bash
# Runs every test Flagpole has, installing what the SDK tests need first (the official Unleash
# SDKs from npm and PyPI, into sdk-tests/) and what the web UI's browser test needs (Chromium,
# and playwright-core into e2e/). PostgreSQL tests run when TEST_DATABASE_URL is set
# (e.g. postgres://postgres@127.0.0.1:5432/test); otherwise they say they were skipped. Without
# npm or python3 the SDK tests (and without Chromium the browser test) say they were skipped,
# except in CI, where that is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

# The web UI's browser test runs in Debian's Chromium; as root (CI) it is installed if missing.
if ! command -v chromium >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  # Not fatal here: without it the browser test says it was skipped (or fails, in CI).
  apt-get install -y -q chromium >/dev/null \
    || { apt-get update -q && apt-get install -y -q chromium >/dev/null; } \
    || echo "could not install chromium" >&2
fi

if command -v npm >/dev/null && command -v python3 >/dev/null; then
  # The SDKs, pinned by sdk-tests/package-lock.json and sdk-tests/requirements.txt.
  (cd sdk-tests && npm ci --no-audit --no-fund --loglevel=error)
  # playwright-core for the browser test, pinned by e2e/package-lock.json.
  (cd e2e && npm ci --no-audit --no-fund --loglevel=error)
  if [ ! -x sdk-tests/.venv/bin/python ]; then
    python3 -m venv sdk-tests/.venv
  fi
  sdk-tests/.venv/bin/pip install --quiet --disable-pip-version-check -r sdk-tests/requirements.txt
  export FLAGPOLE_REQUIRE_SDKS=1
  # The browser test is required in CI and wherever Chromium is installed; elsewhere (no root
  # to install it) it says it was skipped.
  if [ -n "${CI:-}" ] || command -v chromium >/dev/null; then
    export FLAGPOLE_REQUIRE_BROWSER=1
  fi
elif [ -n "${CI:-}" ]; then
  echo "CI needs npm and python3 for the SDK tests" >&2
  exit 1
else
  echo "skipped: SDK tests (they need npm and python3)" >&2
fi

cargo test --workspace --locked
