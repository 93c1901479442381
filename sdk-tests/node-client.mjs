// The server-side Node SDK (`unleash-client`) against Flagpole's Client API.
import { initialize } from 'unleash-client';
import { cases, enableSdkOff, expectEqual, url, waitFor, waitForTelemetry } from './admin.mjs';

// FLAGPOLE_SDK_MODE selects how the SDK fetches: full polling (default), delta polling, or
// server-sent events.
const modes = {
  delta: { type: 'polling', format: 'delta' },
  streaming: { type: 'streaming' },
};
const mode = process.env.FLAGPOLE_SDK_MODE ?? 'polling';
const unleash = initialize({
  experimentalMode: modes[mode],
  url: `${url}/api`,
  appName: 'node-sdk-test',
  instanceId: 'node-1',
  customHeaders: { Authorization: process.env.FLAGPOLE_CLIENT_TOKEN },
  refreshInterval: 200,
  metricsInterval: 300,
});
unleash.on('error', (error) => console.error('sdk error:', error.message));
await new Promise((resolve, reject) => {
  unleash.once('synchronized', resolve);
  setTimeout(() => reject(new Error('the SDK never synchronised')), 10000);
});

for (const { flag, context, enabled, variant, payload } of cases) {
  expectEqual(unleash.isEnabled(flag, context), enabled, `isEnabled(${flag}, ${JSON.stringify(context)})`);
  if (variant) {
    const result = unleash.getVariant(flag, context);
    expectEqual(result.name, variant, `getVariant(${flag}).name`);
    expectEqual(result.payload, payload, `getVariant(${flag}).payload`);
  }
}

await enableSdkOff();
const seenAfterMs = await waitFor('the SDK to see sdk-off enabled', () => unleash.isEnabled('sdk-off'));
await waitForTelemetry('node-sdk-test', 'unleash-node-sdk');
unleash.destroy();
console.log(JSON.stringify({ sdk: `unleash-client (Node, ${mode})`, cases: cases.length, seenAfterMs }));
process.exit(0);
