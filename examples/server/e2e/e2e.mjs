// Browser end-to-end test of the dashboard: a real modelyard-server on a temporary sled store,
// Debian's chromium driven by playwright-core through the whole loop a person does.
//
// Env: MODELYARD_SERVER_BIN (required unless MODELYARD_E2E_URL names a running server),
// CHROMIUM_PATH (default /usr/bin/chromium), E2E_EPOCHS (default 15),
// E2E_TRAIN_TIMEOUT_MS (default 300000), E2E_HEADFUL=1 to watch.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');
const irisCsv = join(repo, 'examples/data/iris.csv');
const shots = join(here, 'screenshots');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const epochs = Number(process.env.E2E_EPOCHS ?? 15);
const trainTimeout = Number(process.env.E2E_TRAIN_TIMEOUT_MS ?? 300_000);
const SPECIES = ['setosa', 'versicolor', 'virginica'];
const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

let server = null;
let serverLog = null;
let dataDir = null;
let browser = null;
let passed = 0;
let failed = 0;
let shotNumber = 0;
const pageErrors = [];

function fail(message) {
  console.error(`e2e: ${message}`);
  process.exitCode = 1;
}

function serverLogTail(lines = 25) {
  if (!serverLog || !existsSync(serverLog)) return '';
  return readFileSync(serverLog, 'utf8').split('\n').slice(-lines).join('\n');
}

async function startServer() {
  if (process.env.MODELYARD_E2E_URL) return process.env.MODELYARD_E2E_URL.replace(/\/$/, '');
  const bin = process.env.MODELYARD_SERVER_BIN;
  if (!bin) throw new Error('MODELYARD_SERVER_BIN is not set: build modelyard-server and point it at the binary');
  if (!existsSync(bin)) throw new Error(`MODELYARD_SERVER_BIN=${bin} does not exist`);
  dataDir = mkdtempSync(join(tmpdir(), 'modelyard-e2e-'));
  serverLog = join(shots, 'server.log');
  const log = createWriteStream(serverLog);
  // Port 0: the kernel picks a free port and the server prints the address it bound.
  server = spawn(bin, ['--bind', '127.0.0.1:0'], {
    env: {
      ...process.env,
      MODELYARD_STORE: `sled://${join(dataDir, 'store')}`,
      MODELYARD_JWT_SECRET: randomBytes(32).toString('hex'),
      RUST_LOG: process.env.RUST_LOG ?? 'info',
      NO_COLOR: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout.pipe(log);
  server.stderr.pipe(log);
  let base = null;
  let pending = '';
  const findBase = (chunk) => {
    pending += chunk;
    const found = /^modelyard-server listening on (\S+)$/m.exec(pending);
    if (found) {
      base = found[1];
      server.stdout.off('data', findBase);
    }
  };
  server.stdout.on('data', findBase);
  const exited = new Promise((res) => server.once('exit', (code, signal) => res({ code, signal })));
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const gone = await Promise.race([exited, new Promise((res) => setTimeout(() => res(null), 250))]);
    if (gone) throw new Error(`modelyard-server exited early (${gone.code ?? gone.signal}):\n${serverLogTail()}`);
    if (!base) continue;
    try {
      const answer = await fetch(`${base}/readyz`);
      if (answer.ok) return base;
    } catch {
      // Not listening yet.
    }
  }
  throw new Error(`modelyard-server did not answer /readyz within 120 s:\n${serverLogTail()}`);
}

async function stopServer() {
  if (!server || server.exitCode !== null) return;
  const exited = new Promise((res) => server.once('exit', res));
  server.kill('SIGTERM');
  const timer = setTimeout(() => server.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

async function screenshot(page, name) {
  shotNumber += 1;
  const file = join(shots, `${String(shotNumber).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true }).catch(() => {});
  return file;
}

/** Fails on serious or critical WCAG 2 A/AA violations that axe-core finds on the page as it is. */
async function checkAccessibility(page) {
  // Evaluated through the DevTools protocol, not added as a <script>: the dashboard's CSP refuses
  // inline scripts, and this test must not loosen it.
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.evaluate(readFileSync(axePath, 'utf8'));
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  });
  if (violations.length) throw new Error(`accessibility violations:\n  ${violations.join('\n  ')}`);
}

/** Runs one step; a screenshot after it either way. Stops the test at the first failure. */
async function step(page, name, body) {
  const started = Date.now();
  const errorsBefore = pageErrors.length;
  try {
    await body();
    await checkAccessibility(page);
    if (pageErrors.length > errorsBefore) {
      throw new Error(`uncaught error in the page: ${pageErrors.slice(errorsBefore).join('; ')}`);
    }
    await screenshot(page, name);
    passed += 1;
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (err) {
    failed += 1;
    const file = await screenshot(page, `${name}-FAILED`);
    console.log(`FAIL ${name} (${Date.now() - started} ms): ${err.message}`);
    console.log(`     screenshot: ${file}`);
    throw err;
  }
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

const byTestId = (page, id) => page.locator(`[data-testid="${id}"]`);

async function run() {
  rmSync(shots, { recursive: true, force: true });
  mkdirSync(shots, { recursive: true });
  const base = await startServer();
  console.log(`e2e: server at ${base}`);
  if (!existsSync(chromiumPath)) throw new Error(`no chromium at ${chromiumPath} (apt-get install -y chromium)`);
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: !process.env.E2E_HEADFUL,
    // Root in a container has no user namespaces for chromium's sandbox.
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(20_000);
  const page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    // The dashboard runs under a strict Content-Security-Policy (no inline script or style):
    // anything it refuses fails the step, like an uncaught error.
    if (/Content Security Policy/i.test(msg.text())) pageErrors.push(`CSP: ${msg.text()}`);
    if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) console.log(`     console: ${msg.text()}`);
  });

  const suffix = randomBytes(4).toString('hex');
  const user = { username: `e2e_${suffix}`, email: `e2e_${suffix}@example.com`, password: `E2e-${randomBytes(9).toString('hex')}-pass` };

  await step(page, 'guard-sends-to-login', async () => {
    await page.goto(`${base}/#/datasets`);
    await page.waitForURL(/#\/login$/);
    await byTestId(page, 'login-form').waitFor();
  });

  await step(page, 'register', async () => {
    await byTestId(page, 'to-register').click();
    await byTestId(page, 'register-form').waitFor();
    await byTestId(page, 'register-username').fill(user.username);
    await byTestId(page, 'register-email').fill(user.email);
    await byTestId(page, 'register-password').fill(user.password);
    await byTestId(page, 'register-submit').click();
    await page.waitForURL(/#\/login$/);
    await byTestId(page, 'registered-notice').waitFor();
    expect(await byTestId(page, 'login-email').inputValue() === user.email, 'login email not prefilled after registering');
  });

  await step(page, 'login', async () => {
    await byTestId(page, 'login-password').fill(user.password);
    await byTestId(page, 'login-submit').click();
    await page.waitForURL(/#\/$/);
    await byTestId(page, 'count-datasets').waitFor();
    expect((await byTestId(page, 'current-user').textContent()).includes(user.username), 'the top bar does not show the user');
    expect((await byTestId(page, 'count-datasets').textContent()).startsWith('0'), 'a new user should have no datasets');
  });

  await step(page, 'upload-iris', async () => {
    await byTestId(page, 'nav-datasets').click();
    await byTestId(page, 'upload-form').waitFor();
    await byTestId(page, 'upload-file').setInputFiles(irisCsv);
    await byTestId(page, 'upload-name').fill('iris');
    await byTestId(page, 'upload-submit').click();
    await byTestId(page, 'upload-result').waitFor();
    expect(await byTestId(page, 'upload-progress').evaluate((p) => p.value) === 100, 'upload progress did not reach 100');
    expect((await byTestId(page, 'upload-result').textContent()).includes('150 rows'), 'upload result should say 150 rows');
    await byTestId(page, 'datasets-table').getByText('iris', { exact: true }).waitFor();
  });

  await step(page, 'dataset-preview-and-stats', async () => {
    await byTestId(page, 'dataset-link').filter({ hasText: 'iris' }).first().click();
    await byTestId(page, 'preview-table').waitFor();
    const rows = await byTestId(page, 'preview-table').locator('tbody tr').count();
    expect(rows === 20, `preview shows ${rows} rows, expected 20`);
    expect((await byTestId(page, 'dataset-rows').textContent()) === '150', 'dataset should have 150 rows');
    const stats = await byTestId(page, 'column-stats').textContent();
    expect(stats.includes('species') && stats.includes('categorical'), 'column stats should list species as categorical');
    expect(stats.includes('numeric'), 'column stats should list numeric columns');
    const [csv] = await Promise.all([page.waitForEvent('download'), byTestId(page, 'dataset-download').click()]);
    expect(csv.suggestedFilename().endsWith('.csv'), `the dataset downloads as ${csv.suggestedFilename()}`);
    const header = readFileSync(await csv.path(), 'utf8').split('\n')[0].trim();
    expect(header === 'sepal_length,sepal_width,petal_length,petal_width,species', `downloaded CSV header: ${header}`);
  });

  let modelUrl = '';
  await step(page, 'create-model', async () => {
    await byTestId(page, 'dataset-new-model').click();
    await byTestId(page, 'model-form').waitFor();
    await byTestId(page, 'model-name').fill('iris-mlp');
    await byTestId(page, 'model-target').selectOption('species');
    expect(await byTestId(page, 'feature-checkbox').count() === 4, 'four feature columns expected besides species');
    expect(await byTestId(page, 'layer-row').count() === 2, 'the default architecture has two dense layers');
    await byTestId(page, 'add-dropout').click();
    expect(await byTestId(page, 'layer-row').count() === 3, 'adding a dropout layer should show three layers');
    await byTestId(page, 'layer-remove').nth(2).click();
    expect(await byTestId(page, 'layer-row').count() === 2, 'removing the dropout layer should leave two');
    await byTestId(page, 'layer-units').first().fill('32');
    await checkAccessibility(page);
    await byTestId(page, 'model-submit').click();
    await page.waitForURL(/#\/models\/[^/?]+$/);
    modelUrl = page.url();
    await byTestId(page, 'summary-table').waitFor();
    const summary = await byTestId(page, 'summary-table').textContent();
    expect(summary.includes('(None, 32)'), 'the summary should show the first layer with 32 units');
    const total = Number((await byTestId(page, 'summary-total').textContent()).replace(/\D/g, ''));
    expect(total > 0, 'the summary should count parameters');
    expect((await byTestId(page, 'model-target-value').textContent()) === 'species', 'the model target should be species');
  });

  await step(page, 'train-live-chart', async () => {
    await byTestId(page, 'model-train').click();
    await byTestId(page, 'train-form').waitFor();
    await byTestId(page, 'train-epochs').fill(String(epochs));
    await byTestId(page, 'train-batchSize').fill('16');
    await byTestId(page, 'train-learningRate').fill('0.01');
    await byTestId(page, 'train-optimizer').selectOption('adam');
    await checkAccessibility(page);
    await byTestId(page, 'train-submit').click();
    await page.waitForURL(/#\/training\/[^/?]+$/);
    await byTestId(page, 'loss-chart').waitFor();
    // The charts are fed by the SSE stream; wait for them to show the last epoch, or for the
    // run to end without it (failed, cancelled), which fails at once with what the page says.
    const ended = await page.waitForFunction((last) => {
      const chart = document.querySelector('[data-testid="loss-chart"]');
      const status = document.querySelector('[data-testid="run-status-line"] [data-testid="run-status"]')?.textContent;
      if (chart?.dataset.lastEpoch === String(last)) return 'charted';
      return status === 'failed' || status === 'cancelled' ? status : false;
    }, epochs, { timeout: trainTimeout }).then((handle) => handle.jsonValue()).catch(async (err) => {
      const line = await byTestId(page, 'run-status-line').textContent().catch(() => '?');
      throw new Error(`the chart did not reach epoch ${epochs} in ${trainTimeout / 1000} s (${line.trim()}): ${err.message.split('\n')[0]}`);
    });
    if (ended !== 'charted') {
      throw new Error(`the run ended ${ended}: ${(await byTestId(page, 'run-status-line').textContent()).trim()}`);
    }
    await page.locator(`[data-testid="accuracy-chart"][data-last-epoch="${epochs}"]`).waitFor();
    const streamed = Number(await byTestId(page, 'loss-chart').getAttribute('data-streamed-epochs') ?? 0);
    expect(streamed > 0, 'no epoch reached the chart over the SSE stream');
    const points = await byTestId(page, 'loss-chart').evaluate((fig) => window.Chart?.getChart(fig.querySelector('canvas'))?.data.labels.length ?? -1);
    expect(points === epochs, `the loss chart has ${points} points, expected ${epochs}`);
    await byTestId(page, 'run-status-line').getByText('completed').waitFor({ timeout: 60_000 });
    await byTestId(page, 'final-metrics').waitFor();
  });

  await step(page, 'predict', async () => {
    await byTestId(page, 'run-predict').click();
    await byTestId(page, 'predict-form').waitFor();
    await checkAccessibility(page);
    const row = { sepal_length: '5.1', sepal_width: '3.5', petal_length: '1.4', petal_width: '0.2' };
    for (const [name, value] of Object.entries(row)) await byTestId(page, `predict-input-${name}`).fill(value);
    await byTestId(page, 'predict-submit').click();
    await byTestId(page, 'predicted-label').waitFor();
    const label = (await byTestId(page, 'predicted-label').textContent()).trim();
    expect(SPECIES.includes(label), `predicted label ${label} is not a species`);
    const probabilities = await byTestId(page, 'probability-row').count();
    expect(probabilities === 3, `expected 3 class probabilities, got ${probabilities}`);
    console.log(`     predicted ${label} for ${JSON.stringify(row)}`);
  });

  await step(page, 'download-model', async () => {
    await page.goto(modelUrl);
    await byTestId(page, 'model-download').waitFor();
    const [zip] = await Promise.all([page.waitForEvent('download'), byTestId(page, 'model-download').click()]);
    expect(zip.suggestedFilename().endsWith('.zip'), `the model downloads as ${zip.suggestedFilename()}`);
    const magic = readFileSync(await zip.path()).subarray(0, 2).toString('latin1');
    expect(magic === 'PK', 'the model download is not a zip archive');
  });

  await step(page, 'train-and-cancel', async () => {
    await byTestId(page, 'model-train').click();
    await byTestId(page, 'train-form').waitFor();
    await byTestId(page, 'train-epochs').fill('10000');
    await byTestId(page, 'train-submit').click();
    await page.waitForURL(/#\/training\/[^/?]+$/);
    await byTestId(page, 'cancel-run').click();
    await byTestId(page, 'run-status-line').getByText('cancelled').waitFor({ timeout: 60_000 });
    expect(await byTestId(page, 'cancel-run').isHidden(), 'the cancel button should go away once the run is cancelled');
  });

  await step(page, 'notification-mark-read', async () => {
    await byTestId(page, 'nav-notifications').click();
    const done = page.locator('[data-testid="notification"][data-kind="run_completed"]').first();
    await done.waitFor();
    await done.locator('[data-testid="mark-read"]').click();
    await page.locator('[data-testid="notification"][data-kind="run_completed"][data-read="true"]').first().waitFor();
  });

  await step(page, 'logout', async () => {
    await byTestId(page, 'logout').click();
    await page.waitForURL(/#\/login$/);
    const token = await page.evaluate(() => localStorage.getItem('modelyard.token'));
    expect(token === null, 'the token should be forgotten on logout');
    await page.goto(modelUrl);
    await page.waitForURL(/#\/login$/);
    await byTestId(page, 'login-form').waitFor();
  });

  await step(page, 'expired-token-returns-to-login', async () => {
    await byTestId(page, 'login-email').fill(user.email);
    await byTestId(page, 'login-password').fill(user.password);
    await byTestId(page, 'login-submit').click();
    await page.waitForURL(/#\/$/);
    await byTestId(page, 'count-models').waitFor();
    await page.evaluate(() => localStorage.setItem('modelyard.token', 'not-a-valid-token'));
    await byTestId(page, 'nav-models').click();
    await page.waitForURL(/#\/login$/);
    const token = await page.evaluate(() => localStorage.getItem('modelyard.token'));
    expect(token === null, 'a 401 should clear the token');
  });
}

async function cleanup() {
  await browser?.close().catch(() => {});
  await stopServer().catch(() => {});
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}

process.on('SIGINT', async () => {
  await cleanup();
  process.exit(130);
});

try {
  await run();
} catch (err) {
  if (failed === 0) failed += 1;
  fail(err.stack ?? err.message);
  const tail = serverLogTail();
  if (tail) console.error(`--- server log (last lines) ---\n${tail}`);
} finally {
  await cleanup();
  console.log(`e2e: ${passed} passed, ${failed} failed`);
  if (failed > 0) process.exitCode = 1;
}
