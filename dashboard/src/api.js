// What the map page (main.js) and the charger page (charger.js) share: the API token, fetch with
// it, the safe element builder and a few formatters.

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
export function apiToken() { return sessionStorage.getItem(TOKEN_KEY) || ''; }
export function authHeaders() {
  const token = apiToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}
// A fetch that sends the token and asks for a new one when the gateway answers 401.
export async function apiFetch(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { ...authHeaders(), ...(options.headers || {}) } });
  if (response.status === 401) askForToken('The gateway needs an API token (read role or better).');
  return response;
}
export function askForToken(message) {
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

// An API error as an Error: the gateway's message (and code), or the HTTP status.
export class ApiError extends Error {
  constructor(status, body, statusText = '') {
    super((body && typeof body.message === 'string' && body.message) ||
          `${status} ${statusText}`.trim());
    this.status = status;
    this.code = body && typeof body.error === 'string' ? body.error : '';
  }
}

// A JSON call: the answer's body, or an ApiError.
export async function call(method, path, body) {
  const options = { method };
  if (body !== undefined) {
    options.headers = { 'Content-Type': 'application/json' };
    options.body = JSON.stringify(body);
  }
  const response = await apiFetch(path, options);
  const json = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, json, response.statusText);
  return json;
}

// ---- helpers -------------------------------------------------------------------------------

// Builds an element. Children that are not nodes become text (never HTML); attributes named
// on… become event listeners and take functions only.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) { if (typeof v === 'function') node.addEventListener(k.slice(2), v); }
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

export const STATE_LABEL = { available: 'available', charging: 'charging', faulted: 'faulted',
                             offline: 'offline' };

export function fmtNumber(v, digits = 1) {
  return Number(v).toLocaleString('en', { maximumFractionDigits: digits,
                                           minimumFractionDigits: digits });
}

export function ago(iso) {
  if (!iso) return 'never';
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  const when = new Date(iso).toLocaleTimeString();
  if (seconds < 60) return `${when} (${seconds} s ago)`;
  if (seconds < 3600) return `${when} (${Math.round(seconds / 60)} min ago)`;
  return new Date(iso).toLocaleString();
}

// A timestamp from the API as local date and time ('—' when there is none or it is not one).
export function fmtTime(iso) {
  if (!iso) return '—';
  const t = Date.parse(iso);
  return Number.isNaN(t) ? String(iso) : new Date(t).toLocaleString();
}

// OCPP security profiles as an operator reads them.
const SECURITY_PROFILES = [
  'profile 0: no authentication',
  'profile 1: password over ws://',
  'profile 2: password over TLS',
  'profile 3: TLS client certificate',
];
export function securityText(profile) {
  return profile == null ? 'not provisioned' : (SECURITY_PROFILES[profile] ?? `profile ${profile}`);
}

// The charger page's address (#/chargers/<id>), and the id in an address (null: not one).
export function chargerHref(id) { return `#/chargers/${encodeURIComponent(id)}`; }
export function chargerIdFromHash(hash) {
  const m = /^#\/chargers\/([^/?#]+)\/?$/.exec(hash);
  if (!m) return null;
  try { return decodeURIComponent(m[1]); } catch { return null; }
}
