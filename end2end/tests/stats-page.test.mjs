import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { App, RedisServer, launchBrowser, watchErrors, signedInPage, tokenFor } from '../support/harness.mjs';
import { StatsPage } from '../support/stats-page.mjs';

let redis;
let app;
let browser;

before(async () => {
  redis = await RedisServer.start();
  // 3 hits and 1 miss on a fresh server.
  redis.cli('SET', 'user:1', '{"id":1}');
  for (let i = 0; i < 3; i += 1) redis.cli('GET', 'user:1');
  redis.cli('GET', 'user:404');
  // No scheduled census: its inspections would add to the exact lifetime counters asserted here.
  app = await App.start({ redisUrl: redis.url, env: { CACHEPANEL_CENSUS_EVERY_SECONDS: '0' } });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await app?.close();
  await redis?.close();
});

test('the server-rendered page shows the seeded hits and misses', async () => {
  const response = await fetch(`${app.origin}/admin/cache/stats`, {
    headers: { cookie: `access_token=${tokenFor('superadmin')}`, 'accept-language': 'ru' },
  });
  const html = await response.text();
  assert.match(html, /data-testid="hits"[^>]*>3</);
  assert.match(html, /data-testid="misses"[^>]*>1</);
  assert.match(html, /data-testid="hit-rate"[^>]*>75,0\u00a0%</);
});

test('after hydration, refresh re-reads the stats without a page reload', async () => {
  const page = await signedInPage(browser, app);
  const errors = watchErrors(page);
  const stats = new StatsPage(page, app.origin);
  await stats.open();
  assert.equal(await stats.text('hits'), '3');
  await stats.waitHydrated();

  // Mark the document: a reload would lose the mark.
  await page.evaluate(() => { window.__notReloaded = true; });
  const readAtBefore = Number(await page.getAttribute('[data-testid="read-at"]', 'data-ms'));
  redis.cli('GET', 'user:1');
  redis.cli('GET', 'user:1');
  await stats.refresh();
  await page.waitForFunction(
    () => document.querySelector('[data-testid="hits"]')?.textContent === '5',
    null,
    { timeout: 10000 },
  );
  assert.equal(await stats.text('hit-rate'), '83.3%', 'English (the browser) formatting');
  const readAtAfter = Number(await page.getAttribute('[data-testid="read-at"]', 'data-ms'));
  assert.ok(readAtAfter > readAtBefore, `a newer reading: ${readAtBefore} -> ${readAtAfter}`);
  assert.match(await stats.text('read-at'), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/, 'a readable time');
  assert.equal(await page.evaluate(() => window.__notReloaded), true);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a Russian browser gets Russian; the switch renders English and is remembered', async () => {
  const page = await signedInPage(browser, app, { locale: 'ru-RU' });
  const context = page.context();
  const errors = watchErrors(page);
  const stats = new StatsPage(page, app.origin);
  await stats.open();
  assert.equal(await page.getAttribute('html', 'lang'), 'ru');
  assert.match(await page.textContent('h1'), /Статистика кэша Redis/);
  await page.click('[data-testid="lang-switch"]');
  await page.waitForSelector('html[lang="en"]');
  await stats.waitHydrated();
  assert.match(await page.textContent('h1'), /Redis cache statistics/);
  // Numbers follow the language: no Russian decimal comma in English.
  assert.doesNotMatch(await page.textContent('[data-testid="hit-rate"]'), /\d,\d/);
  // The choice is remembered: the plain URL (a Russian browser) stays English.
  await stats.open();
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.deepEqual(errors, []);
  await context.close();
});

test('the built client arrives brotli-compressed, is cached forever, and a repeat visit fetches none of it', async () => {
  const page = await signedInPage(browser, app);
  const errors = watchErrors(page);
  const client = [];
  page.on('response', (response) => {
    if (/\/pkg\/.*\.(wasm|js|css)$/.test(new URL(response.url()).pathname)) client.push(response);
  });
  const stats = new StatsPage(page, app.origin);
  await stats.open();
  await stats.waitHydrated();
  const wasm = client.find((response) => response.url().endsWith('.wasm'));
  assert.ok(wasm, 'the page loaded its WASM');
  const headers = await wasm.allHeaders();
  assert.equal(headers['content-encoding'], 'br');
  assert.match(headers.vary ?? '', /accept-encoding/i);
  assert.equal(headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.match(wasm.url(), /cachepanel\.[A-Za-z0-9_-]+\.wasm$/, 'a content-hashed name');
  // The chart chunk loads after hydration: the first visit is complete once it is in (a
  // navigation while it is still in flight would cancel it, and the next visit fetch it).
  let chunk;
  for (let waited = 0; !chunk && waited < 10000; waited += 50) {
    chunk = client.find((response) => /split_.*\.wasm$/.test(response.url()));
    if (!chunk) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.ok(chunk, 'the chart chunk was loaded');
  await chunk.finished();

  // A second visit in the same browser profile: every client file comes from the cache.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const requested = new Map();
  cdp.on('Network.requestWillBeSent', ({ requestId, request }) => {
    if (/\/pkg\//.test(request.url)) requested.set(requestId, { url: request.url, cached: false });
  });
  const cached = (requestId) => {
    const entry = requested.get(requestId);
    if (entry) entry.cached = true;
  };
  cdp.on('Network.requestServedFromCache', ({ requestId }) => cached(requestId));
  cdp.on('Network.responseReceived', ({ requestId, response }) => {
    if (response.fromDiskCache) cached(requestId);
  });
  await stats.open();
  await stats.waitHydrated();
  const again = [...requested.values()];
  assert.ok(again.some(({ url }) => url.endsWith('.wasm')), 'the repeat visit asked for its WASM');
  assert.deepEqual(again.filter(({ cached: fromCache }) => !fromCache).map(({ url }) => url), [],
    'no client file crossed the network again');
  assert.deepEqual(errors, []);
  await page.close();
});

test('the chart code and its font stay in the chunk loaded after hydration', () => {
  // wasm-split keeps a data segment in the first bundle when anything there refers to it, and
  // the linker's layout decides what shares a segment with the embedded font: a few new texts
  // once moved the whole font (74 kB brotli) into the first bundle. Guarded here, on the build.
  const pkg = join(process.env.CACHEPANEL_SITE_ROOT ?? 'target/site', 'pkg');
  const served = (pattern) => readdirSync(pkg)
    .filter((name) => pattern.test(name))
    .map((name) => statSync(join(pkg, name)).size);
  const [chunk] = served(/^split_.*\.wasm\.br$/);
  const [initial] = served(/^cachepanel\..*\.wasm\.br$/);
  assert.ok(chunk > 150_000, `the chart chunk holds the charts and the font: ${chunk} B`);
  assert.ok(initial <= 250_000, `the first bundle stays within its 250 kB goal: ${initial} B as served`);
});
