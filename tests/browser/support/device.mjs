// The device side of RFC 8628, in plain HTTP: start a flow, poll the token endpoint at the
// advertised interval, and call userinfo with the access token.

import { setTimeout as sleep } from 'node:timers/promises';

const REQUEST_TIMEOUT_MS = 10_000;

/** Extra wait on top of the interval, so clock granularity never makes a poll early. */
const POLL_MARGIN_MS = 250;

const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

async function postForm(url, fields) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`POST ${url} returned ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`);
  }
  return { status: response.status, body };
}

/** One device authorization: its codes and the polling state of RFC 8628 section 3.5. */
export class DeviceFlow {
  constructor(server, clientId, response) {
    this.server = server;
    this.clientId = clientId;
    this.deviceCode = response.device_code;
    this.userCode = response.user_code;
    this.verificationUri = response.verification_uri;
    this.verificationUriComplete = response.verification_uri_complete;
    this.expiresIn = response.expires_in;
    this.intervalMs = response.interval * 1000;
    this.lastPollAt = undefined;
  }

  /**
   * Polls the token endpoint once, first waiting until `interval` seconds have passed since
   * the previous poll so that the response is never `slow_down`. Returns `{ status, body }`.
   */
  async poll() {
    if (this.lastPollAt !== undefined) {
      const wait = this.lastPollAt + this.intervalMs + POLL_MARGIN_MS - Date.now();
      if (wait > 0) {
        await sleep(wait);
      }
    }
    this.lastPollAt = Date.now();
    return postForm(this.server.url('/oauth/device/token'), {
      grant_type: DEVICE_CODE_GRANT,
      device_code: this.deviceCode,
      client_id: this.clientId,
    });
  }

  /**
   * Polls until the response is something other than `authorization_pending`, at most
   * `maxPolls` times, and returns that response.
   */
  async pollUntilDecided(maxPolls = 10) {
    let tokenResponse;
    for (let poll = 0; poll < maxPolls; poll += 1) {
      tokenResponse = await this.poll();
      if (tokenResponse.body.error !== 'authorization_pending') {
        return tokenResponse;
      }
    }
    throw new Error(`still authorization_pending after ${maxPolls} polls: ${JSON.stringify(tokenResponse.body)}`);
  }
}

/** Starts a device authorization for `clientId`; `scope` is sent only when given. */
export async function startFlow(server, clientId, scope) {
  const fields = { client_id: clientId };
  if (scope !== undefined) {
    fields.scope = scope;
  }
  const { status, body } = await postForm(server.url('/oauth/device/code'), fields);
  if (status !== 200) {
    throw new Error(`POST /oauth/device/code for ${clientId} returned ${status}: ${JSON.stringify(body)}`);
  }
  return new DeviceFlow(server, clientId, body);
}

/** Calls `GET /oauth/userinfo` with a bearer token and returns `{ status, body }`. */
export async function userinfo(server, accessToken) {
  const response = await fetch(server.url('/oauth/userinfo'), {
    headers: { authorization: `Bearer ${accessToken}` },
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  return { status: response.status, body: await response.json() };
}

/** Returns `code` (`XXXX-XXXX`) as a person might type it: each variant must be accepted. */
export function typedVariants(code) {
  const letters = code.replace('-', '');
  return {
    'as shown': code,
    lowercase: code.toLowerCase(),
    'without dash': letters,
    'with spaces': `  ${letters.slice(0, 4)} ${letters.slice(4)}  `,
    'with en dash': `${letters.slice(0, 4).toLowerCase()}\u2013${letters.slice(4)}`,
  };
}

/**
 * Returns a well-formed user code that is not in `issued`. The server draws codes from 20^8,
 * so a random one that this suite did not see issued is unknown to it with near certainty.
 */
export function unissuedUserCode(issued) {
  const alphabet = 'BCDFGHJKLMNPQRSTVWXZ';
  for (let attempt = 0; attempt < 100; attempt += 1) {
    let letters = '';
    for (let i = 0; i < 8; i += 1) {
      letters += alphabet[Math.floor(Math.random() * alphabet.length)];
    }
    const code = `${letters.slice(0, 4)}-${letters.slice(4)}`;
    if (!issued.includes(code)) {
      return code;
    }
  }
  throw new Error('no unissued user code found in 100 draws');
}
