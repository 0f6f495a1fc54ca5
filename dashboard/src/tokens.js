// The tokens page (#/tokens): the id tokens of the token store, searched by id prefix and
// filtered by status and account, a page at a time; per token Block / Unblock and its expiry set
// or cleared. PUT /tokens/{type}/{id} replaces the whole token, so a change first reads the token
// afresh and sends back every field with only the one changed. Everything from the API is shown as
// text through el(); nothing is written as HTML.
import { apiFetch, call, el, ApiError, fmtTime } from './api.js';

const root = document.getElementById('tokens-page');

const STATUSES = ['Accepted', 'Blocked', 'Expired', 'Invalid'];
const PAGE_SIZE = 50;
const COLUMNS = ['ID token', 'Type', 'Status', 'Expires', 'Account', 'Group', 'Max concurrent',
                 'Message', 'Actions'];

let page = null;  // what is shown: { reload }

function tokenPath(t) {
  return `/tokens/${encodeURIComponent(t.type)}/${encodeURIComponent(t.id_token)}`;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const text = q.toString();
  return text ? `?${text}` : '';
}

async function getJson(path) {
  const response = await apiFetch(path);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, body, response.statusText);
  return body;
}

// The fields PUT takes, from a token as GET answers it.
function putBody(t) {
  return {
    status: t.status,
    expires_at: t.expires_at ?? null,
    group: t.group ? { id_token: t.group.id_token, type: t.group.type } : null,
    account_id: t.account_id ?? null,
    max_concurrent: t.max_concurrent ?? 1,
    stations: Array.isArray(t.stations) ? t.stations : null,
    language: t.language ?? null,
    personal_message: t.personal_message ?? null,
  };
}

function isExpired(t) {
  if (!t.expires_at) return false;
  const at = Date.parse(t.expires_at);
  return !Number.isNaN(at) && at <= Date.now();
}

// An RFC 3339 time as a datetime-local input's value (local time, to the minute), and back.
function toLocalInput(iso) {
  const t = Date.parse(iso || '');
  if (Number.isNaN(t)) return '';
  const d = new Date(t);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
function fromLocalInput(value) {
  const t = new Date(value).getTime();
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

function setStatus(node, text, isError = false) {
  node.textContent = text;
  node.classList.toggle('error', isError);
}

// Reads the token afresh, changes it with `change` and PUTs it whole; the stored token back.
async function changeToken(t, change) {
  const current = (await getJson(tokenPath(t))).token;
  const body = putBody(current);
  change(body);
  return (await call('PUT', tokenPath(current), body)).token;
}

function tokenRow(t, result) {
  const expired = isExpired(t);
  const label = `${t.type} ${t.id_token}`;
  const row = el('tr', { 'data-type': t.type, 'data-id-token': t.id_token, 'data-status': t.status,
                         'data-expired': expired ? 'true' : 'false', class: expired ? 'expired' : null });
  // One change at a time per row; the row is drawn again from the answer.
  async function run(what, change) {
    const buttons = [...row.querySelectorAll('button')];
    const wasDisabled = buttons.map((b) => b.disabled);
    for (const b of buttons) b.disabled = true;
    setStatus(result, `${what} ${label}…`);
    result.dataset.outcome = 'pending';
    try {
      const stored = await changeToken(t, change);
      row.replaceWith(tokenRow(stored, result));
      setStatus(result, `${what} ${label}: done (status ${stored.status}, ` +
                        `expires ${stored.expires_at ? fmtTime(stored.expires_at) : 'never'}).`);
      result.dataset.outcome = 'done';
    } catch (e) {
      buttons.forEach((b, i) => { b.disabled = wasDisabled[i]; });
      setStatus(result, `${what} ${label} failed: ${e.message}${e.code ? ` (${e.code})` : ''}`, true);
      result.dataset.outcome = 'failed';
    }
  }

  const blocked = t.status === 'Blocked';
  const toggle = el('button', { type: 'button', 'data-action': blocked ? 'unblock' : 'block' },
                    blocked ? 'Unblock' : 'Block');
  toggle.addEventListener('click', () => run(blocked ? 'Unblock' : 'Block', (b) => {
    b.status = blocked ? 'Accepted' : 'Blocked';
  }));

  const expiry = el('input', { type: 'datetime-local', 'data-role': 'expiry-input',
                               value: toLocalInput(t.expires_at),
                               'aria-label': `Expiry of ${label}` });
  const setExpiry = el('button', { type: 'button', 'data-action': 'set-expiry' }, 'Set expiry');
  setExpiry.addEventListener('click', () => {
    const at = fromLocalInput(expiry.value);
    if (!at) {
      setStatus(result, `Pick a date and time for ${label} first.`, true);
      result.dataset.outcome = 'failed';
      return;
    }
    run('Set expiry of', (b) => { b.expires_at = at; });
  });
  const clearExpiry = el('button', { type: 'button', 'data-action': 'clear-expiry',
                                     disabled: !t.expires_at }, 'Clear expiry');
  clearExpiry.addEventListener('click', () => run('Clear expiry of', (b) => { b.expires_at = null; }));

  const group = t.group ? `${t.group.id_token} (${t.group.type})` : '—';
  row.append(
    el('td', { class: 'wrap id-token', 'data-role': 'id-token' }, t.id_token),
    el('td', { 'data-role': 'type' }, t.type),
    el('td', { 'data-role': 'status' },
       el('span', { class: `token-status status-${STATUSES.includes(t.status) ? t.status.toLowerCase() : 'other'}` },
          t.status)),
    el('td', { class: 'time', 'data-role': 'expires', title: t.expires_at || null },
       t.expires_at ? fmtTime(t.expires_at) : 'never',
       expired ? el('span', { class: 'badge expired-badge', 'data-role': 'expired' }, 'expired') : null),
    el('td', { class: 'wrap', 'data-role': 'account' }, t.account_id ?? '—'),
    el('td', { class: 'wrap', 'data-role': 'group' }, group),
    el('td', { 'data-role': 'max-concurrent' }, String(t.max_concurrent ?? 1)),
    el('td', { class: 'wrap', 'data-role': 'message', title: t.language ? `language ${t.language}` : null },
       t.personal_message ?? '—'),
    el('td', {}, el('div', { class: 'token-actions' }, toggle, expiry, setExpiry, clearExpiry)));
  return row;
}

function build() {
  const search = el('input', { type: 'search', id: 'tk-search', 'data-role': 'search',
                               placeholder: 'ID token or its beginning', autocomplete: 'off',
                               maxlength: '36' });
  const status = el('select', { id: 'tk-status', 'data-role': 'status-filter' },
    el('option', { value: '' }, 'Any'), STATUSES.map((s) => el('option', { value: s }, s)));
  const account = el('input', { type: 'text', id: 'tk-account', 'data-role': 'account-filter',
                                placeholder: 'any', autocomplete: 'off', maxlength: '64' });
  const field = (input, label) => el('label', { for: input.id }, label, input);
  const refresh = el('button', { type: 'button', class: 'refresh', 'data-role': 'refresh' }, 'Refresh');
  const form = el('form', { class: 'cp-search tk-filters', role: 'search', 'data-role': 'filters' },
    field(search, 'ID token (prefix)'), field(status, 'Status'), field(account, 'Account'),
    el('button', { type: 'submit' }, 'Search'), refresh);

  const tbody = el('tbody');
  const table = el('table', { class: 'cp-table tk-table', 'data-role': 'tokens' },
    el('thead', {}, el('tr', {}, COLUMNS.map((c) => el('th', { scope: 'col' }, c)))), tbody);
  const note = el('p', { class: 'sub', role: 'status', 'data-role': 'tokens-note' });
  const more = el('button', { type: 'button', class: 'more', 'data-role': 'more', hidden: true }, 'More');
  const result = el('p', { class: 'cp-status', role: 'status', 'aria-live': 'polite',
                           'data-role': 'token-result' });
  const list = el('div', { class: 'cp-paged' }, el('div', { class: 'table-wrap' }, table), note, more);

  let cursor = null;
  let gen = 0;
  async function load(first) {
    const mine = first ? ++gen : gen;
    more.disabled = true;
    try {
      const r = await getJson(`/tokens${query({
        id_prefix: search.value.trim(), status: status.value, account_id: account.value.trim(),
        limit: PAGE_SIZE, cursor: first ? null : cursor,
      })}`);
      if (mine !== gen) return;
      const rows = (r.tokens || []).map((t) => tokenRow(t, result));
      if (first) tbody.replaceChildren(...rows);
      else tbody.append(...rows);
      cursor = r.next_cursor || null;
      more.hidden = !cursor;
      table.hidden = tbody.childElementCount === 0;
      setStatus(note, tbody.childElementCount === 0 ? 'No tokens match.' : `${tbody.childElementCount} token(s)${cursor ? ', more below' : ''}.`);
    } catch (e) {
      if (mine !== gen) return;
      if (first) tbody.replaceChildren();
      table.hidden = true;
      more.hidden = true;
      setStatus(note, `Could not load the tokens: ${e.message}${e.code ? ` (${e.code})` : ''}`, true);
    } finally {
      if (mine === gen) {
        more.disabled = false;
        list.dataset.loaded = String(Date.now());
      }
    }
  }
  let timer = null;
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(() => load(true), 300);
  };
  search.addEventListener('input', soon);
  account.addEventListener('input', soon);
  status.addEventListener('change', () => { clearTimeout(timer); load(true); });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearTimeout(timer);
    load(true);
  });
  more.addEventListener('click', () => load(false));
  refresh.addEventListener('click', () => load(true));

  const heading = el('h2', { id: 'tk-title', tabindex: '-1' }, 'Tokens');
  const node = el('div', {},
    el('header', { class: 'cp-header' },
      el('p', {}, el('a', { href: '#/', class: 'back' }, '← Map')), heading,
      el('p', { class: 'sub' }, 'Id tokens (RFID cards, eMAIDs, …) the CSMS authorizes from. ' +
        'Blocking or unblocking keeps every other field; an expired token is marked.')),
    el('section', { class: 'cp-section', 'aria-labelledby': heading.id },
      form, result, list));
  return { node, heading, reload: () => load(true) };
}

export function isTokensHash(hash) {
  return /^#\/tokens\/?$/.test(hash);
}

export function showTokensPage() {
  if (page) return;
  page = build();
  root.replaceChildren(page.node);
  root.hidden = false;
  document.title = 'CSMS · tokens';
  window.scrollTo(0, 0);
  page.heading.focus({ preventScroll: true });  // screen readers: a new page
  page.reload();
}

export function hideTokensPage() {
  if (!page) return;
  page = null;
  root.hidden = true;
  root.replaceChildren();
  document.title = 'CSMS · live charger map';
}
