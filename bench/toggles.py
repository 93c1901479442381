#!/usr/bin/env python3
"""Sequential Admin API toggles on SQLite, two or more Flagpole builds side by side.

    python3 bench/toggles.py OLD_BINARY NEW_BINARY [--flags 1000] [--passes 2] [--rounds 3]
    python3 bench/toggles.py OLD_BINARY NEW_BINARY --scenario frontend   # the Frontend API instead
    python3 bench/toggles.py OLD_BINARY NEW_BINARY --scenario mixed      # both at once

Seeds one data directory with --flags flags (as bench/compare.py does), then runs the builds in
turn on that same database, --passes times each, alternating, with --rounds measurements of
--duration seconds per pass (`wrk -t1 -c1`, toggles alternating off and on, each a commit with its
audit event). Prints every measurement and each build's median and its ratio to the first
build's, so that a change to the write path is judged against the build before it in the same
session. With `--scenario frontend` each measurement is instead `GET /api/frontend?userId=123`
(`wrk -t1 -c32`, as bench/compare.py measures it); with `--scenario mixed`, the two at the same
time, which shows whether writes slow the reads served beside them (and the reverse). Loopback
only; needs wrk (bench/run.sh installs it)."""

import argparse
import os
import statistics
import sys
import tempfile
import threading

import compare

PORT = 4296
# What each scenario measures, one figure per column.
FIGURES = {
    "toggles": ["toggles/s"],
    "frontend": ["Frontend API req/s"],
    "mixed": ["Frontend API req/s", "toggles/s beside them"],
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binaries", nargs="+")
    parser.add_argument("--flags", type=int, default=1000)
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--scenario", choices=list(FIGURES), default="toggles")
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
                        figures = measure(args.scenario, base, args.duration, work)
                        results[binary].append(figures)
                        print(f"{binary}: " + ", ".join(f"{figure:,.0f}/s" for figure in figures),
                              flush=True)
                finally:
                    server.terminate()
                    server.wait()
    names = FIGURES[args.scenario]
    medians = {binary: [statistics.median(figures[column] for figures in runs)
                        for column in range(len(names))]
               for binary, runs in results.items()}
    first = medians[args.binaries[0]]
    count = args.passes * args.rounds
    print("\n| build | " + " | ".join(f"{name} (median of {count}) | ÷ first" for name in names) + " |")
    print("|---|" + "---|---|" * len(names))
    for binary, values in medians.items():
        cells = " | ".join(f"{value:,.0f} | {value / base:.2f}" for value, base in zip(values, first))
        print(f"| {binary} | {cells} |")


def measure(scenario, base, seconds, work):
    """The scenario's figures, in the order of FIGURES[scenario]."""
    if scenario == "toggles":
        return [compare.toggles_per_second(base, compare.ADMIN, seconds, work)]
    if scenario == "frontend":
        return [frontend_per_second(base, seconds)]
    toggles = []
    writer = threading.Thread(target=lambda: toggles.append(
        compare.toggles_per_second(base, compare.ADMIN, seconds, work)))
    writer.start()
    reads = frontend_per_second(base, seconds)
    writer.join()
    return [reads, toggles[0]]


def frontend_per_second(base, seconds):
    rps, _, errors = compare.wrk(f"{base}/api/frontend?userId=123", seconds, 32,
                                 [f"Authorization: {compare.FRONTEND}"])
    if errors:
        sys.exit(f"{errors} Frontend API requests failed against {base}")
    return rps


if __name__ == "__main__":
    main()
