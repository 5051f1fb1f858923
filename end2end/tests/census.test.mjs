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
  for (let i = 0; i < 300; i += 1) lines.push(`SET user:${i} user-${i} EX 900`);
  for (let i = 0; i < 120; i += 1) lines.push(`SET shift:${i} shift-${i} EX 300`);
  for (let i = 0; i < 5; i += 1) lines.push(`SET pin:telegram:${i} 1234`);
  lines.push('SET "<script>alert(1)</script>:x" 1');
  redis.batch(lines);
  app = await App.start({
    redisUrl: redis.url,
    env: { CACHEPANEL_CENSUS_EVERY_SECONDS: '0', CACHEPANEL_CENSUS_SAMPLE_EVERY: '1' },
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await app?.close();
  await redis?.close();
});

test('a census started from the page fills the table, sorts, and drills down to key metadata', async () => {
  const page = await signedInPage(browser, app, { viewport: { width: 1280, height: 900 } });
  const errors = watchErrors(page);
  const stats = new StatsPage(page, app.origin);
  await stats.open('?lang=en');
  await stats.waitHydrated();
  assert.equal(await page.locator('[data-testid="census-never"]').count(), 1);

  await page.click('[data-testid="census-start"]');
  await page.waitForSelector('[data-testid="census-table"]', { timeout: 15000 });
  const keysOf = async (prefix) =>
    page.textContent(`[data-testid="census-row"][data-prefix="${prefix}"] [data-testid="census-keys"]`);
  assert.equal(await keysOf('user:'), '300');
  assert.equal(await keysOf('shift:'), '120');
  assert.equal(await keysOf('pin:'), '5');
  // A key prefix that looks like markup is shown as text, in the table and in the charts.
  assert.equal(await page.locator('script:has-text("alert(1)")').count(), 0);
  assert.equal(await keysOf('<script>alert(1)</script>:'), '1');

  // Sorted by keys (descending) first; by name on request.
  const firstPrefix = () => page.getAttribute('[data-testid="census-row"]', 'data-prefix');
  assert.equal(await firstPrefix(), 'user:');
  await page.click('[data-testid="sort-name"]');
  assert.equal(await firstPrefix(), '<script>alert(1)</script>:');

  await page.click('[data-testid="census-row"][data-prefix="shift:"]');
  const samples = await page.textContent('[data-testid="census-samples"]');
  assert.match(samples, /shift:\d+/);
  assert.match(samples, /string/);
  assert.doesNotMatch(samples, /shift-\d/, "values are never shown");
  assert.equal(await page.locator('[data-testid="chart-ttl"] svg').count(), 1);
  assert.deepEqual(errors, []);
  await page.close();
});
