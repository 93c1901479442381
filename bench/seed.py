#!/usr/bin/env python3
"""Seeds N flags through the Admin API, shaped like the Unleash comparison data set: each a 50%
flexible rollout with one `userId NOT_IN` constraint, enabled in development.

Usage: seed.py URL ADMIN_TOKEN COUNT
"""

import json
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor

URL, TOKEN, COUNT = sys.argv[1], sys.argv[2], int(sys.argv[3])


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{URL}{path}", data=data, method=method,
        headers={"Authorization": TOKEN, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        response.read()


def seed(n):
    name = f"seed-flag-{n:05d}"
    base = f"/api/admin/projects/default/features/{name}/environments/development"
    call("POST", "/api/admin/projects/default/features", {"name": name, "description": f"flag {n}"})
    call("POST", f"{base}/strategies", {
        "name": "flexibleRollout",
        "parameters": {"rollout": "50", "stickiness": "default", "groupId": name},
        "constraints": [{"contextName": "userId", "operator": "NOT_IN", "values": ["blocked-1", "blocked-2"]}],
    })
    call("POST", f"{base}/on")


with ThreadPoolExecutor(max_workers=4) as pool:
    list(pool.map(seed, range(COUNT)))
print(f"seeded {COUNT} flags")
