// Headless Chromium from the distribution package, driven by playwright-core, and the steps
// a person takes on the verification page.

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { chromium } from 'playwright-core';

import { ARTIFACTS_DIR } from './paths.mjs';
import { PASSWORD } from './server.mjs';

/** Debian's chromium package. The suite never downloads a browser of its own. */
export const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

const LAUNCH_TIMEOUT_MS = 30_000;
const ACTION_TIMEOUT_MS = 10_000;
const NAVIGATION_TIMEOUT_MS = 15_000;

/** Heading of the confirm screen. */
export const CONFIRM_TITLE = 'Approve this device?';

/**
 * Launches Chromium with a fresh user-data folder, so no cookie or cache is shared between
 * tests. `options` go to the browser context (`viewport`, `javaScriptEnabled`, …). Returns
 * `{ context, page, close }`, where `close` ends the browser and removes the folder.
 */
export async function openBrowser(options = {}) {
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'devauth-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: LAUNCH_TIMEOUT_MS,
    ...options,
  });
  context.setDefaultTimeout(ACTION_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(NAVIGATION_TIMEOUT_MS);
  const page = context.pages()[0] ?? (await context.newPage());
  const close = async () => {
    try {
      await context.close();
    } finally {
      rmSync(userDataDir, { recursive: true, force: true });
    }
  };
  return { context, page, close };
}

/**
 * Numbered full-page screenshots in `artifacts/browser/<test-name>/NN-step.png`, where the
 * folder is the test's name in lowercase with dashes. The folder is emptied first, so it
 * shows only the latest run.
 */
export class Screenshots {
  constructor(testName) {
    const folder = testName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
    this.dir = path.join(ARTIFACTS_DIR, folder);
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir, { recursive: true });
    this.count = 0;
  }

  /** Saves a screenshot of `page` named after `step`. */
  async take(page, step) {
    this.count += 1;
    const number = String(this.count).padStart(2, '0');
    const file = path.join(this.dir, `${number}-${step}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  }
}

/**
 * Opens a browser for the node:test test `t` (see `openBrowser` for `options`) with a
 * `Screenshots` folder named after the test. When the test ends, pass or fail, a last
 * screenshot `NN-end.png` shows where it stopped, and the browser is closed.
 */
export async function openTestBrowser(t, options = {}) {
  const shots = new Screenshots(t.name);
  const browser = await openBrowser(options);
  t.after(async () => {
    try {
      await shots.take(browser.page, 'end');
    } catch {
      // The page may already be gone; the step screenshots are still there.
    } finally {
      await browser.close();
    }
  });
  return { ...browser, shots };
}

/** Returns the text of the page's only `h1`. */
export async function heading(page) {
  return (await page.locator('h1').innerText()).trim();
}

/** Returns the text of the page's error message, or `undefined` when it shows none. */
export async function alertText(page) {
  const alert = page.getByRole('alert');
  if ((await alert.count()) === 0) {
    return undefined;
  }
  return (await alert.innerText()).trim();
}

/** Returns how many Approve buttons the page has. */
export async function approveButtonCount(page) {
  return page.getByRole('button', { name: 'Approve' }).count();
}

/**
 * Runs `action` (a click or key press that submits a form) and waits until the next page has
 * loaded. Waiting for the load state alone could return at once, on the page being left.
 */
export async function submitAndWait(page, action) {
  const loaded = page.waitForEvent('load');
  await action();
  await loaded;
}

/**
 * Fills and submits the sign-in form the page shows, then checks that the next page is
 * signed in. A failed sign-in throws with the page's title and message, so every test that
 * needs a session fails at that step with the server's reason.
 */
export async function submitSignIn(page, username) {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await submitAndWait(page, () => page.getByRole('button', { name: 'Sign in' }).click());
  if ((await page.getByText(`Signed in as ${username}`).count()) === 0) {
    throw new Error(`sign-in as ${username} failed: the page shows "${await heading(page)}": ${await alertText(page)}`);
  }
}

/** Opens `/device` and signs in, which leads to the code entry form. */
export async function signIn(page, server, username) {
  await page.goto(server.url('/device'));
  await submitSignIn(page, username);
}

/** Types `input` into the code entry form and submits it with Continue. */
export async function enterCode(page, input) {
  await page.getByLabel('Enter the code shown on your device').fill(input);
  await submitAndWait(page, () => page.getByRole('button', { name: 'Continue' }).click());
}

/** Clicks Approve or Deny on the confirm screen and waits for the outcome page. */
export async function decide(page, buttonName) {
  await submitAndWait(page, () => page.getByRole('button', { name: buttonName }).click());
}

/**
 * Presses Tab until `locator` has the keyboard focus, at most `maxPresses` times, as a person
 * moving through the page without a mouse.
 */
export async function tabTo(page, locator, maxPresses = 30) {
  for (let presses = 0; presses <= maxPresses; presses += 1) {
    if (await locator.evaluate((element) => element === document.activeElement)) {
      return;
    }
    await page.keyboard.press('Tab');
  }
  throw new Error(`${locator} did not get the focus after ${maxPresses} presses of Tab`);
}

/**
 * Returns a description of every visible form control without an accessible label: no
 * `<label>`, no `aria-label` and no `aria-labelledby`. Hidden inputs are not shown, so they
 * need none.
 */
export async function unlabelledControls(page) {
  return page.locator('input:not([type=hidden]), select, textarea').evaluateAll((controls) =>
    controls
      .filter((control) => control.labels.length === 0 && !control.getAttribute('aria-label') && !control.getAttribute('aria-labelledby'))
      .map((control) => control.outerHTML),
  );
}

/** Returns the page's full width in CSS pixels. More than the viewport width means sideways scrolling. */
export async function documentScrollWidth(page) {
  return page.evaluate(() => document.documentElement.scrollWidth);
}
