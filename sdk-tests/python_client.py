"""The server-side Python SDK (`UnleashClient`) against Flagpole's Client API."""

import json
import os
import sys
import time
import urllib.request
from pathlib import Path

from UnleashClient import UnleashClient

URL = os.environ["FLAGPOLE_URL"]
ADMIN = os.environ["FLAGPOLE_ADMIN_TOKEN"]
CASES = json.loads((Path(__file__).parent / "cases.json").read_text())["cases"]


def admin(method, path):
    request = urllib.request.Request(f"{URL}{path}", method=method, headers={"Authorization": ADMIN})
    with urllib.request.urlopen(request) as response:
        body = response.read()
        return json.loads(body) if body else None


def wait_for(description, check, timeout=15.0):
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out waiting for {description}")
        time.sleep(0.05)
    return time.monotonic() - started


def python_context(context):
    # The Python SDK takes custom properties inside "properties", like the others.
    return dict(context)


client = UnleashClient(
    url=f"{URL}/api",
    app_name="python-sdk-test",
    instance_id="python-1",
    custom_headers={"Authorization": os.environ["FLAGPOLE_CLIENT_TOKEN"]},
    refresh_interval=1,
    metrics_interval=1,
    cache_directory=os.environ.get("FLAGPOLE_SDK_CACHE", "/tmp"),
)
client.initialize_client()
wait_for("the first fetch", lambda: client.is_enabled("sdk-on"))

for case in CASES:
    context = python_context(case["context"])
    enabled = client.is_enabled(case["flag"], context)
    assert enabled == case["enabled"], f"is_enabled({case['flag']}, {context}) = {enabled}"
    if "variant" in case:
        variant = client.get_variant(case["flag"], context)
        assert variant["name"] == case["variant"], variant
        assert variant["payload"] == case["payload"], variant

admin("POST", "/api/admin/projects/default/features/sdk-off/environments/development/on")
seen_after = wait_for("the SDK to see sdk-off enabled", lambda: client.is_enabled("sdk-off"))


def telemetry_arrived():
    usage = admin("GET", "/api/admin/client-metrics/features/sdk-on")
    apps = admin("GET", "/api/admin/metrics/applications")
    return "python-sdk-test" in usage["seenApplications"] and any(
        app["appName"] == "python-sdk-test" and (app.get("sdkVersion") or "").startswith("unleash-python-sdk")
        for app in apps["applications"]
    )


wait_for("metrics and registration from the Python SDK", telemetry_arrived)
client.destroy()
print(json.dumps({"sdk": "UnleashClient (Python)", "cases": len(CASES), "seenAfterMs": round(seen_after * 1000)}))
sys.exit(0)
