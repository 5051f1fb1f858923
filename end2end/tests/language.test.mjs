import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { App, RedisServer, launchBrowser, watchErrors, signedInPage } from '../support/harness.mjs';
import { StatsPage } from '../support/stats-page.mjs';

// The page in one language only: every word a person reads on the Russian page is Russian
// (or a proper name), every word on the English page is English, and neither shows machine
// text (RFC 3339 timestamps, JSON). Redis' own identifiers — key names, prefixes, config
// values, addresses — are marked translate="no" and not read as words.

// Proper names and abbreviations that stay Latin in Russian text.
const LATIN_IN_RUSSIAN = new Set([
  'Redis', 'Sentinel', 'Cluster', 'LRU', 'LFU', 'TTL', 'RDB', 'AOF', 'UTC', 'IP', 'Lua',
  // The product's own name.
  'cachepanel',
  // Redis commands named in hints.
  'SCAN', 'OBJECT', 'IDLETIME', 'FREQ',
  'maxmemory', 'appendonly', 'save', 'EN', 'RU',
]);

let redis;
let app;
let demo;
let browser;

before(async () => {
  redis = await RedisServer.start();
  const lines = [];
  for (let i = 0; i < 1234; i += 1) lines.push(`SET shift:${i} s${i} EX 900`);
  redis.batch(lines);
  // The demo's workload: cache traffic, app hit counters, rate-limit counters and 429s.
  demo = spawn(process.env.CACHEPANEL_BIN, ['demo', '--redis-url', redis.url], { stdio: 'ignore' });
  app = await App.start({
    redisUrl: redis.url,
    env: {
      CACHEPANEL_CENSUS_EVERY_SECONDS: '0',
      CACHEPANEL_CENSUS_SAMPLE_EVERY: '1',
      CACHEPANEL_SAMPLE_INTERVAL_MS: '1000',
    },
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  demo?.kill('SIGTERM');
  await app?.close();
  await redis?.close();
});

/** Every text a person can read: visible text nodes, tooltips (SVG titles, title attributes)
 *  and placeholders, skipping translate="no" subtrees. */
function readableTexts(page) {
  return page.evaluate(() => {
    const texts = [];
    const skipped = (element) => element.closest('[translate="no"], script, style, template');
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const parent = node.parentElement;
      if (!parent || skipped(parent) || !node.textContent.trim()) continue;
      const inTooltip = parent.closest('title');
      if (!inTooltip && parent.checkVisibility && !parent.checkVisibility()) continue;
      texts.push(node.textContent.trim());
    }
    for (const element of document.body.querySelectorAll('[title], [placeholder], [aria-label]')) {
      if (skipped(element)) continue;
      for (const name of ['title', 'placeholder', 'aria-label']) {
        const value = element.getAttribute(name);
        if (value) texts.push(value);
      }
    }
    return texts;
  });
}

function machineText(texts) {
  return texts.filter((text) => /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(text) || /[{[]\s*"/.test(text));
}

async function dashboardWithEverything(lang) {
  const page = await signedInPage(browser, app, { userId: 9001, viewport: { width: 1280, height: 1400 } });
  const errors = watchErrors(page);
  const stats = new StatsPage(page, app.origin);
  await stats.open(`?lang=${lang}`);
  await stats.waitHydrated();
  await page.click('[data-testid="census-start"]');
  await page.waitForSelector('[data-testid="census-table"]', { timeout: 20000 });
  await page.fill('[data-testid="flush-prefix"]', 'shift:');
  await page.click('[data-testid="flush-preview-button"]');
  await page.waitForSelector('[data-testid="flush-preview-count"]');
  await page.fill('[data-testid="flush-confirm"]', 'shift:');
  await page.click('[data-testid="flush-start"]');
  await page.waitForSelector('[data-testid="flush-last"]', { timeout: 15000 });
  await page.waitForSelector('[data-testid="audit-entry"][data-action="flush_finished"]', { timeout: 10000 });
  await page.waitForSelector('[data-testid="limits-table"]', { timeout: 20000 });
  await sleep(1500); // a few live samples: ages, rates and charts drawn by the client
  return { page, errors };
}

test('the Russian page has no English words and no machine text', async () => {
  const { page, errors } = await dashboardWithEverything('ru');
  const texts = await readableTexts(page);
  assert.ok(texts.length > 100, `the page was read (${texts.length} texts)`);
  const english = new Set();
  for (const text of texts) {
    for (const word of text.match(/[A-Za-z][A-Za-z0-9_-]*/g) ?? []) {
      if (!LATIN_IN_RUSSIAN.has(word)) english.add(`${word}  ←  ${text.slice(0, 80)}`);
    }
  }
  assert.deepEqual([...english], [], 'Latin words on the Russian page');
  assert.deepEqual(machineText(texts), [], 'machine text on the Russian page');
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('the English page has no Russian words and no machine text', async () => {
  const { page, errors } = await dashboardWithEverything('en');
  const texts = await readableTexts(page);
  assert.ok(texts.length > 100, `the page was read (${texts.length} texts)`);
  const russian = texts.filter((text) => /[А-Яа-яЁё]/.test(text));
  assert.deepEqual(russian, [], 'Cyrillic on the English page');
  assert.deepEqual(machineText(texts), [], 'machine text on the English page');
  assert.deepEqual(errors, []);
  await page.context().close();
});
