// The whole flow the way some people must use it: JavaScript off, keyboard only (Tab, Enter and
// Space, no clicks) and a 375 px wide phone screen. Every screen is checked for labelled inputs
// and for sideways scrolling.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  CONFIRM_TITLE,
  alertText,
  documentScrollWidth,
  heading,
  openTestBrowser,
  submitAndWait,
  tabTo,
  unlabelledControls,
} from './support/browser.mjs';
import { PASSWORD, startServer } from './support/server.mjs';
import { startFlow, unissuedUserCode, userinfo } from './support/device.mjs';

const PHONE = { width: 375, height: 740 };

describe('accessibility', () => {
  let server;

  before(async () => {
    server = await startServer('accessibility');
    server.addUser('alice');
    server.addClient('tv', { name: 'Living Room TV', interval: 1 });
  });

  after(async () => {
    await server?.stop();
  });

  test('keyboard-only flow without JavaScript on phone', async (t) => {
    const { page, shots } = await openTestBrowser(t, { javaScriptEnabled: false, viewport: PHONE, isMobile: true, hasTouch: true });

    // The page's own scripts must not run. Playwright's evaluate still works, because it goes
    // through the DevTools protocol, so the layout checks below need no second browser.
    await page.setContent('<p id="probe">off</p><script>document.getElementById("probe").textContent = "on"</script>');
    assert.equal(await page.locator('#probe').innerText(), 'off', 'JavaScript is disabled in this browser');

    /** Saves a screenshot of the current screen, then checks its labels, width and scripts. */
    const checkScreen = async (step) => {
      await shots.take(page, step);
      assert.deepEqual(await unlabelledControls(page), [], `${step}: every input has a label`);
      const width = await documentScrollWidth(page);
      assert.ok(width <= PHONE.width, `${step}: page is ${width} px wide, more than the ${PHONE.width} px screen`);
      assert.equal(await page.locator('script').count(), 0, `${step}: the page has no script`);
    };

    const flow = await startFlow(server, 'tv');

    await page.goto(flow.verificationUri);
    assert.equal(await heading(page), 'Sign in to connect a device');
    await checkScreen('sign-in-form');

    await tabTo(page, page.getByLabel('Username'));
    await page.keyboard.type('alice');
    await tabTo(page, page.getByLabel('Password'));
    await page.keyboard.type(PASSWORD);
    await submitAndWait(page, () => page.keyboard.press('Enter'));
    assert.equal(await heading(page), 'Connect a device', `after sign-in: ${await alertText(page)}`);
    await checkScreen('code-entry-form');

    // A mistyped code first: the message screen must work the same way.
    await tabTo(page, page.getByLabel('Enter the code shown on your device'));
    await page.keyboard.type(unissuedUserCode([flow.userCode]));
    await submitAndWait(page, () => page.keyboard.press('Enter'));
    assert.match(await alertText(page), /^Code not found/);
    await checkScreen('code-not-found');

    const codeField = page.getByLabel('Enter the code shown on your device');
    await tabTo(page, codeField);
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type(flow.userCode.toLowerCase());
    await submitAndWait(page, () => page.keyboard.press('Enter'));
    assert.equal(await heading(page), CONFIRM_TITLE, `after the code: ${await alertText(page)}`);
    await checkScreen('confirm-screen');

    const offlineAccess = page.getByRole('checkbox', { name: /^offline_access / });
    await tabTo(page, offlineAccess);
    await page.keyboard.press('Space');
    assert.equal(await offlineAccess.isChecked(), false, 'Space unticks offline_access');
    await checkScreen('offline-access-unticked');

    await tabTo(page, page.getByRole('button', { name: 'Approve' }));
    await submitAndWait(page, () => page.keyboard.press('Space'));
    assert.equal(await heading(page), 'Device approved', `after Approve: ${await alertText(page)}`);
    await checkScreen('approved');

    const tokenResponse = await flow.poll();
    assert.equal(tokenResponse.status, 200, JSON.stringify(tokenResponse.body));
    assert.equal(tokenResponse.body.scope, 'profile');
    const me = await userinfo(server, tokenResponse.body.access_token);
    assert.equal(me.body.username, 'alice');
  });

  test('deny by keyboard without JavaScript', async (t) => {
    const { page, shots } = await openTestBrowser(t, { javaScriptEnabled: false, viewport: PHONE, isMobile: true, hasTouch: true });
    const flow = await startFlow(server, 'tv');

    await page.goto(flow.verificationUriComplete);
    await tabTo(page, page.getByLabel('Username'));
    await page.keyboard.type('alice');
    await tabTo(page, page.getByLabel('Password'));
    await page.keyboard.type(PASSWORD);
    await submitAndWait(page, () => page.keyboard.press('Enter'));
    assert.equal(await heading(page), CONFIRM_TITLE, `after sign-in: ${await alertText(page)}`);
    await shots.take(page, 'confirm-screen');

    await tabTo(page, page.getByRole('button', { name: 'Deny' }));
    await submitAndWait(page, () => page.keyboard.press('Enter'));
    assert.equal(await heading(page), 'Request denied');
    await shots.take(page, 'denied');
    assert.ok((await documentScrollWidth(page)) <= PHONE.width, 'no sideways scrolling');

    const tokenResponse = await flow.poll();
    assert.equal(tokenResponse.body.error, 'access_denied');
  });

  test('sign-in error keeps labels on phone', async (t) => {
    const { page, shots } = await openTestBrowser(t, { viewport: PHONE, isMobile: true, hasTouch: true });

    await page.goto(server.url('/device'));
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('wrong password');
    await submitAndWait(page, () => page.getByLabel('Password').press('Enter'));
    await shots.take(page, 'sign-in-failed');

    assert.equal(await heading(page), 'Sign in to connect a device');
    assert.match(await alertText(page), /Invalid username or password/);
    assert.deepEqual(await unlabelledControls(page), []);
    assert.ok((await documentScrollWidth(page)) <= PHONE.width, 'no sideways scrolling');
  });
});
