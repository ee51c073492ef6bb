// The web UI in a real browser: Debian's headless chromium, driven by playwright-core, against a
// gateway with real Spark drivers (scripts/test starts it and sets SPARKGATE_URL). A person's path:
// create a pyspark session from the list, run a statement that prints for 3 s and see its first line
// while it still runs, cancel a sleeping statement, see a %table render, delete the session.
// Screenshots go to tests/browser/artifacts/ (git-ignored); docs/ui-session.png is refreshed from
// the streamed-output shot when SPARKGATE_UPDATE_SCREENSHOT=1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { createServer } from 'node:http';
import { launch, BASE, ARTIFACTS } from './browser.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const START_MS = 300_000; // a driver's start on a loaded 2-core machine
const RUN_MS = 180_000;

let browser;
let page;
let sessionId;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await launch();
  page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.on('pageerror', (e) => { throw new Error('page error: ' + e.message); });
});

after(async () => {
  if (sessionId !== undefined) {
    await fetch(`${BASE}/sessions/${sessionId}`, { method: 'DELETE' }).catch(() => {});
  }
  if (browser) await browser.close();
});

/** The card of statement {@code id} on the session page. */
const card = (id) => page.locator(`#statement-${id}`);

async function run(code) {
  const before = await page.locator('.statement').count();
  await page.fill('#code', code);
  await page.press('#code', 'Control+Enter');
  await page.waitForFunction((n) => document.querySelectorAll('.statement').length > n, before);
  return Number((await page.locator('.statement').first().getAttribute('id')).slice('statement-'.length));
}

test('create a session from the list and reach idle', { timeout: START_MS + 30_000 }, async () => {
  await page.goto(BASE + '/');
  assert.equal(new URL(page.url()).pathname, '/ui', 'GET / redirects to the UI');
  await page.getByLabel('Kind').selectOption('pyspark');
  await page.getByLabel('Name').fill('browser-test-' + Date.now());
  await page.getByRole('button', { name: 'Create session' }).click();
  await page.waitForURL(/#\/sessions\/\d+$/);
  sessionId = Number(page.url().match(/sessions\/(\d+)$/)[1]);
  await openOriginPages();
  await page.locator('#s-state .state-idle').waitFor({ timeout: START_MS });
  await page.screenshot({ path: join(ARTIFACTS, '1-session-idle.png') });
});

test('printed lines stream in while the statement runs', { timeout: RUN_MS + 30_000 }, async () => {
  const id = await run('import time\nfor i in range(16):\n    print("line %d" % i, flush=True)\n    time.sleep(0.2)');
  // The first line shows while the statement's badge still says running: output streamed in.
  const seenRunning = await page.waitForFunction((sid) => {
    const c = document.querySelector('#statement-' + sid);
    if (!c || !c.querySelector('.live')) return null;
    const state = c.querySelector('.state').textContent;
    return c.querySelector('.live').textContent.includes('line 0') ? state : null;
  }, id, { timeout: RUN_MS, polling: 20 }).then((h) => h.jsonValue());
  assert.equal(seenRunning, 'running', 'the first line appeared only after the statement ended');
  await page.screenshot({ path: join(ARTIFACTS, '2-streaming.png') });
  await card(id).locator('.state-available').waitFor({ timeout: RUN_MS });
  const out = await card(id).locator('pre.out').innerText();
  assert.match(out, /^line 0\n(line \d+\n)+line 15/);
  if (process.env.SPARKGATE_UPDATE_SCREENSHOT === '1') {
    copyFileSync(join(ARTIFACTS, '2-streaming.png'), join(HERE, '..', '..', 'docs', 'ui-session.png'));
  }
});

test('cancel a running statement', { timeout: RUN_MS + 30_000 }, async () => {
  const id = await run('import time\nprint("sleeping", flush=True)\ntime.sleep(120)');
  await card(id).locator('.state-running').waitFor({ timeout: RUN_MS });
  await card(id).getByRole('button', { name: `Cancel statement ${id}` }).click();
  await card(id).locator('.state-cancelled').waitFor({ timeout: RUN_MS });
  assert.equal(await card(id).getByRole('button', { name: /Cancel/ }).count(), 0, 'no cancel button once cancelled');
  await page.screenshot({ path: join(ARTIFACTS, '3-cancelled.png') });
});

test('a %table output renders as a table', { timeout: RUN_MS + 30_000 }, async () => {
  const id = await run("t = [{'id': 1, 'name': 'one'}, {'id': 2, 'name': 'two'}]\n%table t");
  const table = card(id).locator('table.out-table');
  await table.waitFor({ timeout: RUN_MS });
  assert.deepEqual(await table.locator('th').allInnerTexts(), ['id', 'name']);
  assert.deepEqual(await table.locator('tbody tr').evaluateAll(
    (rows) => rows.map((r) => [...r.cells].map((c) => c.textContent))), [['1', 'one'], ['2', 'two']]);
  await page.screenshot({ path: join(ARTIFACTS, '4-table.png') });
});

// A page served from another origin follows the session's SSE stream with EventSource. The page's
// server listens on SPARKGATE_PAGE_PORT; the gateway allows http://127.0.0.1:PORT
// (sparkgate.server.cors.allowed-origins, set by scripts/test), so the same page loaded as
// http://localhost:PORT is another origin, one the gateway does not allow.
const PAGE_PORT = Number(process.env.SPARKGATE_PAGE_PORT || 0);

function streamPage() {
  return `<!doctype html><title>elsewhere</title><pre id="out"></pre><p id="status">opening</p>
<script>
  const out = document.getElementById('out'), status = document.getElementById('status');
  const es = new EventSource(${JSON.stringify(BASE)} + '/sessions/' + new URLSearchParams(location.search).get('s') + '/events');
  es.onopen = () => { status.textContent = 'open'; };
  es.onerror = () => { status.textContent = 'error'; };
  // Live pieces while a statement runs; its final text when it ends (a quick statement may end
  // before any piece is sent: its output then comes whole in the statement event).
  const text = {};
  const show = () => { out.textContent = Object.keys(text).sort((a, b) => a - b).map((k) => text[k]).join(''); };
  es.addEventListener('output', (e) => { const o = JSON.parse(e.data); text[o.statement] = (text[o.statement] || '') + o.text; show(); });
  es.addEventListener('statement', (e) => {
    const st = JSON.parse(e.data);
    if (st.output && st.output.data && st.output.data['text/plain'] !== undefined) { text[st.id] = st.output.data['text/plain']; show(); }
  });
</script>`;
}

let pageServer;
let allowed;
let other;

/** Serves the page on SPARKGATE_PAGE_PORT and opens it from both origins, following the new session. */
async function openOriginPages() {
  if (!PAGE_PORT) assert.fail('SPARKGATE_PAGE_PORT is not set: scripts/test sets it with the gateway\'s allowed origin');
  pageServer = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(streamPage());
  });
  await new Promise((ok) => pageServer.listen(PAGE_PORT, '127.0.0.1', ok));
  allowed = await browser.newPage();
  other = await browser.newPage();
  await allowed.goto(`http://127.0.0.1:${PAGE_PORT}/?s=${sessionId}`);
  await other.goto(`http://localhost:${PAGE_PORT}/?s=${sessionId}`);
}

// The pages opened when the session was created and have followed it since, as a dashboard would.
test('a page on an allowed origin streams output; one on another origin gets nothing', { timeout: RUN_MS + 60_000 }, async () => {
  try {
    await allowed.locator('#status', { hasText: 'open' }).waitFor({ timeout: 30_000 });
    await other.locator('#status', { hasText: 'error' }).waitFor({ timeout: 30_000 });

    const marker = 'cross-origin-' + Date.now();
    const r = await fetch(`${BASE}/sessions/${sessionId}/statements`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ code: `print("${marker}")` }),
    });
    assert.equal(r.status, 201);
    await allowed.locator('#out', { hasText: marker }).waitFor({ timeout: RUN_MS });
    // By now the statement has ended; the other origin's page saw none of it.
    const st = await (await fetch(`${BASE}/sessions/${sessionId}/statements/${(await r.json()).id}?wait=30`)).json();
    assert.equal(st.state, 'available');
    assert.equal(await other.locator('#out').textContent(), '');
    assert.equal(await other.locator('#status').textContent(), 'error');
    await allowed.screenshot({ path: join(ARTIFACTS, '5-cors-allowed.png') });
    await other.screenshot({ path: join(ARTIFACTS, '6-cors-other-origin.png') });
  } finally {
    await allowed.close();
    await other.close();
    pageServer.close();
  }
});

test('the driver log and deleting the session', { timeout: 90_000 }, async () => {
  await page.locator('#log-box summary').click();
  assert.ok((await page.locator('#log').innerText()).length > 0, 'the driver log is empty');
  page.once('dialog', (d) => d.accept());
  await page.getByRole('button', { name: 'Delete session' }).click();
  await page.waitForURL(/#\/$/);
  // Listed shutting_down until its driver has exited, then forgotten.
  const deadline = Date.now() + 60_000;
  let status;
  while ((status = (await fetch(`${BASE}/sessions/${sessionId}`)).status) !== 404 && Date.now() < deadline) {
    await new Promise((ok) => setTimeout(ok, 250));
  }
  assert.equal(status, 404, 'the deleted session is still there after 60 s');
  sessionId = undefined;
});
