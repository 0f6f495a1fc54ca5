#!/usr/bin/env node
// The dashboard against hostile data, in Debian's headless Chromium (playwright-core) with the
// gateway's API answered by this script: no stack, no database. Every string the API can carry
// (station names, ids and addresses set over REST; charger ids, vendor, model, status and
// transaction ids from chargers; the billing currency) holds HTML. The page must show each as
// text, create no element from it and run none of it, and its Content-Security-Policy must
// report nothing (a violation means something tried to run or load what it should not).
//
//   node dashboard_xss_check.js <bundled dashboard dir: index.html, app.js, app.css>
//
// Exits 77 (skipped) when Chromium, playwright-core or the bundle is missing.
'use strict';
const fs = require('fs');
const path = require('path');

const [bundleDir] = process.argv.slice(2);
const CHROMIUM = process.env.CSMS_CHROMIUM || '/usr/bin/chromium';
const ORIGIN = 'http://csms.test';

function skip(why) {
  console.log(`SKIPPED: ${why}`);
  process.exit(77);
}
let chromium;
try {
  ({ chromium } = require('playwright-core'));
} catch {
  skip('playwright-core is missing (npm ci --prefix tests/browser)');
}
if (!fs.existsSync(CHROMIUM)) skip(`${CHROMIUM} is missing`);
if (!bundleDir || !fs.existsSync(path.join(bundleDir, 'app.js')) ||
    fs.statSync(path.join(bundleDir, 'app.js')).size < 1000) {
  skip(`no dashboard bundle in ${bundleDir} (npm ci --prefix dashboard, then build)`);
}

// Each payload would set window.__xss (or add an element with data-xss) if it ever ran as HTML.
const html = (tag) => `<img src=x data-xss="${tag}" onerror="window.__xss='${tag}'">` +
  `<svg data-xss="${tag}" onload="window.__xss='${tag}'"></svg>`;
const STATION_ID = `st"><img src=x data-xss=id onerror="window.__xss='id'">`;
const station = {
  station_id: STATION_ID,
  name: `Name ${html('name')}`,
  address: `Address ${html('address')}`,
  latitude: 33.4996,
  longitude: 126.5312,
  charger_ids: ['cp_ok', `cp${html('charger-id')}`],
};
const hostileCharger = {
  charger_id: station.charger_ids[1],
  status: `Available${html('status')}`,
  current_power: 0,
  energy_accumulated: 0,
  transaction_id: `tx${html('tx')}`,
  connected: true,
  station_id: STATION_ID,
  last_seen: new Date().toISOString(),
  charging_limit: null,
  vendor: `Vendor ${html('vendor')}`,
  model: `Model ${html('model')}`,
  registration_status: 'Accepted',
  connectors: [],
};
const okCharger = { ...hostileCharger, charger_id: 'cp_ok', status: 'Available',
                    transaction_id: null, vendor: 'Acme', model: 'M1' };
const unplaced = { ...okCharger, charger_id: `loose${html('unplaced')}`, station_id: null };
const snapshot = { chargers: [okCharger, hostileCharger, unplaced], stations: [station] };
const today = new Date().toISOString().slice(0, 10);
const stats = {
  time_zone: 'UTC',
  stats: [{ charger_id: 'cp_ok', date: today, sessions: 1, total_energy: 1.5,
            total_revenue: 300, currency: `KRW${html('currency')}` }],
};

// The charger page (#/chargers/<id>) of the hostile charger: every string of its device model,
// event log, command log, firmware job, log uploads, reservations and command answers holds HTML
// too.
const now = new Date().toISOString();
const chargerApi = {
  charger: { charger_id: hostileCharger.charger_id, status: hostileCharger.status, current_power: 0,
             energy_accumulated: 0, transaction_id: hostileCharger.transaction_id, connected: true },
  variables: {
    charger_id: hostileCharger.charger_id,
    last_report: { request_id: 1, scope: `FullInventory${html('scope')}`, status: 'Complete',
                   requested_by: `system${html('requested-by')}`, requested_at: now,
                   parts_received: 1, items_received: 2, completed_at: now },
    variables: [
      { component: `OCPPCommCtrlr${html('component')}`, component_instance: `i${html('instance')}`,
        evse_id: null, connector_id: null, variable: 'HeartbeatInterval',
        variable_instance: `v${html('variable-instance')}`, data_type: 'integer',
        unit: `s${html('unit')}`, min_limit: null, max_limit: null, values_list: '',
        supports_monitoring: false,
        attributes: [{ type: 'Actual', value: `30${html('value')}`, secret: false,
                       mutability: `ReadWrite${html('mutability')}`, persistent: true,
                       constant: false, source: 'NotifyReport', updated_at: now }] },
      { component: 'SecurityCtrlr', component_instance: '', evse_id: null, connector_id: null,
        variable: `BasicAuthPassword${html('variable')}`, variable_instance: '', data_type: 'string',
        unit: '', min_limit: null, max_limit: null, values_list: '', supports_monitoring: false,
        attributes: [{ type: 'Actual', value: null, secret: true, mutability: 'WriteOnly',
                       persistent: true, constant: false, source: 'NotifyReport',
                       updated_at: now }] },
    ],
    next_cursor: null,
  },
  events: {
    events: [
      { id: 2, kind: 'SecurityEventNotification', type: `Tamper${html('event-type')}`,
        received_at: now, occurred_at: now, evse_id: null, connector_id: null, request_id: null,
        client_address: null,
        payload: { type: 'Tamper', techInfo: `${html('event-payload')}` } },
      { id: 1, kind: `CsmsSecurityEvent${html('event-kind')}`, type: 'InvalidPassword',
        received_at: now, occurred_at: null, evse_id: 1, connector_id: 1, request_id: null,
        client_address: `10.0.0.1${html('client-address')}`,
        payload: { reason: `${html('reason')}`, count: 1 } },
    ],
    next_cursor: null,
  },
  commands: {
    commands: [{ id: 7, charger_id: hostileCharger.charger_id, issued_by: `ops${html('issued-by')}`,
                 action: `Reset${html('action')}`, request: { type: `${html('request')}` },
                 outcome: 'result', response: { status: `Accepted${html('command-status')}` },
                 sent_at: now, latency_ms: 12 }],
    next_cursor: null,
  },
  firmware: {
    charger_id: hostileCharger.charger_id,
    jobs: [{ job_id: 3, charger_id: hostileCharger.charger_id, request_id: 9,
             state: `Downloading${html('fw-state')}`, outcome: 'in_progress',
             location: `https://fw.example/${html('fw-location')}`, retrieve_at: now,
             install_at: null, signed: false, firmware_version_before: `1.0${html('fw-before')}`,
             firmware_version_after: null, requested_by: `admin${html('fw-by')}`,
             created_at: now, updated_at: now, detail: `${html('fw-detail')}` }],
  },
  firmwareEvents: {
    events: [{ id: 5, kind: 'FirmwareStatusNotification', type: `Downloaded${html('fw-event')}`,
               received_at: now, occurred_at: now, evse_id: null, connector_id: null,
               request_id: 9, client_address: null, payload: {} }],
    next_cursor: null,
  },
  uploads: {
    uploads: [{ upload_id: `u1${html('upload-id')}`, request_id: 4,
                log_type: `DiagnosticsLog${html('log-type')}`, state: `Uploaded${html('log-state')}`,
                filename: `diag${html('filename')}.tar.gz`, size_bytes: 2048,
                sha256: `ab${html('sha')}`, received_at: now, requested_by: `ops${html('log-by')}`,
                created_at: now, expires_at: now,
                download_path: `javascript:window.__xss='download-path'` }],
    next_cursor: null,
  },
  reservations: {
    reservations: [{ reservation_id: 12, charger_id: hostileCharger.charger_id, evse_id: null,
                     id_token: `${html('resv-token')}`, token_type: `Central${html('resv-type')}`,
                     group: { id_token: `${html('resv-group')}`, type: 'Central' },
                     expires_at: now, state: `active${html('resv-state')}`,
                     charger_status: `Occupied${html('resv-status')}`,
                     transaction_id: `tx${html('resv-tx')}`, requested_by: `ops${html('resv-by')}`,
                     detail: `${html('resv-detail')}`, created_at: now, updated_at: now,
                     ended_at: null }],
    next_cursor: null,
  },
  trigger: { status: 'success', response: { status: `Accepted${html('trigger-status')}`,
                                            reason_code: `${html('trigger-reason')}`,
                                            additional_info: '' } },
};

function fulfil(route, body, contentType) {
  return route.fulfill({ status: 200, contentType, body });
}

const chargerRequests = [];

// A CSS attribute value: quotes and backslashes escaped.
function CSS_escape(text) { return text.replace(/["\\]/g, '\\$&'); }

// page.waitForFunction is refused by the page's CSP (no 'unsafe-eval'): poll with evaluate.
async function waitFor(page, predicate, timeout = 5000) {
  const deadline = Date.now() + timeout;
  while (!(await page.evaluate(predicate))) {
    if (Date.now() > deadline) throw new Error(`timed out: ${predicate}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
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
    page.on('console', (m) => {
      // The 404 of a log-uploads list is expected (see below); Chromium logs every failed load.
      if (m.type() === 'error' && !(m.location().url || '').includes('/log-uploads')) {
        problems.push(`console: ${m.text()}`);
      }
    });
    await page.addInitScript(() => {
      window.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) => {
        window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`);
      });
    });
    await page.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.origin !== ORIGIN) return route.abort();
      const file = (name, type) => fulfil(route, fs.readFileSync(path.join(bundleDir, name)), type);
      switch (url.pathname) {
        case '/': return file('index.html', 'text/html; charset=utf-8');
        case '/assets/app.js': return file('app.js', 'text/javascript; charset=utf-8');
        case '/assets/app.css': return file('app.css', 'text/css; charset=utf-8');
        case '/assets/basemap.json':  // the offline map's land, when the build made it
          if (!fs.existsSync(path.join(bundleDir, 'basemap.json'))) break;
          return file('basemap.json', 'application/json');
        case '/dashboard/config.json':
          return fulfil(route, JSON.stringify({ tile_url: '', tile_attribution: '' }),
                        'application/json');
        case '/events':
          return fulfil(route, `retry: 600000\nevent: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`,
                        'text/event-stream');
        case '/chargers': return fulfil(route, JSON.stringify(snapshot.chargers), 'application/json');
        case '/stats/daily': return fulfil(route, JSON.stringify(stats), 'application/json');
        case '/reservations':  // the charger page's reservations: the hostile charger's only
          return fulfil(route, JSON.stringify(
            url.searchParams.get('charger_id') === hostileCharger.charger_id
              ? chargerApi.reservations : { reservations: [], next_cursor: null }), 'application/json');
      }
      // /chargers/<id>[/<what>]: the hostile charger's page; the other charger has no log
      // uploads (404, as a gateway without that API answers).
      const parts = url.pathname.split('/').slice(1).map(decodeURIComponent);
      if (parts[0] === 'chargers' && parts.length >= 2) {
        const json = (body) => fulfil(route, JSON.stringify(body), 'application/json');
        const mine = parts[1] === hostileCharger.charger_id;
        const what = parts.slice(2).join('/');
        chargerRequests.push(`${route.request().method()} ${what || '(charger)'}`);
        if (what === '') return json(mine ? chargerApi.charger : { ...chargerApi.charger, charger_id: parts[1], status: 'Available', transaction_id: null });
        if (what === 'variables') return json(chargerApi.variables);
        if (what === 'events') {
          return json(url.searchParams.get('kind') === 'FirmwareStatusNotification'
            ? chargerApi.firmwareEvents : chargerApi.events);
        }
        if (what === 'commands') return json(chargerApi.commands);
        if (what === 'firmware') return json(chargerApi.firmware);
        if (what === 'log-uploads' && mine) return json(chargerApi.uploads);
        if (mine && what === `log-uploads/${chargerApi.uploads.uploads[0].upload_id}/content`) {
          // Only with the page's token (the download is fetched, not navigated to).
          const auth = route.request().headers().authorization;
          if (auth !== 'Bearer csms_test') return route.fulfill({ status: 401, body: '{}' });
          return route.fulfill({ status: 200, contentType: 'application/octet-stream',
                                 body: Buffer.from('log file contents\n') });
        }
        if (what === 'trigger' && route.request().method() === 'POST') return json(chargerApi.trigger);
      }
      return route.fulfill({ status: 404, contentType: 'application/json', body: '{}' });
    });

    await page.goto(`${ORIGIN}/#token=csms_test`);
    await page.waitForSelector('body[data-snapshot]', { timeout: 10000 });
    await page.waitForSelector('.station-marker', { timeout: 10000 });
    await page.waitForSelector('[data-role="today-revenue"]', { timeout: 10000 });
    // Tooltips are made on hover: show the station's.
    await page.hover('.station-marker');
    await page.waitForSelector('.leaflet-tooltip', { timeout: 5000 });
    await page.waitForTimeout(300);  // let any injected image fail and its handler try to run

    const seen = await page.evaluate(() => ({
      xss: window.__xss || null,
      csp: window.__csp,
      injected: [...document.querySelectorAll('[data-xss], [onerror], [onload]')].map(
        (n) => n.outerHTML),
      tooltip: document.querySelector('.leaflet-tooltip').textContent,
      markerId: document.querySelector('.station-marker').dataset.stationId,
      heading: document.querySelector('#station-detail h2').textContent,
      address: document.querySelector('#station-detail address').textContent,
      chargers: [...document.querySelectorAll('article.charger')].map((a) => a.dataset.chargerId),
      model: [...document.querySelectorAll('article.charger dd')].map((d) => d.textContent),
      list: document.querySelector('#station-list').textContent,
      revenue: document.querySelector('[data-role="today-revenue"] .value').textContent,
    }));
    const expect = (ok, what) => { if (!ok) problems.push(what); };
    expect(seen.xss === null, `a payload ran: ${seen.xss}`);
    expect(seen.injected.length === 0, `elements made from API data: ${seen.injected.join(' ')}`);
    expect(seen.csp.length === 0, `CSP violations: ${seen.csp.join('; ')}`);
    expect(seen.tooltip === station.name, `tooltip shows ${JSON.stringify(seen.tooltip)}`);
    expect(seen.markerId === encodeURIComponent(STATION_ID), `marker id ${seen.markerId}`);
    expect(seen.heading === station.name, `panel heading ${JSON.stringify(seen.heading)}`);
    expect(seen.address === station.address, `address ${JSON.stringify(seen.address)}`);
    expect(JSON.stringify(seen.chargers) === JSON.stringify(station.charger_ids),
           `charger cards ${JSON.stringify(seen.chargers)}`);
    expect(seen.model.includes(`${hostileCharger.vendor} ${hostileCharger.model}`),
           `vendor and model not shown as text: ${JSON.stringify(seen.model)}`);
    expect(seen.model.includes(hostileCharger.transaction_id), 'transaction id not shown as text');
    expect(seen.list.includes(unplaced.charger_id), 'unplaced charger not listed as text');
    expect(seen.revenue.endsWith(stats.stats[0].currency), `revenue ${seen.revenue}`);
    console.log(`tooltip: ${seen.tooltip}`);

    // The hostile charger's page, opened from its card's link.
    await page.click(`article.charger[data-charger-id="${CSS_escape(hostileCharger.charger_id)}"] a[data-role="charger-link"]`);
    await page.waitForSelector('#charger-page:not([hidden]) [data-role="charger-id"]', { timeout: 5000 });
    for (const role of ['variables', 'events', 'commands', 'uploads', 'reservations']) {
      await page.waitForSelector(`#charger-page table[data-role="${role}"] tbody tr`, { timeout: 5000 });
    }
    await page.waitForSelector('#charger-page ol.timeline li', { timeout: 5000 });
    page.once('dialog', (d) => d.accept());
    await page.click('#charger-page button[data-action="trigger"]');
    await page.waitForSelector('#charger-page [data-role="command-result"][data-outcome="answered"]',
                               { timeout: 5000 });
    await page.waitForTimeout(300);
    const cp = await page.evaluate(() => {
      const text = (sel) => [...document.querySelectorAll(sel)].map((n) => n.textContent);
      return {
        xss: window.__xss || null,
        csp: window.__csp,
        injected: [...document.querySelectorAll('[data-xss], [onerror], [onload]')].map((n) => n.outerHTML),
        hash: location.hash,
        id: document.querySelector('#charger-page [data-role="charger-id"]').textContent,
        header: text('#charger-page .cp-facts dd'),
        variables: text('#charger-page table[data-role="variables"] tbody td'),
        report: document.querySelector('#charger-page [data-role="dm-report"]').textContent,
        events: text('#charger-page table[data-role="events"] tbody td'),
        commands: text('#charger-page table[data-role="commands"] tbody td'),
        firmware: document.querySelector('#charger-page [data-role="firmware-job"]').textContent,
        uploads: text('#charger-page table[data-role="uploads"] tbody td'),
        reservations: text('#charger-page table[data-role="reservations"] tbody td'),
        answer: document.querySelector('#charger-page [data-role="command-result"]').textContent,
        links: [...document.querySelectorAll('#charger-page a[href]')].map((a) => a.getAttribute('href')),
      };
    });
    const has = (list, value, what) => expect(list.some((t) => t.includes(value)),
                                             `${what} not shown as text: ${JSON.stringify(list)}`);
    expect(cp.xss === null, `a payload ran on the charger page: ${cp.xss}`);
    expect(cp.injected.length === 0, `charger page elements made from API data: ${cp.injected.join(' ')}`);
    expect(cp.csp.length === 0, `CSP violations on the charger page: ${cp.csp.join('; ')}`);
    expect(cp.id === hostileCharger.charger_id, `charger page heading ${JSON.stringify(cp.id)}`);
    expect(cp.hash === `#/chargers/${encodeURIComponent(hostileCharger.charger_id)}`, `address ${cp.hash}`);
    has(cp.header, hostileCharger.vendor, 'vendor');
    has(cp.header, hostileCharger.status, 'status');
    has(cp.header, chargerApi.firmware.jobs[0].firmware_version_before, 'firmware version');
    has(cp.variables, chargerApi.variables.variables[0].attributes[0].value, 'variable value');
    has(cp.variables, chargerApi.variables.variables[0].component, 'component');
    has(cp.variables, '•••', 'a secret');
    expect(cp.report.includes(chargerApi.variables.last_report.scope), `report ${cp.report}`);
    // Payloads are shown as JSON: the string with its quotes escaped.
    has(cp.events, JSON.stringify(chargerApi.events.events[0].payload.techInfo).slice(1, -1),
        'event payload');
    has(cp.events, chargerApi.events.events[1].kind, 'event kind');
    has(cp.commands, chargerApi.commands.commands[0].action, 'command action');
    has(cp.commands, chargerApi.commands.commands[0].response.status, 'command answer');
    expect(cp.firmware.includes(chargerApi.firmware.jobs[0].detail) &&
           cp.firmware.includes(chargerApi.firmwareEvents.events[0].type),
           `firmware job ${cp.firmware}`);
    has(cp.uploads, chargerApi.uploads.uploads[0].filename, 'upload filename');
    const resv = chargerApi.reservations.reservations[0];
    has(cp.reservations, resv.id_token, 'reservation id token');
    has(cp.reservations, resv.token_type, 'reservation token type');
    has(cp.reservations, resv.state, 'reservation state');
    has(cp.reservations, resv.charger_status, 'reservation charger status');
    has(cp.reservations, resv.transaction_id, 'reservation transaction id');
    has(cp.reservations, resv.group.id_token, 'reservation group');
    expect(cp.answer.includes(chargerApi.trigger.response.status), `answer ${cp.answer}`);
    expect(cp.links.every((h) => h.startsWith('#')), `links from API data: ${cp.links.join(' ')}`);

    // The upload's download: fetched with the token from the path the page builds from the ids
    // (the hostile download_path is never followed), saved under its name made safe.
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 5000 }),
      page.click('#charger-page table[data-role="uploads"] tbody button'),
    ]);
    const saved = await download.path();
    expect(fs.readFileSync(saved, 'utf8') === 'log file contents\n', 'downloaded contents differ');
    expect(!download.suggestedFilename().includes('/'), `file name ${download.suggestedFilename()}`);
    console.log(`downloaded ${download.suggestedFilename()}`);

    // The other charger's page: its log uploads are a 404 (not served yet), the rest works.
    await page.evaluate(() => { location.hash = '#/chargers/cp_ok'; });
    await page.waitForSelector('#charger-page[data-charger-id="cp_ok"]', { timeout: 5000 });
    await page.waitForSelector('#charger-page table[data-role="commands"] tbody tr', { timeout: 5000 });
    await waitFor(page, () => /unavailable/i.test(
      document.querySelector('#charger-page [data-role="uploads-note"]')?.textContent || ''));
    // And back to the map.
    await page.click('#charger-page a.back');
    await page.waitForSelector('#charger-page', { state: 'hidden', timeout: 5000 });
    await page.waitForSelector('#map .station-marker', { state: 'visible', timeout: 5000 });
    const last = await page.evaluate(() => ({ xss: window.__xss || null, csp: window.__csp }));
    expect(last.xss === null, `a payload ran: ${last.xss}`);
    expect(last.csp.length === 0, `CSP violations: ${last.csp.join('; ')}`);
    console.log(`charger page: ${chargerRequests.length} API requests, all shown as text`);
  } finally {
    await browser.close();
  }
  if (problems.length > 0) throw new Error(problems.join('\n'));
}

main().then(() => {
  console.log('dashboard XSS check passed');
}, (e) => {
  console.error(`dashboard XSS check FAILED: ${e.stack || e}`);
  process.exit(1);
});
