import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { App, RedisServer, launchBrowser, watchErrors, signedInPage } from '../support/harness.mjs';
import { StatsPage } from '../support/stats-page.mjs';

let redis;
let app;
let browser;

before(async () => {
  redis = await RedisServer.start();
  app = await App.start({ redisUrl: redis.url, env: { CACHEPANEL_SAMPLE_INTERVAL_MS: '500' } });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await app?.close();
  await redis?.close();
});

/** Some cache traffic so the rates have something to show. */
function traffic() {
  redis.cli('SET', 'user:1', '{"role":"owner"}');
  for (let i = 0; i < 5; i += 1) redis.cli('GET', 'user:1');
  redis.cli('GET', 'user:2');
}

test('charts are SVG drawn in the page and follow new samples without a reload', async () => {
  traffic();
  const page = await signedInPage(browser, app, { viewport: { width: 1280, height: 900 } });
  const errors = watchErrors(page);
  const stats = new StatsPage(page, app.origin);
  await stats.open('?lang=ru');
  await stats.waitHydrated();
  for (const chart of ['hit-rate', 'memory', 'throughput', 'keys']) {
    assert.equal(await page.locator(`[data-testid="chart-${chart}"] svg`).count(), 1, chart);
  }
  // Cyrillic titles reach the SVG as text.
  assert.match(await page.textContent('[data-testid="chart-hit-rate"] svg'), /Доля попаданий/);

  await page.evaluate(() => { window.__notReloaded = true; });
  await page.waitForSelector('[data-testid="stats-page"][data-streaming="true"]', { timeout: 10000 });
  const before = Number(await page.getAttribute('[data-testid="charts"]', 'data-points'));
  const svgBefore = await page.innerHTML('[data-testid="chart-throughput"]');
  await page.waitForFunction(
    (count) => Number(document.querySelector('[data-testid="charts"]').dataset.points) >= count + 2,
    before,
    { timeout: 10000 },
  );
  assert.notEqual(await page.innerHTML('[data-testid="chart-throughput"]'), svgBefore);
  assert.equal(await page.evaluate(() => window.__notReloaded), true);
  assert.deepEqual(errors, []);
  await page.close();
});

test('when the chart code cannot be loaded the page stays usable, keeps the first charts and says so', async () => {
  traffic();
  const page = await signedInPage(browser, app, { viewport: { width: 1280, height: 900 } });
  const errors = watchErrors(page);
  // Every WASM file but the page's own bundle (named in its preload link) is the chart chunk.
  const html = await (await fetch(`${app.origin}/admin/cache/stats`, {
    headers: { cookie: `access_token=${(await page.context().cookies())[0].value}` },
  })).text();
  const bundle = html.match(/href="([^"]+\.wasm)"/)[1];
  let broken = 0;
  await page.route(/\/pkg\/.*\.wasm$/, (route) => {
    if (new URL(route.request().url()).pathname === bundle) return route.continue();
    broken += 1;
    return route.fulfill({ status: 503, body: 'chunk unavailable' });
  });
  const stats = new StatsPage(page, app.origin);
  await stats.open('?lang=ru');
  await stats.waitHydrated();
  await page.waitForSelector('[data-testid="charts-unavailable"]', { timeout: 10000 });
  assert.ok(broken > 0, 'the chart chunk was asked for');
  assert.match(await page.textContent('[data-testid="charts-unavailable"]'), /не удалось загрузить код графиков/);
  // The server's charts stay, and the rest of the page still works.
  assert.equal(await page.locator('[data-testid="chart-hit-rate"] svg').count(), 1);
  await page.click('[data-testid="refresh"]');
  await page.waitForSelector('[data-testid="stats-page"][data-streaming="true"]', { timeout: 10000 });
  await page.click('[data-testid="range-1h"]');
  await page.waitForSelector('[data-testid="range-1h"][aria-pressed="true"]', { timeout: 5000 });
  // The chunk's failed fetch and compile are logged by the browser; nothing else may be.
  assert.deepEqual(errors.filter((error) => !/503|Failed to load|WebAssembly/i.test(error)), []);
  await page.close();
});

test('the range selector switches the charts to minute rollups', async () => {
  const page = await signedInPage(browser, app, { viewport: { width: 1280, height: 900 } });
  const errors = watchErrors(page);
  const stats = new StatsPage(page, app.origin);
  await stats.open('?lang=en');
  await stats.waitHydrated();
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="charts"]').dataset.points) >= 4);
  const svgBefore = await page.innerHTML('[data-testid="chart-hit-rate"]');

  await page.click('[data-testid="range-24h"]');
  assert.equal(await page.getAttribute('[data-testid="range-24h"]', 'aria-pressed'), 'true');
  assert.equal(await page.getAttribute('[data-testid="range-15m"]', 'aria-pressed'), 'false');
  // 24 h are drawn from 1-minute rollups: far fewer points than 500 ms samples.
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="charts"]').dataset.points) <= 3);
  assert.notEqual(await page.innerHTML('[data-testid="chart-hit-rate"]'), svgBefore);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a banner appears while Redis is down and goes away when it is back', async () => {
  const page = await signedInPage(browser, app);
  const stats = new StatsPage(page, app.origin);
  await stats.open('?lang=en');
  await stats.waitHydrated();
  await page.waitForSelector('[data-testid="stats-page"][data-streaming="true"]', { timeout: 10000 });
  assert.equal(await page.locator('[data-testid="live-unavailable"]').count(), 0);

  await redis.stop();
  await page.waitForSelector('[data-testid="live-unavailable"]', { timeout: 10000 });
  assert.match(await page.textContent('[data-testid="live-unavailable"]'), /Redis unavailable/);
  // Last known figures stay on the page while Redis is away.
  assert.equal(await page.locator('[data-testid="window-hit-rate"]').count(), 1);

  await redis.restart();
  await page.waitForSelector('[data-testid="live-unavailable"]', { state: 'detached', timeout: 10000 });
  await page.close();
});
