// The operator's live view: stations on a map coloured by their chargers' state, a panel per
// station with each charger's figures and controls, and daily statistics. Live data comes from
// the gateway's Server-Sent Events (/events); commands go to the REST API.
import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import './style.css';
import { renderBarChart } from './chart.js';
import { drawBasemap } from './basemap.js';

const state = {
  chargers: new Map(),  // charger_id -> live charger JSON
  stations: new Map(),  // station_id -> station JSON
  markers: new Map(),   // station_id -> Leaflet marker
  selected: null,       // station_id shown in the panel
  fitted: false,
};

// ---- API token -----------------------------------------------------------------------------
// With API keys on, the data needs a read token (an operate token also allows the buttons). It
// comes once from the URL fragment (#token=…, which browsers never send to the server) or the
// token field, and is kept in sessionStorage for this tab only. The fragment is then removed
// from the address bar so it does not end up in bookmarks or screenshots.
const TOKEN_KEY = 'csms.api-token';
{
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    history.replaceState(null, '', location.pathname + location.search);
  }
}
function apiToken() { return sessionStorage.getItem(TOKEN_KEY) || ''; }
function authHeaders() {
  const token = apiToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}
// A fetch that sends the token and asks for a new one when the gateway answers 401.
async function apiFetch(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { ...authHeaders(), ...(options.headers || {}) } });
  if (response.status === 401) askForToken('The gateway needs an API token (read role or better).');
  return response;
}
function askForToken(message) {
  const form = document.getElementById('token-form');
  if (!form || !form.hidden) return;
  document.getElementById('token-message').textContent = message;
  form.hidden = false;
  document.getElementById('token-input').focus();
}
document.getElementById('token-form')?.addEventListener('submit', (e) => {
  e.preventDefault();
  const token = document.getElementById('token-input').value.trim();
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  location.reload();
});

// ---- helpers -------------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

// A charger's OCPP-derived status reduced to the four map states.
export function chargerState(charger) {
  if (!charger || !charger.connected) return 'offline';
  switch (charger.status) {
    case 'Available': return 'available';
    case 'Faulted': case 'Unavailable': return 'faulted';
    case 'Charging': case 'EVConnected': case 'SuspendedEV': case 'SuspendedEVSE':
    case 'Occupied': case 'Reserved': return 'charging';
    default: return 'offline';
  }
}

// A station shows its most pressing charger: faulted, then charging, then available.
function stationState(station) {
  const states = station.charger_ids.map((id) => chargerState(state.chargers.get(id)));
  for (const s of ['faulted', 'charging', 'available']) if (states.includes(s)) return s;
  return 'offline';
}

const STATE_LABEL = { available: 'available', charging: 'charging', faulted: 'faulted',
                      offline: 'offline' };

function fmtNumber(v, digits = 1) {
  return Number(v).toLocaleString('en', { maximumFractionDigits: digits,
                                           minimumFractionDigits: digits });
}

function ago(iso) {
  if (!iso) return 'never';
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  const when = new Date(iso).toLocaleTimeString();
  if (seconds < 60) return `${when} (${seconds} s ago)`;
  if (seconds < 3600) return `${when} (${Math.round(seconds / 60)} min ago)`;
  return new Date(iso).toLocaleString();
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

async function call(method, path, body) {
  const response = await apiFetch(path, {
    method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(json.message || `${response.status} ${response.statusText}`);
  return json;
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
      el('h3', {}, id),
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

// OCPP security profiles as an operator reads them.
const SECURITY_PROFILES = [
  'profile 0: no authentication',
  'profile 1: password over ws://',
  'profile 2: password over TLS',
  'profile 3: TLS client certificate',
];
function securityText(profile) {
  return profile == null ? 'not provisioned' : (SECURITY_PROFILES[profile] ?? `profile ${profile}`);
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
});
events.addEventListener('charger', (e) => {
  const charger = JSON.parse(e.data);
  const before = state.chargers.get(charger.charger_id);
  state.chargers.set(charger.charger_id, charger);
  if (before && before.transaction_id && !charger.transaction_id) refreshStatsSoon();
  render();
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

loadStats();
setInterval(loadStats, 60000);
render();
