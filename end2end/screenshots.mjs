// `make screenshots`: the README's pictures of the dashboard, taken from a real run (demo
// traffic against a private redis-server, the release server, headless Chromium), in Russian
// and English, full page and embed mode. Writes docs/screenshots/*.png.
import { mkdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { App, RedisServer, launchBrowser, signedInPage } from './support/harness.mjs';

const out = new URL('../docs/screenshots/', import.meta.url).pathname;
mkdirSync(out, { recursive: true });

// Production's memory settings, as `make run`'s embedded Redis has them; a slow log that keeps
// commands over 0.5 ms, so the small demo keyspace gives the diagnostics section entries.
const redis = await RedisServer.start([
  '--maxmemory', '512mb', '--maxmemory-policy', 'allkeys-lru', '--slowlog-log-slower-than', '500',
]);
const demo = spawn(process.env.CACHEPANEL_BIN, ['demo', '--redis-url', redis.url], { stdio: 'ignore' });
const app = await App.start({
  redisUrl: redis.url,
  env: { CACHEPANEL_CENSUS_EVERY_SECONDS: '15', CACHEPANEL_SAMPLE_INTERVAL_MS: '1000' },
});
const browser = await launchBrowser();
try {
  // Let the demo build a keyspace, the census run on it, and the charts gather history.
  await sleep(30_000);
  // The admin's clear_pattern, as it runs today: KEYS from its connection named `web`.
  const web = connect(redis.port, '127.0.0.1');
  web.on('data', () => {});
  await new Promise((resolve) => web.once('connect', resolve));
  web.write('CLIENT SETNAME web\r\n');
  for (const prefix of ['contract_employees', 'api_objects', 'contract_employees']) web.write(`KEYS ${prefix}:*\r\n`);
  await sleep(6_000); // the next diagnostics push
  for (const lang of ['ru', 'en']) {
    const page = await signedInPage(browser, app, { userId: 9001, viewport: { width: 1280, height: 900 } });
    await page.goto(`${app.origin}/admin/cache/stats?lang=${lang}`);
    await page.waitForSelector('[data-testid="stats-page"][data-hydrated="true"]', { timeout: 15000 });
    const section = page.locator('[data-testid="diagnostics"]');
    // Panels off screen are not laid out (content-visibility: auto) until they come into view.
    await section.scrollIntoViewIfNeeded();
    await sleep(300);
    await section.screenshot({ path: `${out}diagnostics-${lang}.png` });
    await page.context().close();
    console.log(`screenshots: wrote docs/screenshots/diagnostics-${lang}.png`);
  }
  web.destroy();
  const shots = [
    ['dashboard-ru.png', '?lang=ru', { width: 1280, height: 1500 }],
    ['dashboard-en.png', '?lang=en', { width: 1280, height: 1500 }],
    ['embed-ru.png', '?lang=ru&embed=1', { width: 1000, height: 1100 }],
    ['embed-en.png', '?lang=en&embed=1', { width: 1000, height: 1100 }],
  ];
  for (const [name, query, viewport] of shots) {
    // User 9001: the demo's users 1-3 are over their rate limits on purpose.
    const page = await signedInPage(browser, app, { userId: 9001, viewport });
    await page.goto(`${app.origin}/admin/cache/stats${query}`);
    await page.waitForSelector('[data-testid="stats-page"][data-hydrated="true"]', { timeout: 15000 });
    await page.waitForSelector('[data-testid="census-table"]', { timeout: 30000 });
    await sleep(2500); // a few live samples redraw the charts
    // The top of the page (live figures, charts, census); the full page is several screens.
    await page.screenshot({ path: `${out}${name}` });
    await page.context().close();
    console.log(`screenshots: wrote docs/screenshots/${name}`);
  }
} finally {
  await browser.close();
  demo.kill('SIGTERM');
  await app.close();
  await redis.close();
}
