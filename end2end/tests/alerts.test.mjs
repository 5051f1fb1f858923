import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { App, RedisServer, launchBrowser, watchErrors, signedInPage } from '../support/harness.mjs';
import { StatsPage } from '../support/stats-page.mjs';

let redis;
let app;
let browser;
let receiver;
const received = [];

before(async () => {
  redis = await RedisServer.start();
  // A webhook receiver that refuses everything: the page must say delivery fails.
  receiver = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => { body += chunk; });
    request.on('end', () => {
      received.push(body);
      response.writeHead(500).end();
    });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  app = await App.start({
    redisUrl: redis.url,
    env: {
      CACHEPANEL_CENSUS_EVERY_SECONDS: '0',
      CACHEPANEL_SAMPLE_INTERVAL_MS: '500',
      // Fires as soon as used memory passes 40 % of maxmemory; resolves under 30 %.
      CACHEPANEL_ALERT_MEMORY_HIGH: 'threshold=40 resolve=30 for=0 hold=0',
      CACHEPANEL_ALERT_WEBHOOK_URL: `http://127.0.0.1:${receiver.address().port}/hook`,
      CACHEPANEL_ALERT_DELIVERY_ATTEMPTS: '1',
    },
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await app?.close();
  await redis?.close();
  receiver?.close();
});

function usedMemory() {
  const line = redis.cli('INFO', 'memory').split('\n').find((l) => l.startsWith('used_memory:'));
  return Number(line.split(':')[1]);
}

const texts = {
  ru: { heading: 'Оповещения', none: 'Активных оповещений нет.', title: 'Память Redis выше порога', firing: 'сработало', silenced: 'без уведомлений', failing: /webhook: ошибка доставки \(webhook answered 500\)/ },
  en: { heading: 'Alerts', none: 'No active alerts.', title: 'Redis memory above threshold', firing: 'firing', silenced: 'silenced', failing: /webhook: delivery failing \(webhook answered 500\)/ },
};

test('a firing alert appears at the top of the page and disappears when resolved (ru and en)', async () => {
  const shots = process.env.CACHEPANEL_E2E_SHOTS || `${tmpdir()}/cachepanel-e2e`;
  mkdirSync(shots, { recursive: true });
  const pages = {};
  for (const lang of Object.keys(texts)) {
    const page = await signedInPage(browser, app, { userId: 960, viewport: { width: 1280, height: 900 } });
    const errors = watchErrors(page);
    const stats = new StatsPage(page, app.origin);
    await stats.open(`?lang=${lang}`);
    await stats.waitHydrated();
    const section = page.locator('[data-testid="alerts"]');
    assert.equal(await section.locator('h2').textContent(), texts[lang].heading);
    assert.equal(await section.locator('[data-testid="alerts-none"]').textContent(), texts[lang].none);
    // Above the live section: the first thing under the header.
    const order = await page.evaluate(() => {
      const alerts = document.querySelector('[data-testid="alerts"]').getBoundingClientRect().top;
      const live = document.querySelector('h2.section-heading:not([data-testid="alerts"] h2)').getBoundingClientRect().top;
      return alerts < live;
    });
    assert.ok(order, 'the alerts come before the other sections');
    pages[lang] = { page, errors, section };
  }

  // maxmemory at 1.5 × what Redis uses: 66 % > 40 %. The open pages learn it from the stream.
  redis.cli('CONFIG', 'SET', 'maxmemory', String(Math.round(usedMemory() * 1.5)));
  for (const [lang, { page, section }] of Object.entries(pages)) {
    const alert = section.locator('[data-testid="active-alert"][data-rule="memory_high"]');
    await alert.waitFor({ timeout: 10000 });
    const text = await alert.textContent();
    assert.match(text, new RegExp(texts[lang].title));
    assert.match(text, new RegExp(texts[lang].firing));
    assert.match(text, lang === 'ru' ? /\d+,\d\u00a0% > 40,0\u00a0% \(порог\)/ : /\d+\.\d% > 40\.0% \(threshold\)/);
    assert.equal(await section.locator('.alerts-body').getAttribute('data-firing'), 'true');
    await section.locator('[data-testid="delivery-failing"]').waitFor({ timeout: 10000 });
    assert.match(await section.locator('[data-testid="delivery-failing"]').textContent(), texts[lang].failing);
    await page.screenshot({ path: `${shots}/alerts-firing-${lang}.png` });
  }
  assert.ok(received.length >= 1, 'the webhook was tried');
  assert.equal(JSON.parse(received[0]).rule, 'memory_high');

  // Silenced from the page (a plain form post; the browser comes back to the page).
  const { page: ru, section: ruSection } = pages.ru;
  await ruSection.locator('[data-testid="silence-rule"] button[value="60"]').click();
  await ru.waitForURL(/\/admin\/cache\/stats/);
  await new StatsPage(ru, app.origin).waitHydrated();
  const silencedAlert = ru.locator('[data-testid="active-alert"][data-rule="memory_high"]');
  await silencedAlert.waitFor({ timeout: 10000 });
  assert.match(await silencedAlert.textContent(), new RegExp(texts.ru.silenced));
  assert.match(await ru.locator('[data-testid="alert-silences"]').textContent(), /Память Redis выше порога: до .+ UTC \(superadmin/);
  await ru.screenshot({ path: `${shots}/alerts-silenced-ru.png` });
  await ru.locator('[data-testid="end-silence"]').click();
  await ru.waitForURL(/\/admin\/cache\/stats/);
  await ru.locator('[data-testid="alert-silences"]').waitFor({ state: 'detached', timeout: 10000 });

  // Back under 30 %: the alert leaves every open page, and the recent list keeps it.
  redis.cli('CONFIG', 'SET', 'maxmemory', '0');
  for (const [lang, { page, errors }] of Object.entries(pages)) {
    const section = page.locator('[data-testid="alerts"]');
    await section.locator('[data-testid="alerts-none"]').waitFor({ timeout: 10000 });
    assert.equal(await section.locator('[data-testid="active-alert"]').count(), 0);
    const transitions = await section.locator('[data-testid="recent-alert"]').evaluateAll(
      (rows) => rows.map((row) => row.getAttribute('data-transition')),
    );
    assert.deepEqual(transitions.slice(0, 2), ['resolved', 'fired'], lang);
    await page.screenshot({ path: `${shots}/alerts-resolved-${lang}.png` });
    assert.deepEqual(errors, [], lang);
  }
});
