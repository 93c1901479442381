// End-to-end run of the web UI in headless Chromium. Started by the Rust test
// `ui::the_ui_works_end_to_end_in_chromium`, which starts a server and passes:
//   FLAGPOLE_URL, ADMIN_USER, VIEWER_USER, PASSWORD, SCREENSHOT_DIR, CHROMIUM (optional).
// Exits non-zero with a message on the first step that does not behave.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const base = process.env.FLAGPOLE_URL;
const shots = process.env.SCREENSHOT_DIR;
const password = process.env.PASSWORD;
mkdirSync(shots, { recursive: true });

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
const errors = [];
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
try {
  page.on('dialog', (dialog) => dialog.accept());
  // A CSP violation or script error on any page fails the run.
  page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
  page.on('pageerror', (error) => errors.push(String(error)));
  const shot = (name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

  async function signIn(user) {
    await page.goto(`${base}/`);
    check(page.url().includes('/login?next='), `signed out, / leads to the sign-in page (${page.url()})`);
    await page.getByLabel('Username or email').fill(user);
    await page.getByLabel('Password').fill(password);
    await shot(`login-${user}`);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/`);
  }

  // Sign in, with a wrong password first.
  await page.goto(`${base}/login`);
  await page.getByLabel('Username or email').fill(process.env.ADMIN_USER);
  await page.getByLabel('Password').fill('Not-The-Password-1');
  await page.getByRole('button', { name: 'Sign in' }).click();
  check((await page.textContent('body')).includes('Invalid username or password'), 'a failed sign-in says so');
  await shot('login-failed');
  await signIn(process.env.ADMIN_USER);
  await shot('flags-empty');

  // Create a flag.
  await page.locator('#f-name').fill('e2e-checkout');
  await page.getByRole('button', { name: 'Create flag' }).click();
  await page.waitForURL(/\/projects\/default\/flags\/e2e-checkout$/);
  await shot('flag-created');

  // Add a strategy with a constraint.
  await page.getByRole('link', { name: 'Add strategy in development' }).click();
  await page.getByLabel('Rollout percentage (0–100)').fill('50');
  await page.locator('#c0-context').fill('userId');
  await page.locator('#c0-operator').selectOption('IN');
  await page.locator('#c0-values').fill('alice\nbob');
  await page.getByLabel('Case-insensitive').check();
  await shot('strategy-form');
  // Enter in a field saves (the form's first button is Save, not "Add another constraint").
  await Promise.all([
    page.waitForURL(/\/flags\/e2e-checkout$/),
    page.getByLabel('Rollout percentage (0–100)').press('Enter'),
  ]);
  const body = await page.textContent('body');
  check(body.includes('userId IN (case-insensitive) alice, bob'), 'the constraint is listed');
  check(body.includes('rollout=50'), 'the rollout is listed');

  // Toggle it on in development.
  const toggle = page.getByRole('switch', { name: /e2e-checkout in development/ });
  check((await toggle.getAttribute('aria-checked')) === 'false', 'the flag starts off');
  await Promise.all([page.waitForNavigation(), toggle.click()]);
  check(
    (await page.getByRole('switch', { name: /e2e-checkout in development/ }).getAttribute('aria-checked')) === 'true',
    'the flag is on after the toggle',
  );
  await shot('flag-on');

  // A client token: the secret is shown once.
  await page.goto(`${base}/admin/api-tokens`);
  await page.getByLabel('Name').fill('e2e-backend');
  await page.getByLabel('Type').selectOption('client');
  await page.getByRole('button', { name: 'Create token' }).click();
  const secret = (await page.locator('#new-secret').textContent()).trim();
  check(/^\*:development\.[0-9a-f]{56}$/.test(secret), `a client secret is shown (${secret})`);
  check(await page.getByRole('button', { name: 'Copy' }).isVisible(), 'with a copy button');
  await shot('token-created');
  await page.reload();
  check((await page.locator('#new-secret').count()) === 0, 'a reload no longer shows the secret');
  check(!(await page.content()).includes(secret), 'nor anywhere on the page');
  await shot('api-tokens');

  // The events.
  await page.goto(`${base}/events`);
  const events = await page.textContent('body');
  for (const type of ['feature-created', 'feature-strategy-add', 'feature-environment-enabled', 'api-token-created']) {
    check(events.includes(type), `the event log shows ${type}`);
  }
  await shot('events');

  // Every other page, at desktop width and at 375 px.
  for (const path of ['/', '/archive', '/projects', '/environments', '/segments', '/context', '/tags',
    '/users', '/applications', '/profile']) {
    await page.goto(`${base}${path}`);
    const name = path === '/' ? 'flags' : path.slice(1);
    await shot(name);
  }
  await page.setViewportSize({ width: 375, height: 800 });
  for (const path of ['/', '/projects/default/flags/e2e-checkout', '/admin/api-tokens']) {
    await page.goto(`${base}${path}`);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    check(width <= 375, `${path} fits 375 px (${width})`);
    await shot(`mobile-${path === '/' ? 'flags' : path.split('/').pop()}`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });

  // Sign out, and in as a Viewer, who can change nothing.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/login/);
  await signIn(process.env.VIEWER_USER);
  await page.goto(`${base}/projects/default/flags/e2e-checkout`);
  await shot('viewer-flag');
  const viewerSwitch = page.getByRole('switch', { name: /e2e-checkout in development/ });
  check(await viewerSwitch.isDisabled(), 'the switch is disabled for a Viewer');
  check((await page.getByRole('link', { name: /Add strategy/ }).count()) === 0, 'no strategy link for a Viewer');
  // Submitting the switch's form anyway is refused by the server.
  const refused = await page.evaluate(async () => {
    const form = document.querySelector('form.toggle');
    const response = await fetch(form.action, { method: 'POST', body: new URLSearchParams(new FormData(form)) });
    return response.status;
  });
  check(refused === 403, `the server refuses a Viewer's toggle (${refused})`);
  const direct = await page.goto(`${base}/projects/default/flags/e2e-checkout/environments/development/strategies/new`);
  check(direct.status() === 403, 'the strategy form is refused to a Viewer');
  await shot('viewer-refused');
  const tokens = await page.goto(`${base}/admin/api-tokens`);
  check(tokens.status() === 403, 'API access is refused to a Viewer');
  await page.goto(`${base}/projects/default/flags/e2e-checkout`);
  check(
    (await page.getByRole('switch', { name: /e2e-checkout in development/ }).getAttribute('aria-checked')) === 'true',
    'the flag is still on',
  );
  // Refused requests (401, 403, the favicon's 404) log "Failed to load resource" by design and
  // are checked above; script errors and CSP violations ("Refused to …") count.
  const scriptErrors = errors.filter((e) => !e.startsWith('Failed to load resource'));
  check(scriptErrors.length === 0, `no script or CSP errors: ${scriptErrors.join(' | ')}`);
  console.log('e2e: all steps passed');
} catch (error) {
  // Leave the page as it was for whoever reads the failure.
  await page.screenshot({ path: join(shots, 'failure.png'), fullPage: true }).catch(() => {});
  console.error(`failed at ${page.url()}:\n${(await page.textContent('body').catch(() => '')).slice(0, 2000)}`);
  throw error;
} finally {
  await browser.close();
}
