#!/usr/bin/env node
// Drives the Reservations section of one charger's page (#/chargers/<id>) in Debian's headless
// Chromium (playwright-core) against a real stack and the schema-validating Node charger
// (tests/e2e/schema_client in serve mode: ReserveNow Accepted and held, or refused with the status
// a RESERVE-<STATUS> token names; CancelReservation Accepted for a reservation it holds). In the
// browser: the form's EVSE choices (the charger's EVSE 1, or any), token types and default expiry
// (now + 30 min); a reservation of EVSE 1 listed active under the id the API answered; one for any
// EVSE whose id token is HTML, shown as text only (nothing runs, no element is made of it); the
// charger's refusal (Occupied) shown with the reservation stored rejected; an expiry typed in the
// past refused by the API and the error shown; Cancel (confirmed) answered Accepted, the row and
// the API showing it cancelled, without a Cancel button any more; a reservation used by a
// transaction (reported by the charger through its test hook) showing its transaction id; the
// Active only / All toggle; and a read token's Reserve and Cancel refused, the page saying so.
// Started by browser_test.cc with the stack and the Node charger running.
//
//   node charger_reservations_check.js <base url> <screenshot path> <operate token> <read token>
//                                      <charger id>
'use strict';
const { chromium } = require('playwright-core');

const [baseUrl, screenshotPath, operateToken, readToken, chargerId] = process.argv.slice(2);
const CHROMIUM = process.env.CSMS_CHROMIUM || '/usr/bin/chromium';
const APPEAR_MS = 15000;  // the page polls every 5 s
const TOKEN_TYPES = ['ISO14443', 'ISO15693', 'Central', 'eMAID', 'KeyCode', 'Local', 'MacAddress',
                     'NoAuthorization'];
// Would open a dialog (caught) if it ever ran as HTML; 28 characters, a valid Central id token.
const HOSTILE = '<img src=x onerror=alert(1)>';

function step(text) {
  console.log(`[${new Date().toISOString()}] ${text}`);
}

// ---- the API, from here --------------------------------------------------------------------

async function api(method, path, body, token = operateToken) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`${baseUrl}${path}`,
    { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = await response.json().catch(() => ({}));
  return { status: response.status, json };
}
async function listed() {
  const r = await api('GET', `/reservations?charger_id=${encodeURIComponent(chargerId)}&limit=500`);
  if (r.status !== 200) throw new Error(`GET /reservations: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json.reservations;
}
async function stored(reservationId) {
  return (await listed()).find((r) => r.reservation_id === reservationId) || null;
}
// Makes the charger send `action` (its test hook, DataTransfer com.csms.sim "send").
async function chargerSends(action, payload) {
  const r = await api('POST', `/chargers/${encodeURIComponent(chargerId)}/data-transfer`,
    { vendor_id: 'com.csms.sim', message_id: 'send', data: { action, payload } });
  if (r.status !== 200 || r.json.response?.status !== 'Accepted') {
    throw new Error(`data-transfer ${action}: ${r.status} ${JSON.stringify(r.json)}`);
  }
}

// ---- the page ------------------------------------------------------------------------------

// page.waitForFunction evaluates its predicate as a string in the page, which the dashboard's
// Content-Security-Policy (no 'unsafe-eval') refuses; page.evaluate is not subject to it.
async function waitUntil(page, predicate, arg, { timeout = 10000 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await page.evaluate(predicate, arg)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms: ${predicate}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const SECTION = '#charger-page [data-section="reservations"]';
const ROWS = `${SECTION} table[data-role="reservations"] tbody tr`;

const rows = (page) => page.evaluate((sel) => [...document.querySelectorAll(sel)].map((r) => ({
  id: Number(r.dataset.reservationId),
  state: r.dataset.state,
  stateText: r.querySelector('[data-role="state"]').textContent,
  evse: r.querySelector('[data-role="evse"]').textContent,
  type: r.querySelector('[data-role="token-type"]').textContent,
  idToken: r.querySelector('[data-role="id-token"]').textContent,
  transaction: r.querySelector('[data-role="transaction"]').textContent,
  cancel: Boolean(r.querySelector('button[data-role="cancel-reservation"]')),
})), ROWS);

async function waitRow(page, id, check, what, timeout = 10000) {
  const deadline = Date.now() + timeout;
  let last = null;
  for (;;) {
    last = (await rows(page)).find((r) => r.id === id) || null;
    if (last && check(last)) return last;
    if (Date.now() > deadline) throw new Error(`reservation ${id} ${what}: row ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// A datetime-local value (local time, to the minute), as the page's own default.
function localInput(ms) {
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// Fills the form, presses Reserve and waits for its answer; with the API's own answer to the POST.
async function reserve(page, { evse = '', idToken, type = 'ISO14443', expires }) {
  await page.selectOption('#cp-resv-evse', evse);
  await page.fill('#cp-resv-token', idToken);
  await page.selectOption('#cp-resv-type', type);
  if (expires !== undefined) await page.fill('#cp-resv-expires', expires);
  const posted = page.waitForResponse((r) => r.request().method() === 'POST' &&
    new URL(r.url()).pathname === `/chargers/${encodeURIComponent(chargerId)}/reservations`);
  await page.click(`${SECTION} form[data-role="reserve-form"] button[type="submit"]`);
  const response = await posted;
  const body = await response.json().catch(() => ({}));
  await page.waitForSelector(`${SECTION} [data-role="reserve-result"][data-outcome]`, { timeout: 20000 });
  const result = await page.evaluate((sel) => {
    const n = document.querySelector(`${sel} [data-role="reserve-result"]`);
    return { outcome: n.dataset.outcome, text: n.textContent, error: n.classList.contains('error') };
  }, SECTION);
  return { ...result, status: response.status(), body };
}

// Presses a row's Cancel (the confirm dialog is accepted) and waits for the answer.
async function cancel(page, id) {
  await page.evaluate((sel) => { delete document.querySelector(sel).dataset.outcome; },
                      `${SECTION} [data-role="cancel-result"]`);
  await page.click(`${ROWS}[data-reservation-id="${id}"] button[data-role="cancel-reservation"]`);
  await page.waitForSelector(`${SECTION} [data-role="cancel-result"][data-outcome]`, { timeout: 20000 });
  return page.evaluate((sel) => {
    const n = document.querySelector(`${sel} [data-role="cancel-result"]`);
    return { outcome: n.dataset.outcome, text: n.textContent, error: n.classList.contains('error') };
  }, SECTION);
}

async function noHostileNodes(page, where) {
  const found = await page.evaluate(() => ({
    xss: window.__xss ?? null,
    nodes: [...document.querySelectorAll('#charger-page img, #charger-page script, #charger-page svg')]
      .map((n) => n.outerHTML),
  }));
  if (found.xss !== null || found.nodes.length > 0) {
    throw new Error(`hostile data ran or became elements (${where}): ${JSON.stringify(found)}`);
  }
}

// allowed(response): an HTTP error that is part of the check.
function watch(page, problems, dialogs, allowed) {
  page.on('request', (r) => {
    if (!r.url().startsWith(baseUrl)) problems.push(`request outside the gateway: ${r.url()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', (d) => {
    // Only the page's own confirm() for Cancel; an alert would be the hostile token running.
    if (d.type() !== 'confirm') problems.push(`dialog (something ran): ${d.type()} ${d.message()}`);
    dialogs.push(d.message());
    d.accept();
  });
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    if (/Failed to load resource.*(400|403)/.test(m.text())) return;  // the refusals below
    problems.push(`console: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() < 400 || allowed(r)) return;
    problems.push(`HTTP ${r.status()} for ${r.request().method()} ${r.url()}`);
  });
}

async function openChargerPage(page, token) {
  await page.goto(`${baseUrl}/#token=${token}`);
  await page.waitForSelector('#feed-status', { timeout: 10000 });
  await page.evaluate((id) => { location.hash = `#/chargers/${encodeURIComponent(id)}`; }, chargerId);
  await page.waitForSelector('#charger-page:not([hidden])', { timeout: 5000 });
  await page.waitForSelector(`${SECTION} .cp-paged[data-loaded]`, { timeout: 10000 });
}

async function main() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const problems = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1200 } });
    pageForDump = page;
    const dialogs = [];
    // The past expiry's 400 is part of the check.
    watch(page, problems, dialogs, (r) => r.status() === 400 && r.request().method() === 'POST' &&
                                         /\/reservations$/.test(new URL(r.url()).pathname));
    await openChargerPage(page, operateToken);
    const note = await page.textContent(`${SECTION} [data-role="reservations-note"]`);
    if (note !== 'No reservations.') throw new Error(`empty list says ${JSON.stringify(note)}`);
    step('opened the charger page: no reservations yet');

    // The form: EVSE 1 (the charger's) or any, every IdTokenEnumType, expiry now + 30 min.
    await waitUntil(page, () => [...document.querySelectorAll('#cp-resv-evse option')].some((o) => o.value === '1'));
    const form = await page.evaluate(() => ({
      evses: [...document.querySelectorAll('#cp-resv-evse option')].map((o) => [o.value, o.textContent]),
      types: [...document.querySelectorAll('#cp-resv-type option')].map((o) => o.value),
      expires: document.querySelector('#cp-resv-expires').value,
    }));
    if (JSON.stringify(form.evses) !== JSON.stringify([['', 'any'], ['1', 'EVSE 1']])) {
      throw new Error(`EVSE choices ${JSON.stringify(form.evses)}`);
    }
    if (JSON.stringify([...form.types].sort()) !== JSON.stringify([...TOKEN_TYPES].sort())) {
      throw new Error(`token types ${JSON.stringify(form.types)}`);
    }
    const inMinutes = (new Date(form.expires).getTime() - Date.now()) / 60000;
    if (!(inMinutes > 27 && inMinutes <= 31)) throw new Error(`default expiry ${form.expires} (${inMinutes} min)`);
    step(`form: EVSEs ${JSON.stringify(form.evses)}, ${form.types.length} token types, expires ${form.expires}`);

    // Reserve EVSE 1: the charger's Accepted, listed active under the API's id.
    let r = await reserve(page, { evse: '1', idToken: 'RESV-CARD-1' });
    const first = r.body.reservation_id;
    if (r.status !== 200 || !Number.isInteger(first) || r.body.response?.status !== 'Accepted') {
      throw new Error(`reserve EVSE 1: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    }
    if (r.outcome !== 'answered' || r.error || !r.text.includes(`Reservation ${first}`) || !/: Accepted$/.test(r.text)) {
      throw new Error(`reserve EVSE 1 shows ${JSON.stringify(r)}`);
    }
    let row = await waitRow(page, first, (x) => x.state === 'active', 'listed active');
    if (row.evse !== '1' || row.type !== 'ISO14443' || row.idToken !== 'RESV-CARD-1' || !row.cancel ||
        row.transaction !== '—') {
      throw new Error(`reservation ${first} row ${JSON.stringify(row)}`);
    }
    step(`reserved EVSE 1: ${r.text}; row ${JSON.stringify(row)}`);

    // Any EVSE, with an id token that is HTML: shown as text.
    r = await reserve(page, { evse: '', idToken: HOSTILE, type: 'Central' });
    const hostile = r.body.reservation_id;
    if (r.status !== 200 || r.body.response?.status !== 'Accepted' || r.outcome !== 'answered') {
      throw new Error(`reserve any EVSE: HTTP ${r.status} ${JSON.stringify(r.body)} shows ${r.text}`);
    }
    row = await waitRow(page, hostile, (x) => x.state === 'active', 'listed active');
    if (row.evse !== 'any' || row.type !== 'Central' || row.idToken !== HOSTILE) {
      throw new Error(`hostile reservation ${hostile} row ${JSON.stringify(row)}`);
    }
    await noHostileNodes(page, 'hostile id token listed');
    step(`reserved any EVSE for ${HOSTILE}: shown as text (${r.text})`);

    // The charger's refusal is its answer, not an error; stored rejected.
    r = await reserve(page, { evse: '1', idToken: 'RESERVE-OCCUPIED' });
    const occupied = r.body.reservation_id;
    if (r.status !== 200 || r.outcome !== 'answered' || r.error || !/: Occupied$/.test(r.text)) {
      throw new Error(`reserve for RESERVE-OCCUPIED: HTTP ${r.status} shows ${JSON.stringify(r)}`);
    }
    row = await waitRow(page, occupied, (x) => x.state === 'rejected', 'listed rejected');
    if (!row.stateText.includes('Occupied') || row.cancel) throw new Error(`refused row ${JSON.stringify(row)}`);
    step(`the charger's refusal: ${r.text}; row state ${row.stateText}`);

    // An expiry typed in the past: the API's error, shown as one; nothing stored.
    const before = (await listed()).length;
    r = await reserve(page, { evse: '1', idToken: 'RESV-CARD-9', expires: '2020-01-01T00:00' });
    if (r.status !== 400 || r.outcome !== 'failed' || !r.error || !/failed: .*expires_at must be in the future/.test(r.text)) {
      throw new Error(`past expiry: HTTP ${r.status} shows ${JSON.stringify(r)}`);
    }
    if ((await listed()).length !== before) throw new Error('the refused reservation was stored');
    await page.fill('#cp-resv-expires', localInput(Date.now() + 30 * 60000));
    step(`past expiry refused: ${r.text}`);

    // Cancel the first: confirmed, answered Accepted, cancelled in the page and in the API.
    const answer = await cancel(page, first);
    if (!dialogs.some((d) => d.includes(`Cancel reservation ${first}`))) throw new Error(`no confirm: ${dialogs}`);
    if (answer.outcome !== 'answered' || answer.error || !/: Accepted$/.test(answer.text)) {
      throw new Error(`cancel shows ${JSON.stringify(answer)}`);
    }
    row = await waitRow(page, first, (x) => x.state === 'cancelled', 'listed cancelled');
    if (row.cancel) throw new Error(`a cancelled reservation still has Cancel: ${JSON.stringify(row)}`);
    const api1 = await stored(first);
    if (api1?.state !== 'cancelled') throw new Error(`the API has ${JSON.stringify(api1)}`);
    step(`cancelled ${first}: ${answer.text}; the API says ${api1.state}`);

    // Used by a transaction: its id in the row.
    if ((await api('PUT', '/tokens/ISO14443/RESV-CARD-2', {})).status !== 201) throw new Error('PUT token');
    r = await reserve(page, { evse: '1', idToken: 'RESV-CARD-2' });
    const used = r.body.reservation_id;
    if (r.body.response?.status !== 'Accepted') throw new Error(`reserve for use: ${JSON.stringify(r)}`);
    await waitRow(page, used, (x) => x.state === 'active', 'listed active');
    const tx = 'resv-browser-tx-1';
    const started = {
      eventType: 'Started', timestamp: new Date().toISOString(), triggerReason: 'Authorized', seqNo: 0,
      transactionInfo: { transactionId: tx, chargingState: 'Charging' }, reservationId: used,
      evse: { id: 1, connectorId: 1 }, idToken: { idToken: 'RESV-CARD-2', type: 'ISO14443' },
    };
    const pressedAt = Date.now();
    await chargerSends('TransactionEvent', started);
    row = await waitRow(page, used, (x) => x.state === 'used' && x.transaction === tx, 'used by the transaction',
                        APPEAR_MS);
    if (row.cancel) throw new Error(`a used reservation still has Cancel: ${JSON.stringify(row)}`);
    step(`reservation ${used} used by ${tx}, shown after ${Date.now() - pressedAt} ms`);
    await chargerSends('TransactionEvent', {
      eventType: 'Ended', timestamp: new Date().toISOString(), triggerReason: 'StopAuthorized', seqNo: 1,
      transactionInfo: { transactionId: tx, stoppedReason: 'Local' }, evse: { id: 1, connectorId: 1 },
    });

    // Active only, then All again.
    await page.click(`${SECTION} .chip[data-scope="active"]`);
    await waitUntil(page, ([sel, id]) => {
      const all = [...document.querySelectorAll(sel)];
      return all.length > 0 && all.every((r) => ['requested', 'active'].includes(r.dataset.state)) &&
        all.some((r) => Number(r.dataset.reservationId) === id);
    }, [ROWS, hostile]);
    const activeIds = (await rows(page)).map((x) => x.id);
    step(`Active only: ${JSON.stringify(activeIds)}`);
    await page.click(`${SECTION} .chip[data-scope="all"]`);
    await waitUntil(page, ([sel, ids]) => ids.every((id) => document.querySelector(`${sel}[data-reservation-id="${id}"]`)),
                    [ROWS, [first, hostile, occupied, used]]);
    const all = await rows(page);
    step(`All: ${JSON.stringify(all.map((x) => [x.id, x.state]))}`);
    await noHostileNodes(page, 'all reservations');

    await page.evaluate((sel) => document.querySelector(sel).scrollIntoView(), SECTION);
    await page.screenshot({ path: screenshotPath, fullPage: true });
    step(`screenshot ${screenshotPath}`);

    // A read token sees the list, but its Reserve and Cancel are refused, and the page says so.
    const reader = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    pageForDump = reader;
    watch(reader, problems, [], (x) => x.status() === 403 && ['POST', 'DELETE'].includes(x.request().method()) &&
                                       /\/reservations(\/\d+)?$/.test(new URL(x.url()).pathname));
    await openChargerPage(reader, readToken);
    await waitRow(reader, hostile, (x) => x.state === 'active', 'listed for a read token');
    const count = (await listed()).length;
    r = await reserve(reader, { evse: '1', idToken: 'RESV-CARD-3' });
    if (r.status !== 403 || r.outcome !== 'failed' || !r.error || !/failed: .+/.test(r.text)) {
      throw new Error(`read token's Reserve: HTTP ${r.status} shows ${JSON.stringify(r)}`);
    }
    if ((await listed()).length !== count) throw new Error('the read token reserved');
    const refused = await cancel(reader, hostile);
    if (refused.outcome !== 'failed' || !refused.error) throw new Error(`read token's Cancel shows ${JSON.stringify(refused)}`);
    if ((await stored(hostile))?.state !== 'active') throw new Error('the read token cancelled');
    step(`read token: Reserve refused (${r.text}); Cancel refused (${refused.text})`);
    await noHostileNodes(reader, 'read token');
  } catch (e) {
    const notes = await pageForDump?.evaluate(() => [...document.querySelectorAll(
      '#charger-page [data-section="reservations"] [data-role$="-note"], #charger-page [data-section="reservations"] .cp-status')]
      .concat(['#feed-status', '#charger-page [data-role="connectors"]', '#cp-resv-evse']
        .map((sel) => `${sel}: ${document.querySelector(sel)?.textContent}`))
      .map((n) => (typeof n === 'string' ? n : `${n.dataset.role}: ${n.textContent}`))).catch(() => []);
    throw new Error(`${e.message}\npage: ${JSON.stringify(notes)}\n${problems.join('\n')}`);
  } finally {
    await browser.close();
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
}
let pageForDump = null;

main().then(() => {
  console.log('charger reservations check passed');
}, (e) => {
  console.error(`charger reservations check FAILED: ${e.stack || e}`);
  process.exit(1);
});
