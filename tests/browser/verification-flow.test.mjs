// The verification page's main paths in headless Chromium: typed and prefilled codes, approve,
// deny, Back after a denial, and scopes unticked by the person. The device side polls the
// real token endpoint, so each test checks what the device ends up with.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import {
  CONFIRM_TITLE,
  alertText,
  approveButtonCount,
  decide,
  enterCode,
  heading,
  openTestBrowser,
  signIn,
  submitSignIn,
} from './support/browser.mjs';
import { startFlow, typedVariants, userinfo } from './support/device.mjs';
import { startServer } from './support/server.mjs';

const CLIENT_NAME = 'Living Room TV';

describe('verification flow', () => {
  let server;

  before(async () => {
    server = await startServer('verification-flow');
    server.addUser('alice');
    server.addUser('bob');
    server.addClient('tv', { name: CLIENT_NAME, scope: 'profile offline_access', interval: 1 });
  });

  after(async () => {
    await server?.stop();
  });

  test('typed code variants then approve', async (t) => {
    const { page, shots } = await openTestBrowser(t);

    await page.goto(server.url('/device'));
    assert.equal(await heading(page), 'Sign in to connect a device');
    await shots.take(page, 'sign-in-form');
    await submitSignIn(page, 'alice');
    assert.equal(await heading(page), 'Connect a device', 'sign-in leads to the code entry form');
    await shots.take(page, 'code-entry-form');

    for (const variant of Object.keys(typedVariants('WDJB-MJHT'))) {
      const flow = await startFlow(server, 'tv');
      const typed = typedVariants(flow.userCode)[variant];
      await page.goto(server.url('/device'));
      await enterCode(page, typed);
      const step = variant.replace(/ /g, '-');

      assert.equal(await heading(page), CONFIRM_TITLE, `typed ${variant} ${JSON.stringify(typed)}: ${await alertText(page)}`);
      assert.equal((await page.getByLabel('Code').innerText()).trim(), flow.userCode, `typed ${variant}`);
      await shots.take(page, `confirm-${step}`);

      await decide(page, 'Approve');
      assert.equal(await heading(page), 'Device approved', `typed ${variant}`);
      await shots.take(page, `approved-${step}`);

      const tokenResponse = await flow.poll();
      assert.equal(tokenResponse.status, 200, `typed ${variant}: ${JSON.stringify(tokenResponse.body)}`);
      assert.equal(tokenResponse.body.scope.split(' ').sort().join(' '), 'offline_access profile');
      assert.ok(tokenResponse.body.refresh_token, 'offline_access gives a refresh token');

      const me = await userinfo(server, tokenResponse.body.access_token);
      assert.equal(me.status, 200);
      assert.equal(me.body.username, 'alice');
      assert.equal(me.body.client_id, 'tv');
    }
  });

  test('confirm screen shows the request', async (t) => {
    const { page, shots } = await openTestBrowser(t);
    const flow = await startFlow(server, 'tv');

    await signIn(page, server, 'alice');
    await enterCode(page, flow.userCode);
    await shots.take(page, 'confirm-screen');

    assert.equal(await heading(page), CONFIRM_TITLE);
    assert.equal((await page.getByLabel('Code').innerText()).trim(), flow.userCode);
    const details = await page.locator('dl').innerText();
    assert.match(details, new RegExp(`Application\\s+${CLIENT_NAME} \\(tv\\)`));
    assert.match(details, /Requested\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC/);
    assert.match(details, /From address\s+127\.0\.0\.1/);
    assert.match(await page.getByRole('note').innerText(), /Never approve a code that someone sent you/);
    assert.equal(await page.getByText('Signed in as alice').count(), 1);

    const boxes = page.getByRole('checkbox');
    assert.equal(await boxes.count(), 2);
    for (const scope of ['profile', 'offline_access']) {
      const box = page.getByRole('checkbox', { name: new RegExp(`^${scope} `) });
      assert.equal(await box.isChecked(), true, `${scope} is ticked by default`);
      assert.equal(await box.getAttribute('name'), 'scope');
    }
    assert.equal(await approveButtonCount(page), 1);
    assert.equal(await page.getByRole('button', { name: 'Deny' }).count(), 1);
  });

  test('prefilled link needs Approve click', async (t) => {
    const { page, shots } = await openTestBrowser(t);
    const flow = await startFlow(server, 'tv');
    assert.equal(flow.verificationUriComplete, `${server.baseUrl}/device?user_code=${flow.userCode}`);

    await page.goto(flow.verificationUriComplete);
    assert.equal(await heading(page), 'Sign in to connect a device', 'a signed-out person signs in first');
    await shots.take(page, 'sign-in-with-code');

    await submitSignIn(page, 'alice');
    assert.equal(await heading(page), CONFIRM_TITLE, `after sign-in: ${await alertText(page)}`);
    assert.equal((await page.getByLabel('Code').innerText()).trim(), flow.userCode);
    await shots.take(page, 'confirm-after-sign-in');

    const afterSignIn = await flow.poll();
    assert.equal(afterSignIn.status, 400);
    assert.equal(afterSignIn.body.error, 'authorization_pending', 'signing in with the link approves nothing');

    await page.goto(flow.verificationUriComplete);
    assert.equal(await heading(page), CONFIRM_TITLE, 'opening the link again while signed in');
    await shots.take(page, 'confirm-reopened');

    const afterReopen = await flow.poll();
    assert.equal(afterReopen.status, 400);
    assert.equal(afterReopen.body.error, 'authorization_pending', 'opening the link while signed in approves nothing');

    await decide(page, 'Approve');
    assert.equal(await heading(page), 'Device approved');
    await shots.take(page, 'approved');

    const tokenResponse = await flow.poll();
    assert.equal(tokenResponse.status, 200, JSON.stringify(tokenResponse.body));
    const me = await userinfo(server, tokenResponse.body.access_token);
    assert.equal(me.body.username, 'alice');
  });

  test('lowercase prefilled link reaches confirm', async (t) => {
    const { page, shots } = await openTestBrowser(t);
    const flow = await startFlow(server, 'tv');

    await signIn(page, server, 'alice');
    await page.goto(server.url(`/device?user_code=${flow.userCode.toLowerCase()}`));
    await shots.take(page, 'confirm-screen');

    assert.equal(await heading(page), CONFIRM_TITLE, `${await alertText(page)}`);
    assert.equal((await page.getByLabel('Code').innerText()).trim(), flow.userCode);
  });

  test('deny then Back and Approve', async (t) => {
    // Playwright turns the back/forward cache off by default. A person's Chromium has it on,
    // and it is what brings the stale confirm screen, with its Approve button, back.
    const { context, page, shots } = await openTestBrowser(t, { ignoreDefaultArgs: ['--disable-back-forward-cache'] });
    const flow = await startFlow(server, 'tv');

    await signIn(page, server, 'alice');
    await page.goto(flow.verificationUriComplete);
    assert.equal(await heading(page), CONFIRM_TITLE, `${await alertText(page)}`);
    await shots.take(page, 'confirm-screen');

    // A second tab shows the same confirm screen, so a stale Approve form is at hand even if
    // the browser reloads the page on Back instead of restoring it.
    const otherTab = await context.newPage();
    await otherTab.goto(flow.verificationUriComplete);
    assert.equal(await heading(otherTab), CONFIRM_TITLE);

    await decide(page, 'Deny');
    assert.equal(await heading(page), 'Request denied');
    await shots.take(page, 'denied');

    const afterDeny = await flow.poll();
    assert.equal(afterDeny.status, 400);
    assert.equal(afterDeny.body.error, 'access_denied');

    // goBack waits for no load event when the page comes from the back/forward cache.
    await page.goBack({ waitUntil: 'commit' });
    await page.locator('h1').waitFor();
    await shots.take(page, 'after-back');
    if ((await approveButtonCount(page)) > 0) {
      t.diagnostic('Back restored the stale confirm screen; clicking its Approve button');
      await decide(page, 'Approve');
    } else {
      t.diagnostic('Back reloaded the page from the server');
    }
    assert.equal(await heading(page), 'Request denied', 'after Back (and Approve) the page says denied');
    assert.equal(await approveButtonCount(page), 0);
    await shots.take(page, 'approve-after-back');

    await decide(otherTab, 'Approve');
    assert.equal(await heading(otherTab), 'Request denied', 'Approve from a stale tab');
    await shots.take(otherTab, 'approve-in-other-tab');

    const afterApprove = await flow.poll();
    assert.equal(afterApprove.status, 400);
    assert.equal(afterApprove.body.error, 'access_denied', 'a denial stays final');
  });

  test('account disabled after approval', async (t) => {
    const { page, shots } = await openTestBrowser(t);
    const flow = await startFlow(server, 'tv');

    await signIn(page, server, 'bob');
    await enterCode(page, flow.userCode);
    await decide(page, 'Approve');
    assert.equal(await heading(page), 'Device approved', `${await alertText(page)}`);
    await shots.take(page, 'approved');

    server.disableUser('bob');

    const tokenResponse = await flow.poll();
    assert.equal(tokenResponse.status, 400, JSON.stringify(tokenResponse.body));
    assert.equal(tokenResponse.body.error, 'invalid_grant', 'a disabled account gets no token');

    await page.goto(server.url('/device'));
    await shots.take(page, 'page-after-disable');
    assert.equal(await heading(page), 'Sign in to connect a device', 'the session of a disabled account is signed out');
    await assert.rejects(submitSignIn(page, 'bob'), /sign-in as bob failed/, 'a disabled account cannot sign in');
    await shots.take(page, 'sign-in-refused');
  });

  test('unticked scope left out of token', async (t) => {
    const { page, shots } = await openTestBrowser(t);
    const flow = await startFlow(server, 'tv', 'profile offline_access');

    await signIn(page, server, 'alice');
    await enterCode(page, flow.userCode);
    assert.equal(await heading(page), CONFIRM_TITLE, `${await alertText(page)}`);

    // Approve with every scope unticked is rejected, and the grant stays pending.
    await page.getByRole('checkbox', { name: /^profile / }).uncheck();
    await page.getByRole('checkbox', { name: /^offline_access / }).uncheck();
    await decide(page, 'Approve');
    assert.equal(await heading(page), CONFIRM_TITLE);
    assert.match(await alertText(page), /Tick at least one permission/);
    await shots.take(page, 'nothing-ticked');
    const pending = await flow.poll();
    assert.equal(pending.body.error, 'authorization_pending');

    // The rejected form comes back with every box ticked again.
    await page.getByRole('checkbox', { name: /^offline_access / }).uncheck();
    assert.equal(await page.getByRole('checkbox', { name: /^profile / }).isChecked(), true);
    await shots.take(page, 'offline-access-unticked');
    await decide(page, 'Approve');
    assert.equal(await heading(page), 'Device approved');
    await shots.take(page, 'approved');

    const tokenResponse = await flow.poll();
    assert.equal(tokenResponse.status, 200, JSON.stringify(tokenResponse.body));
    assert.equal(tokenResponse.body.scope, 'profile');
    assert.equal(tokenResponse.body.refresh_token, undefined, 'no refresh token without offline_access');

    const me = await userinfo(server, tokenResponse.body.access_token);
    assert.equal(me.body.scope, 'profile');
  });
});
