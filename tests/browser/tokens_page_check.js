#!/usr/bin/env node
// Drives the tokens page (#/tokens) in Debian's headless Chromium (playwright-core) against a
// real stack. Seeds tokens over REST first (a full one with a group, stations, language and a
// personal message holding HTML; a blocked one; an expired one; one whose id is HTML; 60 more by
// a CSV import for paging), then in the browser: the page opened from the header's link, the
// search by id prefix and by exact id (any case), the hostile id and message shown as text only,
// Block then Unblock (the API shows Blocked, then Accepted, with every other field kept), an
// expiry set with the datetime input and cleared (the API shows both), the expired token marked,
// the status and account filters, "More" for the next page, a refusal from the API shown in the
// page (a read token pressing Block) and the way back to the map. Nothing from the data may run:
// no dialog, no element made from it, no console error (the CSP reports there). Started by
// browser_test.cc.
//
//   node tokens_page_check.js <base url> <screenshot path> <operate token> <read token>
'use strict';
const { chromium } = require('playwright-core');

const [baseUrl, screenshotPath, operateToken, readToken] = process.argv.slice(2);
const CHROMIUM = process.env.CSMS_CHROMIUM || '/usr/bin/chromium';

function step(text) {
  console.log(`[${new Date().toISOString()}] ${text}`);
}

// ---- the API, from here --------------------------------------------------------------------

async function api(method, path, body, { token = operateToken, contentType } = {}) {
  const headers = { Authorization: `Bearer ${token}` };
  let payload;
  if (body !== undefined) {
    headers['Content-Type'] = contentType || 'application/json';
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body: payload });
  const json = await response.json().catch(() => ({}));
  return { status: response.status, json };
}
const tokenPath = (type, id) => `/tokens/${encodeURIComponent(type)}/${encodeURIComponent(id)}`;
async function getToken(type, id) {
  const r = await api('GET', tokenPath(type, id));
  if (r.status !== 200) throw new Error(`GET ${type} ${id}: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json.token;
}
async function put(type, id, body) {
  const r = await api('PUT', tokenPath(type, id), body);
  if (r.status !== 201) throw new Error(`PUT ${type} ${id}: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json.token;
}

// Each would set window.__xss if it ever ran as HTML (alert opens a dialog, caught as well).
const HOSTILE_ID = '<img src=x onerror=alert(1)>';  // 28 characters, a valid Central id
const HOSTILE_MESSAGE = '<script>window.__xss="message"</script>' +
  '<img src=x data-xss=message onerror="window.__xss=\'message\'"><b>bold</b>';
const HOSTILE_ACCOUNT = '<svg onload="window.__xss=\'account\'">';
const FULL = {
  status: 'Accepted',
  group: { id_token: 'TKP-FLEET', type: 'Central' },
  account_id: 'acct-tkp',
  max_concurrent: 3,
  stations: ['emart_jeju_main', 'jeju_city_hall'],
  language: 'ko',
  personal_message: HOSTILE_MESSAGE,
};
// What must survive every change the page makes to the full token.
const KEPT = ['group', 'account_id', 'max_concurrent', 'stations', 'language', 'personal_message'];

async function seed() {
  await put('ISO14443', 'TKP0A1B2C3', FULL);
  await put('ISO14443', 'TKP0A1B2C4', { account_id: 'acct-tkp' });
  await put('Central', 'tkp-central-1', { account_id: 'acct-other' });
  await put('ISO14443', 'TKP0B10C', { status: 'Blocked', account_id: 'acct-other' });
  await put('ISO14443', 'TKP0DEAD01', { expires_at: '2020-01-01T00:00:00Z', account_id: 'acct-tkp' });
  await put('Central', HOSTILE_ID, { account_id: HOSTILE_ACCOUNT, personal_message: HOSTILE_MESSAGE,
                                     group: { id_token: '<b>group</b>', type: 'Central' } });
  const csv = ['id_token,type,account_id'];
  for (let i = 0; i < 60; ++i) csv.push(`PAGE${String(i).padStart(3, '0')},KeyCode,acct-page`);
  const r = await api('POST', '/tokens:import', `${csv.join('\n')}\n`, { contentType: 'text/csv' });
  if (r.status !== 200 || r.json.stored !== 60) throw new Error(`import: ${r.status} ${JSON.stringify(r.json)}`);
}

function sameFields(before, after, what) {
  for (const key of KEPT) {
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) {
      throw new Error(`${what} changed ${key}: ${JSON.stringify(before[key])} -> ${JSON.stringify(after[key])}`);
    }
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

const ROWS = '#tokens-page table[data-role="tokens"] tbody tr';
const rows = (page) => page.evaluate((sel) => [...document.querySelectorAll(sel)].map((r) => ({
  id: r.dataset.idToken, type: r.dataset.type, status: r.dataset.status, expired: r.dataset.expired,
  account: r.querySelector('[data-role="account"]').textContent,
})), ROWS);

// Types the filters, submits, and waits for the list loaded after it.
async function search(page, { id = '', status = '', account = '' } = {}) {
  const before = await page.evaluate(() => document.querySelector('#tokens-page .cp-paged').dataset.loaded || '');
  await page.fill('#tk-search', id);
  await page.fill('#tk-account', account);
  await page.selectOption('#tk-status', status);
  await page.click('#tokens-page form[data-role="filters"] button[type="submit"]');
  await waitUntil(page, (b) => {
    const loaded = document.querySelector('#tokens-page .cp-paged').dataset.loaded || '';
    return loaded !== '' && loaded !== b;
  }, before);
  // A debounced reload from the typing may still land: let it, then read.
  await new Promise((resolve) => setTimeout(resolve, 450));
  return rows(page);
}

// Presses a row's button and waits for the page's answer to it.
async function press(page, type, id, action) {
  const row = `${ROWS}[data-type="${type}"][data-id-token="${id}"]`;
  await page.evaluate(() => { document.querySelector('[data-role="token-result"]').dataset.outcome = ''; });
  await page.click(`${row} button[data-action="${action}"]`);
  await waitUntil(page, () => ['done', 'failed'].includes(
    document.querySelector('[data-role="token-result"]').dataset.outcome));
  return page.evaluate(() => {
    const r = document.querySelector('[data-role="token-result"]');
    return { outcome: r.dataset.outcome, text: r.textContent };
  });
}

function watch(page, problems, allowed) {
  page.on('request', (r) => {
    if (!r.url().startsWith(baseUrl)) problems.push(`request outside the gateway: ${r.url()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', (d) => {
    problems.push(`dialog (something ran): ${d.message()}`);
    d.dismiss();
  });
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    if (allowed && /Failed to load resource.*403/.test(m.text())) return;  // the refusal below
    problems.push(`console: ${m.text()}`);
  });
  page.on('response', (r) => {
    if (r.status() < 400) return;
    if (allowed && allowed(r)) return;
    problems.push(`HTTP ${r.status()} for ${r.request().method()} ${r.url()}`);
  });
}

async function noHostileNodes(page, where) {
  const found = await page.evaluate(() => ({
    xss: window.__xss ?? null,
    nodes: [...document.querySelectorAll('#tokens-page img, #tokens-page svg, #tokens-page script, ' +
                                         '#tokens-page b, [data-xss]')].map((n) => n.outerHTML),
  }));
  if (found.xss !== null || found.nodes.length > 0) {
    throw new Error(`hostile data ran or became elements (${where}): ${JSON.stringify(found)}`);
  }
}

async function main() {
  await seed();
  step('seeded 6 tokens and imported 60 more');

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const problems = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    pageForDump = page;
    watch(page, problems, null);

    // From the map's header to the tokens page.
    await page.goto(`${baseUrl}/#token=${operateToken}`);
    await page.waitForSelector('.top-nav a[data-nav="tokens"]', { timeout: 10000 });
    await page.click('.top-nav a[data-nav="tokens"]');
    await page.waitForSelector('#tokens-page:not([hidden])', { timeout: 5000 });
    const hash = await page.evaluate(() => location.hash);
    if (hash !== '#/tokens') throw new Error(`address ${hash}`);
    if (await page.locator('#map').isVisible()) throw new Error('the map is still shown');
    await page.waitForSelector(`${ROWS}`, { timeout: 10000 });
    step('opened #/tokens from the header');

    // Search by prefix (any case), then by an exact id.
    let found = await search(page, { id: 'tKp' });
    const tkp = ['TKP0A1B2C3', 'TKP0A1B2C4', 'TKP0B10C', 'TKP0DEAD01', 'tkp-central-1'];
    if (JSON.stringify(found.map((r) => r.id).sort()) !== JSON.stringify([...tkp].sort())) {
      throw new Error(`search tKp found ${JSON.stringify(found)}`);
    }
    found = await search(page, { id: 'tkp0a1b2c3' });
    if (found.length !== 1 || found[0].id !== 'TKP0A1B2C3') throw new Error(`exact search: ${JSON.stringify(found)}`);
    step(`search: ${tkp.length} by prefix "tKp", 1 by exact id`);

    // The hostile token: found by its id's beginning, every field shown as text.
    found = await search(page, { id: '<img src' });
    if (found.length !== 1 || found[0].id !== HOSTILE_ID) throw new Error(`hostile search: ${JSON.stringify(found)}`);
    const shown = await page.evaluate((sel) => {
      const r = document.querySelector(sel);
      const text = (role) => r.querySelector(`[data-role="${role}"]`).textContent;
      return { id: text('id-token'), message: text('message'), account: text('account'), group: text('group') };
    }, ROWS);
    if (shown.id !== HOSTILE_ID || shown.message !== HOSTILE_MESSAGE || shown.account !== HOSTILE_ACCOUNT ||
        shown.group !== '<b>group</b> (Central)') {
      throw new Error(`the hostile token is shown as ${JSON.stringify(shown)}`);
    }
    await noHostileNodes(page, 'hostile token listed');
    step('hostile id, account, group and message shown as text');

    // Block, then unblock: the API shows it, and nothing else of the token changed.
    const original = await getToken('ISO14443', 'TKP0A1B2C3');
    await search(page, { id: 'TKP0A1B2C3' });
    let answer = await press(page, 'ISO14443', 'TKP0A1B2C3', 'block');
    if (answer.outcome !== 'done') throw new Error(`block: ${answer.text}`);
    let stored = await getToken('ISO14443', 'TKP0A1B2C3');
    if (stored.status !== 'Blocked') throw new Error(`after Block the API shows ${stored.status}`);
    sameFields(original, stored, 'Block');
    if ((await rows(page))[0].status !== 'Blocked') throw new Error('the row does not show Blocked');
    step(`blocked: ${answer.text}`);
    answer = await press(page, 'ISO14443', 'TKP0A1B2C3', 'unblock');
    if (answer.outcome !== 'done') throw new Error(`unblock: ${answer.text}`);
    stored = await getToken('ISO14443', 'TKP0A1B2C3');
    if (stored.status !== 'Accepted') throw new Error(`after Unblock the API shows ${stored.status}`);
    sameFields(original, stored, 'Unblock');
    step(`unblocked: ${answer.text}`);

    // An expiry set with the datetime input (local time), then cleared.
    const row = `${ROWS}[data-id-token="TKP0A1B2C3"]`;
    await page.fill(`${row} input[data-role="expiry-input"]`, '2031-05-06T07:08');
    const expected = await page.evaluate(() => new Date('2031-05-06T07:08').toISOString());
    answer = await press(page, 'ISO14443', 'TKP0A1B2C3', 'set-expiry');
    if (answer.outcome !== 'done') throw new Error(`set expiry: ${answer.text}`);
    stored = await getToken('ISO14443', 'TKP0A1B2C3');
    if (Date.parse(stored.expires_at) !== Date.parse(expected)) {
      throw new Error(`expiry: the API shows ${stored.expires_at}, expected ${expected}`);
    }
    sameFields(original, stored, 'Set expiry');
    if (stored.status !== 'Accepted') throw new Error(`Set expiry changed the status to ${stored.status}`);
    step(`expiry set: ${stored.expires_at}`);
    answer = await press(page, 'ISO14443', 'TKP0A1B2C3', 'clear-expiry');
    if (answer.outcome !== 'done') throw new Error(`clear expiry: ${answer.text}`);
    stored = await getToken('ISO14443', 'TKP0A1B2C3');
    if (stored.expires_at !== null) throw new Error(`after Clear expiry the API shows ${stored.expires_at}`);
    sameFields(original, stored, 'Clear expiry');
    step('expiry cleared');

    // The expired token is marked; the others are not.
    found = await search(page, { id: 'tkp' });
    const marked = found.filter((r) => r.expired === 'true').map((r) => r.id);
    if (JSON.stringify(marked) !== '["TKP0DEAD01"]') throw new Error(`marked expired: ${JSON.stringify(marked)}`);
    const badge = await page.textContent(`${ROWS}[data-id-token="TKP0DEAD01"] [data-role="expired"]`);
    if (badge !== 'expired') throw new Error(`expired badge: ${badge}`);
    step('the expired token is marked');

    // Filters: status, account.
    found = await search(page, { id: 'tkp', status: 'Blocked' });
    if (JSON.stringify(found.map((r) => r.id)) !== '["TKP0B10C"]') throw new Error(`Blocked filter: ${JSON.stringify(found)}`);
    found = await search(page, { id: 'tkp', status: 'Accepted' });
    if (found.length !== 4 || found.some((r) => r.status !== 'Accepted')) {
      throw new Error(`Accepted filter: ${JSON.stringify(found)}`);
    }
    found = await search(page, { status: 'Blocked' });
    if (found.length !== 1 || found[0].id !== 'TKP0B10C') throw new Error(`Blocked, any id: ${JSON.stringify(found)}`);
    found = await search(page, { account: 'acct-tkp' });
    if (found.length !== 3 || found.some((r) => r.account !== 'acct-tkp')) {
      throw new Error(`account filter: ${JSON.stringify(found)}`);
    }
    step('status and account filters');

    // Paging: 50, then "More" for the other 10.
    found = await search(page, { id: 'page' });
    if (found.length !== 50 || !(await page.isVisible('#tokens-page [data-role="more"]'))) {
      throw new Error(`first page: ${found.length} rows`);
    }
    await page.click('#tokens-page [data-role="more"]');
    await waitUntil(page, (sel) => document.querySelectorAll(sel).length === 60, ROWS);
    if (await page.isVisible('#tokens-page [data-role="more"]')) throw new Error('"More" after the last page');
    step('paged: 50 + 10');

    await search(page, { id: '' });
    await noHostileNodes(page, 'all tokens listed');
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: screenshotPath });  // the first rows: hostile, blocked, expired
    step(`screenshot ${screenshotPath}`);

    // Back to the map.
    await page.click('#tokens-page a.back');
    await page.waitForSelector('#tokens-page', { state: 'hidden', timeout: 5000 });
    await page.waitForSelector('#map', { state: 'visible', timeout: 5000 });
    step('back on the map');

    // A read token may look but not change: the API's refusal is shown in the page.
    const reader = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    pageForDump = reader;
    watch(reader, problems, (r) => r.status() === 403 && r.request().method() === 'PUT');
    await reader.goto(`${baseUrl}/#token=${readToken}`);
    await reader.waitForSelector('#feed-status', { timeout: 10000 });
    await reader.evaluate(() => { location.hash = '#/tokens'; });
    await reader.waitForSelector(ROWS, { timeout: 10000 });
    await search(reader, { id: 'TKP0A1B2C4' });
    answer = await press(reader, 'ISO14443', 'TKP0A1B2C4', 'block');
    if (answer.outcome !== 'failed' || !/failed: .+/.test(answer.text)) throw new Error(`read token's Block: ${answer.text}`);
    const error = await reader.evaluate(() => document.querySelector('[data-role="token-result"]').classList.contains('error'));
    if (!error) throw new Error('the refusal is not shown as an error');
    stored = await getToken('ISO14443', 'TKP0A1B2C4');
    if (stored.status !== 'Accepted') throw new Error(`the refused Block changed the token: ${stored.status}`);
    step(`read token's Block refused: ${answer.text}`);
    await noHostileNodes(reader, 'read token');
  } catch (e) {
    const notes = await pageForDump?.evaluate(() => [...document.querySelectorAll(
      '#tokens-page [data-role="tokens-note"], #tokens-page [data-role="token-result"]')]
      .map((n) => `${n.dataset.role}: ${n.textContent}`)).catch(() => []);
    throw new Error(`${e.message}\npage: ${JSON.stringify(notes)}\n${problems.join('\n')}`);
  } finally {
    await browser.close();
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
}
let pageForDump = null;

main().then(() => {
  console.log('tokens page check passed');
}, (e) => {
  console.error(`tokens page check FAILED: ${e.stack || e}`);
  process.exit(1);
});
