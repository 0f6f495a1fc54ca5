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

function fulfil(route, body, contentType) {
  return route.fulfill({ status: 200, contentType, body });
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
