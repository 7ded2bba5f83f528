// Starts a real devauthd on a loopback port with its own SQLite file, and runs its admin
// commands against the same file.

import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { ARTIFACTS_DIR, REPO_ROOT } from './paths.mjs';

/** Path of the server binary; `cargo build -p devauthd` puts it there. */
export const DEVAUTHD = process.env.DEVAUTHD_BIN ?? path.join(REPO_ROOT, 'target', 'debug', 'devauthd');

const STARTUP_TIMEOUT_MS = 30_000;
const ADMIN_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;
const START_ATTEMPTS = 3;

/** The password of every account the suite creates; devauthd requires at least 8 characters. */
export const PASSWORD = 'correct horse battery staple';

/**
 * Returns the environment for devauthd without any DEVAUTH_* variable of the caller, so a
 * developer's own settings cannot change the server under test.
 */
function serverEnv() {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('DEVAUTH_')) {
      env[key] = value;
    }
  }
  env.RUST_LOG = 'info';
  return env;
}

/**
 * Asks the kernel for a free loopback port. Another process may take it before devauthd
 * binds it, so `startServer` retries on a failed start.
 */
async function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** A running devauthd with its own temporary folder and database. */
export class Server {
  constructor({ dir, port, child, logPath }) {
    this.dir = dir;
    this.port = port;
    this.child = child;
    this.logPath = logPath;
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.databaseUrl = `sqlite://${path.join(dir, 'devauth.db')}`;
  }

  /** Returns the absolute URL of `pathname` on this server. */
  url(pathname) {
    return new URL(pathname, this.baseUrl).toString();
  }

  /** Runs `devauthd --database … ARGS` and returns its stdout; throws with stderr on failure. */
  admin(args, { input } = {}) {
    const result = spawnSync(DEVAUTHD, ['--database', this.databaseUrl, ...args], {
      input,
      env: serverEnv(),
      encoding: 'utf8',
      timeout: ADMIN_TIMEOUT_MS,
    });
    if (result.error) {
      throw new Error(`devauthd ${args.join(' ')} failed to run: ${result.error.message}`);
    }
    if (result.status !== 0) {
      throw new Error(`devauthd ${args.join(' ')} exited with ${result.status}: ${result.stderr}`);
    }
    return result.stdout;
  }

  /** Adds an account with the suite's password. */
  addUser(username) {
    return this.admin(['user', 'add', username], { input: `${PASSWORD}\n` });
  }

  /** Disables an account. */
  disableUser(username) {
    return this.admin(['user', 'disable', username]);
  }

  /** Registers a public client. `interval` and `deviceCodeLifetime` are in seconds. */
  addClient(clientId, { name, scope = 'profile offline_access', interval = 1, deviceCodeLifetime } = {}) {
    const args = ['client', 'add', clientId, '--name', name ?? clientId, '--scope', scope];
    if (interval !== undefined) {
      args.push('--interval', String(interval));
    }
    if (deviceCodeLifetime !== undefined) {
      args.push('--device-code-lifetime', String(deviceCodeLifetime));
    }
    return this.admin(args);
  }

  /**
   * Stops the server by its PID (SIGTERM, then SIGKILL after a timeout) and removes its
   * temporary folder. The server log stays in the artifacts folder.
   */
  async stop() {
    const { child } = this;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(child.pid, 'SIGTERM');
      const timer = sleep(STOP_TIMEOUT_MS).then(() => 'timeout');
      if ((await Promise.race([exited, timer])) === 'timeout') {
        process.kill(child.pid, 'SIGKILL');
        await exited;
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Starts devauthd on a fresh database and waits until `GET /healthz` returns `ok`. The
 * server's log goes to `artifacts/browser/logs/<name>.devauthd.log`.
 */
export async function startServer(name) {
  if (!existsSync(DEVAUTHD)) {
    throw new Error(`${DEVAUTHD} not found: run \`cargo build -p devauthd\` first`);
  }
  const logDir = path.join(ARTIFACTS_DIR, 'logs');
  mkdirSync(logDir, { recursive: true });
  const logPath = path.join(logDir, `${name}.devauthd.log`);
  rmSync(logPath, { force: true });

  let lastError;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt += 1) {
    const dir = mkdtempSync(path.join(tmpdir(), 'devauth-browser-'));
    const port = await freePort();
    const log = createWriteStream(logPath, { flags: 'a' });
    const child = spawn(
      DEVAUTHD,
      ['--database', `sqlite://${path.join(dir, 'devauth.db')}`, 'serve', '--listen', `127.0.0.1:${port}`],
      { env: serverEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    const server = new Server({ dir, port, child, logPath });
    try {
      await waitForHealth(server);
      return server;
    } catch (error) {
      lastError = error;
      await server.stop();
    }
  }
  throw new Error(`devauthd did not start after ${START_ATTEMPTS} attempts: ${lastError?.message}`);
}

async function waitForHealth(server) {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null) {
      throw new Error(`devauthd exited with ${server.child.exitCode}; see ${server.logPath}`);
    }
    try {
      const response = await fetch(server.url('/healthz'), { signal: AbortSignal.timeout(2_000) });
      if (response.ok && (await response.text()) === 'ok') {
        return;
      }
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  throw new Error(`GET /healthz did not return ok within ${STARTUP_TIMEOUT_MS} ms`);
}
