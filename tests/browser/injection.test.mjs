// HTML injection: hostile values from a client registration, a query string and a form field
// must reach the browser as text. The checks look at the DOM (no injected element), at
// dialogs (none opens) and at the visible text (the value shows literally), so they hold
// even where the Content-Security-Policy would stop an injected script from running.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  CONFIRM_TITLE,
  alertText,
  decide,
  enterCode,
  heading,
  openTestBrowser,
  signIn,
  submitSignIn,
} from './support/browser.mjs';
import { startFlow } from './support/device.mjs';
import { startServer } from './support/server.mjs';

const HOSTILE_NAME = '"><script>window.pwned=1</script><img src=x onerror=alert(1)>';

/** A valid RFC 6749 scope token (no space, quote or backslash) that is also markup. */
const HOSTILE_SCOPE = '<svg/onload=alert(2)>';

const HOSTILE_QUERY_CODE = '"><script>alert(1)</script>';

/** The verification page with HOSTILE_QUERY_CODE, percent-encoded, as `user_code`. */
const HOSTILE_QUERY_PATH = '/device?user_code=%22%3E%3Cscript%3Ealert(1)%3C/script%3E';

/**
 * Opens a browser for test `t` that records every dialog (alert, confirm, prompt) and every
 * uncaught page error, so a test can assert that none came from injected markup.
 */
async function openWatchedBrowser(t) {
  const browser = await openTestBrowser(t);
  const dialogs = [];
  const pageErrors = [];
  browser.page.on('dialog', async (dialog) => {
    dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    await dialog.dismiss();
  });
  browser.page.on('pageerror', (error) => pageErrors.push(error.message));
  return { ...browser, dialogs, pageErrors };
}

/** Asserts that the page has no element that markup in a value could have created. */
async function assertNoInjectedElements(page, label) {
  assert.equal(await page.locator('script').count(), 0, `${label}: no script element`);
  assert.equal(await page.locator('img').count(), 0, `${label}: no img element`);
  assert.equal(await page.locator('svg').count(), 0, `${label}: no svg element`);
  assert.equal(await page.locator('[onerror], [onload]').count(), 0, `${label}: no event handler attribute`);
  assert.equal(await page.evaluate(() => window.pwned), undefined, `${label}: no injected script ran`);
}

describe('html injection', () => {
  let server;

  before(async () => {
    server = await startServer('injection');
    server.addUser('alice');
    server.addClient('hostile', { name: HOSTILE_NAME, scope: `profile ${HOSTILE_SCOPE}`, interval: 1 });
  });

  after(async () => {
    await server?.stop();
  });

  test('hostile client name shown as text', async (t) => {
    const { page, shots, dialogs, pageErrors } = await openWatchedBrowser(t);
    const flow = await startFlow(server, 'hostile');

    await signIn(page, server, 'alice');
    await enterCode(page, flow.userCode);
    assert.equal(await heading(page), CONFIRM_TITLE, `${await alertText(page)}`);
    await shots.take(page, 'confirm-screen');

    await assertNoInjectedElements(page, 'confirm screen');
    const application = (await page.locator('dd').first().innerText()).trim();
    assert.equal(application, `${HOSTILE_NAME} (hostile)`, 'the name shows literally');
    const hostileScope = page.getByRole('checkbox', { name: new RegExp(`^${HOSTILE_SCOPE.replace(/[()]/g, '\\$&')} `) });
    assert.equal(await hostileScope.getAttribute('value'), HOSTILE_SCOPE, 'the scope shows literally');

    await decide(page, 'Approve');
    assert.equal(await heading(page), 'Device approved');
    await shots.take(page, 'approved');
    await assertNoInjectedElements(page, 'outcome page');

    const tokenResponse = await flow.poll();
    assert.equal(tokenResponse.status, 200, JSON.stringify(tokenResponse.body));
    assert.deepEqual(tokenResponse.body.scope.split(' ').sort(), [HOSTILE_SCOPE, 'profile'].sort(), 'the ticked scope round-trips unchanged');

    assert.deepEqual(dialogs, [], 'no dialog opened');
    assert.deepEqual(pageErrors, [], 'no page error');
  });

  test('hostile user_code query before sign-in', async (t) => {
    const { page, shots, dialogs, pageErrors } = await openWatchedBrowser(t);

    await page.goto(server.url(HOSTILE_QUERY_PATH));
    await shots.take(page, 'sign-in-form');
    assert.equal(await heading(page), 'Sign in to connect a device');
    await assertNoInjectedElements(page, 'signed out');
    assert.equal(await page.locator('input[name=user_code]').inputValue(), HOSTILE_QUERY_CODE, 'the value rides along as text');

    assert.deepEqual(dialogs, [], 'no dialog opened');
    assert.deepEqual(pageErrors, [], 'no page error');
  });

  test('hostile user_code query after sign-in', async (t) => {
    const { page, shots, dialogs, pageErrors } = await openWatchedBrowser(t);

    await page.goto(server.url(HOSTILE_QUERY_PATH));
    await submitSignIn(page, 'alice');
    await shots.take(page, 'after-sign-in');
    assert.equal(await heading(page), 'Connect a device', 'an invalid code is dropped at sign-in');
    await assertNoInjectedElements(page, 'after sign-in');

    await page.goto(server.url(HOSTILE_QUERY_PATH));
    await shots.take(page, 'signed-in');
    assert.match(await alertText(page), /not a valid code/);
    await assertNoInjectedElements(page, 'signed in');
    assert.equal(await page.getByLabel('Enter the code shown on your device').inputValue(), HOSTILE_QUERY_CODE);

    assert.deepEqual(dialogs, [], 'no dialog opened');
    assert.deepEqual(pageErrors, [], 'no page error');
  });

  test('hostile typed code shown as text', async (t) => {
    const { page, shots, dialogs, pageErrors } = await openWatchedBrowser(t);
    const typed = '</p><img src=x onerror=alert(3)><p>';

    await signIn(page, server, 'alice');
    await enterCode(page, typed);
    await shots.take(page, 'typed-markup');

    assert.match(await alertText(page), /not a valid code/);
    await assertNoInjectedElements(page, 'typed markup');
    assert.equal(await page.getByLabel('Enter the code shown on your device').inputValue(), typed);

    assert.deepEqual(dialogs, [], 'no dialog opened');
    assert.deepEqual(pageErrors, [], 'no page error');
  });
});
