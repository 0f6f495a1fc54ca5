// A charger that validates every message it sends and receives against the OCPP 2.0.1 schemas
// (ocpp-rpc strictMode), driven through boot, heartbeat, status, a full transaction, remote
// start, a power limit and remote stop. Exits 0 only if the CSMS answered everything right and
// no message in either direction violated a schema.
//   node schema_client.js <ws base url> <http base url> <station id>
'use strict';
const { RPCClient } = require('ocpp-rpc');

const [wsBase, httpBase, identity] = process.argv.slice(2);
const failures = [];
const fail = (what) => { failures.push(what); console.error('FAIL:', what); };
const expect = (cond, what) => { if (!cond) fail(what); };
const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
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

let seqNo = 0;
let energyWh = 0;
let limitW = null;
let activeTx = null;
const seen = { start: null, stop: false, limit: null };

function meter(context) {
  return [{ timestamp: now(), sampledValue: [
    { value: energyWh, measurand: 'Energy.Active.Import.Register', context,
      unitOfMeasure: { unit: 'Wh' } },
    { value: Math.min(limitW ?? 100000, 100000), measurand: 'Power.Active.Import',
      context, unitOfMeasure: { unit: 'W' } }] }];
}

client.handle('RequestStartTransaction', ({ params }) => {
  seen.start = params;
  const tx = `node-remote-${Date.now()}`;
  setTimeout(async () => {
    activeTx = tx;
    seqNo = 0;
    try {
      await client.call('TransactionEvent', {
        eventType: 'Started', timestamp: now(), triggerReason: 'RemoteStart', seqNo: seqNo++,
        transactionInfo: { transactionId: tx, chargingState: 'Charging',
                           remoteStartId: params.remoteStartId },
        evse: { id: params.evseId ?? 1, connectorId: 1 }, idToken: params.idToken,
        meterValue: meter('Transaction.Begin') });
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
  if (params.transactionId !== activeTx) return { status: 'Rejected' };
  setTimeout(async () => {
    energyWh += 12000;
    try {
      const r = await client.call('TransactionEvent', {
        eventType: 'Ended', timestamp: now(), triggerReason: 'RemoteStop', seqNo: seqNo++,
        transactionInfo: { transactionId: activeTx, stoppedReason: 'Remote' },
        meterValue: meter('Transaction.End') });
      expect(r.totalCost === 1800, `remote Ended totalCost ${r.totalCost}, want 1800`);
    } catch (e) { fail(`remote Ended: ${e.message}`); }
    activeTx = null;
  }, 100);
  return { status: 'Accepted' };
});

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
    eventType: 'Started', timestamp: now(), triggerReason: 'Authorized', seqNo: 0,
    transactionInfo: { transactionId: tx, chargingState: 'Charging' },
    evse: { id: 1, connectorId: 1 }, idToken: { idToken: 'user_123', type: 'ISO14443' },
    meterValue: meter('Transaction.Begin') });
  energyWh = 9500;
  await client.call('TransactionEvent', {
    eventType: 'Updated', timestamp: now(), triggerReason: 'MeterValuePeriodic', seqNo: 1,
    transactionInfo: { transactionId: tx }, meterValue: meter('Sample.Periodic') });
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

main().catch((e) => fail(`unexpected: ${e.stack || e}`)).finally(() => {
  console.log(failures.length ? `${failures.length} failure(s)` : 'schema client: all good');
  process.exit(failures.length ? 1 : 0);
});
