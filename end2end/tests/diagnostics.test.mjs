import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { App, RedisServer, launchBrowser, watchErrors, signedInPage } from '../support/harness.mjs';
import { StatsPage } from '../support/stats-page.mjs';

let redis;
let app;
let browser;
let web;

/** Sends inline commands on the connection named `web`, which stays open (a client group). */
function send(line) {
  web.write(`${line}\r\n`);
}

before(async () => {
  redis = await RedisServer.start(['--slowlog-log-slower-than', '0']);
  const lines = [];
  for (let i = 0; i < 500; i += 1) lines.push(`SET contract_employees:list:${i} x EX 900`);
  redis.batch(lines);
  app = await App.start({
    redisUrl: redis.url,
    env: {
      CACHEPANEL_CENSUS_EVERY_SECONDS: '0',
      CACHEPANEL_SAMPLE_INTERVAL_MS: '500',
      CACHEPANEL_CLIENTS_INTERVAL_MS: '500',
    },
  });
  web = connect(redis.port, '127.0.0.1');
  await new Promise((resolve) => web.once('connect', resolve));
  web.on('data', () => {});
  send('CLIENT SETNAME web');
  send('KEYS contract_employees:*');
  browser = await launchBrowser();
});

after(async () => {
  web?.destroy();
  await browser?.close();
  await app?.close();
  await redis?.close();
});

test('the diagnostics section shows the slow log with its client and the client groups, and follows the stream (ru and en)', async () => {
  const shots = process.env.CACHEPANEL_E2E_SHOTS || `${tmpdir()}/cachepanel-e2e`;
  mkdirSync(shots, { recursive: true });
  const texts = {
    ru: { heading: 'Почему Redis медленный', own: /cachepanel занял .+ времени Redis/ },
    en: { heading: 'Why is Redis slow', own: /cachepanel used .+ of Redis' time/ },
  };
  for (const [lang, expected] of Object.entries(texts)) {
    const page = await signedInPage(browser, app, { userId: 950, viewport: { width: 1280, height: 900 } });
    const errors = watchErrors(page);
    const stats = new StatsPage(page, app.origin);
    await stats.open(`?lang=${lang}`);
    await stats.waitHydrated();
    const section = page.locator('[data-testid="diagnostics"]');
    await section.scrollIntoViewIfNeeded();
    assert.match(await section.locator('h2').textContent(), new RegExp(expected.heading));
    const shape = section.locator('[data-testid="slowlog-shapes"] code', { hasText: 'KEYS contract_employees:*' });
    await shape.first().waitFor({ timeout: 15000 });
    const entry = section.locator('[data-testid="slowlog-entry"]', { hasText: 'KEYS contract_employees:*' });
    assert.match(await entry.first().textContent(), /web 127\.0\.0\.1:\d+/);
    const group = section.locator('[data-testid="clients-by-name"] tr[data-label="web"]');
    await group.waitFor({ timeout: 15000 });
    // Its last command: KEYS, or the GET the previous language's run sent.
    assert.match(await group.textContent(), /KEYS|GET/);
    await section.locator('[data-testid="own-share"]').waitFor({ timeout: 15000 });
    assert.match(await section.locator('[data-testid="own-share"]').textContent(), expected.own);

    // A new slow-log entry arrives through the event stream, without a reload.
    const key = `object:${lang === 'ru' ? 7001 : 7002}`;
    send(`GET ${key}`);
    await section.locator('[data-testid="slowlog-entry"]', { hasText: `GET ${key}` }).waitFor({ timeout: 15000 });
    await section.screenshot({ path: `${shots}/diagnostics-${lang}.png` });
    assert.deepEqual(errors, []);
    await page.close();
  }
});
