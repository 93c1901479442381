#!/usr/bin/env python3
"""Where Flagpole's resident memory goes with N flags: seeds a fresh SQLite file through the Admin
API, restarts the server on it, and prints RSS (with its anonymous part) idle, then after one
Client API read, one gzip read and one Frontend API read, then the highest RSS under Frontend API
load, and again under the same load started right after a change (when every open connection
asks for the new snapshot's engine at once).

    cargo build --release --bin flagpole
    python3 bench/memory.py --flags 10000
    python3 bench/memory.py --flags 10000 --server-env MALLOC_CONF=dirty_decay_ms:0

`--server-env` (repeatable) sets a variable for the restarted server alone: allocator settings,
or `LD_PRELOAD` of another allocator, to compare them on the same steps.

With `--heaptrack` the restarted server runs under heaptrack (Debian's package), for a heap
profile of the same steps: `heaptrack_print` on the file it names. Use a build with symbols
(`cargo build --profile profiling`, and FLAGPOLE_BIN=target/profiling/flagpole). heaptrack hooks
the C library's `malloc`; jemalloc, linked into the binary as its allocator (src/main.rs), is not
seen, so take the `#[global_allocator]` out of a local build before profiling with it.
"""
import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (the same server start, seeding and tokens as the benchmark)


def memory(pid):
    fields = {}
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            name, _, rest = line.partition(":")
            if name in ("Rss", "Anonymous"):
                fields[name] = int(rest.split()[0]) / 1024
    return f"RSS {fields['Rss']:.1f} MiB (anonymous {fields['Anonymous']:.1f})"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--flags", type=int, default=10000)
    parser.add_argument("--load-seconds", type=int, default=5)
    parser.add_argument("--heaptrack", action="store_true")
    parser.add_argument("--server-env", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    server_env = dict(pair.split("=", 1) for pair in args.server_env)
    port = int(os.environ.get("BENCH_PORT", "4299"))
    base = f"http://127.0.0.1:{port}"
    work = tempfile.mkdtemp(prefix="flagpole-memory-")
    server = compare.start_flagpole(work, port)
    compare.wait_ready(base)
    compare.seed(base, compare.ADMIN, args.flags)
    server.send_signal(signal.SIGTERM)
    server.wait()

    if args.heaptrack:
        output = os.path.join(work, "heaptrack")
        env = dict(os.environ, DATA_DIR=work, HTTP_HOST="127.0.0.1", HTTP_PORT=str(port),
                   LOG_LEVEL="warn", **server_env)
        server = subprocess.Popen(["heaptrack", "-o", output, compare.FLAGPOLE, "serve"], env=env,
                                  stdout=subprocess.DEVNULL)
    else:
        server = compare.start_flagpole(work, port, server_env)
    compare.wait_ready(base, timeout=120)
    time.sleep(0.5)
    # Under heaptrack the server is heaptrack's child.
    pid = server.pid if not args.heaptrack else int(subprocess.run(
        ["pgrep", "-n", "-f", f"{compare.FLAGPOLE} serve"], capture_output=True, text=True).stdout.split()[0])
    print(f"{args.flags} flags, restarted: {memory(pid)}")
    compare.call(base, compare.CLIENT, "GET", "/api/client/features")
    print(f"after a Client API read: {memory(pid)}")
    compare.call(base, compare.CLIENT, "GET", "/api/client/features",
                 headers={"Accept-Encoding": "gzip"})
    print(f"after a gzip read: {memory(pid)}")
    compare.call(base, compare.FRONTEND, "GET", "/api/frontend?userId=123")
    print(f"after a Frontend API read: {memory(pid)}")
    def frontend_load():
        with compare.RssSampler(pid) as sampler:
            rate = compare.wrk(f"{base}/api/frontend?userId=123", args.load_seconds, 32,
                               [f"Authorization: {compare.FRONTEND}"])
        return f"{rate[0]:,.0f} req/s, highest RSS {sampler.peak:.1f} MiB"

    print(f"{args.load_seconds} s of Frontend API load ({frontend_load()}), then: {memory(pid)}")
    compare.call(base, compare.ADMIN, "POST", "/api/admin/projects/default/features/"
                 "seed-flag-00000/environments/development/off")
    print(f"the same load right after a change ({frontend_load()}), then: {memory(pid)}")
    server.send_signal(signal.SIGTERM)
    server.wait()
    if args.heaptrack:
        print(f"heap profile: {output}.zst (heaptrack_print {output}.zst)")


if __name__ == "__main__":
    main()
