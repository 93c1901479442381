#!/usr/bin/env bash
# Measures Flagpole on this machine against baselines in the same run; prints Markdown tables.
#
#   bench/run.sh [--flags 1000] [--duration 10] [--connections 32]   # the figures in BENCHMARKS.md
#   bench/run.sh --smoke                                              # seconds; CI runs this
#
# Builds Flagpole and the minimal hyper baseline (bench/baseline-server) in release mode, installs
# wrk from Debian's packages if missing, then runs bench/compare.py. To compare with Unleash in
# the same run, start one on loopback (`bench/unleash.sh start`, on the local PostgreSQL) and, to
# compare with Unleash Edge too, Edge in front of it (`bench/unleash.sh edge`); export what they
# print (UNLEASH_URL, UNLEASH_PID, EDGE_URL, EDGE_PID). POSTGRES_URL adds toggles on PostgreSQL.
# Idle SDK streams are measured by bench/streams.py, where memory goes by bench/memory.py, and
# toggles of two builds side by side by bench/toggles.py.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
if [ "${1:-}" = "--smoke" ]; then
  # Debug builds: only checks that every scenario still runs.
  cargo build --locked -q --bin flagpole
  cargo build -q --manifest-path bench/baseline-server/Cargo.toml
  python3 bench/toggles.py target/debug/flagpole --flags 5 --passes 1 --rounds 1 --duration 1
  python3 bench/toggles.py target/debug/flagpole --flags 5 --passes 1 --rounds 1 --duration 1 --scenario frontend
  python3 bench/toggles.py target/debug/flagpole --flags 5 --passes 1 --rounds 1 --duration 1 --scenario mixed
  FLAGPOLE_BIN=target/debug/flagpole BASELINE_BIN=bench/baseline-server/target/debug/baseline-server \
    exec python3 bench/compare.py --smoke
fi
cargo build --release --locked -q --bin flagpole
cargo build --release -q --manifest-path bench/baseline-server/Cargo.toml
exec python3 bench/compare.py "$@"
