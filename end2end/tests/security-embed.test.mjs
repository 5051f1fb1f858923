import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { App, RedisServer, freePort, launchBrowser, signedInPage, watchErrors } from '../support/harness.mjs';

let redis;
let app;
let browser;
let adminServer;
let foreignServer;
let adminOrigin;
let foreignOrigin;

/** A stand-in for the admin: a page that embeds cachepanel and records its height messages. */
function adminPage() {
  return `<!DOCTYPE html><html><body>
    <h1>Admin</h1>
    <iframe id="cachepanel" src="${app.origin}/admin/cache/stats?embed=1&lang=en" style="width:1200px;height:300px;border:0"></iframe>
    <script>
      window.__heights = [];
      window.addEventListener('message', (event) => {
        if (event.origin !== ${JSON.stringify(app.origin)}) return;
        if (event.data && event.data.source === 'cachepanel' && event.data.type === 'resize') {
          window.__heights.push(event.data.height);
          document.getElementById('cachepanel').style.height = event.data.height + 'px';
        }
      });
    </script>
  </body></html>`;
}

before(async () => {
  // The admin's origin and a foreign one. Both are on 127.0.0.1 (other ports), so the
  // session cookie reaches the framed page either way and only frame-ancestors decides.
  const serve = (request, response) => {
    response.writeHead(200, { 'content-type': 'text/html' });
    response.end(request.url.startsWith('/auth/login') ? '<h1>Admin login</h1>' : adminPage());
  };
  const port = await freePort();
  adminOrigin = `http://127.0.0.1:${port}`;
  adminServer = createServer(serve);
  await new Promise((resolve) => adminServer.listen(port, '127.0.0.1', resolve));
  const foreignPort = await freePort();
  foreignOrigin = `http://127.0.0.1:${foreignPort}`;
  foreignServer = createServer(serve);
  await new Promise((resolve) => foreignServer.listen(foreignPort, '127.0.0.1', resolve));
  redis = await RedisServer.start();
  redis.batch(['SET user:1 x EX 900', 'SET shift:1 y EX 300']);
  app = await App.start({
    redisUrl: redis.url,
    env: {
      CACHEPANEL_CENSUS_EVERY_SECONDS: '0',
      CACHEPANEL_FRAME_ANCESTORS: `'self' ${adminOrigin}`,
      CACHEPANEL_ADMIN_ORIGIN: adminOrigin,
      CACHEPANEL_VIEW_ROLES: 'moderator',
      CACHEPANEL_LOGIN_URL: `${adminOrigin}/auth/login`,
    },
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await app?.close();
  await redis?.close();
  await new Promise((resolve) => (adminServer ? adminServer.close(resolve) : resolve()));
  await new Promise((resolve) => (foreignServer ? foreignServer.close(resolve) : resolve()));
});

test('without a session the page sends the browser to the admin login, with next', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${app.origin}/admin/cache/stats?lang=en`);
  assert.equal(await page.textContent('h1'), 'Admin login');
  const url = new URL(page.url());
  assert.equal(url.origin, adminOrigin);
  assert.equal(url.pathname, '/auth/login');
  assert.equal(url.searchParams.get('next'), '/admin/cache/stats?lang=en');
  await context.close();
});

test('a role without access gets the 403 page in its language', async () => {
  const page = await signedInPage(browser, app, { role: 'owner', locale: 'ru-RU' });
  const response = await page.goto(`${app.origin}/admin/cache/stats`);
  assert.equal(response.status(), 403);
  assert.match(await page.textContent('[data-testid="forbidden"]'), /только суперадминистраторам/);
  await page.context().close();
});

test('a view-only role sees the dashboard without the actions', async () => {
  const page = await signedInPage(browser, app, { role: 'moderator', userId: 5 });
  const errors = watchErrors(page);
  await page.goto(`${app.origin}/admin/cache/stats?lang=en`);
  await page.waitForSelector('[data-testid="stats-page"][data-hydrated="true"]', { timeout: 15000 });
  assert.match(await page.textContent('[data-testid="flush-disabled"]'), /can only view/);
  assert.equal(await page.isDisabled('[data-testid="census-start"]'), true);
  assert.equal(await page.$('[data-testid="flush-prefix"]'), null);
  assert.match(await page.textContent('[data-testid="signed-in-as"]'), /moderator5/);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('inside the admin the compact page loads and reports its height to the admin origin', async () => {
  const page = await signedInPage(browser, app);
  await page.goto(adminOrigin);
  const frame = page.frameLocator('#cachepanel');
  await frame.locator('[data-testid="stats-page"][data-hydrated="true"]').waitFor({ timeout: 15000 });
  assert.equal(await frame.locator('h1').count(), 0, 'no own heading in embed mode');
  await page.waitForFunction(() => window.__heights.some((height) => height > 300), null, { timeout: 10000 });
  const heights = await page.evaluate(() => window.__heights);
  const frameHeight = await page.evaluate(() => document.getElementById('cachepanel').getBoundingClientRect().height);
  assert.equal(frameHeight, heights.at(-1), 'the admin sized the iframe from the message');
  await page.context().close();
});

test('a foreign site cannot frame the page', async () => {
  const page = await signedInPage(browser, app);
  const refusals = [];
  page.on('console', (message) => {
    if (/frame-ancestors/.test(message.text())) refusals.push(message.text());
  });
  await page.goto(foreignOrigin);
  await page.waitForFunction(() => document.readyState === 'complete');
  // Give a framed page every chance to load and post a message.
  await sleep(2000);
  const frame = page.frames().find((candidate) => candidate !== page.mainFrame());
  let framedPage = null;
  try {
    framedPage = await frame?.$('[data-testid="stats-page"]');
  } catch {
    framedPage = null;
  }
  assert.equal(framedPage, null, 'the dashboard did not render inside a foreign frame');
  assert.deepEqual(await page.evaluate(() => window.__heights), []);
  assert.ok(refusals.length > 0, 'Chromium reports the frame-ancestors refusal');
  await page.context().close();
});
