// Codes that cannot be approved: expired, unknown, malformed, already approved, already used
// and denied, and any code once too many wrong ones were entered. Each gets a clear message and
// never the confirm screen, whether typed or opened from a prefilled link.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  CONFIRM_TITLE,
  alertText,
  approveButtonCount,
  decide,
  enterCode,
  heading,
  openTestBrowser,
  signIn,
} from './support/browser.mjs';
import { startFlow, unissuedUserCode } from './support/device.mjs';
import { startServer } from './support/server.mjs';

/** Device code lifetime of the short-lived client, in seconds. */
const SHORT_LIFETIME_SECS = 2;

/** Upper bound on the wrong codes the limit test enters before it expects the lockout. */
const MAX_WRONG_CODES = 20;

/** Asserts that `page` shows no confirm screen: another title, and no Approve or Deny button. */
async function assertNoConfirmScreen(page, label) {
  assert.notEqual(await heading(page), CONFIRM_TITLE, label);
  assert.equal(await approveButtonCount(page), 0, `${label}: no Approve button`);
  assert.equal(await page.getByRole('button', { name: 'Deny' }).count(), 0, `${label}: no Deny button`);
  assert.equal(await page.getByRole('checkbox').count(), 0, `${label}: no scope checkboxes`);
}

describe('code errors', () => {
  let server;
  const issuedCodes = [];

  before(async () => {
    server = await startServer('code-errors');
    server.addUser('alice');
    server.addClient('tv', { name: 'Living Room TV', interval: 1 });
    server.addClient('short-lived', { name: 'Short-lived TV', interval: 1, deviceCodeLifetime: SHORT_LIFETIME_SECS });
  });

  after(async () => {
    await server?.stop();
  });

  test('expired code shows message', async (t) => {
    const { page, shots } = await openTestBrowser(t);
    const flow = await startFlow(server, 'short-lived');
    issuedCodes.push(flow.userCode);
    assert.equal(flow.expiresIn, SHORT_LIFETIME_SECS);

    await signIn(page, server, 'alice');
    await sleep(SHORT_LIFETIME_SECS * 1000 + 1000);

    await enterCode(page, flow.userCode);
    await shots.take(page, 'typed-expired-code');
    assert.equal(await heading(page), 'Code expired');
    assert.match(await alertText(page), /expired/i);
    await assertNoConfirmScreen(page, 'typed expired code');

    await page.goto(flow.verificationUriComplete);
    await shots.take(page, 'prefilled-expired-code');
    assert.equal(await heading(page), 'Code expired');
    await assertNoConfirmScreen(page, 'prefilled expired code');

    const tokenResponse = await flow.poll();
    assert.equal(tokenResponse.status, 400);
    assert.equal(tokenResponse.body.error, 'expired_token');
  });

  test('unknown code shows message', async (t) => {
    const { page, shots } = await openTestBrowser(t);
    const flow = await startFlow(server, 'tv');
    issuedCodes.push(flow.userCode);
    const unknown = unissuedUserCode(issuedCodes);

    await signIn(page, server, 'alice');
    await enterCode(page, unknown);
    await shots.take(page, 'typed-unknown-code');
    assert.match(await alertText(page), /^Code not found/);
    await assertNoConfirmScreen(page, 'typed unknown code');
    assert.equal(await page.getByLabel('Enter the code shown on your device').inputValue(), unknown, 'the typed code stays in the field to correct it');

    await page.goto(server.url(`/device?user_code=${unknown}`));
    await shots.take(page, 'prefilled-unknown-code');
    assert.match(await alertText(page), /^Code not found/);
    await assertNoConfirmScreen(page, 'prefilled unknown code');

    const pending = await flow.poll();
    assert.equal(pending.body.error, 'authorization_pending', 'the live code is untouched');
  });

  test('malformed code shows message', async (t) => {
    const { page, shots } = await openTestBrowser(t);

    await signIn(page, server, 'alice');
    const malformed = {
      'too short': 'WDJB-MJH',
      'too long': 'WDJB-MJHTX',
      vowel: 'WDJB-MJHA',
      digit: 'WDJB-MJH0',
      'non-ascii': 'WDJB-MJHŢ',
    };
    for (const [kind, input] of Object.entries(malformed)) {
      await page.goto(server.url('/device'));
      await enterCode(page, input);
      await shots.take(page, `typed-${kind.replace(/ /g, '-')}`);
      assert.match(await alertText(page), /not a valid code/, `${kind} ${JSON.stringify(input)}`);
      await assertNoConfirmScreen(page, `${kind} ${JSON.stringify(input)}`);
    }
  });

  test('already used code shows message', async (t) => {
    const { page, shots } = await openTestBrowser(t);
    const flow = await startFlow(server, 'tv');
    issuedCodes.push(flow.userCode);

    await signIn(page, server, 'alice');
    await enterCode(page, flow.userCode);
    await decide(page, 'Approve');
    assert.equal(await heading(page), 'Device approved', `${await alertText(page)}`);

    // Approved but not yet redeemed.
    await page.goto(server.url('/device'));
    await enterCode(page, flow.userCode);
    await shots.take(page, 'typed-approved-code');
    assert.equal(await heading(page), 'Already approved');
    await assertNoConfirmScreen(page, 'approved code');

    const tokenResponse = await flow.poll();
    assert.equal(tokenResponse.status, 200, JSON.stringify(tokenResponse.body));

    await page.goto(server.url('/device'));
    await enterCode(page, flow.userCode);
    await shots.take(page, 'typed-used-code');
    assert.equal(await heading(page), 'Code already used');
    assert.match(await alertText(page), /already used/);
    await assertNoConfirmScreen(page, 'typed used code');

    await page.goto(flow.verificationUriComplete);
    await shots.take(page, 'prefilled-used-code');
    assert.equal(await heading(page), 'Code already used');
    await assertNoConfirmScreen(page, 'prefilled used code');
  });

  test('denied code shows message', async (t) => {
    const { page, shots } = await openTestBrowser(t);
    const flow = await startFlow(server, 'tv');
    issuedCodes.push(flow.userCode);

    await signIn(page, server, 'alice');
    await enterCode(page, flow.userCode);
    await decide(page, 'Deny');
    assert.equal(await heading(page), 'Request denied', `${await alertText(page)}`);

    await page.goto(server.url('/device'));
    await enterCode(page, flow.userCode);
    await shots.take(page, 'typed-denied-code');
    assert.equal(await heading(page), 'Request denied');
    assert.match(await alertText(page), /denied/);
    await assertNoConfirmScreen(page, 'typed denied code');
  });
});

// Wrong codes count per account, per session and per client address, and every test here
// comes from 127.0.0.1. This suite has its own server, so the lockout cannot reach the others.
describe('code entry limit', () => {
  let server;

  before(async () => {
    server = await startServer('code-entry-limit');
    server.addUser('alice');
    server.addClient('tv', { name: 'Living Room TV', interval: 1 });
  });

  after(async () => {
    await server?.stop();
  });

  test('wrong codes lock code entry', async (t) => {
    const { page, shots } = await openTestBrowser(t);
    const flow = await startFlow(server, 'tv');
    const issued = [flow.userCode];

    await signIn(page, server, 'alice');
    let wrongCodes = 0;
    while (wrongCodes < MAX_WRONG_CODES) {
      const wrong = unissuedUserCode(issued);
      issued.push(wrong);
      await page.goto(server.url('/device'));
      await enterCode(page, wrong);
      if (/Too many/.test(await heading(page))) {
        break;
      }
      assert.match(await alertText(page), /^Code not found/, `wrong code ${wrongCodes + 1}`);
      wrongCodes += 1;
    }
    await shots.take(page, 'locked');
    assert.match(await heading(page), /Too many wrong codes/, `no lockout after ${wrongCodes} wrong codes`);
    assert.ok(wrongCodes >= 1, 'the first wrong code gets "Code not found", not the lockout');
    t.diagnostic(`code entry locked after ${wrongCodes} wrong codes`);
    await assertNoConfirmScreen(page, 'wrong code while locked');

    await page.goto(server.url('/device'));
    await enterCode(page, flow.userCode);
    await shots.take(page, 'right-code-while-locked');
    assert.match(await heading(page), /Too many wrong codes/, 'the right code is refused while locked');
    await assertNoConfirmScreen(page, 'right code while locked');

    await page.goto(flow.verificationUriComplete);
    await shots.take(page, 'prefilled-link-while-locked');
    assert.match(await heading(page), /Too many wrong codes/, 'the prefilled link is refused while locked');
    await assertNoConfirmScreen(page, 'prefilled link while locked');

    const pending = await flow.poll();
    assert.equal(pending.body.error, 'authorization_pending', 'the live code is untouched');
  });
});
