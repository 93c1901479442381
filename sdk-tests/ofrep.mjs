// The OpenFeature server SDK with its OFREP provider (`@openfeature/ofrep-provider`) against
// Flagpole's OFREP endpoints: typed evaluations, reasons and errors as an application sees them.
import { OpenFeature } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';
import { expectEqual, url } from './admin.mjs';

// Never hang the test run: give up loudly after a minute.
setTimeout(() => {
  console.error('scenario timed out');
  process.exit(2);
}, 60000).unref();

const token = process.env.FLAGPOLE_CLIENT_TOKEN;
// One client per way of presenting the token; each must give the same answers.
const providers = {
  bearer: new OFREPProvider({ baseUrl: url, headers: [['Authorization', `Bearer ${token}`]] }),
  apiKey: new OFREPProvider({ baseUrl: url, headers: { 'X-API-Key': token } }),
};

let checked = 0;
for (const [domain, provider] of Object.entries(providers)) {
  await OpenFeature.setProviderAndWait(domain, provider);
  const client = OpenFeature.getClient(domain);
  const check = async (what, details, expected) => {
    const picked = Object.fromEntries(Object.keys(expected).map((key) => [key, details[key]]));
    expectEqual(picked, expected, `${domain}: ${what}`);
    checked += 1;
  };

  await check('boolean on', await client.getBooleanDetails('sdk-on', false), {
    value: true,
    reason: 'TARGETING_MATCH',
    variant: 'on',
  });
  await check('boolean off', await client.getBooleanDetails('sdk-off', true), {
    value: false,
    reason: 'DISABLED',
  });
  await check('targetingKey is the user id', await client.getBooleanDetails('sdk-users', false, { targetingKey: '7' }), {
    value: true,
  });
  await check('another user', await client.getBooleanDetails('sdk-users', true, { targetingKey: '1' }), {
    value: false,
    reason: 'DEFAULT',
  });
  const constrained = { targetingKey: '1', country: 'no', email: 'a@example.com', appVersion: '2.1.0' };
  await check('custom fields are properties', await client.getBooleanDetails('sdk-constraint', false, constrained), {
    value: true,
  });
  await check('string payload', await client.getStringDetails('sdk-variant', 'none', { targetingKey: '3' }), {
    value: 'b',
    variant: 'blue',
    reason: 'SPLIT',
  });
  await check('object payload', await client.getObjectDetails('ofrep-object', {}), {
    value: { theme: 'dark', columns: [1, 2] },
    variant: 'layout',
  });
  await check('number payload', await client.getNumberDetails('ofrep-number', 0), { value: 42 });
  const metadata = (await client.getBooleanDetails('sdk-on', false)).flagMetadata;
  expectEqual(metadata.project, 'default', `${domain}: metadata.project`);
  await check('unknown flag', await client.getBooleanDetails('sdk-missing', true), {
    value: true,
    reason: 'ERROR',
    errorCode: 'FLAG_NOT_FOUND',
  });
  await check('wrong type', await client.getStringDetails('sdk-on', 'fallback'), {
    value: 'fallback',
    errorCode: 'TYPE_MISMATCH',
  });
}

// A wrong token is an error the application sees, with its default value.
await OpenFeature.setProviderAndWait(
  'wrong',
  new OFREPProvider({ baseUrl: url, headers: [['Authorization', 'default:development.unknown']] }),
);
const refused = await OpenFeature.getClient('wrong').getBooleanDetails('sdk-on', false);
expectEqual([refused.value, refused.reason], [false, 'ERROR'], 'unknown token');

await OpenFeature.close();
console.log(JSON.stringify({ sdk: '@openfeature/ofrep-provider', checks: checked }));
process.exit(0);
