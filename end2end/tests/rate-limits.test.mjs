import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { App, RedisServer, launchBrowser, watchErrors, signedInPage } from '../support/harness.mjs';
import { StatsPage } from '../support/stats-page.mjs';

let redis;
let app;
let browser;

before(async () => {
  redis = await RedisServer.start();
  const lines = ['SET user:1 "{\\"role\\":\\"manager\\"}"'];
  lines.push('SET rate_limit:user:1 120 EX 60');
  lines.push('SET rate_limit:user:2 5');
  redis.batch(lines);
  app = await App.start({
    redisUrl: redis.url,
    env: { CACHEPANEL_CENSUS_EVERY_SECONDS: '0' },
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await app?.close();
  await redis?.close();
});

test('the counters table shows role and share of the limit, and reset removes a counter with an audit entry', async () => {
  assert.equal(redis.cli('GET', 'user:1'), '{"role":"manager"}');
  // Signed in as user 900: the dashboard's own requests count on rate_limit:user:900, not on
  // the seeded counters.
  const page = await signedInPage(browser, app, { userId: 900, viewport: { width: 1280, height: 900 } });
  const errors = watchErrors(page);
  const stats = new StatsPage(page, app.origin);
  await stats.open('?lang=en');
  await stats.waitHydrated();
  const row = (key) => `[data-testid="limits-row"][data-key="${key}"]`;
  assert.equal(await page.textContent(`${row('rate_limit:user:1')} [data-testid="limits-role"]`), 'manager');
  assert.equal(await page.textContent(`${row('rate_limit:user:1')} [data-testid="limits-percent"]`), '80%');
  assert.equal(await page.textContent(`${row('rate_limit:user:2')} [data-testid="limits-role"]`), 'unknown role');
  assert.match(await page.textContent('[data-testid="limits-stuck"]'), /rate_limit:user:2/);

  await page.click(`${row('rate_limit:user:2')} [data-testid="limits-reset"]`);
  await page.waitForSelector(row('rate_limit:user:2'), { state: 'detached', timeout: 10000 });
  assert.equal(redis.cli('EXISTS', 'rate_limit:user:2'), '0');
  await page.waitForSelector('[data-testid="audit-entry"][data-action="reset_rate_limit"]', { timeout: 10000 });
  // The audit names the signed-in superadmin.
  assert.match(await page.textContent('[data-testid="audit-entry"][data-action="reset_rate_limit"]'), /superadmin #900/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('the counters view says how old it is, and refresh brings a new counter in (ru and en)', async () => {
  const shots = process.env.CACHEPANEL_E2E_SHOTS || `${tmpdir()}/cachepanel-e2e`;
  mkdirSync(shots, { recursive: true });
  for (const [lang, age] of [['ru', /Прочитаны (только что|\d+\s+с назад) · обновляются каждые 15\s+с/], ['en', /Read (just now|\d+\s+s ago) · refreshed every 15\s+s/]]) {
    const page = await signedInPage(browser, app, { userId: 901, viewport: { width: 1280, height: 900 } });
    const errors = watchErrors(page);
    const stats = new StatsPage(page, app.origin);
    await stats.open(`?lang=${lang}`);
    await stats.waitHydrated();
    assert.match(await page.textContent('[data-testid="limits-age"]'), age);
    const key = `rate_limit:user:${lang === 'ru' ? 71 : 72}`;
    redis.cli('SET', key, '42', 'EX', '60');
    // A walk shared within its 2 s cool-down would not see the new key yet.
    await new Promise((resolve) => setTimeout(resolve, 2200));
    await page.click('[data-testid="limits-refresh"]');
    await page.waitForSelector(`[data-testid="limits-row"][data-key="${key}"]`, { timeout: 10000 });
    const section = await page.$('[data-testid="rate-limits"]');
    await section.screenshot({ path: `${shots}/rate-limits-${lang}.png` });
    assert.deepEqual(errors, []);
    await page.close();
  }
});
