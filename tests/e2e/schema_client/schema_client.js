// A charger that validates every message it sends and receives against the OCPP 2.0.1 schemas
// (ocpp-rpc strictMode).
//
//   node schema_client.js <ws base url> <http base url> <station id> [flow|serve]
//
// flow (the default): boot, heartbeat, status, a full transaction, remote start, a power limit and
// remote stop. Exits 0 only if the CSMS answered everything right and no message in either
// direction violated a schema.
//
// serve (4th argument, or SCHEMA_CLIENT_MODE=serve; the http base url is not used then and may be
// "-"): boot (BootNotification PowerUp, retried while Pending), StatusNotification Available for
// EVSE 1 connector 1, heartbeats, then answer the CSMS's commands until SIGTERM or SIGINT. Every
// command answered is one JSON line on stdout:
//   {"action":"Reset","request":{...},"response":{...}}            (CALLRESULT)
//   {"action":"GetVariables","request":{...},"error":{"code":"...","description":"..."}}  (CALLERROR)
// GetBaseReport (Full-, Configuration- or SummaryInventory) is Accepted and followed by exactly 3
// NotifyReport parts (seqNo 0, 1, 2; tbc true, true, false; one generatedAt), each sent once the
// one before is answered; GetReport by the matching variables in up to 3 parts, or EmptyResultSet.
// Each part sent is a line too, once answered:
//   {"sent":"NotifyReport","requestId":5,"seqNo":0,"tbc":true,"generatedAt":"...","items":9,
//    "response":{}}                                         (or "error" as above)
// UpdateFirmware is Accepted and followed by its FirmwareStatusNotifications and a reboot
// (runFirmwareUpdate).
// GetLog is Accepted with filename "<station id>-<requestId>.log" (AcceptedCanceled while another
// upload runs, which is then abandoned), followed by LogStatusNotification Uploading, the upload
// to log.remoteLocation (http:// or https://, Node's fetch) and Uploaded (2xx) or UploadFailure;
// see runLogUpload for retries. Configured by the environment, like the C++ simulator's flags:
//   LOG_UPLOAD_METHOD  put (default: the raw log as the body) or post (multipart/form-data, one
//                      part "file" with the filename, Content-Type application/octet-stream)
//   LOG_FILE           upload this file's bytes (read at each upload)
//   LOG_SIZE_BYTES     otherwise this many bytes of generated text (default 65536; the same
//                      bytes as the simulator's GeneratedLog); 0 without LOG_FILE = no log,
//                      GetLog is Rejected
// ReserveNow (H01) is Accepted and held, unless its idToken is RESERVE-OCCUPIED, RESERVE-FAULTED,
// RESERVE-REJECTED or RESERVE-UNAVAILABLE (any case), which is answered with that status;
// CancelReservation (H02) is Accepted for a reservation held (which is dropped), else Rejected.
// Nothing else follows either (a test sends ReservationStatusUpdate and TransactionEvents with
// reservationId through the "send" hook below).
// DataTransfer vendorId "com.csms.sim" (test hooks): messageId "echo" answers Accepted with its
// data; "send" {action, payload} sends that CALL after answering (see the hook); "reset-local-list"
// empties the local list and sets its version to 0, as a factory reset would (Accepted);
// "set-local-list-version" with data {"version": n} keeps the entries and sets the version, as if
// someone else had updated the list (Accepted; Rejected for a bad version);
// "local-list" answers Accepted with data {"version": n, "entries": [{"idToken", "type",
// "status"}, ...]} (sorted by idToken, then type, in plain string order as std::string compares;
// the version as stored, even while disabled).
// Other messageIds: UnknownMessageId; other vendors: UnknownVendorId.
// Local authorization list (D01 SendLocalList, D02 GetLocalListVersion) and authorization cache,
// configured by the environment (an empty value counts as unset):
//   LOCAL_LIST_ENABLED            LocalAuthListCtrlr.Enabled at start, true or false (default
//                                 false). Only when it is set does the device model report
//                                 LocalAuthListCtrlr (Available, Enabled, Entries with maxLimit,
//                                 ItemsPerMessage, BytesPerMessage); unset, the model stays the
//                                 simulator's
//   LOCAL_LIST_CAPACITY           Entries maxLimit: most tokens the list holds (default 100)
//   LOCAL_LIST_ITEMS_PER_MESSAGE  ItemsPerMessage (default 50)
//   LOCAL_LIST_BYTES_PER_MESSAGE  BytesPerMessage (default 8192; the UTF-8 bytes of the request
//                                 payload serialised without whitespace)
//   AUTH_CACHE_ENABLED            AuthCacheCtrlr.Enabled at start (default true); only when set is
//                                 AuthCacheCtrlr (Available, Enabled) reported
// SendLocalList answers as a station: Failed when the list is disabled, versionNumber <= 0, more
// entries than ItemsPerMessage, more bytes than BytesPerMessage, the same idToken+type twice, a
// Full entry without idTokenInfo or a result over capacity (the list is then unchanged);
// VersionMismatch for a Differential not above the current version; else Accepted (Full replaces
// the list, Differential adds/replaces entries with idTokenInfo and deletes those without) and
// the version becomes versionNumber. idToken compares case-insensitively, type exactly.
// GetLocalListVersion answers the version (0 with no list or while disabled; disabling keeps the
// list). ClearCache is Rejected while AuthCacheCtrlr.Enabled is false, else Accepted (no cache
// is kept). Each of these commands is an {"action",...} line on stdout like any other.
// Everything else (progress, failures) goes to stderr. The exit code is 0 unless a message broke a
// schema, the CSMS refused one of ours, or the connection was lost.
'use strict';
const fs = require('fs');
const { RPCClient, createRPCError } = require('ocpp-rpc');

const [wsBase, httpBase, identity, modeArg] = process.argv.slice(2);
const mode = modeArg || process.env.SCHEMA_CLIENT_MODE || 'flow';
if (!wsBase || !identity || !['flow', 'serve'].includes(mode)) {
  console.error('usage: node schema_client.js <ws base url> <http base url> <station id> ' +
                '[flow|serve]');
  process.exit(2);
}
const serving = mode === 'serve';

// GetLog uploads (see the top of the file).
const logUpload = {
  method: process.env.LOG_UPLOAD_METHOD || 'put',
  file: process.env.LOG_FILE || '',
  sizeBytes: process.env.LOG_SIZE_BYTES === undefined || process.env.LOG_SIZE_BYTES === ''
    ? 65536 : Number(process.env.LOG_SIZE_BYTES),
};
if (!['put', 'post'].includes(logUpload.method)) {
  console.error('LOG_UPLOAD_METHOD must be put or post');
  process.exit(2);
}
if (!Number.isInteger(logUpload.sizeBytes) || logUpload.sizeBytes < 0 ||
    logUpload.sizeBytes > 268435456) {
  console.error('LOG_SIZE_BYTES must be an integer from 0 to 268435456');
  process.exit(2);
}
if (logUpload.file) {
  try {
    fs.accessSync(logUpload.file, fs.constants.R_OK);
  } catch (e) {
    console.error(`LOG_FILE ${logUpload.file}: ${e.message}`);
    process.exit(2);
  }
}

// The local authorization list and the authorization cache (see the top of the file).
const envSet = (name) => process.env[name] !== undefined && process.env[name] !== '';
function envBoolean(name, fallback) {
  if (!envSet(name)) return fallback;
  const v = process.env[name];
  if (v !== 'true' && v !== 'false') {
    console.error(`${name} must be true or false`);
    process.exit(2);
  }
  return v;
}
function envCount(name, fallback, least) {
  if (!envSet(name)) return fallback;
  const n = Number(process.env[name]);
  if (!/^\d+$/.test(process.env[name]) || !Number.isSafeInteger(n) || n < least) {
    console.error(`${name} must be an integer >= ${least}`);
    process.exit(2);
  }
  return n;
}
const localList = {
  reported: envSet('LOCAL_LIST_ENABLED'),  // LocalAuthListCtrlr in the device model
  enabled: envBoolean('LOCAL_LIST_ENABLED', 'false'),
  capacity: envCount('LOCAL_LIST_CAPACITY', 100, 0),
  itemsPerMessage: envCount('LOCAL_LIST_ITEMS_PER_MESSAGE', 50, 1),
  bytesPerMessage: envCount('LOCAL_LIST_BYTES_PER_MESSAGE', 8192, 1),
  version: 0,
  entries: new Map(),  // tokenKey -> { idToken: IdTokenType, idTokenInfo }
};
const authCache = {
  reported: envSet('AUTH_CACHE_ENABLED'),  // AuthCacheCtrlr in the device model
  enabled: envBoolean('AUTH_CACHE_ENABLED', 'true'),
};

const failures = [];
const fail = (what) => { failures.push(what); console.error('FAIL:', what); };
const expect = (cond, what) => { if (!cond) fail(what); };
const log = (...what) => console.error('schema client:', ...what);
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
// A transaction's events are stamped as a real charger would have taken them: the energy this
// simulator reports in seconds took minutes to deliver (the CSMS bills no rise faster than an
// EVSE can deliver), so its Started lies that far back.
const minutesAgo = (m) => new Date(Date.now() - m * 60000).toISOString().replace(/\.\d+Z$/, 'Z');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const client = new RPCClient({
  endpoint: wsBase,
  identity,
  protocols: ['ocpp2.0.1'],
  strictMode: true,
  reconnect: false,
});
client.on('strictValidationFailure', (e) => {
  fail(`schema violation (${e.outbound ? 'ours' : 'CSMS'}, ${e.method}, ` +
       `${e.isCall ? 'call' : 'result'}): ${e.error && e.error.message}`);
});
client.on('badMessage', (e) => fail(`bad message from CSMS: ${e.error && e.error.message}`));

// ---- Station state ------------------------------------------------------------------------------

let seqNo = 0;
let energyWh = 0;
let limitW = null;
let activeTx = null;
const seen = { start: null, stop: false, limit: null };
const state = {
  bootAccepted: false,
  heartbeatInterval: 30,      // s; from the boot answer or SetVariables
  heartbeatTimer: null,
  messageTimeout: 30,         // OCPPCommCtrlr.MessageTimeout[Default], applied at reboot
  pendingMessageTimeout: null,
  authorizeRemoteStart: 'false',
  authEnabled: 'true',
  txUpdatedInterval: 0,       // reported and settable; this client sends no periodic updates
  operative: { station: true, evse: true, connector: true },  // ChangeAvailability
  resetScheduled: false,      // Reset OnIdle during a transaction
  rebooting: false,
  firmwareVersion: null,      // reported in BootNotification once a firmware update installed one
  firmwareUpdate: null,       // the requestId of the UpdateFirmware running
  logUpload: null,            // the GetLog upload running: { requestId }
  bootGeneration: 0,
  stopping: false,
  txEventsInFlight: new Map(),  // transactionId -> number of TransactionEvents awaiting an answer
};

const connectorOperative = () =>
  state.operative.station && state.operative.evse && state.operative.connector;
const connectorStatus = () => (activeTx ? 'Occupied' : connectorOperative() ? 'Available'
                                                                            : 'Unavailable');

function meter(context, timestamp = now()) {
  return [{ timestamp, sampledValue: [
    { value: energyWh, measurand: 'Energy.Active.Import.Register', context,
      unitOfMeasure: { unit: 'Wh' } },
    { value: Math.min(limitW ?? 100000, 100000), measurand: 'Power.Active.Import',
      context, unitOfMeasure: { unit: 'W' } }] }];
}

// A CALL of ours (serve mode): logged, failures recorded, never thrown.
async function send(action, payload) {
  try {
    const answer = await client.call(action, payload);
    log(`${action} answered ${JSON.stringify(answer)}`);
    return answer;
  } catch (e) {
    fail(`${action}: ${e.message}`);
    return null;
  }
}

async function sendTxEvent(payload) {
  const tx = payload.transactionInfo.transactionId;
  state.txEventsInFlight.set(tx, (state.txEventsInFlight.get(tx) || 0) + 1);
  try {
    return await client.call('TransactionEvent', payload);
  } finally {
    const left = state.txEventsInFlight.get(tx) - 1;
    if (left > 0) state.txEventsInFlight.set(tx, left); else state.txEventsInFlight.delete(tx);
  }
}

const statusNotification = () => send('StatusNotification', {
  timestamp: now(), connectorStatus: connectorStatus(), evseId: 1, connectorId: 1 });

// After the reply to the CSMS's CALL has gone out (F06.FR.04 for TriggerMessage).
const afterReply = (fn) => setTimeout(() => fn().catch((e) => fail(`${e.stack || e}`)), 100);

// Ends the running transaction (serve mode: Reset); then what the end of a transaction brings.
async function endTransaction(triggerReason, stoppedReason) {
  const tx = activeTx;
  try {
    await sendTxEvent({
      eventType: 'Ended', timestamp: now(), triggerReason, seqNo: seqNo++,
      transactionInfo: { transactionId: tx, stoppedReason },
      meterValue: meter('Transaction.End') });
  } catch (e) { fail(`Ended: ${e.message}`); }
  activeTx = null;
  await afterTransaction();
}

// Scheduled ChangeAvailability shows now; a Reset OnIdle reboots now.
async function afterTransaction() {
  if (!serving) return;
  await statusNotification();
  if (state.resetScheduled) await reboot();
}

// ---- Handlers of the flow (and of serve mode) ---------------------------------------------------

client.handle('RequestStartTransaction', ({ params }) => {
  seen.start = params;
  if (activeTx) return { status: 'Rejected', transactionId: activeTx };
  if (!connectorOperative()) {
    return { status: 'Rejected', statusInfo: { reasonCode: 'Unavailable' } };
  }
  const tx = `node-remote-${Date.now()}`;
  activeTx = tx;
  setTimeout(async () => {
    // AuthCtrlr.AuthorizeRemoteStart: the token is authorized like a local one before the start
    // (F01.FR.02); anything but Accepted, and no transaction starts.
    if (state.authorizeRemoteStart === 'true') {
      try {
        const auth = await send('Authorize', { idToken: params.idToken });
        if (!auth || auth.idTokenInfo.status !== 'Accepted') {
          log(`remote start ${tx} not authorized: ${JSON.stringify(auth)}`);
          activeTx = null;
          return;
        }
      } catch (e) { fail(`remote start Authorize: ${e.message}`); activeTx = null; return; }
    }
    seqNo = 0;
    if (serving) await statusNotification();
    try {
      await sendTxEvent({
        eventType: 'Started', timestamp: minutesAgo(10), triggerReason: 'RemoteStart',
        seqNo: seqNo++,
        transactionInfo: { transactionId: tx, chargingState: 'Charging',
                           remoteStartId: params.remoteStartId },
        evse: { id: params.evseId ?? 1, connectorId: 1 }, idToken: params.idToken,
        meterValue: meter('Transaction.Begin', minutesAgo(10)) });
    } catch (e) { fail(`remote Started: ${e.message}`); }
  }, 100);
  return { status: 'Accepted' };
});

client.handle('SetChargingProfile', ({ params }) => {
  seen.limit = params;
  limitW = params.chargingProfile.chargingSchedule[0].chargingSchedulePeriod[0].limit;
  return { status: 'Accepted' };
});

client.handle('RequestStopTransaction', ({ params }) => {
  seen.stop = true;
  if (!activeTx || params.transactionId !== activeTx) return { status: 'Rejected' };
  setTimeout(async () => {
    energyWh += 12000;
    try {
      const r = await sendTxEvent({
        eventType: 'Ended', timestamp: now(), triggerReason: 'RemoteStop', seqNo: seqNo++,
        transactionInfo: { transactionId: activeTx, stoppedReason: 'Remote' },
        meterValue: meter('Transaction.End') });
      if (!serving) {
        expect(r.totalCost === 1800, `remote Ended totalCost ${r.totalCost}, want 1800`);
      }
    } catch (e) { fail(`remote Ended: ${e.message}`); }
    activeTx = null;
    await afterTransaction();
  }, 100);
  return { status: 'Accepted' };
});

// ---- The CSMS commands ----------------------------------------------------------------------------

// The same small device model as the C++ simulator (tools/charger-sim), so one table of
// expectations fits both. Names compare case-insensitively; instance and evse must match.
// Each entry: component [name, instance, evseId, connectorId], variable [name, instance], type
// (what SetVariables checks: integer, boolean, password), the reported characteristics (dataType,
// unit, min, max, valuesList) and the attributes by type (mutability, persistent, constant, get,
// set).
const RO = 'ReadOnly';
const RW = 'ReadWrite';
const WO = 'WriteOnly';
const fixed = (value) => () => value;
// Never changes: reported persistent and constant.
const constant = (value) => ({ Actual: { mutability: RO, persistent: true, constant: true,
                                         get: fixed(value) } });
const availabilityStates = 'Available,Occupied,Reserved,Unavailable,Faulted';
const available = (component) => ({ component, variable: ['Available'], dataType: 'boolean',
                                    attributes: constant('true') });
const model = [
  { component: ['ChargingStation'], variable: ['AvailabilityState'], dataType: 'OptionList',
    valuesList: availabilityStates,
    attributes: { Actual: { mutability: RO, get: () =>
      (activeTx ? 'Occupied' : state.operative.station ? 'Available' : 'Unavailable') } } },
  available(['ChargingStation']),
  { component: ['ChargingStation'], variable: ['Model'], attributes: constant('Terra 53') },
  { component: ['ChargingStation'], variable: ['VendorName'], attributes: constant('ABB') },
  { component: ['EVSE', undefined, 1], variable: ['AvailabilityState'], dataType: 'OptionList',
    valuesList: availabilityStates,
    attributes: { Actual: { mutability: RO, get: () => (activeTx ? 'Occupied'
      : state.operative.station && state.operative.evse ? 'Available' : 'Unavailable') } } },
  available(['EVSE', undefined, 1]),
  { component: ['EVSE', undefined, 1], variable: ['Power'], dataType: 'decimal', unit: 'W',
    min: 0, max: 100000,
    attributes: { Actual: { mutability: RO, get: () =>
                    String(activeTx ? Math.min(limitW ?? 100000, 100000) : 0) },
                  MaxSet: { mutability: RO, persistent: true, constant: true,
                            get: fixed('100000') } } },
  { component: ['Connector', undefined, 1, 1], variable: ['AvailabilityState'],
    dataType: 'OptionList', valuesList: availabilityStates,
    attributes: { Actual: { mutability: RO, get: connectorStatus } } },
  available(['Connector', undefined, 1, 1]),
  { component: ['Connector', undefined, 1, 1], variable: ['ConnectorType'],
    dataType: 'OptionList', valuesList: 'cCCS2', attributes: constant('cCCS2') },
  { component: ['OCPPCommCtrlr'], variable: ['HeartbeatInterval'], type: 'integer', unit: 's',
    min: 1, max: 86400,
    attributes: { Actual: { mutability: RW, persistent: true,
      get: () => String(state.heartbeatInterval),
      set: (v) => { state.heartbeatInterval = Number(v); scheduleHeartbeat(); } } } },
  { component: ['OCPPCommCtrlr'], variable: ['MessageTimeout', 'Default'], type: 'integer',
    unit: 's', min: 1, max: 3600, rebootRequired: true,
    attributes: { Actual: { mutability: RW, persistent: true,
      get: () => String(state.messageTimeout),
      set: (v) => { state.pendingMessageTimeout = Number(v); } } } },
  ...[['GetVariables', '4'], ['SetVariables', '8']].flatMap(([instance, items]) => [
    { component: ['DeviceDataCtrlr'], variable: ['ItemsPerMessage', instance],
      dataType: 'integer', attributes: constant(items) },
    { component: ['DeviceDataCtrlr'], variable: ['BytesPerMessage', instance],
      dataType: 'integer', attributes: constant('8192') }]),
  { component: ['SecurityCtrlr'], variable: ['BasicAuthPassword'], type: 'password',
    attributes: { Actual: { mutability: WO, persistent: true, set: () => {
      log('BasicAuthPassword changed (this client connects without a password anyway)'); } } } },
  // This client connects without a password or TLS: profile 0.
  { component: ['SecurityCtrlr'], variable: ['SecurityProfile'], dataType: 'integer', min: 0,
    max: 3, attributes: { Actual: { mutability: RO, persistent: true, get: fixed('0') } } },
  { component: ['AuthCtrlr'], variable: ['Enabled'], type: 'boolean',
    attributes: { Actual: { mutability: RW, persistent: true, get: () => state.authEnabled,
      set: (v) => { state.authEnabled = v; } } } },
  { component: ['AuthCtrlr'], variable: ['AuthorizeRemoteStart'], type: 'boolean',
    attributes: { Actual: { mutability: RW, persistent: true,
      get: () => state.authorizeRemoteStart, set: (v) => { state.authorizeRemoteStart = v; } } } },
  { component: ['SmartChargingCtrlr'], variable: ['Enabled'], dataType: 'boolean',
    attributes: constant('true') },
  { component: ['SmartChargingCtrlr'], variable: ['RateUnit'], dataType: 'MemberList',
    valuesList: 'A,W', attributes: constant('A,W') },
  { component: ['SampledDataCtrlr'], variable: ['TxUpdatedInterval'], type: 'integer', unit: 's',
    min: 0, max: 86400,
    attributes: { Actual: { mutability: RW, persistent: true,
      get: () => String(state.txUpdatedInterval),
      set: (v) => { state.txUpdatedInterval = Number(v); } } } },
  ...(localList.reported ? [
    available(['LocalAuthListCtrlr']),
    { component: ['LocalAuthListCtrlr'], variable: ['Enabled'], type: 'boolean',
      attributes: { Actual: { mutability: RW, persistent: true, get: () => localList.enabled,
        set: (v) => { localList.enabled = v; } } } },
    { component: ['LocalAuthListCtrlr'], variable: ['Entries'], dataType: 'integer',
      max: localList.capacity,
      attributes: { Actual: { mutability: RO, get: () => String(localList.entries.size) } } },
    { component: ['LocalAuthListCtrlr'], variable: ['ItemsPerMessage'], dataType: 'integer',
      attributes: constant(String(localList.itemsPerMessage)) },
    { component: ['LocalAuthListCtrlr'], variable: ['BytesPerMessage'], dataType: 'integer',
      attributes: constant(String(localList.bytesPerMessage)) },
  ] : []),
  ...(authCache.reported ? [
    available(['AuthCacheCtrlr']),
    { component: ['AuthCacheCtrlr'], variable: ['Enabled'], type: 'boolean',
      attributes: { Actual: { mutability: RW, persistent: true, get: () => authCache.enabled,
        set: (v) => { authCache.enabled = v; } } } },
  ] : []),
];

const same = (a, b) => (a === undefined && b === undefined) ||
  (a !== undefined && b !== undefined && String(a).toLowerCase() === String(b).toLowerCase());

function lookup(component, variable) {
  const matches = model.filter(({ component: [name, instance, evseId, connectorId] }) =>
    same(name, component.name) && same(instance, component.instance) &&
    evseId === component.evse?.id && connectorId === component.evse?.connectorId);
  if (!matches.length) return { status: 'UnknownComponent' };
  const def = matches.find(({ variable: [name, instance] }) =>
    same(name, variable.name) && same(instance, variable.instance));
  return def ? { def } : { status: 'UnknownVariable' };
}

// null when the value fits, else a statusInfo.
function checkValue(def, value) {
  const bad = (reasonCode, additionalInfo) => ({ reasonCode, additionalInfo });
  if (def.type === 'integer') {
    if (!/^[+-]?\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
      return bad('InvalidValue', 'not an integer');
    }
    const n = Number(value);
    if (n < def.min || n > def.max) {
      return bad('ValueOutOfRange', `must be >= ${def.min} and <= ${def.max}`);
    }
  } else if (def.type === 'boolean') {
    if (value !== 'true' && value !== 'false') return bad('InvalidValue', 'must be true or false');
  } else if (def.type === 'password') {
    if (!/^[A-Za-z0-9*\-_=:+|@.]{16,40}$/.test(value)) {
      return bad('InvalidValue', 'password must be 16 to 40 of a-z A-Z 0-9 * - _ = : + | @ .');
    }
  }
  return null;
}

// DeviceDataCtrlr.ItemsPerMessage / BytesPerMessage, as a real station enforces them.
function checkLimits(action, params, items) {
  const limit = (variable) => Number(lookup({ name: 'DeviceDataCtrlr' },
                                            { name: variable, instance: action }).def
                                       .attributes.Actual.get());
  if (items > limit('ItemsPerMessage')) {
    throw createRPCError('OccurrenceConstraintViolation',
                         `${items} items; DeviceDataCtrlr.ItemsPerMessage[${action}] is ` +
                         `${limit('ItemsPerMessage')}`);
  }
  if (JSON.stringify(params).length > limit('BytesPerMessage')) {
    throw createRPCError('FormatViolation',
                         `DeviceDataCtrlr.BytesPerMessage[${action}] is ${limit('BytesPerMessage')}`);
  }
}

// Echoed as asked: component, variable and (when given) attributeType.
const echo = ({ component, variable, attributeType }) =>
  ({ component, variable, ...(attributeType ? { attributeType } : {}) });

client.handle('GetVariables', ({ params }) => {
  checkLimits('GetVariables', params, params.getVariableData.length);
  return { getVariableResult: params.getVariableData.map((item) => {
    const found = lookup(item.component, item.variable);
    if (!found.def) return { ...echo(item), attributeStatus: found.status };
    const attribute = found.def.attributes[item.attributeType || 'Actual'];
    if (!attribute) return { ...echo(item), attributeStatus: 'NotSupportedAttributeType' };
    if (attribute.mutability === WO) {
      return { ...echo(item), attributeStatus: 'Rejected',
               attributeStatusInfo: { reasonCode: 'WriteOnly' } };
    }
    return { ...echo(item), attributeStatus: 'Accepted', attributeValue: attribute.get() };
  }) };
});

client.handle('SetVariables', ({ params }) => {
  checkLimits('SetVariables', params, params.setVariableData.length);
  return { setVariableResult: params.setVariableData.map((item) => {
    const found = lookup(item.component, item.variable);
    if (!found.def) return { ...echo(item), attributeStatus: found.status };
    const attribute = found.def.attributes[item.attributeType || 'Actual'];
    if (!attribute) return { ...echo(item), attributeStatus: 'NotSupportedAttributeType' };
    if (attribute.mutability === RO) {
      return { ...echo(item), attributeStatus: 'Rejected',
               attributeStatusInfo: { reasonCode: 'ReadOnly' } };
    }
    const problem = checkValue(found.def, item.attributeValue);
    if (problem) return { ...echo(item), attributeStatus: 'Rejected', attributeStatusInfo: problem };
    const value = found.def.type === 'integer' ? String(Number(item.attributeValue))
                                                : item.attributeValue;
    attribute.set(value);
    return { ...echo(item),
             attributeStatus: found.def.rebootRequired ? 'RebootRequired' : 'Accepted' };
  }) };
});

// ---- Reports (GetBaseReport, GetReport) -----------------------------------------------------------

// One variable as a ReportDataType; a WriteOnly attribute has no value (OCPP).
function reportData(def, writableOnly) {
  const [name, instance, evseId, connectorId] = def.component;
  const component = { name };
  if (instance !== undefined) component.instance = instance;
  if (evseId !== undefined) {
    component.evse = { id: evseId, ...(connectorId !== undefined ? { connectorId } : {}) };
  }
  const variable = { name: def.variable[0],
                     ...(def.variable[1] !== undefined ? { instance: def.variable[1] } : {}) };
  const variableAttribute = Object.entries(def.attributes)
    .filter(([, a]) => !writableOnly || a.mutability !== RO)
    .map(([type, a]) => ({ type, ...(a.mutability !== WO ? { value: a.get() } : {}),
                           mutability: a.mutability, persistent: !!a.persistent,
                           constant: !!a.constant }));
  const dataType = def.dataType ||
    ({ integer: 'integer', boolean: 'boolean', password: 'string' })[def.type] || 'string';
  const variableCharacteristics = { dataType, supportsMonitoring: false };
  if (def.unit !== undefined) variableCharacteristics.unit = def.unit;
  if (def.min !== undefined) variableCharacteristics.minLimit = def.min;
  if (def.max !== undefined) variableCharacteristics.maxLimit = def.max;
  if (def.valuesList !== undefined) variableCharacteristics.valuesList = def.valuesList;
  return { component, variable, variableAttribute, variableCharacteristics };
}

// As the simulator: Full = everything; Configuration = the writable variables with their writable
// attributes; Summary = the state variables of each component.
const stateVariables = ['availabilitystate', 'available', 'active', 'enabled', 'problem'];
function baseReport(reportBase) {
  if (reportBase === 'FullInventory') return model.map((def) => reportData(def, false));
  if (reportBase === 'ConfigurationInventory') {
    return model.filter((def) => Object.values(def.attributes).some((a) => a.mutability !== RO))
      .map((def) => reportData(def, true));
  }
  return model.filter((def) => stateVariables.includes(def.variable[0].toLowerCase()))
    .map((def) => reportData(def, false));
}

const sameKey = (a, b) => same(a[0], b[0]) && same(a[1], b[1]) && a[2] === b[2] && a[3] === b[3];

// GetReport's componentVariable: a field the request leaves out matches anything.
function requested(wanted, def) {
  const [name, instance, evseId, connectorId] = def.component;
  const c = wanted.component;
  if (!same(c.name, name)) return false;
  if (c.instance !== undefined && !same(c.instance, instance)) return false;
  if (c.evse !== undefined) {
    if (c.evse.id !== evseId) return false;
    if (c.evse.connectorId !== undefined && c.evse.connectorId !== connectorId) return false;
  }
  const v = wanted.variable;
  if (v === undefined) return true;
  if (!same(v.name, def.variable[0])) return false;
  return v.instance === undefined || same(v.instance, def.variable[1]);
}

// componentCriteria (B08.FR.07-10, as libocpp reads them): Active, Available and Enabled are met by
// a component whose variable of that name is "true" or that has no such variable; Problem only by
// a Problem variable that is "true".
function meetsCriteria(componentKey, criteria) {
  return criteria.some((criterion) => {
    const def = model.find((d) => sameKey(d.component, componentKey) &&
                                  same(d.variable[0], criterion) && d.variable[1] === undefined);
    if (!def) return criterion !== 'Problem';
    return def.attributes.Actual?.mutability !== WO && def.attributes.Actual?.get() === 'true';
  });
}

function customReport({ componentVariable, componentCriteria }) {
  return model.filter((def) =>
    (!componentVariable || componentVariable.some((wanted) => requested(wanted, def))) &&
    (!componentCriteria || meetsCriteria(def.component, componentCriteria)))
    .map((def) => reportData(def, false));
}

// Up to 3 parts (exactly 3 when there are 3 items or more), one after the other.
async function sendReport(requestId, items) {
  const generatedAt = now();
  const count = Math.max(1, Math.min(3, items.length));
  for (let seqNo = 0; seqNo < count; seqNo++) {
    const reportData = items.slice(Math.floor(seqNo * items.length / count),
                                   Math.floor((seqNo + 1) * items.length / count));
    const tbc = seqNo < count - 1;
    const payload = { requestId, generatedAt, seqNo, tbc,
                      ...(reportData.length ? { reportData } : {}) };
    const line = { sent: 'NotifyReport', requestId, seqNo, tbc, generatedAt,
                   items: reportData.length };
    try {
      line.response = await client.call('NotifyReport', payload);
    } catch (e) {
      line.error = { code: e.rpcErrorCode || e.name, description: e.message };
      fail(`NotifyReport ${requestId}/${seqNo}: ${e.message}`);
    }
    process.stdout.write(JSON.stringify(line) + '\n');
  }
}

client.handle('GetBaseReport', ({ params }) => {
  const items = baseReport(params.reportBase);  // values as they are now
  afterReply(() => sendReport(params.requestId, items));
  return { status: 'Accepted' };
});

client.handle('GetReport', ({ params }) => {
  const items = customReport(params);
  if (!items.length) return { status: 'EmptyResultSet' };
  afterReply(() => sendReport(params.requestId, items));
  return { status: 'Accepted' };
});

// Reboot: close, connect again, BootNotification RemoteReset (or FirmwareUpdate),
// StatusNotification.
async function reboot(reason = 'RemoteReset') {
  state.resetScheduled = false;
  if (state.rebooting) return;
  state.rebooting = true;
  log(`rebooting (${reason})`);
  clearTimeout(state.heartbeatTimer);
  await client.close({ code: 1000, awaitPending: true });
  await sleep(500);
  if (state.stopping) return;
  if (state.pendingMessageTimeout !== null) {
    state.messageTimeout = state.pendingMessageTimeout;
    state.pendingMessageTimeout = null;
  }
  state.bootAccepted = false;
  await client.connect();
  state.rebooting = false;
  await bootAndReport(reason);
}

// UpdateFirmware: Accepted, then FirmwareStatusNotification Downloading, Downloaded,
// SignatureVerified (signed only), Installing, InstallRebooting, a reboot (reconnect, boot with
// reason FirmwareUpdate and the version the file name gives: ".../fw-2.0.0.bin" -> "2.0.0", else
// "updated"), then Installed. A location containing "bad-signature": Downloading, Downloaded,
// InvalidSignature. Each step once the one before is answered, 150 ms apart.
function versionFromLocation(location) {
  const name = location.split('/').pop().split(/[?#]/)[0];
  const m = /^fw-(.+?)(\.bin)?$/.exec(name);
  return m && m[1].length <= 50 ? m[1] : 'updated';
}

async function runFirmwareUpdate(requestId, firmware) {
  const step = async (status) => {
    await sleep(150);
    await send('FirmwareStatusNotification', { status, requestId });
  };
  try {
    await step('Downloading');
    await step('Downloaded');
    if (firmware.location.includes('bad-signature')) {
      await step('InvalidSignature');
      return;
    }
    if (firmware.signature !== undefined) await step('SignatureVerified');
    await step('Installing');
    await step('InstallRebooting');
    state.firmwareVersion = versionFromLocation(firmware.location);
    await reboot('FirmwareUpdate');
    await step('Installed');
  } finally {
    state.firmwareUpdate = null;
  }
}

client.handle('UpdateFirmware', ({ params }) => {
  if (state.firmwareUpdate !== null) {
    return { status: 'Rejected', statusInfo: { reasonCode: 'UpdateInProgress' } };
  }
  state.firmwareUpdate = params.requestId;
  afterReply(() => runFirmwareUpdate(params.requestId, params.firmware));
  return { status: 'Accepted' };
});

// GetLog (N01). The log: LOG_FILE's bytes, or LOG_SIZE_BYTES of the lines
// "<station id> <log type> line 000001: the quick brown fox jumps over the lazy dog\n" cut off
// there (byte for byte what tools/charger-sim's GeneratedLog makes).
function generatedLog(stationId, logType, size) {
  const lines = [];
  let length = 0;
  for (let line = 1; length < size; line++) {
    const text = `${stationId} ${logType} line ${String(line).padStart(6, '0')}: ` +
                 'the quick brown fox jumps over the lazy dog\n';
    lines.push(text);
    length += Buffer.byteLength(text);
  }
  return Buffer.from(lines.join('')).subarray(0, size);
}

// One attempt: { status } of the HTTP answer, or status 0 and the error when there was none.
async function uploadLogOnce(location, filename, logType) {
  let content;
  try {
    content = logUpload.file ? fs.readFileSync(logUpload.file)
                             : generatedLog(identity, logType, logUpload.sizeBytes);
  } catch (e) {
    return { status: 0, error: `cannot read LOG_FILE: ${e.message}` };
  }
  const init = { method: logUpload.method.toUpperCase(), signal: AbortSignal.timeout(60000) };
  if (logUpload.method === 'post') {
    const form = new FormData();
    form.append('file', new Blob([content], { type: 'application/octet-stream' }), filename);
    init.body = form;  // fetch sets multipart/form-data with its boundary
  } else {
    init.body = content;
    init.headers = { 'Content-Type': 'application/octet-stream' };
  }
  log(`log upload: ${init.method} ${content.length} bytes to ${location}`);
  try {
    const res = await fetch(location, init);
    const text = await res.text().catch(() => '');
    return { status: res.status, error: text.slice(0, 200) };
  } catch (e) {
    return { status: 0, error: (e.cause && e.cause.message) || e.message };
  }
}

// Uploading, the upload, then Uploaded (2xx) or UploadFailure. Like the simulator: up to `retries`
// (at most 10; none when absent) more attempts after no answer, 408, 429 or 5xx (404, 413 and the
// like are final), `retryInterval` seconds apart capped at 2 s (absent: 2 s). An upload canceled
// by a newer GetLog stops without further notifications.
async function runLogUpload(job, params, filename) {
  const { requestId } = params;
  const retries = Math.min(Math.max(params.retries ?? 0, 0), 10);
  const waitMs = Math.min(Math.max(params.retryInterval ?? 2, 0), 2) * 1000;
  const current = () => state.logUpload === job;
  await send('LogStatusNotification', { status: 'Uploading', requestId });
  let status = 'UploadFailure';
  for (let attempt = 1; current(); attempt++) {
    const r = await uploadLogOnce(params.log.remoteLocation, filename, params.logType);
    if (!current()) break;
    const answer = r.status ? `HTTP ${r.status}` : 'no answer';
    if (r.status >= 200 && r.status < 300) {
      log(`log ${filename} uploaded (${answer})`);
      status = 'Uploaded';
      break;
    }
    const retryable = r.status === 0 || r.status === 408 || r.status === 429 || r.status >= 500;
    if (!retryable || attempt > retries) {
      log(`log upload ${requestId} failed after ${attempt} attempt(s) (${answer}: ${r.error})`);
      break;
    }
    log(`log upload ${requestId} attempt ${attempt} of ${retries + 1} failed (${answer}: ` +
        `${r.error}); retry in ${waitMs / 1000} s`);
    await sleep(waitMs);
  }
  if (!current()) {
    log(`log upload ${requestId} was canceled`);
    return;
  }
  state.logUpload = null;
  await send('LogStatusNotification', { status, requestId });
}

client.handle('GetLog', ({ params }) => {
  if (!logUpload.file && logUpload.sizeBytes === 0) {
    return { status: 'Rejected', statusInfo: { reasonCode: 'NoLogAvailable',
                                               additionalInfo: 'this station has no log' } };
  }
  let url = null;
  try { url = new URL(params.log.remoteLocation); } catch (e) { /* not a URL */ }
  if (!url || !['http:', 'https:'].includes(url.protocol) || url.username || url.password) {
    return { status: 'Rejected', statusInfo: { reasonCode: 'InvalidURL',
      additionalInfo: 'remoteLocation must be an http:// or https:// URL without credentials' } };
  }
  const canceled = state.logUpload !== null;
  const job = { requestId: params.requestId };
  state.logUpload = job;
  const filename = `${identity}-${params.requestId}.log`;
  afterReply(() => runLogUpload(job, params, filename));
  return { status: canceled ? 'AcceptedCanceled' : 'Accepted', filename };
});

client.handle('Reset', ({ params }) => {
  if (params.evseId !== undefined) {  // one EVSE: the station keeps running
    if (params.evseId !== 1) {
      return { status: 'Rejected', statusInfo: { reasonCode: 'UnknownEvse' } };
    }
    if (activeTx && params.type === 'OnIdle') return { status: 'Scheduled' };
    afterReply(() => (activeTx ? endTransaction('ResetCommand', 'ImmediateReset')
                               : statusNotification()));
    return { status: 'Accepted' };
  }
  if (activeTx && params.type === 'OnIdle') {
    state.resetScheduled = true;
    return { status: 'Scheduled' };
  }
  afterReply(async () => {
    if (activeTx) {
      state.resetScheduled = true;  // endTransaction() reboots once the Ended event is answered
      await endTransaction('ResetCommand', 'ImmediateReset');
    } else {
      await reboot();
    }
  });
  return { status: 'Accepted' };
});

client.handle('ChangeAvailability', ({ params }) => {
  const evse = params.evse;
  let key;
  if (!evse || (evse.id === 0 && evse.connectorId === undefined)) key = 'station';
  else if (evse.id === 1 && evse.connectorId === undefined) key = 'evse';
  else if (evse.id === 1 && evse.connectorId === 1) key = 'connector';
  else return { status: 'Rejected', statusInfo: { reasonCode: 'UnknownEvse' } };
  const operative = params.operationalStatus === 'Operative';
  if (state.operative[key] === operative) return { status: 'Accepted' };
  const before = connectorStatus();
  state.operative[key] = operative;  // a running transaction shows it when it ends
  if (activeTx) return { status: 'Scheduled' };
  if (connectorStatus() !== before) afterReply(statusNotification);
  return { status: 'Accepted' };
});

client.handle('UnlockConnector', ({ params }) => {
  if (params.evseId !== 1 || params.connectorId !== 1) return { status: 'UnknownConnector' };
  return { status: activeTx ? 'OngoingAuthorizedTransaction' : 'Unlocked' };
});

client.handle('TriggerMessage', ({ params }) => {
  const evse = params.evse;
  if (evse && !(evse.id === 0 && evse.connectorId === undefined) &&
      !(evse.id === 1 && (evse.connectorId ?? 1) === 1)) {
    return { status: 'Rejected', statusInfo: { reasonCode: 'UnknownEvse' } };
  }
  switch (params.requestedMessage) {
    case 'BootNotification':  // the point of it: no waiting for the Pending interval
      if (state.bootAccepted) return { status: 'Rejected' };
      afterReply(() => bootOnce('Triggered'));
      return { status: 'Accepted' };
    case 'Heartbeat':
      afterReply(() => send('Heartbeat', {}));
      return { status: 'Accepted' };
    case 'StatusNotification':
      afterReply(statusNotification);
      return { status: 'Accepted' };
    case 'MeterValues':
      afterReply(() => send('MeterValues',
                            { evseId: evse?.id === 0 ? 0 : 1, meterValue: meter('Trigger') }));
      return { status: 'Accepted' };
    case 'TransactionEvent':
      if (!activeTx || (evse && evse.id !== 1)) return { status: 'Rejected' };
      afterReply(async () => {
        try {
          await sendTxEvent({
            eventType: 'Updated', timestamp: now(), triggerReason: 'Trigger', seqNo: seqNo++,
            transactionInfo: { transactionId: activeTx, chargingState: 'Charging' },
            meterValue: meter('Trigger') });
        } catch (e) { fail(`triggered TransactionEvent: ${e.message}`); }
      });
      return { status: 'Accepted' };
    case 'LogStatusNotification':  // the upload under way when it is sent, else Idle
      afterReply(() => send('LogStatusNotification', state.logUpload
        ? { status: 'Uploading', requestId: state.logUpload.requestId } : { status: 'Idle' }));
      return { status: 'Accepted' };
    case 'FirmwareStatusNotification':  // nothing going on: Idle, without a requestId
      afterReply(() => send('FirmwareStatusNotification', { status: 'Idle' }));
      return { status: 'Accepted' };
    default:
      return { status: 'NotImplemented' };
  }
});

client.handle('GetTransactionStatus', ({ params }) => {
  const id = params.transactionId;
  const answer = { messagesInQueue: id === undefined ? state.txEventsInFlight.size > 0
                                                     : state.txEventsInFlight.has(id) };
  if (id !== undefined) answer.ongoingIndicator = activeTx === id;
  return answer;
});

// C11: this client keeps no cache, so there is nothing to clear; refused while disabled.
client.handle('ClearCache', () => {
  if (authCache.enabled === 'false') {
    log('ClearCache Rejected (AuthCacheCtrlr.Enabled is false)');
    return { status: 'Rejected', statusInfo: { reasonCode: 'Disabled',
                                               additionalInfo: 'AuthCacheCtrlr.Enabled is false' } };
  }
  log('ClearCache Accepted (authorization cache cleared)');
  return { status: 'Accepted' };
});

// ---- Local authorization list (D01, D02; see the top of the file) ------------------------------

// idToken compares case-insensitively, type exactly.
const tokenKey = ({ idToken, type }) => `${idToken.toLowerCase()}\u0000${type}`;

function sendLocalList(params) {
  const refuse = (status, reasonCode, additionalInfo) => {
    log(`SendLocalList version ${params.versionNumber} ${params.updateType}: ${status} ` +
        `(${additionalInfo})`);
    return { status, statusInfo: { reasonCode, additionalInfo } };
  };
  const items = params.localAuthorizationList || [];
  if (localList.enabled !== 'true') {
    return refuse('Failed', 'Disabled', 'LocalAuthListCtrlr.Enabled is not true');
  }
  if (!(params.versionNumber > 0)) {
    return refuse('Failed', 'InvalidVersion', 'versionNumber must be > 0 (D01.FR.18)');
  }
  if (items.length > localList.itemsPerMessage) {
    return refuse('Failed', 'TooManyItems', `${items.length} entries; ` +
                  `LocalAuthListCtrlr.ItemsPerMessage is ${localList.itemsPerMessage}`);
  }
  const bytes = Buffer.byteLength(JSON.stringify(params));
  if (bytes > localList.bytesPerMessage) {
    return refuse('Failed', 'TooManyBytes', `${bytes} bytes; ` +
                  `LocalAuthListCtrlr.BytesPerMessage is ${localList.bytesPerMessage}`);
  }
  const keys = new Set();
  for (const item of items) {
    const key = tokenKey(item.idToken);
    if (keys.has(key)) {
      return refuse('Failed', 'DuplicateToken',
                    `${item.idToken.idToken} (${item.idToken.type}) more than once`);
    }
    keys.add(key);
  }
  let next;
  if (params.updateType === 'Full') {
    const missing = items.find((item) => !item.idTokenInfo);
    if (missing) {
      return refuse('Failed', 'MissingIdTokenInfo',
                    `${missing.idToken.idToken} (${missing.idToken.type}) has no idTokenInfo`);
    }
    next = new Map(items.map((item) => [tokenKey(item.idToken), item]));
  } else {
    if (params.versionNumber <= localList.version) {
      return refuse('VersionMismatch', 'VersionMismatch', `differential version ` +
                    `${params.versionNumber} is not above the current ${localList.version}`);
    }
    next = new Map(localList.entries);
    for (const item of items) {
      if (item.idTokenInfo) next.set(tokenKey(item.idToken), item);
      else next.delete(tokenKey(item.idToken));
    }
  }
  if (next.size > localList.capacity) {
    return refuse('Failed', 'ListFull', `${next.size} entries; LocalAuthListCtrlr.Entries ` +
                  `maxLimit is ${localList.capacity}`);
  }
  localList.entries = next;
  localList.version = params.versionNumber;
  log(`SendLocalList ${params.updateType} Accepted: version ${localList.version}, ` +
      `${next.size} entries`);
  return { status: 'Accepted' };
}

client.handle('SendLocalList', ({ params }) => sendLocalList(params));

client.handle('GetLocalListVersion', () =>
  ({ versionNumber: localList.enabled === 'true' ? localList.version : 0 }));

// The "local-list" hook's view of the list.
function localListData() {
  const entries = [...localList.entries.values()]
    .map(({ idToken, idTokenInfo }) => ({ idToken: idToken.idToken, type: idToken.type,
                                          status: idTokenInfo.status }))
    .sort((a, b) => (a.idToken < b.idToken ? -1 : a.idToken > b.idToken ? 1
      : a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
  return { version: localList.version, entries };
}

// Reservations (see the top of the file): held by id, for CancelReservation.
const reservations = new Map();
client.handle('ReserveNow', ({ params }) => {
  const refused = /^RESERVE-(OCCUPIED|FAULTED|REJECTED|UNAVAILABLE)$/i.exec(params.idToken.idToken);
  if (refused) return { status: refused[1][0] + refused[1].slice(1).toLowerCase() };
  reservations.set(params.id, params);
  return { status: 'Accepted' };
});
client.handle('CancelReservation', ({ params }) =>
  ({ status: reservations.delete(params.reservationId) ? 'Accepted' : 'Rejected' }));

// Test hooks (vendor com.csms.sim; "reset-local-list" and "local-list": see the top of the file):
// "echo" answers with its data; "send" makes this charger send the CALL
// {"action": ..., "payload": ...} right after answering (strictly validated both ways,
// like everything else), and prints {"sent": action, "response"|"error": ...} on stdout, so a
// test can make it report what a real station reports (security events, firmware progress...).
client.handle('DataTransfer', ({ params }) => {
  if (params.vendorId !== 'com.csms.sim') return { status: 'UnknownVendorId' };
  if (params.messageId === 'send') {
    const { action, payload } = params.data || {};
    if (typeof action !== 'string' || typeof payload !== 'object') return { status: 'Rejected' };
    setImmediate(async () => {
      try {
        const response = await client.call(action, payload);
        console.log(JSON.stringify({ sent: action, response }));
      } catch (e) {
        console.log(JSON.stringify({ sent: action, error: { code: e.rpcErrorCode || e.name,
                                                            description: e.message } }));
      }
    });
    return { status: 'Accepted' };
  }
  if (params.messageId === 'reset-local-list') {  // as a factory reset
    localList.entries = new Map();
    localList.version = 0;
    log('local list reset: no entries, version 0');
    return { status: 'Accepted' };
  }
  if (params.messageId === 'set-local-list-version') {  // a list changed behind the CSMS's back
    const version = params.data && params.data.version;
    if (!Number.isSafeInteger(version) || version < 0) return { status: 'Rejected' };
    localList.version = version;
    log(`local list version set to ${version}`);
    return { status: 'Accepted' };
  }
  if (params.messageId === 'local-list') return { status: 'Accepted', data: localListData() };
  if (params.messageId !== 'echo') return { status: 'UnknownMessageId' };
  return { status: 'Accepted', ...('data' in params ? { data: params.data } : {}) };
});

// ---- The flow -----------------------------------------------------------------------------------

async function rest(method, path, body) {
  const res = await fetch(httpBase + path, {
    method, headers: { 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined });
  return { status: res.status, body: await res.json() };
}

async function main() {
  await client.connect();
  expect(client.protocol === 'ocpp2.0.1', `protocol ${client.protocol}`);

  const boot = await client.call('BootNotification', {
    reason: 'PowerUp',
    chargingStation: { model: 'Terra 53', vendorName: 'ABB', serialNumber: `SN-${identity}` } });
  expect(boot.status === 'Accepted' && boot.interval === 30, `boot ${JSON.stringify(boot)}`);
  const hb = await client.call('Heartbeat', {});
  expect(typeof hb.currentTime === 'string', `heartbeat ${JSON.stringify(hb)}`);
  await client.call('StatusNotification', {
    timestamp: now(), connectorStatus: 'Available', evseId: 1, connectorId: 1 });
  const auth = await client.call('Authorize', { idToken: { idToken: 'user_123', type: 'ISO14443' } });
  expect(auth.idTokenInfo.status === 'Accepted', `authorize ${JSON.stringify(auth)}`);
  await client.call('MeterValues', { evseId: 1, meterValue: meter('Sample.Clock') });

  // A locally started transaction: 25.5 kWh at the default tariff costs 3825.
  const tx = `node-local-${Date.now()}`;
  energyWh = 1000;
  await client.call('TransactionEvent', {
    eventType: 'Started', timestamp: minutesAgo(30), triggerReason: 'Authorized', seqNo: 0,
    transactionInfo: { transactionId: tx, chargingState: 'Charging' },
    evse: { id: 1, connectorId: 1 }, idToken: { idToken: 'user_123', type: 'ISO14443' },
    meterValue: meter('Transaction.Begin', minutesAgo(30)) });
  energyWh = 9500;
  await client.call('TransactionEvent', {
    eventType: 'Updated', timestamp: minutesAgo(20), triggerReason: 'MeterValuePeriodic', seqNo: 1,
    transactionInfo: { transactionId: tx }, meterValue: meter('Sample.Periodic', minutesAgo(20)) });
  energyWh = 26500;
  const ended = await client.call('TransactionEvent', {
    eventType: 'Ended', timestamp: now(), triggerReason: 'StopAuthorized', seqNo: 2,
    transactionInfo: { transactionId: tx, stoppedReason: 'Local' },
    meterValue: meter('Transaction.End') });
  expect(ended.totalCost === 3825, `local Ended totalCost ${ended.totalCost}, want 3825`);

  // Remote start, limit and stop through the REST API; the CSMS's CALLs are validated too.
  energyWh = 0;
  const start = await rest('POST', `/chargers/${identity}/start`,
                           { id_token: 'user_123', evse_id: 1, connector_id: 1 });
  expect(start.status === 200 && start.body.status === 'success' &&
         start.body.transaction_id === activeTx, `start ${JSON.stringify(start)}`);
  expect(seen.start && seen.start.idToken.idToken === 'user_123', 'RequestStartTransaction seen');
  const power = await rest('PATCH', `/chargers/${identity}/power`, { max_power_kw: 50 });
  expect(power.status === 200 && power.body.current_power === 50, `power ${JSON.stringify(power)}`);
  expect(limitW === 50000, `limit ${limitW} W, want 50000`);
  const stop = await rest('POST', `/chargers/${identity}/stop`, { transaction_id: activeTx });
  expect(stop.status === 200 && stop.body.energy_consumed === 12 && stop.body.cost === 1800,
         `stop ${JSON.stringify(stop)}`);
  await sleep(200);
  await client.close({ code: 1000 });
}

// ---- Serve mode ---------------------------------------------------------------------------------

function scheduleHeartbeat() {
  clearTimeout(state.heartbeatTimer);
  if (!state.bootAccepted || state.stopping) return;
  state.heartbeatTimer = setTimeout(async () => {
    await send('Heartbeat', {});
    scheduleHeartbeat();
  }, state.heartbeatInterval * 1000);
}

// One BootNotification; once Accepted: the heartbeat interval, the status, the heartbeats.
async function bootOnce(reason) {
  const boot = await send('BootNotification', { reason, chargingStation: {
    model: 'Terra 53', vendorName: 'ABB', serialNumber: `SN-${identity}`.slice(0, 25),
    ...(state.firmwareVersion ? { firmwareVersion: state.firmwareVersion } : {}) } });
  if (boot && boot.status === 'Accepted' && !state.bootAccepted) {
    state.bootAccepted = true;
    if (boot.interval > 0) state.heartbeatInterval = boot.interval;
    await statusNotification();
    scheduleHeartbeat();
  }
  return boot;
}

// BootNotification until Accepted (Pending and Rejected wait for the interval). A reboot starts a
// new generation, which ends the loop of the old one.
async function bootAndReport(reason) {
  const generation = ++state.bootGeneration;
  const over = () => state.bootAccepted || state.stopping || generation !== state.bootGeneration;
  for (;;) {
    const boot = await bootOnce(reason);
    if (over()) return;
    await sleep(((boot && boot.interval) || 10) * 1000);
    if (over()) return;
  }
}

async function serve() {
  // One JSON line per CSMS CALL answered, as it went over the wire.
  const calls = new Map();
  client.on('call', ({ outbound, payload }) => {
    if (!outbound) calls.set(payload[1], { action: payload[2], request: payload[3] });
  });
  client.on('response', ({ outbound, payload }) => {
    if (!outbound) return;
    const call = calls.get(payload[1]);
    if (!call) return;
    calls.delete(payload[1]);
    const line = payload[0] === 3
      ? { ...call, response: payload[2] }
      : { ...call, error: { code: payload[2], description: payload[3] } };
    process.stdout.write(JSON.stringify(line) + '\n');
  });
  client.on('close', ({ code, reason }) => {
    if (state.rebooting || state.stopping) return;
    fail(`connection closed by the CSMS (${code} ${reason || ''})`);
    finish();
  });
  const stop = async (signal) => {
    if (state.stopping) return;
    state.stopping = true;
    log(`${signal}: closing`);
    clearTimeout(state.heartbeatTimer);
    await client.close({ code: 1000 }).catch(() => {});
    finish();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  await client.connect();
  expect(client.protocol === 'ocpp2.0.1', `protocol ${client.protocol}`);
  await bootAndReport('PowerUp');
  log(`serving as ${identity}`);
}

function finish() {
  console.error(failures.length ? `${failures.length} failure(s)` : 'schema client: all good');
  process.exit(failures.length ? 1 : 0);
}

if (serving) {
  serve().catch((e) => { fail(`unexpected: ${e.stack || e}`); finish(); });
} else {
  main().catch((e) => fail(`unexpected: ${e.stack || e}`)).finally(() => {
    console.log(failures.length ? `${failures.length} failure(s)` : 'schema client: all good');
    process.exit(failures.length ? 1 : 0);
  });
}
