import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { App, RedisServer, launchBrowser, signedInPage, watchErrors } from '../support/harness.mjs';

let cache;
let botFsm;
let app;
let browser;

before(async () => {
  cache = await RedisServer.start();
  botFsm = await RedisServer.start();
  cache.batch(Array.from({ length: 30 }, (_, i) => `SET user:${i} u EX 900`));
  botFsm.batch(Array.from({ length: 7 }, (_, i) => `SET fsm:${i} state`));
  app = await App.start({
    redisUrl: cache.url,
    env: {
      CACHEPANEL_CENSUS_EVERY_SECONDS: '0',
      CACHEPANEL_TARGETS: `bot-fsm=${botFsm.url}`,
      // The limiter would add the signed-in user's counter to the cache's key count.
      CACHEPANEL_RATE_LIMIT_ENABLED: 'false',
    },
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await app?.close();
  await botFsm?.close();
  await cache?.close();
});

test('the selector switches targets, and the page of a target talks to that target only', async () => {
  const page = await signedInPage(browser, app, { viewport: { width: 1280, height: 900 } });
  const errors = watchErrors(page);
  await page.goto(`${app.origin}/admin/cache/stats?lang=en`);
  await page.waitForSelector('[data-testid="stats-page"][data-hydrated="true"]', { timeout: 15000 });
  // The keys written plus cachepanel's own state hash on each target.
  assert.equal(await page.textContent('[data-testid="total-keys"]'), '31');
  await page.click('[data-testid="target-link"][data-target="bot-fsm"]');
  await page.waitForSelector('[data-testid="target-link"][data-target="bot-fsm"][aria-current="page"]');
  await page.waitForSelector('[data-testid="stats-page"][data-hydrated="true"]', { timeout: 15000 });
  assert.equal(await page.textContent('[data-testid="total-keys"]'), '8');

  // Server functions from this page go to /admin/cache/targets/bot-fsm/api/…: a refresh and a census
  // read and walk the bot's Redis, and the live stream is the bot's.
  const requests = [];
  page.on('request', (request) => requests.push(new URL(request.url()).pathname));
  botFsm.cli('SET', 'fsm:new', 'x');
  await page.click('[data-testid="refresh"]');
  await page.waitForFunction(
    () => document.querySelector('[data-testid="total-keys"]')?.textContent === '9',
    null,
    { timeout: 10000 },
  );
  await page.click('[data-testid="census-start"]');
  await page.waitForSelector('[data-testid="census-row"][data-prefix="fsm:"]', { timeout: 15000 });
  assert.ok(requests.some((path) => path.startsWith('/admin/cache/targets/bot-fsm/api/')), requests.join(' '));
  assert.ok(!requests.some((path) => path.startsWith('/admin/cache/api/')), 'nothing went to the first target');
  // Flushing is for caches only: the bot's target shows why not.
  assert.match(await page.textContent('[data-testid="flush-disabled"]'), /not a cache/);
  assert.deepEqual(errors, []);
  await page.context().close();
});
