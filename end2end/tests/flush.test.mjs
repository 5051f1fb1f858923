import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { App, RedisServer, launchBrowser, watchErrors, signedInPage } from '../support/harness.mjs';
import { StatsPage } from '../support/stats-page.mjs';

let redis;
let app;
let browser;

before(async () => {
  redis = await RedisServer.start();
  const lines = [];
  for (let i = 0; i < 500; i += 1) lines.push(`SET user:${i} u${i} EX 900`);
  for (let i = 0; i < 50; i += 1) lines.push(`SET shift:${i} s${i} EX 300`);
  lines.push('SET pin:telegram:1 1234');
  redis.batch(lines);
  app = await App.start({
    redisUrl: redis.url,
    env: {
      CACHEPANEL_CENSUS_EVERY_SECONDS: '0',
      CACHEPANEL_CENSUS_SAMPLE_EVERY: '1',
    },
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await app?.close();
  await redis?.close();
});

test('preview, a refused confirmation, a flush, the census drop to zero and the audit entry', async () => {
  const page = await signedInPage(browser, app, { viewport: { width: 1280, height: 900 } });
  const errors = watchErrors(page);
  const stats = new StatsPage(page, app.origin);
  await stats.open('?lang=en');
  await stats.waitHydrated();
  const userRow = '[data-testid="census-row"][data-prefix="user:"] [data-testid="census-keys"]';
  await page.click('[data-testid="census-start"]');
  await page.waitForSelector(userRow);
  assert.equal(await page.textContent(userRow), '500');

  await page.fill('[data-testid="flush-prefix"]', 'user:');
  await page.click('[data-testid="flush-preview-button"]');
  await page.waitForSelector('[data-testid="flush-preview-count"]');
  assert.equal(await page.textContent('[data-testid="flush-preview-count"]'), '500');

  // A confirmation that differs from the previewed prefix is refused; nothing is deleted.
  await page.fill('[data-testid="flush-confirm"]', 'user:1');
  await page.click('[data-testid="flush-start"]');
  await page.waitForSelector('[data-testid="flush-error"]');
  assert.match(await page.textContent('[data-testid="flush-error"]'), /does not match/);
  assert.equal(redis.cli('EXISTS', 'user:7'), '1');

  await page.fill('[data-testid="flush-confirm"]', 'user:');
  await page.click('[data-testid="flush-start"]');
  await page.waitForSelector('[data-testid="flush-last"]', { timeout: 15000 });
  assert.match(await page.textContent('[data-testid="flush-last"]'), /Deleted 500\s+keys with prefix user: in \d/);
  assert.equal(redis.cli('EXISTS', 'user:7'), '0');
  assert.equal(redis.cli('EXISTS', 'shift:7'), '1');
  assert.equal(redis.cli('GET', 'pin:telegram:1'), '1234');

  // The census no longer finds any user: keys.
  await page.click('[data-testid="census-start"]');
  await page.waitForFunction(
    () => !document.querySelector('[data-testid="census-row"][data-prefix="user:"]')
      && document.querySelector('[data-testid="census-row"][data-prefix="shift:"]'),
    null,
    { timeout: 15000 },
  );
  await page.waitForSelector('[data-testid="audit-entry"][data-action="flush_finished"]', { timeout: 10000 });
  assert.ok(await page.locator('[data-testid="audit-entry"][data-action="preview"]').count() >= 1);
  assert.deepEqual(errors.filter((e) => !e.includes('400')), []);
  await page.close();
});
