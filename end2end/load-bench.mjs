// `make bench` (client section): what a first and a repeat page load cost in a real browser,
// unthrottled and under a fixed slow profile (4x CPU throttling, 10 Mbit/s down, 5 Mbit/s up,
// 40 ms RTT, through CDP). Each build named on the command line is measured the same way, one
// after the other, against its own server with the demo workload:
//
//   node end2end/load-bench.mjs LABEL=BIN:SITE [LABEL=BIN:SITE ...]
//
// Prints one JSON object per build: medians of LOADS loads each.
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { App, RedisServer, launchBrowser, sessionCookies } from './support/harness.mjs';

const LOADS = Number(process.env.BENCH_LOADS || 5);
const SLOW = { latency: 40, downloadThroughput: (10e6 / 8), uploadThroughput: (5e6 / 8), cpu: 4 };
const PROFILES = [['unthrottled', null], ['throttled', SLOW]]
  .filter(([name]) => !process.env.BENCH_PROFILES || process.env.BENCH_PROFILES.split(',').includes(name));

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor(sorted.length / 2)] : null;
};

/** Records the moment the page marks itself hydrated, from before any page script runs. */
function markHydration() {
  const seen = () => {
    if (window.__hydratedAt) return;
    if (document.querySelector('[data-testid="stats-page"][data-hydrated="true"]')) {
      window.__hydratedAt = performance.now();
    }
  };
  new MutationObserver(seen).observe(document, {
    subtree: true, childList: true, attributes: true, attributeFilter: ['data-hydrated'],
  });
}

/** One navigation in `page`: bytes on the wire by kind, first paint, hydration mark. */
async function load(page, cdp, url) {
  const requests = new Map();
  const onResponse = ({ requestId, response }) => {
    requests.set(requestId, { url: response.url, cached: response.fromDiskCache || response.fromServiceWorker, bytes: 0 });
  };
  const onCache = ({ requestId }) => {
    const entry = requests.get(requestId) || { url: '', bytes: 0 };
    requests.set(requestId, { ...entry, cached: true });
  };
  const onFinished = ({ requestId, encodedDataLength }) => {
    const entry = requests.get(requestId);
    if (entry) {
      entry.bytes = entry.cached ? 0 : encodedDataLength;
      entry.done = true;
    }
  };
  cdp.on('Network.responseReceived', onResponse);
  cdp.on('Network.requestServedFromCache', onCache);
  cdp.on('Network.loadingFinished', onFinished);
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(() => window.__hydratedAt !== undefined, null, { timeout: 60000 });
  const timing = await page.evaluate(() => ({
    paint: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null,
    hydrated: window.__hydratedAt,
  }));
  // The chart chunk is fetched after hydration, at the first chart redraw (the first live
  // update); wait for it (builds without one: up to 4 s) so it is counted apart, not by luck.
  const chunkDone = () => [...requests.values()].some((r) => r.url.includes('/pkg/split_') && r.done);
  for (let waited = 0; waited < 4000 && !chunkDone(); waited += 100) await sleep(100);
  await sleep(300);
  cdp.off('Network.responseReceived', onResponse);
  cdp.off('Network.requestServedFromCache', onCache);
  cdp.off('Network.loadingFinished', onFinished);
  const bytes = { total: 0, wasm: 0, static: 0, chunk: 0 };
  for (const { url: requested, bytes: sent } of requests.values()) {
    if (requested.includes('/api/live/events')) continue; // endless; not part of a load
    if (/\/pkg\//.test(requested)) bytes.static += sent;
    if (requested.includes('/pkg/split_')) {
      bytes.chunk += sent; // the chart code, after hydration
      continue;
    }
    bytes.total += sent;
    if (requested.includes('.wasm')) bytes.wasm += sent;
  }
  return { ...timing, bytes };
}

async function measure(browser, app) {
  const url = `${app.origin}/admin/cache/stats?lang=ru`;
  const results = {};
  for (const [name, profile] of PROFILES) {
    const first = [];
    const repeat = [];
    for (let run = 0; run < LOADS; run += 1) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      await context.addCookies(sessionCookies(app, { userId: 9001 }));
      await context.addInitScript(markHydration);
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      if (profile) {
        await cdp.send('Network.emulateNetworkConditions', {
          offline: false,
          latency: profile.latency,
          downloadThroughput: profile.downloadThroughput,
          uploadThroughput: profile.uploadThroughput,
        });
        await cdp.send('Emulation.setCPUThrottlingRate', { rate: profile.cpu });
      }
      first.push(await load(page, cdp, url));
      // A repeat visit: a new navigation in the same browser profile (its HTTP cache kept).
      repeat.push(await load(page, cdp, url));
      await context.close();
    }
    results[name] = {
      first_total_bytes: median(first.map((r) => r.bytes.total)),
      first_wasm_bytes: median(first.map((r) => r.bytes.wasm)),
      first_chunk_bytes: median(first.map((r) => r.bytes.chunk)),
      first_with_chunk_bytes: median(first.map((r) => r.bytes.total + r.bytes.chunk)),
      repeat_static_bytes: median(repeat.map((r) => r.bytes.static)),
      repeat_total_bytes: median(repeat.map((r) => r.bytes.total)),
      first_paint_ms: median(first.map((r) => r.paint)),
      hydrated_ms: median(first.map((r) => r.hydrated)),
      repeat_hydrated_ms: median(repeat.map((r) => r.hydrated)),
    };
  }
  return results;
}

const builds = process.argv.slice(2).map((argument) => {
  const [label, rest] = argument.split(/=(.*)/s);
  const [bin, site] = rest.split(':');
  return { label, bin, site };
});
const browser = await launchBrowser();
try {
  for (const { label, bin, site } of builds) {
    const redis = await RedisServer.start();
    const demo = spawn(bin, ['demo', '--redis-url', redis.url], { stdio: 'ignore' });
    process.env.CACHEPANEL_BIN = bin;
    const app = await App.start({
      redisUrl: redis.url,
      env: { CACHEPANEL_SITE_ROOT: site, CACHEPANEL_SAMPLE_INTERVAL_MS: '1000', CACHEPANEL_LOG: 'warn' },
    });
    try {
      await sleep(5000); // the demo builds a keyspace; the first census runs at start
      console.log(JSON.stringify({ label, ...(await measure(browser, app)) }));
    } finally {
      demo.kill('SIGTERM');
      await app.close();
      await redis.close();
    }
  }
} finally {
  await browser.close();
}
