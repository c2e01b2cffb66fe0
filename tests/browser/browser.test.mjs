// Browser tests of todo-api in headless Chromium (Debian's package, driven by playwright-core).
// Run through tests/browser/run.sh, which builds and starts the server and sets:
//   API_URL       the server, e.g. http://127.0.0.1:41234 (started with CORS_ORIGINS=http://localhost:3000)
//   ASSETS_URL    where the server's /docs loads Swagger UI from (a local copy of swagger-ui-dist)
//   SCREENSHOT    where to save the /docs screenshot (default target/browser/docs.png)
//   CHROMIUM      the browser (default /usr/bin/chromium)
// This file serves the web client page (page/) itself, on http://localhost:3000 (an allowed origin)
// and on http://localhost:3001 (on the server's default list, but not in this run's CORS_ORIGINS).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from './static-server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const API = process.env.API_URL;
const ASSETS = process.env.ASSETS_URL;
const SCREENSHOT = process.env.SCREENSHOT ?? path.resolve(here, '../../target/browser/docs.png');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
// The files run.sh serves as ASSETS_URL: what the hashes on /docs must match.
const SWAGGER_UI_DIST = path.join(here, 'node_modules/swagger-ui-dist');
const ALLOWED_PORT = 3000;
const BLOCKED_PORT = 3001;
const ALLOWED_ORIGIN = `http://localhost:${ALLOWED_PORT}`;
const BLOCKED_ORIGIN = `http://localhost:${BLOCKED_PORT}`;
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

let browser;
const servers = [];

/** The client page on `localhost:port`: 127.0.0.1 always, and ::1 where the machine has it. */
async function serveClient(port) {
  const root = path.join(here, 'page');
  try {
    servers.push(await serve(root, '127.0.0.1', port));
  } catch (e) {
    throw new Error(`cannot serve the client page on 127.0.0.1:${port} (${e.code ?? e.message}); is the port in use?`);
  }
  try {
    servers.push(await serve(root, '::1', port));
  } catch (e) {
    if (!['EADDRNOTAVAIL', 'EAFNOSUPPORT'].includes(e.code)) throw e;
  }
}

before(async () => {
  assert.ok(API, 'API_URL is not set: run tests/browser/run.sh');
  await serveClient(ALLOWED_PORT);
  await serveClient(BLOCKED_PORT);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 60_000 });
});

after(async () => {
  await browser?.close();
  await Promise.all(servers.map((s) => new Promise((resolve) => { s.closeAllConnections?.(); s.close(resolve); })));
});

/** A fresh page that records console errors, uncaught errors and failed requests. */
async function newPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const seen = { console: [], pageErrors: [], failedRequests: [] };
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') seen.console.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => seen.pageErrors.push(String(e)));
  page.on('requestfailed', (r) => seen.failedRequests.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
  return { context, page, seen };
}

/**
 * Preflight requests, as the browser's network stack sends them (Playwright's own request events do
 * not include them; the DevTools protocol does).
 */
async function watchPreflights(page) {
  const cdp = await page.context().newCDPSession(page);
  const byId = new Map();
  cdp.on('Network.requestWillBeSent', (e) => {
    if (e.type === 'Preflight' || e.request.method === 'OPTIONS') {
      byId.set(e.requestId, { url: e.request.url, requestHeaders: lower(e.request.headers) });
    }
  });
  cdp.on('Network.responseReceived', (e) => {
    const p = byId.get(e.requestId);
    if (p) Object.assign(p, { status: e.response.status, headers: lower(e.response.headers) });
  });
  cdp.on('Network.responseReceivedExtraInfo', (e) => {
    const p = byId.get(e.requestId);
    if (p) Object.assign(p, { rawStatus: e.statusCode, rawHeaders: lower(e.headers) });
  });
  await cdp.send('Network.enable');
  return byId;
}

const lower = (h) => Object.fromEntries(Object.entries(h ?? {}).map(([k, v]) => [k.toLowerCase(), v]));

test('/docs renders Swagger UI with every path of /openapi.json, within its CSP', { timeout: 90_000 }, async (t) => {
  const spec = await (await fetch(`${API}/openapi.json`)).json();
  assert.match(String(spec.openapi), /^3\./, 'openapi.json is not an OpenAPI 3 document');
  const operations = [];
  for (const [p, item] of Object.entries(spec.paths ?? {})) {
    for (const m of HTTP_METHODS) if (item && item[m]) operations.push({ method: m.toUpperCase(), path: p });
  }

  const { context, page, seen } = await newPage();
  try {
    // Records CSP violations from the first byte (init scripts are exempt from the page's CSP).
    await page.addInitScript(() => {
      window.__cspViolations = [];
      document.addEventListener('securitypolicyviolation', (e) => {
        window.__cspViolations.push({ directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile, sample: e.sample });
      });
    });
    const assetResponses = [];
    page.on('response', (r) => {
      if (ASSETS && r.url().startsWith(ASSETS)) assetResponses.push(`${r.status()} ${r.url()}`);
    });

    const response = await page.goto(`${API}/docs`, { waitUntil: 'load' });
    assert.equal(response.status(), 200);
    const csp = (await response.allHeaders())['content-security-policy'] ?? '';
    assert.match(csp, /default-src 'none'/, `strict Content-Security-Policy expected, got ${JSON.stringify(csp)}`);
    assert.doesNotMatch(csp, /script-src[^;]*'unsafe-(inline|eval)'/, 'scripts must not need unsafe-inline/eval');

    // Every file the page loads carries the hash of the pinned release's file (Subresource
    // Integrity), and is fetched with CORS, without which the browser cannot check it.
    const html = await response.text();
    const release = JSON.parse(fs.readFileSync(path.join(SWAGGER_UI_DIST, 'package.json'), 'utf8')).version;
    assert.ok(html.includes(`swagger-ui-dist@${release} -->`), `the page does not name swagger-ui-dist@${release}, the release run.sh serves`);
    const assets = await page.$$eval('script[src], link[rel="stylesheet"]', (els) =>
      els.map((el) => ({ url: el.src || el.href, integrity: el.integrity, crossOrigin: el.crossOrigin })),
    );
    assert.equal(assets.length, 2, JSON.stringify(assets));
    for (const a of assets) {
      const file = path.join(SWAGGER_UI_DIST, path.basename(new URL(a.url).pathname));
      const hash = `sha384-${crypto.createHash('sha384').update(fs.readFileSync(file)).digest('base64')}`;
      assert.equal(a.integrity, hash, `${a.url}: the integrity on /docs is not the hash of ${file}`);
      assert.equal(a.crossOrigin, 'anonymous', a.url);
    }

    const bundle = await page.evaluate(() => typeof window.SwaggerUIBundle);
    assert.equal(bundle, 'function', `Swagger UI's bundle did not load (failed requests: ${JSON.stringify(seen.failedRequests)}; console: ${JSON.stringify(seen.console)})`);
    // Swagger UI has fetched /openapi.json and rendered it.
    await page.waitForSelector('.swagger-ui .information-container .info .title', { timeout: 30_000 });
    if (operations.length > 0) {
      await page.waitForFunction((n) => document.querySelectorAll('.swagger-ui .opblock').length >= n, operations.length, {
        timeout: 30_000,
      });
    } else {
      await page.waitForSelector('.swagger-ui .information-container');
    }
    const title = await page.textContent('.swagger-ui .info .title');
    assert.ok(title.includes(spec.info?.title ?? ''), `title ${JSON.stringify(title)} lacks ${spec.info?.title}`);
    const errors = await page.$$eval('.swagger-ui .errors-wrapper', (els) => els.map((el) => el.innerText));
    assert.deepEqual(errors, [], 'Swagger UI reports errors in the spec');

    const rendered = await page.$$eval('.swagger-ui .opblock', (els) =>
      els.map((el) => {
        const p = el.querySelector('.opblock-summary-path');
        return {
          method: el.querySelector('.opblock-summary-method')?.textContent.trim().toUpperCase(),
          path: p?.getAttribute('data-path') ?? p?.textContent.replace(/\u200b/g, '').trim(),
        };
      }),
    );
    const key = (o) => `${o.method} ${o.path}`;
    const renderedKeys = new Set(rendered.map(key));
    const missing = operations.filter((o) => !renderedKeys.has(key(o))).map(key);
    assert.deepEqual(missing, [], `operations in /openapi.json not shown on /docs (rendered: ${[...renderedKeys].join(', ')})`);
    const renderedPaths = new Set(rendered.map((o) => o.path));
    for (const p of Object.keys(spec.paths ?? {})) {
      if (operations.some((o) => o.path === p)) assert.ok(renderedPaths.has(p), `path ${p} not shown on /docs`);
    }
    if (operations.length === 0) {
      // The stub document: Swagger UI says so instead of listing operations.
      assert.match(await page.innerText('.swagger-ui'), /No operations defined in spec/);
    }

    fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    t.diagnostic(`${operations.length} operations on ${Object.keys(spec.paths ?? {}).length} paths rendered; screenshot ${SCREENSHOT}`);

    const violations = await page.evaluate(() => window.__cspViolations);
    assert.deepEqual(violations, [], 'the page broke its own Content-Security-Policy');
    const cspConsole = seen.console.filter((m) => /Content Security Policy|Refused to/i.test(m));
    assert.deepEqual(cspConsole, [], 'CSP violations in the console');
    assert.deepEqual(seen.pageErrors, [], 'uncaught errors on /docs');
    assert.deepEqual(seen.failedRequests, [], 'failed requests on /docs');
    if (ASSETS) {
      assert.ok(assetResponses.some((r) => /^200 .*\/swagger-ui-bundle\.js$/.test(r)), `bundle not loaded: ${assetResponses}`);
      assert.ok(assetResponses.some((r) => /^200 .*\/swagger-ui\.css$/.test(r)), `stylesheet not loaded: ${assetResponses}`);
    }

    // The detector itself works: an image from an origin the CSP does not list is refused and
    // reported (the browser blocks it before any request goes out).
    await page.evaluate(() => {
      const img = document.createElement('img');
      img.src = 'http://127.0.0.2:9/csp-probe.png';
      document.body.appendChild(img);
    });
    await page.waitForFunction(() => window.__cspViolations.length > 0, null, { timeout: 5_000 });
    const probe = await page.evaluate(() => window.__cspViolations);
    assert.equal(probe[0].directive, 'img-src');
  } finally {
    await context.close();
  }
});

test('/docs does not run a Swagger UI bundle that differs from the pinned one', { timeout: 60_000 }, async () => {
  const { context, page, seen } = await newPage();
  try {
    let tampered = 0;
    await page.route('**/swagger-ui-bundle.js', async (route) => {
      const original = await route.fetch();
      const body = Buffer.concat([await original.body(), Buffer.from('\nwindow.tampered = true;\n')]);
      tampered += 1;
      await route.fulfill({ response: original, body });
    });
    const response = await page.goto(`${API}/docs`, { waitUntil: 'load' });
    assert.equal(response.status(), 200);
    assert.equal(tampered, 1, 'the bundle was not requested');
    assert.deepEqual(
      await page.evaluate(() => [typeof window.SwaggerUIBundle, typeof window.tampered]),
      ['undefined', 'undefined'],
      'the changed bundle ran',
    );
    const refused = seen.console.filter((m) => /integrity/i.test(m) && /swagger-ui-bundle\.js/.test(m));
    assert.ok(refused.length > 0, `no integrity error in the console: ${JSON.stringify(seen.console)}`);
  } finally {
    await context.close();
  }
});

test(`a web client on ${ALLOWED_ORIGIN} runs the whole task flow through CORS preflights`, { timeout: 90_000 }, async (t) => {
  const { context, page, seen } = await newPage();
  try {
    const preflights = await watchPreflights(page);
    const apiResponses = [];
    page.on('response', async (r) => {
      if (r.url().startsWith(API)) apiResponses.push({ method: r.request().method(), url: r.url(), status: r.status(), headers: r.allHeaders() });
    });
    await page.goto(`${ALLOWED_ORIGIN}/`);
    assert.equal(await page.evaluate(() => location.origin), ALLOWED_ORIGIN);

    const result = await page.evaluate((api) => window.runFlow(api), API);
    for (const s of result.steps) if (!s.ok) console.log(`  step failed: ${s.name}: ${s.problems.join('; ')}`);
    assert.deepEqual(result.failures, [], 'steps failed in the page');
    assert.ok(result.steps.length >= 20, `only ${result.steps.length} steps ran`);

    // Every response the page read carried the grant for exactly this origin, never `*`.
    assert.ok(apiResponses.length >= result.steps.length, `${apiResponses.length} API responses seen`);
    for (const r of apiResponses) {
      const h = await r.headers;
      const what = `${r.method} ${r.url} (${r.status})`;
      assert.equal(h['access-control-allow-origin'], ALLOWED_ORIGIN, `${what}: Access-Control-Allow-Origin`);
      assert.equal(h['access-control-allow-credentials'], 'true', `${what}: Access-Control-Allow-Credentials`);
      assert.match(h.vary ?? '', /\bOrigin\b/i, `${what}: Vary`);
    }

    // The browser really preflighted: every non-simple method, answered 204 with the grant. (It caches
    // a grant per URL for Access-Control-Max-Age, so not every request is preflighted.)
    const list = [...preflights.values()];
    const methods = new Set(list.map((p) => p.requestHeaders['access-control-request-method']));
    for (const m of ['POST', 'GET', 'PUT', 'PATCH', 'DELETE']) {
      assert.ok(methods.has(m), `no preflight seen for ${m} (saw ${[...methods].join(', ')})`);
    }
    for (const p of list) {
      const status = p.rawStatus ?? p.status;
      const h = p.rawHeaders ?? p.headers ?? {};
      const what = `preflight ${p.requestHeaders['access-control-request-method']} ${p.url}`;
      assert.equal(status, 204, `${what}: status`);
      assert.equal(h['access-control-allow-origin'], ALLOWED_ORIGIN, `${what}: Access-Control-Allow-Origin`);
      assert.equal(h['access-control-allow-credentials'], 'true', `${what}: Access-Control-Allow-Credentials`);
      const method = p.requestHeaders['access-control-request-method'];
      assert.ok((h['access-control-allow-methods'] ?? '').split(/\s*,\s*/).includes(method), `${what}: Allow-Methods ${h['access-control-allow-methods']}`);
      const asked = (p.requestHeaders['access-control-request-headers'] ?? '').toLowerCase().split(/\s*,\s*/).filter(Boolean);
      const granted = (h['access-control-allow-headers'] ?? '').toLowerCase().split(/\s*,\s*/);
      for (const name of asked) assert.ok(granted.includes(name) || granted.includes('*'), `${what}: header ${name} not granted`);
    }

    t.diagnostic(`${result.steps.length} steps, ${apiResponses.length} API responses, ${list.length} preflights (${[...methods].join(', ')})`);

    const errors = seen.console.filter((m) => m.startsWith('error'));
    // The page provokes 400/401/403/404 answers on purpose; Chromium logs each as a failed load.
    const unexpected = errors.filter((m) => !/Failed to load resource: the server responded with a status of (400|401|403|404)/.test(m));
    assert.deepEqual(unexpected, [], 'console errors on the client page');
    assert.deepEqual(seen.pageErrors, []);
  } finally {
    await context.close();
  }
});

test('two pages of one user: a change in one appears in the other without a reload', { timeout: 60_000 }, async () => {
  const { context, page: writer, seen } = await newPage();
  try {
    const reader = await context.newPage();
    let navigations = 0;
    reader.on('framenavigated', (f) => { if (f === reader.mainFrame()) navigations += 1; });
    await writer.goto(`${ALLOWED_ORIGIN}/`);
    await reader.goto(`${ALLOWED_ORIGIN}/`);
    const call = (page, method, p, body) => page.evaluate(
      ([api, method, p, body, token]) => window.client.request(api, method, p, { token, body }),
      [API, method, p, body, user.token],
    );
    const email = `live-${Date.now()}@example.com`;
    const signup = await writer.evaluate(
      ([api, email]) => window.client.request(api, 'POST', '/api/auth/signup', { body: { name: 'Live Pages', email, password: 'Secr3t!pass' } }),
      [API, email],
    );
    assert.equal(signup.status, 201, signup.text);
    const user = { id: signup.body.user_id, token: signup.body.access_token };
    assert.equal(await reader.evaluate(([api, u]) => window.watch(api, u.id, u.token), [API, user]), 'open');

    const created = await call(writer, 'POST', `/api/${user.id}/tasks`, { title: 'Appears live' });
    assert.equal(created.status, 201, created.text);
    const item = reader.locator(`li[data-id="${created.body.id}"]`);
    await item.waitFor({ timeout: 10_000 });
    assert.equal(await item.textContent(), 'Appears live');

    const renamed = await call(writer, 'PUT', `/api/${user.id}/tasks/${created.body.id}`, { title: 'Renamed live' });
    assert.equal(renamed.status, 200, renamed.text);
    await reader.waitForFunction((id) => document.querySelector(`li[data-id="${id}"]`)?.textContent === 'Renamed live', created.body.id, { timeout: 10_000 });

    const deleted = await call(writer, 'DELETE', `/api/${user.id}/tasks/${created.body.id}`);
    assert.equal(deleted.status, 200, deleted.text);
    await item.waitFor({ state: 'detached', timeout: 10_000 });

    assert.deepEqual(await reader.evaluate(() => window.events), ['created', 'updated', 'deleted']);
    assert.equal(navigations, 1, 'the reading page was never reloaded');
    assert.deepEqual(seen.pageErrors, []);
    await reader.evaluate(() => window.liveSource.close());
  } finally {
    await context.close();
  }
});

test(`a web client on ${BLOCKED_ORIGIN} (not in CORS_ORIGINS) is refused by the browser`, { timeout: 60_000 }, async (t) => {
  const { context, page, seen } = await newPage();
  try {
    const preflights = await watchPreflights(page);
    await page.goto(`${BLOCKED_ORIGIN}/`);
    assert.equal(await page.evaluate(() => location.origin), BLOCKED_ORIGIN);
    const email = `blocked.${Date.now()}@example.com`;

    const results = await page.evaluate(([api, e]) => window.probe(api, e), [API, email]);
    for (const r of results) {
      assert.ok(r.rejected, `${r.name}: the page read a response (status ${r.status}) it must not see`);
      assert.equal(r.error, 'TypeError', `${r.name}: ${r.error}: ${r.message}`);
    }
    const blocked = seen.console.filter((m) => /blocked by CORS policy/.test(m));
    assert.ok(blocked.length >= results.length, `expected CORS errors in the console, got ${JSON.stringify(seen.console)}`);

    // The preflights were answered without any grant, so the sign-up never reached the server.
    const list = [...preflights.values()];
    assert.ok(list.length >= 2, `expected preflights, saw ${list.length}`);
    for (const p of list) {
      const h = p.rawHeaders ?? p.headers ?? {};
      assert.equal(h['access-control-allow-origin'], undefined, `preflight ${p.url} granted ${h['access-control-allow-origin']}`);
      assert.equal(h['access-control-allow-credentials'], undefined, `preflight ${p.url} sent Allow-Credentials`);
    }
    t.diagnostic(`${results.length} requests refused with TypeError, ${list.length} preflights without a grant`);
    const signin = await fetch(`${API}/api/auth/signin`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email, password: 'Secr3t!pass' }),
    });
    assert.equal(signin.status, 401, 'the blocked sign-up created the user');
  } finally {
    await context.close();
  }
});
