#!/usr/bin/env node
// Drives the dashboard in Debian's headless Chromium (playwright-core, no browser download):
// checks the markers, starts a transaction over REST and stops a simulator, and expects the
// page to follow each within two seconds; then stops the transaction with the page's own Stop
// button. Started by browser_test.cc with the stack and the simulators already running.
// The gateway has no tile server: the page must draw the bundled Natural Earth land and borders
// from the gateway alone, with the stations (and scripts/run.sh's quick-start stations) on land
// and the sea north of Jeju not (kept as <screenshot>-basemap.png).
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
// Where browser_test.cc puts its two stations (the same latitude), where scripts/run.sh puts the
// quick start's, and a point at sea 11 km north of Jeju City.
const MAIN_AT = { lat: 33.4996, lng: 126.5312 };
const CITY_HALL_AT = { lat: 33.4996, lng: 126.5219 };
const ON_LAND = [
  { what: 'quick start emart_jeju_main (38 Tapdong-ro)', lat: 33.5153, lng: 126.5225 },
  { what: 'quick start emart_shinjeju (Nohyeong-dong)', lat: 33.4846, lng: 126.4811 },
];
const AT_SEA = { what: 'the sea north of Jeju City', lat: 33.6, lng: 126.5312 };

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

// The centre of a marker in the page, which is its station's position (icons are anchored there).
async function markerCentre(page, stationId) {
  return page.evaluate((selector) => {
    const r = document.querySelector(selector).getBoundingClientRect();
    return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
  }, marker(stationId));
}

// Whether the drawn land (the SVG path of the base map) covers each page point.
async function landAt(page, points) {
  return page.evaluate((pts) => {
    const land = document.querySelector('#map path.basemap-land');
    const toPath = land.getScreenCTM().inverse();
    return pts.map(({ x, y }) => land.isPointInFill(new DOMPoint(x, y).matrixTransform(toPath)));
  }, points);
}

// Waits for the end of a zoom: no animation running and the marker still for 300 ms.
async function zoomSettled(page) {
  let last = null;
  let still = 0;
  for (let i = 0; i < 50 && still < 3; ++i) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const animating = await page.evaluate(
      () => document.querySelector('#map .leaflet-zoom-anim') !== null);
    const at = await markerCentre(page, MAIN);
    still = !animating && last && at.x === last.x && at.y === last.y ? still + 1 : 0;
    last = at;
  }
}

// Land and borders with no tile server, fetched from the gateway only; the stations on land and
// the sea at sea. Page points of other places come from the two markers (same latitude): pixels
// per degree of longitude, and Web Mercator for latitude.
async function checkBasemap(page, basemapScreenshot) {
  await page.waitForSelector('#map[data-basemap="land"] path.basemap-land',
                             { state: 'attached', timeout: 10000 });
  await page.waitForSelector('#map path.basemap-border', { state: 'attached', timeout: 10000 });
  const credit = await page.textContent('.leaflet-control-attribution');
  if (!credit.includes('Natural Earth')) throw new Error(`no Natural Earth credit: ${credit}`);
  if ((await landAt(page, [await markerCentre(page, MAIN), await markerCentre(page, CITY_HALL)]))
    .some((onLand) => !onLand)) {
    throw new Error('a station marker is not on the drawn land');
  }
  step('base map drawn (land and borders), both station markers on land');

  // Zoom out four steps (to see Jeju's coast) with the map's own control.
  const before = [await markerCentre(page, MAIN), await markerCentre(page, CITY_HALL)];
  const pxPerDegree = (before[0].x - before[1].x) / (MAIN_AT.lng - CITY_HALL_AT.lng) / 16;
  for (let i = 0; i < 4; ++i) {
    await page.click('.leaflet-control-zoom-out');
    await zoomSettled(page);
  }
  const main = await markerCentre(page, MAIN);
  const cityHall = await markerCentre(page, CITY_HALL);
  const expectedDx = pxPerDegree * (MAIN_AT.lng - CITY_HALL_AT.lng);
  if (Math.abs(main.x - cityHall.x - expectedDx) > 1.5) {
    throw new Error(`zoom out: markers ${main.x - cityHall.x} px apart, expected ${expectedDx}`);
  }
  const mercator = (lat) => (180 / Math.PI) * Math.log(Math.tan(Math.PI / 4 + (lat * Math.PI) / 360));
  const pointOf = ({ lat, lng }) => ({
    x: main.x + (lng - MAIN_AT.lng) * pxPerDegree,
    y: main.y - (mercator(lat) - mercator(MAIN_AT.lat)) * pxPerDegree,
  });
  const box = await page.locator('#map').boundingBox();
  const places = [...ON_LAND, AT_SEA].map((place) => ({ ...place, ...pointOf(place) }));
  for (const p of places) {
    if (p.x < box.x || p.x > box.x + box.width || p.y < box.y || p.y > box.y + box.height) {
      throw new Error(`${p.what} is outside the map at (${p.x}, ${p.y})`);
    }
  }
  const onLand = await landAt(page, places);
  places.forEach((p, i) => {
    const expected = p !== places[places.length - 1];
    if (onLand[i] !== expected) {
      throw new Error(`${p.what} (${p.lat}, ${p.lng}) is ${onLand[i] ? 'on land' : 'at sea'}`);
    }
  });
  await page.screenshot({ path: basemapScreenshot });
  step(`zoomed out: ${ON_LAND.map((p) => p.what).join(', ')} on land; ${AT_SEA.what} at sea ` +
       `(${basemapScreenshot})`);
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
    const basemapRequests = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(baseUrl)) problems.push(`request outside the gateway: ${r.url()}`);
      if (r.url() === `${baseUrl}/assets/basemap.json`) basemapRequests.push(r.url());
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
    // The status (charging) and the transaction reach the feed as separate events; the
    // transaction's may come a moment later (its token is decided before it is stored).
    const txSelector =
      'article.charger[data-charger-id="emart_jeju_01"] [data-role="transaction"]';
    const showsTx = async () =>
      (await page.textContent(txSelector)).trim() === started.transaction_id;
    for (const deadline = Date.now() + FOLLOW_MS; !(await showsTx()) && Date.now() < deadline;) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const tx = await page.textContent(txSelector);
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

    await checkBasemap(page, screenshotPath.replace(/(\.png)?$/, '-basemap.png'));
    if (basemapRequests.length !== 1) {
      throw new Error(`the base map was fetched ${basemapRequests.length} times from the gateway`);
    }
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
