#!/usr/bin/env python3
"""Sequential Admin API toggles on SQLite, two or more Flagpole builds side by side.

    python3 bench/toggles.py OLD_BINARY NEW_BINARY [--flags 1000] [--passes 2] [--rounds 3]
    python3 bench/toggles.py OLD_BINARY NEW_BINARY --scenario frontend   # the Frontend API instead

Seeds one data directory with --flags flags (as bench/compare.py does), then runs the builds in
turn on that same database, --passes times each, alternating, with --rounds measurements of
--duration seconds per pass (`wrk -t1 -c1`, toggles alternating off and on, each a commit with its
audit event). Prints every measurement and each build's median and its ratio to the first
build's, so that a change to the write path is judged against the build before it in the same
session. With `--scenario frontend` each measurement is instead `GET /api/frontend?userId=123`
(`wrk -t1 -c32`, as bench/compare.py measures it). Loopback only; needs wrk (bench/run.sh
installs it)."""

import argparse
import os
import statistics
import sys
import tempfile

import compare

PORT = 4296


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binaries", nargs="+")
    parser.add_argument("--flags", type=int, default=1000)
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--scenario", choices=["toggles", "frontend"], default="toggles")
    args = parser.parse_args()
    base = f"http://127.0.0.1:{PORT}"
    results = {binary: [] for binary in args.binaries}
    with tempfile.TemporaryDirectory(prefix="flagpole-toggles-") as work:
        data = os.path.join(work, "data")
        for n in range(args.passes):
            for binary in args.binaries:
                compare.FLAGPOLE = binary
                server = compare.start_flagpole(data, PORT)
                try:
                    compare.wait_ready(base)
                    if n == 0 and binary == args.binaries[0]:
                        compare.seed(base, compare.ADMIN, args.flags)
                    for _ in range(args.rounds):
                        rate = measure(args.scenario, base, args.duration, work)
                        results[binary].append(rate)
                        print(f"{binary}: {rate:,.0f}/s", flush=True)
                finally:
                    server.terminate()
                    server.wait()
    first = statistics.median(results[args.binaries[0]])
    unit = "toggles/s" if args.scenario == "toggles" else "Frontend API req/s"
    print(f"\n| build | {unit} (median of {args.passes * args.rounds}) | ÷ first |")
    print("|---|---|---|")
    for binary, rates in results.items():
        median = statistics.median(rates)
        print(f"| {binary} | {median:,.0f} | {median / first:.2f} |")


def measure(scenario, base, seconds, work):
    if scenario == "toggles":
        return compare.toggles_per_second(base, compare.ADMIN, seconds, work)
    rps, _, errors = compare.wrk(f"{base}/api/frontend?userId=123", seconds, 32,
                                 [f"Authorization: {compare.FRONTEND}"])
    if errors:
        sys.exit(f"{errors} Frontend API requests failed against {base}")
    return rps


if __name__ == "__main__":
    main()
