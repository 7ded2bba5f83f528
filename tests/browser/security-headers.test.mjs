// The page's defenses as the browser applies them: response headers on every screen, the
// session cookie's attributes, framing from another origin, and forms posted from another
// origin (CSRF). The other origin is a Node HTTP server on a second loopback port.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  CONFIRM_TITLE,
  alertText,
  decide,
  enterCode,
  heading,
  openTestBrowser,
  signIn,
  submitAndWait,
} from './support/browser.mjs';
import { startFlow } from './support/device.mjs';
import { escapeAttribute, startOtherOrigin } from './support/other-origin.mjs';
import { startServer } from './support/server.mjs';

const FRAME_TIMEOUT_MS = 10_000;

/** Parses a Content-Security-Policy header into a map from directive to its source list. */
function parseCsp(header) {
  const directives = new Map();
  for (const part of header.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) {
      directives.set(name.toLowerCase(), sources);
    }
  }
  return directives;
}

/**
 * Returns the URL of a frame once Chromium has replaced a blocked page with its error page, or
 * the frame's URL after FRAME_TIMEOUT_MS. The CSP violation is reported before the swap.
 */
async function blockedFrameUrl(frame) {
  const deadline = Date.now() + FRAME_TIMEOUT_MS;
  while (!frame.url().startsWith('chrome-error:') && Date.now() < deadline) {
    await sleep(100);
  }
  return frame.url();
}

/** Asserts the headers every verification page must carry. */
function assertPageHeaders(headers, label) {
  const csp = headers['content-security-policy'];
  assert.ok(csp, `${label}: Content-Security-Policy is set`);
  const directives = parseCsp(csp);
  const scriptSources = directives.get('script-src') ?? directives.get('default-src');
  assert.ok(scriptSources, `${label}: CSP restricts scripts with script-src or default-src: ${csp}`);
  for (const unsafe of ["'unsafe-inline'", "'unsafe-eval'", '*', 'data:', 'http:', 'https:']) {
    assert.ok(!scriptSources.includes(unsafe), `${label}: script sources allow ${unsafe}: ${csp}`);
  }
  assert.deepEqual(directives.get('frame-ancestors'), ["'none'"], `${label}: frame-ancestors 'none': ${csp}`);
  assert.equal(headers['x-content-type-options'], 'nosniff', `${label}: X-Content-Type-Options`);
  assert.equal(headers['referrer-policy'], 'no-referrer', `${label}: Referrer-Policy`);
  assert.match(headers['cache-control'] ?? '', /\bno-store\b/, `${label}: Cache-Control`);
}

describe('security headers', () => {
  let server;
  let other;
  /** The other origin's pages by path. Each test adds the pages it needs. */
  const otherPages = {};

  before(async () => {
    server = await startServer('security-headers');
    server.addUser('alice');
    server.addUser('mallory');
    server.addClient('tv', { name: 'Living Room TV', interval: 1 });
    other = await startOtherOrigin(otherPages);
  });

  after(async () => {
    await other?.close();
    await server?.stop();
  });

  test('headers before sign-in', async (t) => {
    const { context, page, shots } = await openTestBrowser(t);
    const flow = await startFlow(server, 'tv');
    const stylesheets = [];
    page.on('response', (response) => {
      if (response.request().resourceType() === 'stylesheet') {
        stylesheets.push(response);
      }
    });

    const signInForm = await page.goto(server.url('/device'));
    await shots.take(page, 'sign-in-form');
    assertPageHeaders(signInForm.headers(), 'GET /device');

    const prefilled = await page.goto(flow.verificationUriComplete);
    await shots.take(page, 'sign-in-form-with-code');
    assertPageHeaders(prefilled.headers(), 'GET /device?user_code=…');

    assert.ok(stylesheets.length >= 1, 'the page loads its stylesheet');
    for (const response of stylesheets) {
      assert.equal(response.status(), 200, 'stylesheet status');
      assert.equal(response.headers()['x-content-type-options'], 'nosniff', 'stylesheet X-Content-Type-Options');
    }

    const cookies = await context.cookies(server.baseUrl);
    const session = cookies.find((cookie) => cookie.name === 'devauth_session');
    assert.ok(session, `session cookie set: ${JSON.stringify(cookies.map((cookie) => cookie.name))}`);
    assert.equal(session.httpOnly, true, 'HttpOnly');
    assert.equal(session.sameSite, 'Lax', 'SameSite=Lax');
    assert.equal(session.secure, false, 'no Secure attribute on a plain http issuer');
    assert.equal(await page.evaluate(() => document.cookie), '', 'scripts cannot read the session cookie');
  });

  test('headers on every screen', async (t) => {
    const { context, page, shots } = await openTestBrowser(t);
    const documents = [];
    page.on('response', (response) => {
      if (response.request().resourceType() === 'document') {
        documents.push(response);
      }
    });
    const flow = await startFlow(server, 'tv');

    await signIn(page, server, 'alice');
    await shots.take(page, 'code-entry-form');
    await enterCode(page, 'WDJB-MJHA');
    await shots.take(page, 'invalid-code');
    await enterCode(page, flow.userCode);
    assert.equal(await heading(page), CONFIRM_TITLE, `${await alertText(page)}`);
    await shots.take(page, 'confirm-screen');
    await decide(page, 'Approve');
    await shots.take(page, 'approved');

    // GET /device, the sign-in POST and its redirect, two code entries and the decision.
    assert.ok(documents.length >= 6, `saw ${documents.length} page loads`);
    for (const response of documents) {
      const label = `${response.request().method()} ${new URL(response.url()).pathname} (${response.status()})`;
      assertPageHeaders(response.headers(), label);
    }

    // Signing in replaces the session, and the new cookie has the same attributes.
    const cookies = await context.cookies(server.baseUrl);
    const session = cookies.find((cookie) => cookie.name === 'devauth_session');
    assert.ok(session, 'session cookie set after sign-in');
    assert.equal(session.httpOnly, true, 'HttpOnly after sign-in');
    assert.equal(session.sameSite, 'Lax', 'SameSite=Lax after sign-in');
  });

  test('framing signed-out page blocked', async (t) => {
    const { page, shots } = await openTestBrowser(t);
    otherPages['/own'] = '<!DOCTYPE html><h1>Own frame</h1>';
    otherPages['/frame-sign-in'] = `<!DOCTYPE html><title>Framing test</title>
      <iframe id="own" src="/own" width="400" height="200"></iframe>
      <iframe id="device" src="${escapeAttribute(server.url('/device'))}" width="400" height="600"></iframe>`;

    const cspViolation = page.waitForEvent('console', {
      predicate: (message) => message.text().includes('frame-ancestors'),
      timeout: FRAME_TIMEOUT_MS,
    });
    await page.goto(other.url('/frame-sign-in'));
    const violationText = (await cspViolation).text();
    await shots.take(page, 'framing-page');

    assert.equal(await page.frameLocator('#own').locator('h1').innerText(), 'Own frame', 'frames load on this page at all');
    assert.match(violationText, /frame-ancestors 'none'/);
    const deviceFrame = await (await page.locator('#device').elementHandle()).contentFrame();
    assert.ok(deviceFrame, 'the iframe element has a frame');
    const frameUrl = await blockedFrameUrl(deviceFrame);
    assert.match(frameUrl, /^chrome-error:/, `expected Chromium's error page in the frame, got ${frameUrl}`);
    assert.equal(await deviceFrame.getByLabel('Password').count(), 0, 'no password field inside the frame');
  });

  test('framing confirm screen blocked', async (t) => {
    const { page, shots } = await openTestBrowser(t);
    const flow = await startFlow(server, 'tv');

    // Signed in, the framed confirm screen would be a clickjacking target.
    await signIn(page, server, 'alice');
    otherPages['/own'] = '<!DOCTYPE html><h1>Own frame</h1>';
    otherPages['/frames'] = `<!DOCTYPE html><title>Framing test</title>
      <iframe id="own" src="/own" width="400" height="200"></iframe>
      <iframe id="device" src="${escapeAttribute(flow.verificationUriComplete)}" width="400" height="600"></iframe>`;

    const cspViolation = page.waitForEvent('console', {
      predicate: (message) => message.text().includes('frame-ancestors'),
      timeout: FRAME_TIMEOUT_MS,
    });
    await page.goto(other.url('/frames'));
    const violationText = (await cspViolation).text();
    await shots.take(page, 'framing-page');

    assert.equal(await page.frameLocator('#own').locator('h1').innerText(), 'Own frame', 'frames load on this page at all');
    assert.match(violationText, /frame-ancestors 'none'/);

    const deviceFrame = await (await page.locator('#device').elementHandle()).contentFrame();
    assert.ok(deviceFrame, 'the iframe element has a frame');
    const frameUrl = await blockedFrameUrl(deviceFrame);
    assert.match(frameUrl, /^chrome-error:/, `expected Chromium's error page in the frame, got ${frameUrl}`);
    assert.equal(await deviceFrame.getByRole('button', { name: 'Approve' }).count(), 0, 'no Approve button inside the frame');
    assert.equal(await deviceFrame.getByText(flow.userCode).count(), 0, 'the code does not show inside the frame');

    const tokenResponse = await flow.poll();
    assert.equal(tokenResponse.body.error, 'authorization_pending');
  });

  test('forms from another origin rejected', async (t) => {
    const { page, shots } = await openTestBrowser(t);
    const flow = await startFlow(server, 'tv');

    // The victim is signed in, so the browser sends the session cookie along: the other
    // origin is on the same host, hence the same site for SameSite=Lax.
    await signIn(page, server, 'alice');
    const decision = escapeAttribute(server.url('/device/decision'));
    const signInUrl = escapeAttribute(server.url('/device/sign-in'));
    otherPages['/csrf'] = `<!DOCTYPE html><title>Win a prize</title>
      <form method="post" action="${decision}">
        <input type="hidden" name="user_code" value="${flow.userCode}">
        <input type="hidden" name="scope" value="profile">
        <input type="hidden" name="scope" value="offline_access">
        <button name="decision" value="approve">Approve without token</button>
      </form>
      <form method="post" action="${decision}">
        <input type="hidden" name="csrf_token" value="forged-token-forged-token-forged-token-for">
        <input type="hidden" name="user_code" value="${flow.userCode}">
        <input type="hidden" name="scope" value="profile">
        <button name="decision" value="approve">Approve with forged token</button>
      </form>
      <form method="post" action="${signInUrl}">
        <input type="hidden" name="username" value="mallory">
        <input type="hidden" name="password" value="correct horse battery staple">
        <button>Sign in as the attacker</button>
      </form>`;

    for (const button of ['Approve without token', 'Approve with forged token', 'Sign in as the attacker']) {
      await page.goto(other.url('/csrf'));
      const response = page.waitForResponse((candidate) => candidate.request().method() === 'POST');
      await submitAndWait(page, () => page.getByRole('button', { name: button }).click());
      const status = (await response).status();
      await shots.take(page, button.toLowerCase().replace(/ /g, '-'));
      assert.equal(status, 403, `${button}: status`);
      assert.equal(await heading(page), 'Request rejected', `${button}: ${await alertText(page)}`);
    }

    const tokenResponse = await flow.poll();
    assert.equal(tokenResponse.body.error, 'authorization_pending', 'nothing was approved');

    await page.goto(server.url('/device'));
    assert.equal(await page.getByText('Signed in as alice').count(), 1, 'still signed in as the victim');
  });
});
