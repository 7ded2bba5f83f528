// The whole sign-in as a person does it: `devauth login --json` runs in the background against
// devauthd, headless Chromium opens the prefilled link, signs in and clicks Approve, and the
// CLI exits 0 holding a token that /oauth/userinfo accepts.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { CONFIRM_TITLE, decide, heading, openTestBrowser, submitSignIn } from './support/browser.mjs';
import { userinfo } from './support/device.mjs';
import { REPO_ROOT } from './support/paths.mjs';
import { startServer } from './support/server.mjs';

const DEVAUTH = process.env.DEVAUTH_BIN ?? path.join(REPO_ROOT, 'target', 'debug', 'devauth');
const LOGIN_TIMEOUT_MS = 60_000;

/** Environment for the CLI: its own token folder and none of the caller's DEVAUTH_* settings. */
function cliEnv(home) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('DEVAUTH_')));
  return { ...env, DEVAUTH_HOME: home };
}

/** Resolves with the first JSON line the child writes to stdout, and collects the rest. */
function jsonLines(child) {
  const lines = [];
  let buffer = '';
  let notify;
  const first = new Promise((resolve) => {
    notify = resolve;
  });
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buffer += chunk;
    let newline;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buffer.slice(0, newline)));
      buffer = buffer.slice(newline + 1);
      notify(lines[0]);
    }
  });
  return { first, lines };
}

describe('devauth login approved in a browser', () => {
  let server;
  let home;

  before(async () => {
    assert.ok(existsSync(DEVAUTH), `${DEVAUTH} not found: run \`cargo build -p devauth\` first`);
    server = await startServer('cli-login');
    server.addUser('alice');
    home = mkdtempSync(path.join(tmpdir(), 'devauth-cli-home-'));
  });

  after(async () => {
    await server?.stop();
    if (home) {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test('login json then browser approve then token', async (t) => {
    const login = spawn(DEVAUTH, ['login', '--json', '--server', server.baseUrl], {
      env: cliEnv(home),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    login.stderr.setEncoding('utf8');
    login.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const exited = new Promise((resolve) => login.once('exit', (code) => resolve(code)));
    const timer = setTimeout(() => login.kill('SIGKILL'), LOGIN_TIMEOUT_MS);
    t.after(() => {
      clearTimeout(timer);
      if (login.exitCode === null) {
        login.kill('SIGKILL');
      }
    });

    const { first, lines } = jsonLines(login);
    const pending = await first;
    assert.match(pending.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    assert.equal(pending.verification_uri, server.url('/device'));
    assert.ok(Number.isInteger(pending.expires_in), JSON.stringify(pending));
    assert.ok(Number.isInteger(pending.interval), JSON.stringify(pending));
    assert.equal(pending.device_code, undefined, 'the device code stays private');

    const { page, shots } = await openTestBrowser(t);
    await page.goto(pending.verification_uri_complete);
    await shots.take(page, 'sign-in-with-code');
    await submitSignIn(page, 'alice');
    assert.equal(await heading(page), CONFIRM_TITLE);
    await shots.take(page, 'confirm-screen');
    await decide(page, 'Approve');
    assert.equal(await heading(page), 'Device approved');
    await shots.take(page, 'approved');

    const code = await exited;
    assert.equal(code, 0, `devauth login exited ${code}: ${stderr}`);
    assert.equal(lines.length, 2, JSON.stringify(lines));
    assert.equal(lines[1].status, 'authorized', JSON.stringify(lines[1]));
    assert.ok(!JSON.stringify(lines).includes('dva_'), 'no access token in the JSON output');
    assert.ok(!JSON.stringify(lines).includes('dvr_'), 'no refresh token in the JSON output');
    assert.match(stderr, new RegExp(`enter code: ${pending.user_code}`, 'i'));

    const token = spawnSync(DEVAUTH, ['token', '--server', server.baseUrl], { env: cliEnv(home), encoding: 'utf8', timeout: 30_000 });
    assert.equal(token.status, 0, token.stderr);
    const accessToken = token.stdout.trim();
    assert.match(accessToken, /^dva_/);
    const info = await userinfo(server, accessToken);
    assert.equal(info.status, 200);
    assert.equal(info.body.username, 'alice');
    assert.equal(info.body.client_id, 'devauth');
  });
});
