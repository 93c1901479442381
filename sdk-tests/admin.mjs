// Shared by the Node scenarios: the Admin API, the cases, and waiting for things to happen.
import { readFileSync } from 'node:fs';

export const url = process.env.FLAGPOLE_URL;
export const adminToken = process.env.FLAGPOLE_ADMIN_TOKEN;
export const { cases } = JSON.parse(readFileSync(new URL('./cases.json', import.meta.url), 'utf8'));

export async function admin(method, path, body) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { Authorization: adminToken, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} -> ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

export async function waitFor(description, check, timeoutMs = 10000) {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${description}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export function expectEqual(actual, expected, what) {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

/** Turns sdk-off on, the change every scenario must observe. */
export const enableSdkOff = () =>
  admin('POST', '/api/admin/projects/default/features/sdk-off/environments/development/on');

/** Resolves once the Admin API shows `appName`'s metrics for sdk-on and its registration. */
export async function waitForTelemetry(appName, sdkPrefix) {
  await waitFor(`metrics from ${appName}`, async () => {
    const usage = await admin('GET', '/api/admin/client-metrics/features/sdk-on');
    return usage.seenApplications.includes(appName) && usage.lastHourUsage.some((u) => u.yes > 0);
  });
  await waitFor(`the registration of ${appName}`, async () => {
    const apps = await admin('GET', '/api/admin/metrics/applications');
    return apps.applications.some((a) => a.appName === appName && (a.sdkVersion ?? '').startsWith(sdkPrefix));
  });
}
