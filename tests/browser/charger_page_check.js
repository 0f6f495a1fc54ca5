#!/usr/bin/env node
// Drives one charger's page (#/chargers/<id>) in Debian's headless Chromium (playwright-core):
// opened from the map's station panel, its header, its device model searched for
// HeartbeatInterval, a TriggerMessage StatusNotification sent with its button (the confirm
// dialog accepted) and answered, then the command-log row and the StatusNotification event it
// caused appearing on the page by themselves; the firmware form's refusal for a token below
// admin, the event log's kind filter, the log-uploads section (a list, or "unavailable" while the
// gateway does not serve it) and the way back to the map. Started by browser_test.cc with the
// stack and the simulator running and the charger's device model stored.
//
//   node charger_page_check.js <base url> <screenshot path> <api token> <charger id>
'use strict';
const { chromium } = require('playwright-core');

const [baseUrl, screenshotPath, apiToken, chargerId] = process.argv.slice(2);
const CHROMIUM = process.env.CSMS_CHROMIUM || '/usr/bin/chromium';
const APPEAR_MS = 15000;  // the page polls every 5 s and reloads its logs after a command

function step(text) {
  console.log(`[${new Date().toISOString()}] ${text}`);
}

// page.waitForFunction evaluates its predicate as a string in the page, which the dashboard's
// Content-Security-Policy (no 'unsafe-eval') refuses; page.evaluate is not subject to it.
async function waitUntil(page, predicate, arg, { timeout }) {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await page.evaluate(predicate, arg)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms: ${predicate}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// Answers that are part of the check, not problems: the log-uploads list while the gateway does
// not serve it (404), and UpdateFirmware refused to an operate token (403).
function expectedFailure(url, status, method) {
  const path = new URL(url).pathname;
  if (status === 404 && /\/log-uploads$/.test(path)) return true;
  return status === 403 && method === 'POST' && /\/firmware$/.test(path);
}

const maxId = (page, selector, attr) => page.evaluate(([sel, a]) => Math.max(0,
  ...[...document.querySelectorAll(sel)].map((n) => Number(n.getAttribute(a)) || 0)), [selector, attr]);

async function main() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const problems = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('request', (r) => {
      if (!r.url().startsWith(baseUrl)) problems.push(`request outside the gateway: ${r.url()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() !== 'error') return;
      const url = m.location().url || '';
      if (/Failed to load resource/.test(m.text()) && url.startsWith(baseUrl) &&
          (/\/log-uploads$/.test(new URL(url).pathname) || /\/firmware$/.test(new URL(url).pathname))) {
        return;  // the answers below, which Chromium logs as well
      }
      problems.push(`console: ${m.text()}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400 && !expectedFailure(r.url(), r.status(), r.request().method())) {
        problems.push(`HTTP ${r.status()} for ${r.request().method()} ${r.url()}`);
      }
    });
    const dialogs = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      d.accept();
    });

    // From the map: the station's panel links to the charger's page.
    pageForDump = page;
    await page.goto(`${baseUrl}/#token=${apiToken}`);
    await page.waitForSelector('#feed-status[data-state="live"]', { timeout: 10000 });
    const link = `article.charger[data-charger-id="${chargerId}"] a[data-role="charger-link"]`;
    await page.waitForSelector(link, { timeout: 10000 });
    await page.click(link);
    await page.waitForSelector('#charger-page:not([hidden])', { timeout: 5000 });
    const hash = await page.evaluate(() => location.hash);
    if (hash !== `#/chargers/${encodeURIComponent(chargerId)}`) throw new Error(`address ${hash}`);
    if (await page.locator('#map').isVisible()) throw new Error('the map is still shown');
    step(`opened ${hash} from the station panel`);

    // Header: id, online, vendor, model, security profile.
    await page.waitForSelector('#charger-page [data-role="online"][data-state="online"]', { timeout: 10000 });
    await waitUntil(page, () => document.querySelector('#charger-page [data-role="vendor"]').textContent !== '—',
                    null, { timeout: 10000 });
    const header = await page.evaluate(() => Object.fromEntries(
      [...document.querySelectorAll('#charger-page .cp-header dd')].map((d) => [d.dataset.role, d.textContent])));
    const title = await page.textContent('#charger-page [data-role="charger-id"]');
    if (title !== chargerId) throw new Error(`header shows ${title}`);
    if (!header.status.startsWith('Available')) throw new Error(`status ${header.status}`);
    for (const key of ['vendor', 'model', 'security']) {
      if (!header[key] || header[key] === '—') throw new Error(`no ${key} in the header: ${JSON.stringify(header)}`);
    }
    step(`header: ${JSON.stringify(header)}`);

    // Device model: search for HeartbeatInterval; only it is listed, with its value.
    await page.waitForSelector('#charger-page table[data-role="variables"] tbody tr', { timeout: 10000 });
    await page.fill('#charger-page [data-role="dm-search"]', 'HeartbeatInterval');
    await page.press('#charger-page [data-role="dm-search"]', 'Enter');
    await waitUntil(page, () => {
      const rows = [...document.querySelectorAll('#charger-page table[data-role="variables"] tbody tr')];
      return rows.length > 0 && rows.every((r) => /heartbeatinterval/i.test(r.dataset.variable + r.dataset.component));
    }, null, { timeout: 5000 });
    const heartbeat = await page.textContent(
      '#charger-page table[data-role="variables"] tr[data-variable="HeartbeatInterval"] [data-role="value"]');
    if (!/^\d+$/.test(heartbeat)) throw new Error(`HeartbeatInterval shows ${JSON.stringify(heartbeat)}`);
    step(`device model: HeartbeatInterval = ${heartbeat}`);

    // Trigger StatusNotification: confirm, the charger's answer, then its rows.
    await page.waitForSelector('#charger-page table[data-role="events"] tbody tr', { timeout: 10000 });
    const lastCommand = await maxId(page, '#charger-page table[data-role="commands"] tbody tr', 'data-command-id');
    const lastEvent = await maxId(page, '#charger-page table[data-role="events"] tbody tr', 'data-event-id');
    await page.selectOption('#cp-trigger-message', 'StatusNotification');
    const pressedAt = Date.now();
    await page.click('#charger-page button[data-action="trigger"]');
    await page.waitForSelector('#charger-page [data-role="command-result"][data-outcome]', { timeout: 20000 });
    const answer = await page.textContent('#charger-page [data-role="command-result"]');
    if (!/StatusNotification.*: Accepted/.test(answer)) throw new Error(`answer: ${answer}`);
    if (!dialogs.some((d) => d.includes('StatusNotification'))) throw new Error(`no confirm dialog: ${dialogs}`);
    step(`trigger answered: ${answer}`);
    await waitUntil(page, (last) => [...document.querySelectorAll(
      '#charger-page table[data-role="commands"] tbody tr[data-action="TriggerMessage"]')]
      .some((r) => Number(r.dataset.commandId) > last), lastCommand, { timeout: APPEAR_MS });
    const commandRow = await page.textContent(
      '#charger-page table[data-role="commands"] tbody tr[data-action="TriggerMessage"]');
    step(`command log row after ${Date.now() - pressedAt} ms: ${commandRow}`);
    await waitUntil(page, (last) => [...document.querySelectorAll(
      '#charger-page table[data-role="events"] tbody tr[data-kind="StatusNotification"]')]
      .some((r) => Number(r.dataset.eventId) > last), lastEvent, { timeout: APPEAR_MS });
    step(`StatusNotification event after ${Date.now() - pressedAt} ms`);

    // The event log's kind chips: only StatusNotification.
    await page.click('#charger-page .chip[data-kind="StatusNotification"]');
    await waitUntil(page, () => {
      const rows = [...document.querySelectorAll('#charger-page table[data-role="events"] tbody tr')];
      return rows.length > 0 && rows.every((r) => r.dataset.kind === 'StatusNotification');
    }, null, { timeout: 5000 });
    step('event log filtered to StatusNotification');

    // Firmware: no job yet; the form's request is refused to an operate token, with the reason.
    await page.waitForSelector('#charger-page [data-role="firmware-job"][data-loaded]', { timeout: 5000 });
    await page.click('#charger-page [data-section="firmware"] summary');
    await page.fill('#cp-fw-location', 'https://firmware.example.com/fw-2.0.0.bin');
    await page.click('#charger-page [data-role="firmware-form"] button[type="submit"]');
    await page.waitForSelector('#charger-page [data-role="firmware-result"][data-outcome]', { timeout: 20000 });
    const firmware = await page.textContent('#charger-page [data-role="firmware-result"]');
    if (!/failed: .+/.test(firmware)) throw new Error(`firmware form: ${firmware}`);
    step(`firmware form with an operate token: ${firmware}`);

    // Log uploads: the list, or "unavailable" while the gateway does not serve it.
    await page.waitForSelector('#charger-page [data-section="uploads"] .cp-paged[data-loaded]', { timeout: 5000 });
    const uploads = await page.textContent('#charger-page [data-role="uploads-note"]');
    if (uploads && !/unavailable|No log uploads/i.test(uploads)) throw new Error(`log uploads: ${uploads}`);
    step(`log uploads: ${uploads || 'listed'}`);

    await page.screenshot({ path: screenshotPath, fullPage: true });
    step(`screenshot ${screenshotPath}`);

    // Back to the map, which is drawn again.
    await page.click('#charger-page a.back');
    await page.waitForSelector('#charger-page', { state: 'hidden', timeout: 5000 });
    await page.waitForSelector(`.station-marker`, { state: 'visible', timeout: 5000 });
    step('back on the map');
  } catch (e) {
    // What the page said about each section, for the failure's story.
    const notes = await pageForDump?.evaluate(() => [...document.querySelectorAll(
      '#charger-page [data-role$="-note"], #charger-page .cp-status, #charger-page [data-role="dm-report"]')]
      .map((n) => `${n.dataset.role}: ${n.textContent}`)).catch(() => []);
    throw new Error(`${e.message}\npage: ${JSON.stringify(notes)}\n${problems.join('\n')}`);
  } finally {
    await browser.close();
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
}
let pageForDump = null;

main().then(() => {
  console.log('charger page check passed');
}, (e) => {
  console.error(`charger page check FAILED: ${e.stack || e}`);
  process.exit(1);
});
