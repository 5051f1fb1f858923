// Test harness for the browser tests: a real redis-server and the real cachepanel binary,
// each on a free loopback port, and headless Debian Chromium driven by playwright-core.
import { spawn, execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(check, what, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${lastError.message}` : ''}`);
}

export class RedisServer {
  /** `extraArgs`: more redis-server options (`['--maxmemory', '512mb']`). */
  static async start(extraArgs = []) {
    const redis = new RedisServer(await freePort(), extraArgs);
    await redis.startProcess();
    return redis;
  }

  constructor(port, extraArgs = []) {
    this.port = port;
    this.extraArgs = extraArgs;
    this.dir = mkdtempSync(join(tmpdir(), 'cachepanel-e2e-redis-'));
  }

  get url() {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  async startProcess() {
    this.process = spawn('redis-server', [
      '--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--dir', this.dir, ...this.extraArgs,
    ], { stdio: 'ignore' });
    await waitFor(() => this.cli('PING') === 'PONG', `redis-server on ${this.port}`);
  }

  /** Runs one command with redis-cli and returns its raw output, trimmed. */
  cli(...args) {
    return execFileSync('redis-cli', ['-p', String(this.port), ...args], { encoding: 'utf8' }).trim();
  }

  /** Runs many commands (one per line) through one redis-cli. */
  batch(lines) {
    execFileSync('redis-cli', ['-p', String(this.port)], { input: `${lines.join('\n')}\n`, encoding: 'utf8' });
  }

  async stop() {
    if (!this.process) return;
    const exited = new Promise((resolve) => this.process.once('exit', resolve));
    this.process.kill('SIGKILL');
    await exited;
    this.process = undefined;
  }

  async restart() {
    await this.stop();
    await this.startProcess();
  }

  async close() {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The admin's SECRET_KEY in the browser tests. */
export const TEST_JWT_SECRET = 'e2e-secret-for-browser-tests-0123456789';

const base64url = (data) => Buffer.from(data).toString('base64url');

/** An HS256 JWT, minted the way the admin (PyJWT) mints its access_token. */
export function mintToken(claims, secret = TEST_JWT_SECRET) {
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = base64url(JSON.stringify(claims));
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

export function tokenFor(role = 'superadmin', userId = 1) {
  const now = Math.floor(Date.now() / 1000);
  return mintToken({ sub: String(userId), role, exp: now + 3600, iat: now, username: `${role}${userId}`, first_name: 'Тест' });
}

/** The admin's session cookie for `app`, as the browser would hold it after logging in. */
export function sessionCookies(app, { role = 'superadmin', userId = 1 } = {}) {
  return [{ name: 'access_token', value: tokenFor(role, userId), url: app.origin, httpOnly: true, sameSite: 'Lax' }];
}

/** A page in a fresh browser context signed in to `app`. */
export async function signedInPage(browser, app, { role, userId, ...contextOptions } = {}) {
  const context = await browser.newContext(contextOptions);
  await context.addCookies(sessionCookies(app, { role, userId }));
  return context.newPage();
}

export class App {
  static async start({ redisUrl, env = {} }) {
    const bin = process.env.CACHEPANEL_BIN;
    if (!bin) throw new Error('CACHEPANEL_BIN must name the built server (make test-e2e sets it)');
    const port = await freePort();
    const app = new App(port);
    app.logs = [];
    app.process = spawn(bin, [], {
      env: {
        ...process.env,
        CACHEPANEL_ADDR: `127.0.0.1:${port}`,
        CACHEPANEL_REDIS_URL: redisUrl,
        CACHEPANEL_LOG: 'info',
        CACHEPANEL_JWT_SECRET: TEST_JWT_SECRET,
        // The kept history adds a key when a minute closes, at a moment no test chooses; the
        // tests count keys exactly. Its own integration test switches it on.
        CACHEPANEL_KEEP_HISTORY: 'false',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [app.process.stdout, app.process.stderr]) {
      stream.on('data', (chunk) => app.logs.push(chunk.toString()));
    }
    await waitFor(async () => (await fetch(`${app.origin}/healthz`)).ok, `cachepanel on ${port}`);
    return app;
  }

  constructor(port) {
    this.port = port;
    this.origin = `http://127.0.0.1:${port}`;
  }

  async close() {
    if (!this.process) return;
    const exited = new Promise((resolve) => this.process.once('exit', resolve));
    this.process.kill('SIGTERM');
    await exited;
  }
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

/** Collects console errors and uncaught page errors, to assert a clean page. */
export function watchErrors(page) {
  const errors = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  return errors;
}
