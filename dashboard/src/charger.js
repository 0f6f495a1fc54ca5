// One charger's page (#/chargers/<id>): what it is and whether it is online, its stored device
// model (searchable), its event log, the commands sent to it, its latest firmware job, its log
// uploads, its reservations (list, reserve, cancel), and buttons for reset, availability, unlock
// and trigger. Everything from the API is shown as text through el(); nothing is written as HTML.
import {
  apiFetch, call, el, ApiError, chargerState, STATE_LABEL, ago, fmtTime, securityText,
} from './api.js';

const root = document.getElementById('charger-page');

// The page being shown: id, and a generation that tells late answers for an earlier page apart.
let page = null;
let generation = 0;
let pollTimer = null;
const POLL_MS = 5000;

const EVENT_KINDS = ['SecurityEventNotification', 'NotifyEvent', 'StatusNotification',
                     'FirmwareStatusNotification', 'LogStatusNotification', 'MeterValues',
                     'CsmsSecurityEvent'];
const TRIGGER_MESSAGES = ['StatusNotification', 'Heartbeat', 'MeterValues', 'BootNotification',
                          'TransactionEvent', 'FirmwareStatusNotification',
                          'LogStatusNotification', 'SignChargingStationCertificate'];
const LOG_TYPES = ['DiagnosticsLog', 'SecurityLog'];

function base(id) { return `/chargers/${encodeURIComponent(id)}`; }

// A GET of JSON: the body, or an ApiError.
async function getJson(path) {
  const response = await apiFetch(path);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, body, response.statusText);
  return body;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const text = q.toString();
  return text ? `?${text}` : '';
}

// A JSON value as one line of text, cut at `max` characters (the whole text in the title).
function compact(value, max = 240) {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
function jsonCell(value) {
  const full = value === null || value === undefined ? '' :
    (typeof value === 'string' ? value : JSON.stringify(value));
  return el('td', { class: 'json', title: full.length > 240 ? full : null }, compact(value));
}

function fmtBytes(n) {
  if (n === null || n === undefined || n === '') return '—';
  const v = Number(n);
  if (!Number.isFinite(v)) return String(n);
  if (v < 1024) return `${v} B`;
  if (v < 1024 * 1024) return `${(v / 1024).toFixed(1)} KiB`;
  return `${(v / 1024 / 1024).toFixed(1)} MiB`;
}

function section(key, title, ...children) {
  const heading = el('h3', { id: `cp-${key}-title` }, title);
  return el('section', { class: 'cp-section', 'data-section': key, 'aria-labelledby': heading.id },
    heading, ...children);
}

function statusLine(role) {
  return el('p', { class: 'cp-status', role: 'status', 'aria-live': 'polite', 'data-role': role });
}
function setStatus(node, text, isError = false) {
  node.textContent = text;
  node.classList.toggle('error', isError);
}

// ---- a paged list (device model, events, commands, uploads) ----------------------------------
// fetchPage(cursor) -> { items, next }; row(item) -> <tr>. The first page is loaded again by
// refresh() (polling) only while no further page was asked for, so "more" keeps its rows.
function pagedTable({ role, columns, fetchPage, row, empty, unavailable }) {
  const tbody = el('tbody');
  const table = el('table', { class: 'cp-table', 'data-role': role },
    el('thead', {}, el('tr', {}, columns.map((c) => el('th', { scope: 'col' }, c)))), tbody);
  const note = el('p', { class: 'sub', 'data-role': `${role}-note`, role: 'status' });
  const more = el('button', { type: 'button', class: 'more', hidden: true }, 'More');
  const wrap = el('div', { class: 'cp-paged' }, el('div', { class: 'table-wrap' }, table), note, more);
  let cursor = null;
  let pages = 0;
  let gen = 0;
  async function load(first) {
    const mine = first ? ++gen : gen;
    more.disabled = true;
    try {
      const { items, next } = await fetchPage(first ? null : cursor);
      if (mine !== gen) return;
      const rows = items.map(row);
      if (first) tbody.replaceChildren(...rows);
      else tbody.append(...rows);
      pages = first ? 1 : pages + 1;
      cursor = next || null;
      more.hidden = !cursor;
      table.hidden = tbody.childElementCount === 0;
      note.textContent = tbody.childElementCount === 0 ? empty : '';
      note.classList.remove('error');
      wrap.dataset.loaded = String(Date.now());
    } catch (e) {
      if (mine !== gen) return;
      if (first) tbody.replaceChildren();
      table.hidden = true;
      more.hidden = true;
      note.textContent = unavailable ? unavailable(e) : `Could not load: ${e.message}`;
      note.classList.add('error');
      wrap.dataset.loaded = String(Date.now());
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', () => load(false));
  return {
    node: wrap,
    reload: () => load(true),
    refresh: () => (pages <= 1 ? load(true) : Promise.resolve()),
  };
}

// ---- header -------------------------------------------------------------------------------

function headerSection(id, live) {
  const badge = el('span', { class: 'badge state-offline', 'data-role': 'online' }, '…');
  const fields = {};
  const dl = el('dl', { class: 'cp-facts' });
  for (const [key, label] of [['status', 'Status'], ['vendor', 'Vendor'], ['model', 'Model'],
                              ['firmware', 'Firmware'], ['security', 'Security'],
                              ['registration', 'Registration'], ['last-seen', 'Last heartbeat'],
                              ['connectors', 'Connectors']]) {
    fields[key] = el('dd', { 'data-role': key }, '—');
    dl.append(el('dt', {}, label), fields[key]);
  }
  const problem = statusLine('header-status');
  const node = el('header', { class: 'cp-header' },
    el('p', {}, el('a', { href: '#/', class: 'back' }, '← Map')),
    el('div', { class: 'cp-title' }, el('h2', { id: 'cp-title', 'data-role': 'charger-id', tabindex: '-1' }, id), badge),
    dl, problem);

  let info = null;        // GET /chargers/{id}
  let firmware = null;    // the version the latest firmware job knows
  function paint() {
    const c = { ...(live(id) || {}), ...(info || {}) };
    const online = Boolean(c.connected);
    const st = info || live(id) ? chargerState(c) : 'offline';
    badge.textContent = online ? 'online' : 'offline';
    badge.className = `badge state-${online ? st : 'offline'}`;
    badge.dataset.state = online ? 'online' : 'offline';
    fields.status.textContent = c.status ? `${c.status} (${STATE_LABEL[st]})` : '—';
    fields.vendor.textContent = c.vendor || '—';
    fields.model.textContent = c.model || '—';
    fields.firmware.textContent = c.firmware_version || firmware || '—';
    fields.security.textContent = 'security_profile' in c ? securityText(c.security_profile) : '—';
    fields.registration.textContent = c.registration_status || '—';
    fields['last-seen'].textContent = ago(c.last_seen);
    fields['last-seen'].dataset.time = c.last_seen || '';
    const connectors = Array.isArray(c.connectors) ? c.connectors : [];
    fields.connectors.textContent = connectors.length === 0 ? '—' : connectors.map(
      (x) => `${x.evse_id}/${x.connector_id}: ${x.status}`).join(', ');
  }
  return {
    node,
    paint,
    setFirmware(version) { firmware = version || null; paint(); },
    async refresh() {
      try {
        info = await getJson(base(id));
        setStatus(problem, '');
      } catch (e) {
        setStatus(problem, e.status === 404 ? `Unknown charger: ${e.message}` : `Could not load the charger: ${e.message}`, true);
      }
      paint();
    },
  };
}

// ---- device model -------------------------------------------------------------------------

function attributeValue(a) {
  if (a.secret) return '•••';
  if (a.value === null || a.value === undefined) return '—';
  return String(a.value);
}

function deviceModelSection(id) {
  const search = el('input', { type: 'search', id: 'cp-dm-search', 'data-role': 'dm-search',
                               placeholder: 'e.g. HeartbeatInterval or OCPPCommCtrlr',
                               autocomplete: 'off' });
  const report = el('p', { class: 'sub', 'data-role': 'dm-report' });
  const list = pagedTable({
    role: 'variables',
    columns: ['Component', 'Variable', 'Attribute', 'Value', 'Mutability', 'Unit / type'],
    empty: 'No variables stored (none reported yet, or none match).',
    async fetchPage(cursor) {
      const r = await getJson(`${base(id)}/variables${query({ q: search.value.trim(), limit: 50, cursor })}`);
      const last = r.last_report;
      report.textContent = last
        ? `Last report: ${last.scope || '?'} ${last.status || ''}, ${last.parts_received ?? 0} part(s), ` +
          `${last.items_received ?? 0} item(s), asked by ${last.requested_by || '?'} at ${fmtTime(last.requested_at)}`
        : 'No report received yet.';
      const items = [];
      for (const v of r.variables || []) {
        const attributes = Array.isArray(v.attributes) && v.attributes.length > 0 ? v.attributes : [{}];
        for (const a of attributes) items.push({ v, a });
      }
      return { items, next: r.next_cursor };
    },
    row({ v, a }) {
      const where = [v.component_instance ? `instance ${v.component_instance}` : '',
                     v.evse_id != null ? `EVSE ${v.evse_id}` : '',
                     v.connector_id != null ? `connector ${v.connector_id}` : ''].filter(Boolean).join(', ');
      return el('tr', { 'data-variable': v.variable, 'data-component': v.component },
        el('td', {}, v.component, where ? el('span', { class: 'sub' }, ` (${where})`) : null),
        el('td', {}, v.variable, v.variable_instance ? el('span', { class: 'sub' }, ` (${v.variable_instance})`) : null),
        el('td', {}, a.type || '—'),
        el('td', { class: a.secret ? 'secret' : null, 'data-role': 'value',
                   title: a.secret ? 'secret: never stored' : null }, attributeValue(a)),
        el('td', {}, a.mutability || '—'),
        el('td', {}, [v.unit, v.data_type].filter(Boolean).join(' · ') || '—'));
    },
  });
  let timer = null;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => list.reload(), 300);
  });
  const form = el('form', { class: 'cp-search', role: 'search',
                            onsubmit: (e) => { e.preventDefault(); clearTimeout(timer); list.reload(); } },
    el('label', { for: search.id }, 'Search component or variable name'), search,
    el('button', { type: 'submit' }, 'Search'));
  const result = statusLine('dm-result');
  const ask = el('button', { type: 'button', 'data-role': 'request-report' }, 'Request full report');
  ask.addEventListener('click', () => runCommand(ask, result,
    `Ask ${id} for its full device model (GetBaseReport FullInventory)?`, 'Report',
    () => call('POST', `${base(id)}/reports`, { report_base: 'FullInventory' }),
    () => setTimeout(() => list.reload(), 2000)));
  return {
    node: section('device-model', 'Device model', form, report, list.node,
                  el('div', { class: 'controls' }, ask), result),
    reload: list.reload,
  };
}

// ---- event log ----------------------------------------------------------------------------

function eventsSection(id) {
  const selected = new Set();
  const chips = EVENT_KINDS.map((kind) => {
    const chip = el('button', { type: 'button', class: 'chip', 'aria-pressed': 'false',
                                'data-kind': kind }, kind);
    chip.addEventListener('click', () => {
      if (selected.has(kind)) selected.delete(kind); else selected.add(kind);
      chip.setAttribute('aria-pressed', String(selected.has(kind)));
      list.reload();
    });
    return chip;
  });
  const list = pagedTable({
    role: 'events',
    columns: ['Received', 'Kind', 'Type', 'EVSE / connector', 'Details'],
    empty: 'No events.',
    async fetchPage(cursor) {
      const r = await getJson(`${base(id)}/events${query({ kind: [...selected].join(','), limit: 50, cursor })}`);
      return { items: r.events || [], next: r.next_cursor };
    },
    row(e) {
      const where = [e.evse_id, e.connector_id].filter((x) => x !== null && x !== undefined).join(' / ');
      const details = e.client_address ? { from: e.client_address, ...(typeof e.payload === 'object' && e.payload ? e.payload : { payload: e.payload }) } : e.payload;
      return el('tr', { 'data-event-id': e.id, 'data-kind': e.kind },
        el('td', { class: 'time', title: e.occurred_at ? `at the charger: ${e.occurred_at}` : null },
           fmtTime(e.received_at)),
        el('td', {}, e.kind), el('td', {}, e.type || '—'), el('td', {}, where || '—'),
        jsonCell(details));
    },
  });
  const refresh = el('button', { type: 'button', class: 'refresh' }, 'Refresh');
  refresh.addEventListener('click', () => list.reload());
  return {
    node: section('events', 'Event log',
      el('div', { class: 'chips', role: 'group', 'aria-label': 'Only these kinds (none: all)' }, chips, refresh),
      list.node),
    reload: list.reload,
    refresh: list.refresh,
  };
}

// ---- command log --------------------------------------------------------------------------

function commandAnswer(c) {
  const r = c.response;
  if (c.outcome === 'call_error' && r && typeof r === 'object') return `${r.code || 'error'} ${r.description || ''}`.trim();
  if (r && typeof r === 'object' && typeof r.status === 'string') return r.status;
  return r === null || r === undefined ? '—' : compact(r, 120);
}

function commandsSection(id) {
  const list = pagedTable({
    role: 'commands',
    columns: ['Sent', 'Action', 'By', 'Outcome', 'Answer', 'Latency', 'Request'],
    empty: 'No commands sent to this charger yet.',
    async fetchPage(cursor) {
      const r = await getJson(`${base(id)}/commands${query({ limit: 50, cursor })}`);
      return { items: r.commands || [], next: r.next_cursor };
    },
    row(c) {
      return el('tr', { 'data-command-id': c.id, 'data-action': c.action },
        el('td', { class: 'time' }, fmtTime(c.sent_at)), el('td', {}, c.action), el('td', {}, c.issued_by || '—'),
        el('td', {}, c.outcome || '—'), el('td', { 'data-role': 'answer' }, commandAnswer(c)),
        el('td', {}, c.latency_ms != null ? `${c.latency_ms} ms` : '—'), jsonCell(c.request));
    },
  });
  const refresh = el('button', { type: 'button', class: 'refresh' }, 'Refresh');
  refresh.addEventListener('click', () => list.reload());
  return {
    node: section('commands', 'Command log', el('div', { class: 'chips' }, refresh), list.node),
    reload: list.reload,
    refresh: list.refresh,
  };
}

// ---- firmware -----------------------------------------------------------------------------

function firmwareSection(id, header) {
  const job = el('div', { 'data-role': 'firmware-job' });
  const result = statusLine('firmware-result');
  const location = el('input', { type: 'url', id: 'cp-fw-location', required: true, maxlength: '512',
                                 placeholder: 'https://firmware.example.com/fw-2.0.0.bin' });
  const retrieveAt = el('input', { type: 'datetime-local', id: 'cp-fw-retrieve' });
  const retries = el('input', { type: 'number', id: 'cp-fw-retries', min: '0', step: '1', value: '3' });
  const interval = el('input', { type: 'number', id: 'cp-fw-interval', min: '0', step: '1', value: '60' });
  const certificate = el('textarea', { id: 'cp-fw-cert', rows: '2', placeholder: 'PEM (signed firmware only)' });
  const signature = el('input', { type: 'text', id: 'cp-fw-signature', placeholder: 'base64 (signed firmware only)' });
  const submit = el('button', { type: 'submit' }, 'Update firmware');
  const field = (input, label) => el('label', { for: input.id }, label, input);
  // There is no API to ask which role the token has: the form is always shown and the gateway's
  // 403 (UpdateFirmware needs the admin role) is shown as its answer.
  const form = el('form', { class: 'cp-form', 'data-role': 'firmware-form' },
    field(location, 'Firmware URL'), field(retrieveAt, 'Download at (empty: now)'),
    field(retries, 'Retries'), field(interval, 'Retry interval (s)'),
    field(certificate, 'Signing certificate'), field(signature, 'Signature'),
    el('p', { class: 'sub' }, 'Needs an admin token.'), submit);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const body = { location: location.value.trim() };
    if (retrieveAt.value) body.retrieve_at = new Date(retrieveAt.value).toISOString();
    if (retries.value !== '') body.retries = Number(retries.value);
    if (interval.value !== '') body.retry_interval_s = Number(interval.value);
    if (certificate.value.trim()) body.signing_certificate = certificate.value.trim();
    if (signature.value.trim()) body.signature = signature.value.trim();
    runCommand(submit, result, `Update the firmware of ${id} from ${body.location}?`, 'UpdateFirmware',
      () => call('POST', `${base(id)}/firmware`, body), () => reload());
  });

  async function reload() {
    try {
      const r = await getJson(`${base(id)}/firmware${query({ limit: 1 })}`);
      const latest = (r.jobs || [])[0];
      if (!latest) {
        job.replaceChildren(el('p', { class: 'sub' }, 'No firmware job yet.'));
        job.dataset.loaded = String(Date.now());
        return;
      }
      header.setFirmware(latest.firmware_version_after || latest.firmware_version_before);
      // The job's steps: its request, then each FirmwareStatusNotification with its requestId.
      let steps = [];
      try {
        const ev = await getJson(`${base(id)}/events${query({ kind: 'FirmwareStatusNotification', since: latest.created_at, limit: 100 })}`);
        steps = (ev.events || []).filter((e) => e.request_id === latest.request_id || e.request_id == null)
          .reverse().map((e) => ({ what: e.type, when: e.received_at }));
      } catch { /* the job alone */ }
      const timeline = [{ what: 'Requested', when: latest.created_at }, ...steps];
      if (latest.state && timeline[timeline.length - 1].what !== latest.state) {
        timeline.push({ what: latest.state, when: latest.updated_at });
      }
      job.replaceChildren(
        el('dl', { class: 'cp-facts' },
          el('dt', {}, 'Outcome'), el('dd', { 'data-role': 'firmware-outcome', 'data-outcome': latest.outcome }, latest.outcome),
          el('dt', {}, 'State'), el('dd', { 'data-role': 'firmware-state' }, latest.state),
          el('dt', {}, 'Location'), el('dd', {}, latest.location),
          el('dt', {}, 'Signed'), el('dd', {}, latest.signed ? 'yes' : 'no'),
          el('dt', {}, 'Version before'), el('dd', {}, latest.firmware_version_before || '—'),
          el('dt', {}, 'Version after'), el('dd', {}, latest.firmware_version_after || '—'),
          el('dt', {}, 'Requested by'), el('dd', {}, latest.requested_by || '—'),
          latest.detail ? [el('dt', {}, 'Detail'), el('dd', {}, latest.detail)] : null),
        el('ol', { class: 'timeline', 'aria-label': 'Firmware job steps' },
          timeline.map((s, i) => el('li', { class: i === timeline.length - 1 ? `last outcome-${latest.outcome}` : null },
            el('span', { class: 'step' }, s.what), el('span', { class: 'sub' }, fmtTime(s.when))))));
      job.dataset.loaded = String(Date.now());
    } catch (e) {
      job.replaceChildren(el('p', { class: 'sub error' }, `Firmware jobs unavailable: ${e.message}`));
      job.dataset.loaded = String(Date.now());
    }
  }
  return {
    node: section('firmware', 'Firmware', job,
      el('details', { class: 'cp-details' }, el('summary', {}, 'Update firmware…'), form), result),
    reload,
  };
}

// ---- log uploads --------------------------------------------------------------------------

// Where an upload's file is: always this gateway's own path for it, built here from the ids (the
// list's download_path only says whether there is a file yet).
function downloadPath(id, u) {
  return `${base(id)}/log-uploads/${encodeURIComponent(u.upload_id)}/content`;
}

async function download(id, u, button, result) {
  button.disabled = true;
  setStatus(result, `Downloading ${u.filename || u.upload_id}…`);
  try {
    const response = await apiFetch(downloadPath(id, u));
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new ApiError(response.status, body, response.statusText);
    }
    const blob = await response.blob();
    const url = URL.createObjectURL(blob);
    const name = String(u.filename || `log-${u.upload_id}`).replace(/[\\/\0-\x1f]/g, '_');
    const link = el('a', { href: url, download: name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    setStatus(result, `Downloaded ${name} (${fmtBytes(blob.size)})`);
  } catch (e) {
    setStatus(result, `Download failed: ${e.message}`, true);
  } finally {
    button.disabled = false;
  }
}

function uploadsSection(id) {
  const result = statusLine('uploads-result');
  const logType = el('select', { id: 'cp-log-type' }, LOG_TYPES.map((t) => el('option', { value: t }, t)));
  const ask = el('button', { type: 'button', 'data-role': 'request-log' }, 'Request log upload');
  const list = pagedTable({
    role: 'uploads',
    columns: ['Requested', 'Type', 'State', 'File', 'Size', 'SHA-256', 'Received', 'By', 'Expires', ''],
    empty: 'No log uploads.',
    unavailable: (e) => (e.status === 404 && e.code !== 'unknown_charger'
      ? 'Log uploads unavailable (this gateway does not serve them yet).'
      : `Log uploads unavailable: ${e.message}`),
    async fetchPage(cursor) {
      const r = await getJson(`${base(id)}/log-uploads${query({ limit: 20, cursor })}`);
      return { items: r.uploads || [], next: r.next_cursor };
    },
    row(u) {
      const get = el('button', { type: 'button', 'data-role': 'download',
                                 disabled: !u.download_path && !u.sha256 && !u.received_at }, 'Download');
      get.addEventListener('click', () => download(id, u, get, result));
      return el('tr', { 'data-upload-id': u.upload_id },
        el('td', { class: 'time' }, fmtTime(u.created_at)), el('td', {}, u.log_type || '—'),
        el('td', { 'data-role': 'state', title: u.detail || null },
           u.state || '—', u.outcome ? el('span', { class: 'sub' }, ` (${u.outcome})`) : null),
        el('td', {}, u.filename || '—'), el('td', {}, fmtBytes(u.size_bytes)),
        el('td', { class: 'hash', title: u.sha256 || null }, u.sha256 ? `${String(u.sha256).slice(0, 12)}…` : '—'),
        el('td', {}, fmtTime(u.received_at)), el('td', {}, u.requested_by || '—'),
        el('td', {}, fmtTime(u.expires_at)), el('td', {}, get));
    },
  });
  ask.addEventListener('click', () => runCommand(ask, result,
    `Ask ${id} to upload its ${logType.value}?`, 'GetLog',
    () => call('POST', `${base(id)}/log-uploads`, { log_type: logType.value }),
    () => setTimeout(() => list.reload(), 1000)));
  return {
    node: section('uploads', 'Log uploads', list.node,
      el('div', { class: 'controls' }, el('label', { for: logType.id }, 'Log', logType), ask), result),
    reload: list.reload,
    refresh: list.refresh,
  };
}

// ---- commands -----------------------------------------------------------------------------

// The charger's answer to a typed command, as a line of text.
function answerText(label, r) {
  const a = (r && r.response) || {};
  const extra = [a.reason_code, a.additional_info].filter((x) => typeof x === 'string' && x).join(': ');
  const status = typeof a.status === 'string' && a.status ? a.status : 'done';
  const warning = typeof a.warning === 'string' && a.warning ? `; ${a.warning}` : '';
  return `${label}: ${status}${extra ? ` (${extra})` : ''}${warning}`;
}

// confirm(), then the call, then its answer or error in `result`.
async function runCommand(button, result, question, label, send, after) {
  if (!window.confirm(question)) return;
  button.disabled = true;
  setStatus(result, `${label}…`);
  try {
    const r = await send();
    setStatus(result, answerText(label, r));
    result.dataset.outcome = 'answered';
  } catch (e) {
    setStatus(result, `${label} failed: ${e.message}`, true);
    result.dataset.outcome = 'failed';
  } finally {
    button.disabled = false;
    if (after) after();
  }
}

function optionalInt(input) {
  return input.value === '' ? undefined : Number(input.value);
}

function commandsPanel(id, afterCommand) {
  const result = statusLine('command-result');
  const select = (key, options) => el('select', { id: `cp-${key}` }, options.map((o) => el('option', { value: o }, o)));
  const number = (key, value, placeholder) => el('input', { type: 'number', id: `cp-${key}`, min: '0', step: '1',
                                                            value, placeholder });
  const field = (input, label) => el('label', { for: input.id }, label, input);
  const button = (action, text) => el('button', { type: 'button', 'data-action': action }, text);

  const resetType = select('reset-type', ['Immediate', 'OnIdle']);
  const reset = button('reset', 'Reset');
  reset.addEventListener('click', () => runCommand(reset, result,
    `Reset ${id} (${resetType.value})?`, `Reset (${resetType.value})`,
    () => call('POST', `${base(id)}/reset`, { type: resetType.value }), afterCommand));

  const availability = select('availability', ['Inoperative', 'Operative']);
  const availabilityEvse = number('availability-evse', '', 'all');
  const changeAvailability = button('availability', 'Change availability');
  changeAvailability.addEventListener('click', () => {
    const evse = optionalInt(availabilityEvse);
    runCommand(changeAvailability, result,
      `Make ${id}${evse !== undefined ? ` EVSE ${evse}` : ''} ${availability.value}?`,
      `ChangeAvailability (${availability.value})`,
      () => call('POST', `${base(id)}/availability`,
                 { operational_status: availability.value, evse_id: evse }), afterCommand);
  });

  const unlockEvse = number('unlock-evse', '1');
  const unlockConnector = number('unlock-connector', '1');
  const unlock = button('unlock', 'Unlock connector');
  unlock.addEventListener('click', () => runCommand(unlock, result,
    `Unlock connector ${unlockConnector.value} of EVSE ${unlockEvse.value} on ${id}?`, 'UnlockConnector',
    () => call('POST', `${base(id)}/unlock`,
               { evse_id: Number(unlockEvse.value), connector_id: Number(unlockConnector.value) }),
    afterCommand));

  const message = select('trigger-message', TRIGGER_MESSAGES);
  const triggerEvse = number('trigger-evse', '', 'any');
  const trigger = button('trigger', 'Trigger message');
  trigger.addEventListener('click', () => {
    const evse = optionalInt(triggerEvse);
    runCommand(trigger, result, `Ask ${id} to send ${message.value}?`, `TriggerMessage (${message.value})`,
      () => call('POST', `${base(id)}/trigger`, { requested_message: message.value, evse_id: evse }),
      afterCommand);
  });

  return section('controls', 'Commands',
    el('div', { class: 'cp-commands' },
      el('div', { class: 'controls' }, field(resetType, 'Reset type'), reset),
      el('div', { class: 'controls' }, field(availability, 'Availability'),
         field(availabilityEvse, 'EVSE'), changeAvailability),
      el('div', { class: 'controls' }, field(unlockEvse, 'EVSE'), field(unlockConnector, 'Connector'), unlock),
      el('div', { class: 'controls' }, field(message, 'Message'), field(triggerEvse, 'EVSE'), trigger)),
    result);
}

// ---- reservations -------------------------------------------------------------------------

// OCPP 2.0.1 IdTokenEnumType.
const TOKEN_TYPES = ['ISO14443', 'ISO15693', 'Central', 'eMAID', 'KeyCode', 'Local', 'MacAddress',
                     'NoAuthorization'];
// What DELETE may still cancel (the CSMS's open states; `failed`: no answer, the charger may hold it).
const CANCELLABLE = new Set(['requested', 'active', 'failed']);
const RESERVATION_STATES = new Set(['requested', 'active', 'rejected', 'failed', 'cancelled', 'expired',
                                    'removed', 'used']);
const RESERVATION_MINUTES = 30;

// A Date as a datetime-local input's value (local time, to the minute).
function localInputValue(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T` +
         `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

// The charger's EVSE ids, from its connectors in the live feed (GET /chargers/{id} has none).
function evseIds(charger) {
  const connectors = charger && Array.isArray(charger.connectors) ? charger.connectors : [];
  return [...new Set(connectors.map((c) => Number(c.evse_id)).filter((n) => Number.isInteger(n) && n > 0))]
    .sort((a, b) => a - b);
}

function reservationsSection(id, live) {
  const reserveResult = statusLine('reserve-result');
  const cancelResult = statusLine('cancel-result');
  let onlyActive = false;

  // The list: all (newest first) or only the open ones (requested, active).
  const scope = [['all', 'All'], ['active', 'Active only']].map(([key, text]) => {
    const chip = el('button', { type: 'button', class: 'chip', 'data-scope': key,
                                'aria-pressed': String(key === 'all') }, text);
    chip.addEventListener('click', () => {
      onlyActive = key === 'active';
      for (const c of scope) c.setAttribute('aria-pressed', String(c === chip));
      list.reload();
    });
    return chip;
  });
  const list = pagedTable({
    role: 'reservations',
    columns: ['ID', 'EVSE', 'Token', 'Expires', 'State', 'Transaction', 'Requested', ''],
    empty: 'No reservations.',
    async fetchPage(cursor) {
      const r = await getJson(`/reservations${query({ charger_id: id, active: onlyActive ? 'true' : undefined,
                                                       limit: 20, cursor })}`);
      return { items: r.reservations || [], next: r.next_cursor };
    },
    row(r) {
      const state = String(r.state || '');
      let cancel = null;
      if (CANCELLABLE.has(state)) {
        cancel = el('button', { type: 'button', 'data-role': 'cancel-reservation' }, 'Cancel');
        cancel.addEventListener('click', () => cancelReservation(r, cancel));
      }
      const group = r.group && typeof r.group === 'object' ? `group ${r.group.type} ${r.group.id_token}` : null;
      return el('tr', { 'data-reservation-id': r.reservation_id, 'data-state': state },
        el('td', {}, String(r.reservation_id)),
        el('td', { 'data-role': 'evse' }, r.evse_id == null ? 'any' : String(r.evse_id)),
        el('td', { class: 'resv-token', 'data-role': 'token' },
           el('span', { class: 'sub', 'data-role': 'token-type' }, r.token_type), ' ',
           el('span', { class: 'resv-id-token', 'data-role': 'id-token' }, r.id_token),
           group ? el('span', { class: 'sub' }, ` (${group})`) : null),
        el('td', { class: 'time', title: r.expires_at || null }, fmtTime(r.expires_at)),
        el('td', { 'data-role': 'state', title: r.detail || null },
           el('span', { class: `resv-state${RESERVATION_STATES.has(state) ? ` resv-${state}` : ''}` },
              state || '—'),
           r.charger_status && r.charger_status !== 'Accepted'
             ? el('span', { class: 'sub' }, ` (${r.charger_status})`) : null),
        el('td', { 'data-role': 'transaction' }, r.transaction_id || '—'),
        el('td', { class: 'time', title: r.requested_by ? `by ${r.requested_by}` : null }, fmtTime(r.created_at)),
        el('td', {}, cancel));
    },
  });

  async function cancelReservation(r, button) {
    if (!window.confirm(`Cancel reservation ${r.reservation_id} on ${id}?`)) return;
    button.disabled = true;
    delete cancelResult.dataset.outcome;
    setStatus(cancelResult, `Cancelling reservation ${r.reservation_id}…`);
    try {
      const answer = await call('DELETE', `${base(id)}/reservations/${encodeURIComponent(r.reservation_id)}`);
      setStatus(cancelResult, answerText(`Cancel reservation ${r.reservation_id}`, answer));
      cancelResult.dataset.outcome = 'answered';
    } catch (e) {
      setStatus(cancelResult, `Cancel reservation ${r.reservation_id} failed: ${e.message}`, true);
      cancelResult.dataset.outcome = 'failed';
    } finally {
      button.disabled = false;
      list.reload();
    }
  }

  // The form: EVSE (or any), id token, its type, expiry (now + 30 min unless changed).
  const evse = el('select', { id: 'cp-resv-evse', 'data-role': 'reserve-evse' },
    el('option', { value: '' }, 'any'));
  const idToken = el('input', { type: 'text', id: 'cp-resv-token', 'data-role': 'reserve-token',
                                maxlength: '36', autocomplete: 'off', spellcheck: 'false',
                                placeholder: 'e.g. 04A2B3C4D5E6F7' });
  const tokenType = el('select', { id: 'cp-resv-type', 'data-role': 'reserve-type' },
    TOKEN_TYPES.map((t) => el('option', { value: t }, t)));
  const expires = el('input', { type: 'datetime-local', id: 'cp-resv-expires', 'data-role': 'reserve-expires',
                                value: localInputValue(new Date(Date.now() + RESERVATION_MINUTES * 60000)) });
  const submit = el('button', { type: 'submit' }, 'Reserve');
  const field = (input, label) => el('label', { for: input.id }, label, input);
  // As with the other forms, no role check here: the gateway's 403 for a token below operate is
  // shown as the answer. No min on the expiry either: the gateway says what is wrong with it.
  const form = el('form', { class: 'cp-form', 'data-role': 'reserve-form', novalidate: true },
    field(evse, 'EVSE'), field(idToken, 'ID token'), field(tokenType, 'Token type'),
    field(expires, 'Expires'), el('p', { class: 'sub' }, 'Needs an operate token.'), submit);

  function setEvses(ids) {
    const have = [...evse.options].map((o) => o.value).filter(Boolean).map(Number);
    const all = [...new Set([...have, ...ids])].sort((a, b) => a - b);
    if (all.length === have.length) return;
    const chosen = evse.value;
    evse.replaceChildren(el('option', { value: '' }, 'any'),
      ...all.map((n) => el('option', { value: String(n) }, `EVSE ${n}`)));
    evse.value = chosen;
  }
  // EVSEs are only added: one the feed stops listing may still be worth a try (the API says).
  const loadEvses = () => setEvses(evseIds(live(id)));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    delete reserveResult.dataset.outcome;
    const at = expires.value ? new Date(expires.value) : null;
    if (!at || Number.isNaN(at.getTime())) {
      setStatus(reserveResult, 'Reserve failed: choose when the reservation expires', true);
      reserveResult.dataset.outcome = 'failed';
      return;
    }
    const body = { id_token: idToken.value.trim(), token_type: tokenType.value,
                   expires_at: at.toISOString() };
    if (evse.value !== '') body.evse_id = Number(evse.value);
    const what = `${body.evse_id !== undefined ? `EVSE ${body.evse_id}` : 'any EVSE'}`;
    submit.disabled = true;
    setStatus(reserveResult, `Reserving ${what}…`);
    try {
      const r = await call('POST', `${base(id)}/reservations`, body);
      reserveResult.dataset.reservationId = String(r.reservation_id ?? '');
      setStatus(reserveResult, answerText(`Reservation ${r.reservation_id} (${what})`, r));
      reserveResult.dataset.outcome = 'answered';
    } catch (err) {
      delete reserveResult.dataset.reservationId;
      setStatus(reserveResult, `Reserve ${what} failed: ${err.message}`, true);
      reserveResult.dataset.outcome = 'failed';
    } finally {
      submit.disabled = false;
      list.reload();
    }
  });

  const refresh = el('button', { type: 'button', class: 'refresh' }, 'Refresh');
  refresh.addEventListener('click', () => { loadEvses(); list.reload(); });
  return {
    node: section('reservations', 'Reservations',
      el('div', { class: 'chips', role: 'group', 'aria-label': 'Which reservations' }, scope, refresh),
      list.node, cancelResult,
      el('details', { class: 'cp-details', open: true }, el('summary', {}, 'Reserve…'), form), reserveResult),
    reload() { loadEvses(); return list.reload(); },
    refresh() { loadEvses(); return list.refresh(); },
  };
}

// ---- the page -----------------------------------------------------------------------------

export function showChargerPage(id, live) {
  if (page && page.id === id) return;
  hideChargerPage();
  const gen = ++generation;
  const header = headerSection(id, live);
  const deviceModel = deviceModelSection(id);
  const events = eventsSection(id);
  const commands = commandsSection(id);
  const firmware = firmwareSection(id, header);
  const uploads = uploadsSection(id);
  const reservations = reservationsSection(id, live);
  // After a command: its row in the command log at once, what it caused in the event log soon.
  const afterCommand = () => {
    commands.reload();
    header.refresh();
    for (const ms of [1000, 3000]) {
      setTimeout(() => {
        if (gen !== generation) return;
        events.refresh();
        commands.refresh();
      }, ms);
    }
  };
  page = { id, live, header };
  root.replaceChildren(
    header.node,
    commandsPanel(id, afterCommand),
    el('div', { class: 'cp-grid' },
      deviceModel.node, firmware.node, reservations.node, events.node, commands.node,
      uploads.node));
  for (const wide of [reservations, events, commands, uploads]) wide.node.classList.add('wide');
  root.dataset.chargerId = id;
  root.hidden = false;
  document.title = `CSMS · ${id}`;
  window.scrollTo(0, 0);
  header.node.querySelector('h2').focus({ preventScroll: true });  // screen readers: a new page
  header.refresh();
  deviceModel.reload();
  events.reload();
  commands.reload();
  firmware.reload();
  uploads.reload();
  reservations.reload();
  pollTimer = setInterval(() => {
    // Not while the tab is hidden, nor while the page asks for a token (every refused request
    // counts against this address's failed authentications).
    if (gen !== generation || document.hidden || !document.getElementById('token-form')?.hidden) return;
    header.refresh();
    events.refresh();
    commands.refresh();
    firmware.reload();
    uploads.refresh();
    reservations.refresh();
  }, POLL_MS);
}

export function hideChargerPage() {
  if (!page) return;
  ++generation;
  clearInterval(pollTimer);
  pollTimer = null;
  page = null;
  root.hidden = true;
  root.replaceChildren();
  delete root.dataset.chargerId;
  document.title = 'CSMS · live charger map';
}

// The live feed changed: the header shows the charger's new state.
export function chargerPageUpdate() {
  if (page) page.header.paint();
}

setInterval(() => {
  for (const dd of root.querySelectorAll('[data-role="last-seen"]')) dd.textContent = ago(dd.dataset.time || null);
}, 1000);
