// The operator's live view: stations on a map coloured by their chargers' state, a panel per
// station with each charger's figures and controls, and daily statistics. Live data comes from
// the gateway's Server-Sent Events (/events); commands go to the REST API. Each charger also has
// a page of its own (#/chargers/<id>, charger.js), the id tokens one too (#/tokens, tokens.js);
// the API token and fetch helpers are in api.js.
import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import './style.css';
import { renderBarChart } from './chart.js';
import { drawBasemap } from './basemap.js';
import {
  apiFetch, apiToken, call, el, chargerState, STATE_LABEL, fmtNumber, ago, securityText,
  chargerHref, chargerIdFromHash,
} from './api.js';
import { showChargerPage, hideChargerPage, chargerPageUpdate } from './charger.js';
import { showTokensPage, hideTokensPage, isTokensHash } from './tokens.js';

const state = {
  chargers: new Map(),  // charger_id -> live charger JSON
  stations: new Map(),  // station_id -> station JSON
  markers: new Map(),   // station_id -> Leaflet marker
  selected: null,       // station_id shown in the panel
  fitted: false,
};

// A station shows its most pressing charger: faulted, then charging, then available.
function stationState(station) {
  const states = station.charger_ids.map((id) => chargerState(state.chargers.get(id)));
  for (const s of ['faulted', 'charging', 'available']) if (states.includes(s)) return s;
  return 'offline';
}

// ---- map -----------------------------------------------------------------------------------

const map = L.map('map', { zoomControl: true, attributionControl: true })
  .setView([33.4996, 126.5312], 12);
L.control.scale({ metric: true, imperial: false }).addTo(map);

fetch('/dashboard/config.json').then((r) => r.json()).then((config) => {
  // No tile server: land and country borders bundled with the gateway (basemap.js).
  if (!config.tile_url) return drawBasemap(map);
  // The attribution is HTML (links to the tile provider's terms) and Leaflet shows it as
  // such: it comes from the gateway operator's --map-tile-attribution, never from API data.
  L.tileLayer(config.tile_url, { attribution: config.tile_attribution || '', maxZoom: 19 })
    .addTo(map);
  return undefined;
}).catch(() => { /* neither tiles nor the base map: the plain grid stays */ });

// Leaflet writes string contents of icons, tooltips and popups with innerHTML, so data from the
// API (station names, ids) reaches Leaflet only inside elements built here, as text.
function markerIcon(station, st) {
  const selected = state.selected === station.station_id ? ' selected' : '';
  return L.divIcon({
    className: '',
    iconSize: [30, 30],
    iconAnchor: [15, 15],
    html: el('span', { class: `station-marker state-${st}${selected}`,
                       'data-station-id': encodeURIComponent(station.station_id), 'data-state': st },
      String(station.charger_ids.length)),
  });
}

function stationLabel(station) {
  return el('span', {}, station.name);
}

function syncMarkers() {
  for (const [id, marker] of state.markers) {
    if (!state.stations.has(id)) {
      marker.remove();
      state.markers.delete(id);
    }
  }
  for (const station of state.stations.values()) {
    const st = stationState(station);
    const title = `${station.name}: ${STATE_LABEL[st]}`;
    let marker = state.markers.get(station.station_id);
    if (!marker) {
      marker = L.marker([station.latitude, station.longitude],
                        { icon: markerIcon(station, st), title, alt: title, keyboard: true })
        .addTo(map)
        .bindTooltip(stationLabel(station), { direction: 'top', offset: [0, -14],
                                              className: 'station-label' })
        .on('click', () => select(station.station_id));
      state.markers.set(station.station_id, marker);
    } else {
      marker.setLatLng([station.latitude, station.longitude]);
      marker.setIcon(markerIcon(station, st));
      marker.getElement()?.setAttribute('title', title);
      marker.setTooltipContent(stationLabel(station));
    }
  }
  if (!state.fitted && state.stations.size > 0) {
    const bounds = L.latLngBounds([...state.stations.values()].map((s) => [s.latitude, s.longitude]));
    map.fitBounds(bounds.pad(0.3), { maxZoom: 15 });
    state.fitted = true;
  }
}

// ---- panel ---------------------------------------------------------------------------------

const stationList = document.getElementById('station-list');
const detail = document.getElementById('station-detail');
const actionResult = document.getElementById('action-result');

function select(stationId) {
  state.selected = stationId;
  const station = state.stations.get(stationId);
  if (station) map.panTo([station.latitude, station.longitude]);
  render();
}

function renderStationList() {
  const items = [...state.stations.values()].map((station) => {
    const st = stationState(station);
    return el('li', {},
      el('button', { type: 'button', 'aria-current': state.selected === station.station_id ? 'true' : null,
                     'data-station-id': station.station_id, onclick: () => select(station.station_id) },
        el('span', { class: `dot state-${st}`, 'aria-hidden': 'true' }),
        el('span', {}, station.name),
        el('span', { class: 'sub' }, `${STATE_LABEL[st]}, ${station.charger_ids.length} charger(s)`)));
  });
  const unplaced = [...state.chargers.values()].filter((c) => !c.station_id);
  if (unplaced.length > 0) {
    items.push(el('li', { class: 'sub' }, `Not at a station: ${unplaced.map((c) => c.charger_id).join(', ')}`));
  }
  if (items.length === 0) items.push(el('li', { class: 'sub' }, 'No stations yet (POST /stations).'));
  stationList.replaceChildren(...items);
}

function report(text, isError = false) {
  actionResult.textContent = text;
  actionResult.className = isError ? 'action-result error' : 'action-result';
}

async function runAction(button, label, fn) {
  button.disabled = true;
  report(`${label}…`);
  try {
    report(await fn());
  } catch (e) {
    report(`${label} failed: ${e.message}`, true);
  } finally {
    button.disabled = false;
  }
}

function chargerCard(id) {
  const c = state.chargers.get(id);
  const st = chargerState(c);
  const safeId = id.replace(/[^A-Za-z0-9_-]/g, '_');
  const limitInput = el('input', { id: `limit-${safeId}`, type: 'number', min: '1', step: '1',
                                   value: c?.charging_limit ?? 50 });
  const tokenInput = el('input', { id: `token-${safeId}`, type: 'text', value: 'dashboard',
                                   maxlength: '36' });
  const online = Boolean(c && c.connected);
  const start = el('button', { type: 'button', disabled: !online || Boolean(c.transaction_id) }, 'Start');
  start.addEventListener('click', () => runAction(start, `Starting ${id}`, async () => {
    const r = await call('POST', `/chargers/${encodeURIComponent(id)}/start`,
                         { id_token: tokenInput.value, evse_id: 1, connector_id: 1 });
    return `${id}: transaction ${r.transaction_id} started`;
  }));
  const stop = el('button', { type: 'button', disabled: !online || !c.transaction_id }, 'Stop');
  stop.addEventListener('click', () => runAction(stop, `Stopping ${id}`, async () => {
    const r = await call('POST', `/chargers/${encodeURIComponent(id)}/stop`,
                         { transaction_id: state.chargers.get(id).transaction_id });
    return `${id}: stopped, ${r.energy_consumed} kWh, cost ${r.cost}`;
  }));
  const limit = el('button', { type: 'button', disabled: !online }, 'Set limit');
  limit.addEventListener('click', () => runAction(limit, `Limiting ${id}`, async () => {
    const r = await call('PATCH', `/chargers/${encodeURIComponent(id)}/power`,
                         { max_power_kw: Number(limitInput.value) });
    return `${id}: limited to ${r.current_power} kW`;
  }));

  return el('article', { class: 'charger', 'data-charger-id': id, 'data-state': st,
                         'aria-label': `Charger ${id}` },
    el('header', {},
      el('h3', {}, el('a', { href: chargerHref(id), 'data-role': 'charger-link',
                             title: `Open the page of charger ${id}` }, id)),
      el('span', { class: `badge state-${st}`, 'data-role': 'status' }, c ? c.status : 'never connected')),
    el('dl', {},
      el('dt', {}, 'Power'), el('dd', { 'data-role': 'power' }, `${fmtNumber(c?.current_power ?? 0)} kW`),
      el('dt', {}, 'Energy'), el('dd', { 'data-role': 'energy' }, `${fmtNumber(c?.energy_accumulated ?? 0, 3)} kWh`),
      el('dt', {}, 'Transaction'), el('dd', { 'data-role': 'transaction' }, c?.transaction_id ?? '—'),
      el('dt', {}, 'Last heartbeat'), el('dd', { 'data-role': 'last-seen', 'data-time': c?.last_seen ?? '' }, ago(c?.last_seen)),
      el('dt', {}, 'Limit'), el('dd', {}, c?.charging_limit != null ? `${c.charging_limit} kW` : 'none'),
      el('dt', {}, 'Model'), el('dd', {}, c ? `${c.vendor} ${c.model}`.trim() || '—' : '—'),
      el('dt', {}, 'Security'), el('dd', { 'data-role': 'security' }, securityText(c?.security_profile))),
    el('div', { class: 'controls' },
      el('label', { for: tokenInput.id }, 'ID token', tokenInput), start, stop,
      el('label', { for: limitInput.id }, 'Limit (kW)', limitInput), limit));
}

function renderDetail() {
  const station = state.stations.get(state.selected);
  if (!station) {
    detail.replaceChildren(el('p', { class: 'sub' }, 'Select a station on the map or in the list.'));
    return;
  }
  // Keep what the operator is typing: skip a re-render while focus is in an input here.
  if (detail.contains(document.activeElement) && document.activeElement.tagName === 'INPUT') {
    pendingDetail = true;
    return;
  }
  detail.replaceChildren(
    el('h2', {}, station.name),
    el('address', {}, station.address || `${station.latitude.toFixed(5)}, ${station.longitude.toFixed(5)}`),
    ...station.charger_ids.map(chargerCard));
}
let pendingDetail = false;
detail.addEventListener('focusout', () => {
  if (pendingDetail) {
    pendingDetail = false;
    setTimeout(renderDetail, 0);
  }
});

function render() {
  if (!state.selected || !state.stations.has(state.selected)) {
    state.selected = state.stations.keys().next().value ?? null;
  }
  syncMarkers();
  renderStationList();
  renderDetail();
}

setInterval(() => {
  for (const dd of detail.querySelectorAll('[data-role="last-seen"]')) {
    dd.textContent = ago(dd.dataset.time || null);
  }
}, 1000);

// ---- live feed -----------------------------------------------------------------------------

const feedStatus = document.getElementById('feed-status');
function setFeed(stateName, text) {
  feedStatus.dataset.state = stateName;
  feedStatus.textContent = text;
}

function applyStations(stations) {
  state.stations = new Map(stations.map((s) => [s.station_id, s]));
}

let statsTimer = null;
function refreshStatsSoon() {
  clearTimeout(statsTimer);
  statsTimer = setTimeout(loadStats, 1500);
}

// EventSource cannot send headers: the token goes as ?access_token= (see docs/security.md).
const token = apiToken();
const events = new EventSource(token ? `/events?access_token=${encodeURIComponent(token)}` : '/events');
events.addEventListener('open', () => setFeed('live', 'Live'));
events.addEventListener('error', () => {
  setFeed('down', 'Reconnecting…');
  // EventSource hides the HTTP status: ask the REST API whether the token is the problem.
  apiFetch('/chargers').then((r) => {
    if (r.status === 401) {
      events.close();
      setFeed('down', 'API token needed');
    }
  }).catch(() => {});
});
events.addEventListener('snapshot', (e) => {
  const data = JSON.parse(e.data);
  state.chargers = new Map(data.chargers.map((c) => [c.charger_id, c]));
  applyStations(data.stations);
  setFeed('live', 'Live');
  document.body.dataset.snapshot = String(Date.now());
  render();
  chargerPageUpdate((id) => state.chargers.get(id));
});
events.addEventListener('charger', (e) => {
  const charger = JSON.parse(e.data);
  const before = state.chargers.get(charger.charger_id);
  state.chargers.set(charger.charger_id, charger);
  if (before && before.transaction_id && !charger.transaction_id) refreshStatsSoon();
  render();
  chargerPageUpdate((id) => state.chargers.get(id));
});
events.addEventListener('stations', (e) => {
  applyStations(JSON.parse(e.data).stations);
  render();
});
events.addEventListener('backend', (e) => {
  const data = JSON.parse(e.data);
  if (data.control === 'ok') setFeed('live', 'Live');
  else setFeed('down', 'Control service unreachable; showing the last known state');
});

// ---- statistics ----------------------------------------------------------------------------

function isoDate(date, timeZone) {
  // en-CA formats as YYYY-MM-DD.
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit',
                                             day: '2-digit' }).format(date);
}

function lastDays(today, n) {
  const [y, m, d] = today.split('-').map(Number);
  const days = [];
  for (let i = n - 1; i >= 0; i--) days.push(new Date(Date.UTC(y, m - 1, d - i)).toISOString().slice(0, 10));
  return days;
}

async function loadStats() {
  try {
    const now = new Date();
    const from = new Date(now.getTime() - 32 * 86400e3).toISOString().slice(0, 10);
    const to = new Date(now.getTime() + 2 * 86400e3).toISOString().slice(0, 10);
    const response = await apiFetch(`/stats/daily?from=${from}&to=${to}`);
    if (!response.ok) throw new Error(`${response.status}`);
    const data = await response.json();
    let zone = data.time_zone || 'UTC';
    let today;
    try { today = isoDate(now, zone); } catch { zone = 'UTC'; today = isoDate(now, 'UTC'); }
    const byDay = new Map();
    let currency = '';
    for (const row of data.stats) {
      const day = byDay.get(row.date) || { sessions: 0, energy: 0, revenue: 0 };
      day.sessions += row.sessions;
      day.energy += row.total_energy;
      day.revenue += row.total_revenue;
      currency = row.currency || currency;
      byDay.set(row.date, day);
    }
    const days = lastDays(today, 30);
    const value = (d, k) => (byDay.get(d) || { [k]: 0 })[k];
    const t = byDay.get(today) || { sessions: 0, energy: 0, revenue: 0 };
    document.getElementById('stats-zone').textContent = `(days in ${zone})`;
    const tile = (label, text, role) => el('div', { class: 'tile', 'data-role': role },
      el('div', { class: 'value' }, text), el('div', { class: 'label' }, label));
    document.getElementById('today').replaceChildren(
      tile(`Sessions today (${today})`, String(t.sessions), 'today-sessions'),
      tile('Energy today', `${fmtNumber(t.energy, 2)} kWh`, 'today-energy'),
      tile('Revenue today', `${fmtNumber(t.revenue, 0)} ${currency}`.trim(), 'today-revenue'));
    renderBarChart(document.getElementById('chart-energy'),
                   days.map((d) => ({ label: d, value: value(d, 'energy') })),
                   { unit: 'kWh', format: (v) => fmtNumber(v, 1) });
    renderBarChart(document.getElementById('chart-revenue'),
                   days.map((d) => ({ label: d, value: value(d, 'revenue') })),
                   { unit: currency, format: (v) => fmtNumber(v, 0) });
    renderBarChart(document.getElementById('chart-sessions'),
                   days.map((d) => ({ label: d, value: value(d, 'sessions') })),
                   { unit: 'sessions', format: (v) => fmtNumber(v, 0) });
  } catch (e) {
    document.getElementById('today').replaceChildren(
      el('p', { class: 'sub' }, `Statistics unavailable (${e.message}).`));
  }
}

// ---- pages --------------------------------------------------------------------------------
// The map (#, or any other address), a charger's page (#/chargers/<id>) and the tokens page
// (#/tokens, tokens.js), in one document: the live feed keeps running under all of them.

const mapPage = [...document.querySelectorAll('[data-page="map"]')];
function route() {
  const tokens = isTokensHash(location.hash);
  const id = tokens ? null : chargerIdFromHash(location.hash);
  for (const section of mapPage) section.hidden = id !== null || tokens;
  const current = tokens ? 'tokens' : id !== null ? 'charger' : 'map';
  for (const a of document.querySelectorAll('.top-nav a')) {
    if (a.dataset.nav === current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (tokens) {
    hideChargerPage();
    showTokensPage();
  } else if (id !== null) {
    hideTokensPage();
    showChargerPage(id, (cid) => state.chargers.get(cid));
  } else {
    hideChargerPage();
    hideTokensPage();
    map.invalidateSize();  // it was hidden: Leaflet measures again
  }
}
window.addEventListener('hashchange', route);

loadStats();
setInterval(loadStats, 60000);
render();
route();
