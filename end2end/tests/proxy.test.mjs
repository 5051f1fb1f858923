import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, request as forward } from 'node:http';
import { App, RedisServer, freePort, launchBrowser, tokenFor, watchErrors } from '../support/harness.mjs';

// The admin's side of the deployment, as docs/integration.md describes it: one reverse-proxy
// rule (`location /admin/cache/` → cachepanel, prefix kept, X-Forwarded-* set, no buffering)
// and the documented iframe snippet in an admin page. The proxy is a real HTTP server on
// loopback, not a mock: the browser only ever talks to it.

let redis;
let app;
let proxy;
let proxyOrigin;
let browser;

/** The iframe snippet exactly as docs/integration.md prints it. */
function documentedIframeSnippet() {
  const doc = readFileSync(new URL('../../docs/integration.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## 3. The iframe'));
  const snippet = section.match(/```html\n([\s\S]*?)```/);
  assert.ok(snippet, 'docs/integration.md has the iframe snippet');
  return snippet[1].replaceAll('{{ lang }}', 'ru');
}

function adminPage() {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
    <h1>Админка</h1>${documentedIframeSnippet()}</body></html>`;
}

/** `location /admin/cache/ { proxy_pass http://cachepanel; … }`: the path as it is. */
function proxyToCachepanel(request, response) {
  const upstream = forward(
    {
      host: '127.0.0.1',
      port: app.port,
      method: request.method,
      path: request.url,
      headers: {
        ...request.headers,
        'x-forwarded-for': request.socket.remoteAddress,
        'x-forwarded-proto': 'http',
        'x-forwarded-host': request.headers.host,
      },
    },
    (answer) => {
      response.writeHead(answer.statusCode, answer.headers);
      answer.pipe(response); // unbuffered: events pass as they come
    },
  );
  upstream.on('error', () => response.destroy());
  request.pipe(upstream);
}

before(async () => {
  redis = await RedisServer.start();
  const lines = [];
  for (let i = 0; i < 40; i += 1) lines.push(`SET user:${i} u${i} EX 900`);
  lines.push('SET shift:1 s EX 300');
  redis.batch(lines);
  app = await App.start({
    redisUrl: redis.url,
    env: {
      CACHEPANEL_CENSUS_EVERY_SECONDS: '0',
      CACHEPANEL_SAMPLE_INTERVAL_MS: '500',
      CACHEPANEL_TRUST_FORWARDED: 'true',
    },
  });
  const port = await freePort();
  proxyOrigin = `http://127.0.0.1:${port}`;
  proxy = createServer((request, response) => {
    if (request.url.startsWith('/admin/cache/')) return proxyToCachepanel(request, response);
    if (request.url === '/favicon.ico') {
      response.writeHead(204);
      return response.end();
    }
    if (request.url === '/admin/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return response.end(adminPage());
    }
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('not the admin');
  });
  await new Promise((resolve) => proxy.listen(port, '127.0.0.1', resolve));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  proxy?.close();
  await app?.close();
  await redis?.close();
});

async function signedInThroughTheProxy(options = {}) {
  const context = await browser.newContext(options);
  await context.addCookies([
    { name: 'access_token', value: tokenFor('superadmin', 77), url: proxyOrigin, httpOnly: true, sameSite: 'Lax' },
  ]);
  return context.newPage();
}

test('behind the one documented proxy rule the page is at /admin/cache/stats and everything works', async () => {
  const page = await signedInThroughTheProxy({ viewport: { width: 1280, height: 900 } });
  const errors = watchErrors(page);
  const requests = [];
  page.on('request', (request) => requests.push(new URL(request.url()).pathname));
  const response = await page.goto(`${proxyOrigin}/admin/cache/stats?lang=en`);
  assert.equal(response.status(), 200);
  await page.waitForSelector('[data-testid="stats-page"][data-hydrated="true"]', { timeout: 15000 });
  await page.waitForSelector('[data-testid="stats-page"][data-streaming="true"]', { timeout: 10000 });
  assert.ok(
    requests.every((path) => path.startsWith('/admin/cache/')),
    `every request stays under the one prefix: ${requests.filter((p) => !p.startsWith('/admin/cache/'))}`,
  );

  // Live updates arrive through the proxy.
  const hitsBefore = Number((await page.textContent('[data-testid="hits"]')).replace(/\D/g, ''));
  redis.cli('GET', 'user:1');
  redis.cli('GET', 'user:2');
  await page.waitForFunction(
    (before) => Number(document.querySelector('[data-testid="hits"]')?.textContent.replace(/\D/g, '')) >= before + 2,
    hitsBefore,
    { timeout: 10000 },
  );

  // A flush through the proxy: same-origin by the forwarded headers, audited.
  await page.fill('[data-testid="flush-prefix"]', 'user:');
  await page.click('[data-testid="flush-preview-button"]');
  await page.waitForSelector('[data-testid="flush-preview-count"]');
  assert.equal(await page.textContent('[data-testid="flush-preview-count"]'), '40');
  await page.fill('[data-testid="flush-confirm"]', 'user:');
  await page.click('[data-testid="flush-start"]');
  await page.waitForSelector('[data-testid="flush-last"][data-outcome="complete"]', { timeout: 15000 });
  assert.equal(redis.cli('EXISTS', 'user:3'), '0');
  assert.equal(redis.cli('EXISTS', 'shift:1'), '1');
  await page.waitForSelector('[data-testid="audit-entry"][data-action="flush_finished"]', { timeout: 10000 });
  assert.match(
    await page.textContent('[data-testid="audit-entry"][data-action="flush_finished"] [data-testid="audit-sentence"]'),
    /Deleted 40\s+keys with prefix user: in/,
  );
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('a script posting with its own Origin but no Sec-Fetch-Site is same-origin through the proxy', async () => {
  const cookie = `access_token=${tokenFor('superadmin', 78)}`;
  const post = (origin) => fetch(`${proxyOrigin}/admin/cache/api/census/start`, {
    method: 'POST',
    headers: { cookie, origin, 'content-type': 'application/x-www-form-urlencoded' },
    body: '',
  });
  assert.equal((await post(proxyOrigin)).status, 200, 'the origin the request was sent to');
  assert.equal((await post('http://evil.example')).status, 403);
  assert.equal((await post('null')).status, 403);
});

test('the documented iframe snippet shows the page in the admin and sizes the frame', async () => {
  const page = await signedInThroughTheProxy({ viewport: { width: 1280, height: 900 } });
  const errors = watchErrors(page);
  await page.goto(`${proxyOrigin}/admin/`);
  const frame = page.frameLocator('#cachepanel');
  await frame.locator('[data-testid="stats-page"][data-hydrated="true"]').waitFor({ timeout: 15000 });
  assert.match(await frame.locator('h2').first().textContent(), /[А-Яа-я]/, 'the frame speaks the admin\'s language');
  await page.waitForFunction(
    () => document.getElementById('cachepanel').style.height !== '600px',
    null,
    { timeout: 10000 },
  );
  const height = await page.evaluate(() => parseInt(document.getElementById('cachepanel').style.height, 10));
  const content = await frame.locator('html').evaluate((root) => root.scrollHeight);
  assert.ok(Math.abs(height - content) <= 40, `the frame took the page's height (${height}px for ${content}px)`);
  assert.deepEqual(errors, []);
  await page.context().close();
});
