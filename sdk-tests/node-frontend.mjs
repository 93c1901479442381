// The browser SDK (`unleash-proxy-client`), run in Node, against Flagpole's Frontend API.
import { InMemoryStorageProvider, UnleashClient } from 'unleash-proxy-client';
import { cases, enableSdkOff, expectEqual, url, waitFor } from './admin.mjs';

/** A browser SDK holds one context at a time; each case sets it and waits for the answer. */
function start(context, usePOSTrequests) {
  const client = new UnleashClient({
    url: `${url}/api/frontend`,
    clientKey: process.env.FLAGPOLE_FRONTEND_TOKEN,
    appName: 'frontend-sdk-test',
    refreshInterval: 1,
    metricsInterval: 1,
    metricsIntervalInitial: 0,
    storageProvider: new InMemoryStorageProvider(),
    usePOSTrequests,
    context,
  });
  return new Promise((resolve, reject) => {
    client.on('ready', () => resolve(client));
    client.on('error', (error) => reject(error));
    client.start();
  });
}

// Never hang the test run: give up loudly after a minute.
setTimeout(() => {
  console.error(`scenario timed out after ${checked} cases`);
  process.exit(2);
}, 60000).unref();

let checked = 0;
for (const [index, { flag, context, enabled, variant, payload }] of cases.entries()) {
  // Alternate GET and POST requests; both must give the same answers.
  const client = await start(context, index % 2 === 1);
  expectEqual(client.isEnabled(flag), enabled, `isEnabled(${flag}, ${JSON.stringify(context)})`);
  if (variant) {
    const result = client.getVariant(flag);
    expectEqual(result.name, variant, `getVariant(${flag}).name`);
    expectEqual(result.payload, payload, `getVariant(${flag}).payload`);
  }
  client.stop();
  checked += 1;
}

// A long-lived client sees a change on its next poll, and its metrics arrive.
const client = await start({ userId: '7' }, false);
for (let i = 0; i < 3; i += 1) client.isEnabled('sdk-on');
await enableSdkOff();
const seenAfterMs = await waitFor('the browser SDK to see sdk-off enabled', () => client.isEnabled('sdk-off'));
await waitFor('metrics from the browser SDK', async () => {
  const response = await fetch(`${url}/api/admin/client-metrics/features/sdk-on`, {
    headers: { Authorization: process.env.FLAGPOLE_ADMIN_TOKEN },
  });
  const usage = await response.json();
  return usage.seenApplications.includes('frontend-sdk-test');
});
client.stop();
console.log(JSON.stringify({ sdk: 'unleash-proxy-client', cases: checked, seenAfterMs }));
// Stopped clients may still hold a metrics timer; the scenario is over.
process.exit(0);
