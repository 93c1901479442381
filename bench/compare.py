#!/usr/bin/env python3
"""Flagpole's performance, measured in one run against baselines on the same machine.

Usage: bench/compare.py [--flags 1000] [--duration 10] [--connections 32] [--rounds 3] [--smoke]

Expects `target/release/flagpole` and `bench/baseline-server/target/release/baseline-server`
(bench/run.sh builds both). Starts Flagpole on a fresh SQLite file on 127.0.0.1, seeds the flags
through the Admin API, and measures with wrk:

- the Client API (full body, gzip, 304) against a minimal hyper server serving the very same bytes
  (the practical ceiling for serving those bytes here);
- the Frontend API;
- sequential Admin API toggles (each a committed change with its audit event), against one-row
  SQLite commits in a loop with the same settings (what the disk allows);
- SDK metrics posts (100 flags each) and the memory they leave behind;
- cold start to ready with 10,000 flags;
- resident memory, idle and under load.

Each throughput figure is the median of --rounds measurements; within a round every server is
measured once, one after the other, so that a slow spell of the machine touches all of them, and
each measurement waits until the machine is idle (Unleash and its PostgreSQL go on working for
seconds after a burst of writes).

With UNLEASH_URL (and UNLEASH_ADMIN_TOKEN, UNLEASH_CLIENT_TOKEN, UNLEASH_FRONTEND_TOKEN,
UNLEASH_PID for memory) the same read scenarios and toggles run against that Unleash too, seeded
with the same flags by this script, so the ratios come from one run. With EDGE_URL (and EDGE_PID)
the read scenarios also run against an Unleash Edge in front of that Unleash, with its tokens.
With POSTGRES_URL (a PostgreSQL database URL) the toggles also run on a Flagpole over PostgreSQL,
in a database this script creates and drops. Loopback only; every measurement is bounded by
--duration.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGPOLE = os.environ.get("FLAGPOLE_BIN", os.path.join(ROOT, "target/release/flagpole"))
BASELINE = os.environ.get(
    "BASELINE_BIN", os.path.join(ROOT, "bench/baseline-server/target/release/baseline-server"))
ADMIN = "*:*.bench-admin"
CLIENT = "default:development.bench-client"
FRONTEND = "default:development.bench-frontend"


def loopback(url):
    if not re.match(r"^http://(127\.0\.0\.1|localhost)(:\d+)?$", url):
        sys.exit(f"refusing non-loopback target {url}")
    return url


def call(base, token, method, path, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{base}{path}", data=data, method=method,
        headers={"Authorization": token, "Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request) as response:
        return response.status, dict(response.headers), response.read()


# The constraint states its defaults (caseInsensitive, inverted): Unleash's Admin API fills them in
# and serves them, its import API stores only what it is given. Stated here, both servers hold and
# serve the same fields, as they would for flags made through the Admin API.
STRATEGY = {
    "name": "flexibleRollout",
    "constraints": [{"contextName": "userId", "operator": "NOT_IN", "values": ["blocked-1", "blocked-2"],
                     "caseInsensitive": False, "inverted": False}],
}


def seed(base, token, count):
    def one(n):
        name = f"seed-flag-{n:05d}"
        env = f"/api/admin/projects/default/features/{name}/environments/development"
        call(base, token, "POST", "/api/admin/projects/default/features",
             {"name": name, "description": f"flag {n}"})
        call(base, token, "POST", f"{env}/strategies", dict(STRATEGY, parameters={
            "rollout": "50", "stickiness": "default", "groupId": name}))
        call(base, token, "POST", f"{env}/on")
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(one, range(count)))
    return time.monotonic() - started


def seed_unleash(base, count, first=0):
    """Through its Admin API, Unleash slows to a few flags per second once it holds thousands, so it is seeded
    with its import API (features-batch), which wants a personal access token: made here by logging
    in as the account Unleash creates on its first start (loopback only)."""
    login = json.dumps({"username": os.environ.get("UNLEASH_ADMIN_USER", "admin"),
                        "password": os.environ.get("UNLEASH_ADMIN_PASSWORD", "unleash4all")}).encode()
    json_headers = {"Content-Type": "application/json"}
    expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
    # A freshly started Unleash answers before its first account can act: retry for a minute.
    deadline = time.monotonic() + 60
    while True:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        try:
            opener.open(urllib.request.Request(f"{base}/auth/simple/login", login, json_headers))
            with opener.open(urllib.request.Request(
                    f"{base}/api/admin/user/tokens",
                    json.dumps({"description": f"flagpole bench seeding {time.time():.0f}",
                                "expiresAt": expires}).encode(),
                    json_headers)) as response:
                token = json.load(response)["secret"]
            break
        except urllib.error.HTTPError as error:
            if error.code != 401 or time.monotonic() > deadline:
                raise
            time.sleep(2)
    started = time.monotonic()
    for chunk in range(first, count, 1000):
        names = [f"seed-flag-{n:05d}" for n in range(chunk, min(count, chunk + 1000))]
        call(base, token, "POST", "/api/admin/features-batch/import", {
            "project": "default", "environment": "development", "data": {
                "features": [{"name": name, "description": f"flag {int(name[-5:])}", "type": "release",
                              "project": "default"} for name in names],
                "featureStrategies": [dict(STRATEGY, featureName=name, parameters={
                    "rollout": "50", "stickiness": "default", "groupId": name}) for name in names],
                "featureEnvironments": [{"name": name, "featureName": name,
                                         "environment": "development", "enabled": True}
                                        for name in names],
                "tagTypes": [],
            }})
    return time.monotonic() - started


def holds_exactly(base, token, count):
    """Whether a server holds seed-flag-00000 … seed-flag-{count - 1} and no more (by the last two
    names: this script only ever seeds whole ranges). Exits if it holds another range."""
    def exists(n):
        try:
            call(base, token, "GET", f"/api/admin/projects/default/features/seed-flag-{n:05d}")
            return True
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return False
            raise
    if not exists(0):
        return False
    if exists(count - 1) and not exists(count):
        return True
    sys.exit(f"{base} holds another number of seeded flags than {count}: restart it on an empty "
             "database (bench/unleash.sh start) or on the one kept for this size (UNLEASH_DB)")


def rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def machine_busy_seconds():
    """CPU time the whole machine has spent busy or waiting for the disk so far."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle = fields[3]  # iowait (fields[4]) counts as busy: a flushing database slows every fsync
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def settle(timeout=60.0):
    """Waits until the machine is idle, so that one server's leftover work (Unleash and its
    PostgreSQL go on working for seconds after a burst of writes) does not slow the next
    server's measurement. Watching the servers' own processes was not enough: with a 10,000-flag
    Unleash on the machine, Flagpole's toggles measured ten times slower than without it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = machine_busy_seconds()
        time.sleep(0.5)
        if machine_busy_seconds() - before < 0.05:
            return


class RssSampler:
    """The highest resident memory of a process while a measurement runs."""

    def __init__(self, pid):
        self.pid, self.peak, self.running = pid, 0.0, True
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while self.running:
            value = rss_mib(self.pid) if self.pid else None
            if value:
                self.peak = max(self.peak, value)
            time.sleep(0.2)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_):
        self.running = False
        self.thread.join()


def wrk(url, duration, connections, headers=(), script=None):
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    for header in headers:
        command += ["-H", header]
    if script:
        command += ["-s", script]
    output = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p99 = re.search(r"\s99%\s+(\S+)", output).group(1)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return rps, p99, int(errors.group(1)) if errors else 0


def median(results):
    """The middle result by requests per second (results are wrk() tuples or plain numbers)."""
    ordered = sorted(results, key=lambda result: result[0] if isinstance(result, tuple) else result)
    return ordered[len(ordered) // 2]


def wait_ready(base, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/ready", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.002)
    sys.exit(f"{base} never became ready")


def start_flagpole(data_dir, port, extra_env=None):
    env = dict(os.environ, DATA_DIR=data_dir, HTTP_HOST="127.0.0.1", HTTP_PORT=str(port),
               LOG_LEVEL="warn", INIT_ADMIN_API_TOKENS=ADMIN, INIT_CLIENT_API_TOKENS=CLIENT,
               INIT_FRONTEND_API_TOKENS=FRONTEND)
    env.pop("DATABASE_URL", None)
    env.update(extra_env or {})
    return subprocess.Popen([FLAGPOLE, "serve"], env=env, stdout=subprocess.DEVNULL)


def toggles_per_second(base, token, seconds, directory):
    """Sequential toggles (wrk, one connection, one request at a time), alternating off and on so
    that each is a real change with its audit event. Any answer but 2xx stops the run."""
    path = os.path.join(directory, "toggle.lua")
    with open(path, "w") as file:
        file.write("local n = 0\n")
        file.write("request = function()\n  n = n + 1\n")
        file.write('  local state = (n % 2 == 0) and "on" or "off"\n')
        file.write('  return wrk.format("POST", '
                   '"/api/admin/projects/default/features/seed-flag-00000/environments/development/" '
                   f'.. state, {{["Authorization"] = {json.dumps(token)}}})\n')
        file.write("end\n")
    rps, _, errors = wrk(base, seconds, 1, script=path)
    if errors:
        sys.exit(f"{errors} toggles failed against {base}")
    return rps


def bare_commits_per_second(directory, seconds):
    """What this disk allows: one-row commits in a loop, with the SQLite settings Flagpole uses
    (WAL, synchronous=FULL), from Python's sqlite3 with no server around it. Toggles are bound by
    the commit's fsync, so their rate is read against this one, measured in the same round."""
    path = os.path.join(directory, "bare-commits.db")
    database = sqlite3.connect(path, isolation_level=None)
    database.execute("pragma journal_mode = wal")
    database.execute("pragma synchronous = full")
    database.execute("create table if not exists commits (n integer)")
    count, started = 0, time.monotonic()
    deadline = started + seconds
    while time.monotonic() < deadline:
        database.execute("insert into commits (n) values (?)", (count,))
        count += 1
    elapsed = time.monotonic() - started
    database.close()
    return count / elapsed


def settled_client_features(base, token, count, timeout=120.0):
    """The Client API's body and ETag once the server serves all `count` flags and answers that
    ETag with 304. Unleash moves its ETag on once more shortly after an import, and Edge serves
    the new flags only after its next fetch from Unleash; an ETag read too early would make the
    304 scenario measure full bodies."""
    deadline = time.monotonic() + timeout
    while True:
        _, headers, body = call(base, token, "GET", "/api/client/features")
        etag = headers.get("ETag") or headers.get("etag")
        if etag and len(json.loads(body)["features"]) == count:
            try:
                call(base, token, "GET", "/api/client/features", headers={"If-None-Match": etag})
            except urllib.error.HTTPError as error:
                if error.code == 304:
                    return etag, body
        if time.monotonic() > deadline:
            sys.exit(f"{base} did not settle on {count} flags with an ETag it answers with 304")
        time.sleep(1)


def postgres_toggles(postgres_url, port, seconds, directory):
    """The toggle measurement on a Flagpole over PostgreSQL, in a database made for this run."""
    database = f"flagpole_bench_{os.getpid()}"
    server_url = postgres_url.rsplit("/", 1)[0]
    subprocess.run(["psql", postgres_url, "-qc", f"create database {database}"], check=True)
    try:
        data_dir = os.path.join(directory, "postgres")
        os.makedirs(data_dir, exist_ok=True)
        server = start_flagpole(data_dir, port, {"DATABASE_URL": f"{server_url}/{database}"})
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(base)
            seed(base, ADMIN, 10)
            return toggles_per_second(base, ADMIN, seconds, directory)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait()
    finally:
        subprocess.run(["psql", postgres_url, "-qc", f"drop database if exists {database}"],
                       check=False)


def cold_start(port, flags):
    """Time from process start to /ready answering 200, with `flags` flags in the database."""
    data_dir = tempfile.mkdtemp(prefix="flagpole-cold-")
    try:
        document = {"version": 1, "flags": [{
            "name": f"cold-flag-{n:05d}",
            "environments": {"development": {"enabled": True, "strategies": [{
                "name": "flexibleRollout",
                "parameters": {"rollout": "50", "stickiness": "default"},
                "constraints": [{"contextName": "userId", "operator": "NOT_IN",
                                 "values": ["blocked-1", "blocked-2"]}],
            }]}},
        } for n in range(flags)]}
        path = os.path.join(data_dir, "flags.yaml")
        with open(path, "w") as file:
            json.dump(document, file)  # JSON is YAML
        env = dict(os.environ, DATA_DIR=data_dir, LOG_LEVEL="warn")
        env.pop("DATABASE_URL", None)
        subprocess.run([FLAGPOLE, "apply", path], env=env, check=True, stdout=subprocess.DEVNULL)
        timings = []
        for _ in range(5):
            started = time.monotonic()
            server = start_flagpole(data_dir, port)
            wait_ready(f"http://127.0.0.1:{port}")
            timings.append((time.monotonic() - started) * 1000)
            rss = rss_mib(server.pid)
            server.send_signal(signal.SIGTERM)
            server.wait()
        timings.sort()
        return timings[len(timings) // 2], rss
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def metrics_script(directory, flags):
    body = json.dumps({
        "appName": "bench", "instanceId": "bench-1",
        "bucket": {"start": "2026-01-01T00:00:00Z", "stop": "2026-01-01T00:01:00Z",
                   "toggles": {f"seed-flag-{n:05d}": {"yes": 3, "no": 1} for n in range(flags)}},
    })
    path = os.path.join(directory, "metrics.lua")
    with open(path, "w") as file:
        file.write('wrk.method = "POST"\n')
        file.write(f"wrk.body = {json.dumps(body)}\n")
        file.write('wrk.headers["Content-Type"] = "application/json"\n')
    return path


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--flags", type=int, default=1000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--cold-start-flags", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3, help="measurements per figure (median)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the script runs")
    args = parser.parse_args()
    if args.smoke:
        args.flags, args.duration, args.cold_start_flags, args.rounds = 20, 1, 200, 1
    d, c, rounds = args.duration, args.connections, args.rounds
    port, baseline_port = int(os.environ.get("BENCH_PORT", "4299")), int(os.environ.get("BENCH_BASELINE_PORT", "4298"))
    work = tempfile.mkdtemp(prefix="flagpole-bench-")
    processes = []
    rows = []

    def row(label, flagpole, others):
        rows.append((label, flagpole, others))

    try:
        server = start_flagpole(work, port)
        processes.append(server)
        base = f"http://127.0.0.1:{port}"
        wait_ready(base)
        seed_seconds = seed(base, ADMIN, args.flags)
        idle_rss = rss_mib(server.pid)

        _, headers, body = call(base, CLIENT, "GET", "/api/client/features")
        etag = headers.get("ETag") or headers.get("etag")
        _, _, gzipped = call(base, CLIENT, "GET", "/api/client/features", headers={"Accept-Encoding": "gzip"})
        with open(os.path.join(work, "body.json"), "wb") as file:
            file.write(body)
        with open(os.path.join(work, "body.json.gz"), "wb") as file:
            file.write(gzipped)
        baseline = subprocess.Popen([BASELINE, str(baseline_port), os.path.join(work, "body.json"),
                                     os.path.join(work, "body.json.gz"), etag])
        processes.append(baseline)
        baseline_url = f"http://127.0.0.1:{baseline_port}/api/client/features"
        time.sleep(0.3)

        unleash = os.environ.get("UNLEASH_URL")
        if unleash:
            loopback(unleash)
            u_admin = os.environ.get("UNLEASH_ADMIN_TOKEN", "*:*.unleash-insecure-admin-api-token")
            u_client = os.environ.get("UNLEASH_CLIENT_TOKEN", "default:development.unleash-insecure-api-token")
            u_front = os.environ.get("UNLEASH_FRONTEND_TOKEN", "default:development.unleash-insecure-frontend-api-token")
            u_pid = int(os.environ["UNLEASH_PID"]) if os.environ.get("UNLEASH_PID") else None
            if not holds_exactly(unleash, u_admin, args.flags):
                seed_unleash(unleash, args.flags)
            u_etag, u_body = settled_client_features(unleash, u_client, args.flags)
            u_idle = rss_mib(u_pid) if u_pid else None
        edge = os.environ.get("EDGE_URL")
        if edge:
            loopback(edge)
            if not unleash:
                sys.exit("EDGE_URL needs UNLEASH_URL: Edge serves that Unleash's flags and tokens")
            e_pid = int(os.environ["EDGE_PID"]) if os.environ.get("EDGE_PID") else None
            e_etag, _ = settled_client_features(edge, u_client, args.flags)
            e_idle = rss_mib(e_pid) if e_pid else None

        client = f"{base}/api/client/features"
        scenarios = [
            ("GET /api/client/features", [f"Authorization: {CLIENT}"], []),
            ("  … with Accept-Encoding: gzip", [f"Authorization: {CLIENT}", "Accept-Encoding: gzip"], ["Accept-Encoding: gzip"]),
            ("  … with If-None-Match (304)", [f"Authorization: {CLIENT}", f"If-None-Match: {etag}"], [f"If-None-Match: {etag}"]),
        ]
        sampler = RssSampler(server.pid).__enter__()
        u_sampler = RssSampler(u_pid if unleash else None).__enter__()
        e_sampler = RssSampler(e_pid if edge else None).__enter__()
        def measure(targets):
            """The median of `rounds` wrk runs per target, the targets interleaved in each round."""
            results = [[] for _ in targets]
            for _ in range(rounds):
                for index, target in enumerate(targets):
                    if target:
                        settle()
                        results[index].append(wrk(*target))
            return [median(result) if result else None for result in results]

        for label, headers_, baseline_headers in scenarios:
            u_headers_ = [h.replace(CLIENT, u_client).replace(etag, u_etag or "") for h in headers_] if unleash else None
            e_headers_ = [h.replace(CLIENT, u_client).replace(etag, e_etag or "") for h in headers_] if edge else None
            ours, ceiling, other, edged = measure([
                (client, d, c, headers_),
                (baseline_url, d, c, baseline_headers),
                (f"{unleash}/api/client/features", d, c, u_headers_) if unleash else None,
                (f"{edge}/api/client/features", d, c, e_headers_) if edge else None,
            ])
            row(label, ours, (ceiling, other, edged))
        ours, other, edged = measure([
            (f"{base}/api/frontend?userId=123", d, c, [f"Authorization: {FRONTEND}"]),
            (f"{unleash}/api/frontend?userId=123", d, c, [f"Authorization: {u_front}"]) if unleash else None,
            (f"{edge}/api/frontend?userId=123", d, c, [f"Authorization: {u_front}"]) if edge else None,
        ])
        sampler.__exit__()
        u_sampler.__exit__()
        e_sampler.__exit__()
        peak = sampler.peak
        row("GET /api/frontend?userId=123", ours, (None, other, edged))

        postgres = os.environ.get("POSTGRES_URL")
        toggle_runs = ([], [], [], [])
        for _ in range(rounds):
            settle()
            toggle_runs[3].append(bare_commits_per_second(work, d))
            settle()
            toggle_runs[0].append(toggles_per_second(base, ADMIN, d, work))
            if unleash:
                settle()
                toggle_runs[1].append(toggles_per_second(unleash, u_admin, d, work))
            if postgres:
                settle()
                toggle_runs[2].append(postgres_toggles(postgres, port + 2, d, work))
        ours_toggles, other_toggles, pg_toggles, bare_commits = (
            median(runs) if runs else None for runs in toggle_runs)

        script = metrics_script(work, min(100, args.flags))
        before = rss_mib(server.pid)
        metrics = wrk(f"{base}/api/client/metrics", d, c, [f"Authorization: {CLIENT}"], script)
        after_first = rss_mib(server.pid)
        wrk(f"{base}/api/client/metrics", d, c, [f"Authorization: {CLIENT}"], script)
        after_second = rss_mib(server.pid)

        server.send_signal(signal.SIGTERM)
        server.wait()
        cold_ms, cold_rss = cold_start(port, args.cold_start_flags) if args.cold_start_flags else (0, 0)

        version = subprocess.run([FLAGPOLE, "--version"], capture_output=True, text=True).stdout.strip()
        print(f"{version}; {args.flags} flags; wrk -t1 -c{c} -d{d}s, median of {rounds}; {os.cpu_count()} cores; "
              f"Client API body {len(body):,} bytes ({len(gzipped):,} gzipped)"
              + (f", Unleash's {len(u_body):,}" if unleash else "") + f"; seeding took {seed_seconds:.1f} s")
        print()
        header = "| scenario | Flagpole req/s | p99 | minimal hyper, same bytes | Flagpole ÷ hyper |"
        rule = "|---|---|---|---|---|"
        if unleash:
            header += " Unleash req/s | Flagpole ÷ Unleash |"
            rule += "---|---|"
        if edge:
            header += " Edge req/s | Flagpole ÷ Edge |"
            rule += "---|---|"
        print(header)
        print(rule)
        for label, ours, others in rows:
            ceiling, other, edged = others
            line = f"| {label} | {ours[0]:,.0f} | {ours[1]} | "
            line += f"{ceiling[0]:,.0f} | {ours[0] / ceiling[0]:.2f} |" if ceiling else "– | – |"
            for server_, result in ((unleash, other), (edge, edged)):
                if server_:
                    line += f" {result[0]:,.0f} | {ours[0] / result[0]:.1f}× |" if result else " – | – |"
            print(line)
        print()
        print("| other measurements | Flagpole | | |")
        print("|---|---|---|---|")
        toggles = f"| sequential Admin API toggles (SQLite, synchronous=FULL) | {ours_toggles:,.0f}/s |"
        if unleash:
            toggles += f" Unleash: {other_toggles:,.0f}/s | {ours_toggles / other_toggles:.1f}× |"
        print(toggles + ("" if unleash else " | |"))
        print(f"| one-row SQLite commits in a loop, same settings, no server (this disk's floor) | "
              f"{bare_commits:,.0f}/s | toggles ÷ these | {ours_toggles / bare_commits:.2f} |")
        if pg_toggles:
            line = f"| the same toggles on PostgreSQL (synchronous_commit=on) | {pg_toggles:,.0f}/s |"
            if unleash:
                line += f" Unleash: {other_toggles:,.0f}/s | {pg_toggles / other_toggles:.1f}× |"
            print(line + ("" if unleash else " | |"))
        print(f"| SDK metrics posts, {min(100, args.flags)} flags each | {metrics[0]:,.0f}/s (p99 {metrics[1]}, {metrics[2]} errors) | RSS {before:.1f} → {after_first:.1f} → {after_second:.1f} MiB over two runs | |")
        if args.cold_start_flags:
            print(f"| cold start to ready, {args.cold_start_flags:,} flags (median of 5) | {cold_ms:.0f} ms | RSS {cold_rss:.1f} MiB | |")
        memory = f"| resident memory idle / peak under read load | {idle_rss:.1f} / {peak:.1f} MiB |"
        if unleash and u_pid:
            memory += f" Unleash: {u_idle:.1f} / {u_sampler.peak:.1f} MiB | {u_sampler.peak / peak:.1f}× less |"
        else:
            memory += " | |"
        print(memory)
        if edge and e_pid:
            print(f"| Unleash Edge's resident memory idle / peak under the same load | | "
                  f"Edge: {e_idle:.1f} / {e_sampler.peak:.1f} MiB | {e_sampler.peak / peak:.1f}× less |")
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
