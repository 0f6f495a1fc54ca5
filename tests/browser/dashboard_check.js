#!/usr/bin/env node
// Drives the dashboard in Debian's headless Chromium (playwright-core, no browser download):
// checks the markers, starts a transaction over REST and stops a simulator, and expects the
// page to follow each within two seconds; then stops the transaction with the page's own Stop
// button. Started by browser_test.cc with the stack and the simulators already running.
//
//   node dashboard_check.js <base url> <screenshot path> <simulator pid to stop> [api token]
//
// With an API token the gateway has API keys on: a page without the token must ask for one,
// and the page opened with #token=… must work and drop the token from its address.
'use strict';
const { chromium } = require('playwright-core');

const [baseUrl, screenshotPath, simPidText, apiToken] = process.argv.slice(2);
const authHeader = apiToken ? { Authorization: `Bearer ${apiToken}` } : {};
const CHROMIUM = process.env.CSMS_CHROMIUM || '/usr/bin/chromium';
const MAIN = 'emart_jeju_main';
const CITY_HALL = 'jeju_city_hall';
const FOLLOW_MS = 2000;

function step(text) {
  console.log(`[${new Date().toISOString()}] ${text}`);
}

// page.waitForFunction evaluates its predicate as a string in the page, which the dashboard's
// Content-Security-Policy (no 'unsafe-eval') refuses; page.evaluate is not subject to it.
async function waitUntil(page, predicate, { timeout }) {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await page.evaluate(predicate)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms: ${predicate}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function marker(stationId, state) {
  const id = `.station-marker[data-station-id="${encodeURIComponent(stationId)}"]`;
  return state ? `${id}[data-state="${state}"]` : id;
}

async function main() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const problems = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 960 } });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`);
    });
    // The page must work offline: nothing but the gateway may be asked for.
    page.on('request', (r) => {
      if (!r.url().startsWith(baseUrl)) problems.push(`request outside the gateway: ${r.url()}`);
    });

    if (apiToken) {
      // Without a token: the page loads, asks for one, and shows no data.
      const bare = await browser.newPage();
      await bare.goto(`${baseUrl}/`);
      await bare.waitForSelector('#token-form:not([hidden])', { timeout: 10000 });
      await bare.waitForSelector('#feed-status[data-state="down"]', { timeout: 10000 });
      if (await bare.locator('.station-marker').count() !== 0) throw new Error('data without a token');
      await bare.close();
      step('without a token the page asks for one');
    }
    step(`open ${baseUrl}/`);
    await page.goto(apiToken ? `${baseUrl}/#token=${apiToken}` : `${baseUrl}/`);
    if (apiToken && page.url().includes(apiToken)) throw new Error(`token left in the address: ${page.url()}`);
    await page.waitForSelector('#feed-status[data-state="live"]', { timeout: 10000 });
    await page.waitForSelector(marker(MAIN), { timeout: 10000 });
    const count = await page.locator('.station-marker').count();
    if (count !== 2) throw new Error(`expected 2 station markers, found ${count}`);
    // Both stations' chargers booted: their markers are green.
    await page.waitForSelector(marker(MAIN, 'available'), { timeout: 10000 });
    await page.waitForSelector(marker(CITY_HALL, 'available'), { timeout: 10000 });
    step('two markers, both available');

    // The side panel lists the selected station's chargers with their figures.
    await page.click(`.station-list button[data-station-id="${MAIN}"]`);
    await page.waitForSelector('article.charger[data-charger-id="emart_jeju_01"]');
    await page.waitForSelector('article.charger[data-charger-id="emart_jeju_02"]');
    const heartbeat = await page.textContent(
      'article.charger[data-charger-id="emart_jeju_01"] [data-role="last-seen"]');
    if (!heartbeat || heartbeat.includes('never')) throw new Error(`no last heartbeat: ${heartbeat}`);
    step(`panel shows emart_jeju_01, last heartbeat ${heartbeat}`);

    // Remote start over REST: the marker turns "charging" within two seconds of the answer.
    const response = await fetch(`${baseUrl}/chargers/emart_jeju_01/start`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...authHeader },
      body: JSON.stringify({ id_token: 'user_123', evse_id: 1, connector_id: 1 }),
    });
    const started = await response.json();
    if (!response.ok) throw new Error(`remote start failed: ${JSON.stringify(started)}`);
    const answeredAt = Date.now();
    await page.waitForSelector(marker(MAIN, 'charging'), { timeout: FOLLOW_MS });
    await page.waitForSelector(
      `article.charger[data-charger-id="emart_jeju_01"][data-state="charging"]`,
      { timeout: FOLLOW_MS });
    const tx = await page.textContent(
      'article.charger[data-charger-id="emart_jeju_01"] [data-role="transaction"]');
    if (tx.trim() !== started.transaction_id) {
      throw new Error(`panel shows transaction ${tx}, expected ${started.transaction_id}`);
    }
    step(`charging shown ${Date.now() - answeredAt} ms after the start answered (tx ${tx})`);

    // The simulator of the other station stops: its marker turns "offline".
    const stoppedAt = Date.now();
    process.kill(Number(simPidText), 'SIGTERM');
    await page.waitForSelector(marker(CITY_HALL, 'offline'), { timeout: FOLLOW_MS });
    step(`offline shown ${Date.now() - stoppedAt} ms after the simulator stopped`);

    // The panel's own Stop button ends the transaction; the marker is green again.
    await page.click('article.charger[data-charger-id="emart_jeju_01"] button:has-text("Stop")');
    await page.waitForSelector(marker(MAIN, 'available'), { timeout: 20000 });
    await waitUntil(page,
      () => /stopped/.test(document.getElementById('action-result').textContent),
      { timeout: 5000 });
    step(`stopped from the page: ${await page.textContent('#action-result')}`);
    // The ended session reaches today's statistics.
    await waitUntil(page, () => {
      const tile = document.querySelector('[data-role="today-sessions"] .value');
      return tile && Number(tile.textContent) >= 1;
    }, { timeout: 10000 });
    step('today\'s statistics count the session');

    // A second charger charging for the picture: charging, available and offline at once.
    const second = await fetch(`${baseUrl}/chargers/emart_jeju_02/start`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...authHeader },
      body: JSON.stringify({ id_token: 'user_456' }),
    });
    if (!second.ok) throw new Error(`second remote start failed: ${await second.text()}`);
    await waitUntil(page, () => {
      const dd = document.querySelector(
        'article.charger[data-charger-id="emart_jeju_02"] [data-role="power"]');
      return dd && parseFloat(dd.textContent) > 0;
    }, { timeout: 15000 });
    await page.screenshot({ path: screenshotPath, fullPage: true });
    step(`screenshot ${screenshotPath}`);
  } finally {
    await browser.close();
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
}

main().then(() => {
  console.log('dashboard check passed');
}, (e) => {
  console.error(`dashboard check FAILED: ${e.stack || e}`);
  process.exit(1);
});
