#!/usr/bin/env node
// Checks docker-compose.yml beyond what `docker-compose config -q` checks (its syntax):
// the services, their start order by health, the demo profile, the volumes and ports, and that
// every ${VAR} has a default. Reads the file itself and the output of `docker-compose config`.
//
//   docker-compose -f docker-compose.yml config > resolved.yaml
//   node tests/deploy/validate-compose.js docker-compose.yml resolved.yaml Dockerfile
'use strict';

const fs = require('fs');
const yaml = require('js-yaml');

const [rawFile, resolvedFile, dockerfile] = process.argv.slice(2);
if (!rawFile || !resolvedFile || !dockerfile) {
  console.error('usage: validate-compose.js docker-compose.yml RESOLVED.yaml Dockerfile');
  process.exit(2);
}

let failures = 0;
let checks = 0;
const check = (ok, where, msg) => {
  checks++;
  if (!ok) {
    failures++;
    console.log(`FAIL ${where}: ${msg}`);
  }
};

// Configuration by environment only, each variable with a default: ${VAR:-default}.
const raw = fs.readFileSync(rawFile, 'utf8');
for (const [i, line] of raw.split('\n').entries()) {
  if (/^\s*#/.test(line)) continue;
  for (const m of line.matchAll(/(?<!\$)\$\{([^}]*)\}/g)) {
    check(/^[A-Z_][A-Z0-9_]*:-/.test(m[1]), `${rawFile}:${i + 1}`, `\${${m[1]}} has no default (use \${VAR:-default})`);
  }
}

const compose = yaml.load(fs.readFileSync(resolvedFile, 'utf8'));
const services = compose.services || {};
const stages = new Set([...fs.readFileSync(dockerfile, 'utf8').matchAll(/^FROM\s+\S+\s+AS\s+(\S+)/gim)].map((m) => m[1]));

const svc = (n) => {
  check(Boolean(services[n]), 'services', `no service "${n}"`);
  return services[n] || {};
};
const healthyDeps = (s) => Object.entries(s.depends_on || {}).filter(([, v]) => v && v.condition === 'service_healthy').map(([k]) => k);
const env = (s) => s.environment || {};

// PostgreSQL 15 with a named volume and a pg_isready health check.
const pg = svc('postgres');
check(/^postgres:15(\b|$)/.test(pg.image || ''), 'postgres', `image must be postgres:15 (is ${pg.image})`);
check(JSON.stringify((pg.healthcheck || {}).test || '').includes('pg_isready'), 'postgres', 'healthcheck must run pg_isready');
check((pg.volumes || []).some((v) => String(v).startsWith('pgdata:/var/lib/postgresql/data')), 'postgres',
  'named volume pgdata must hold /var/lib/postgresql/data');

// The CSMS services: built from the Dockerfile's targets, started in order of health.
const order = { billing: ['postgres'], control: ['postgres'], gateway: ['control', 'billing'] };
for (const [n, deps] of Object.entries(order)) {
  const s = svc(n);
  const target = s.build && s.build.target;
  check(Boolean(target) && stages.has(target), n, `build.target "${target}" is not a stage of ${dockerfile}`);
  check(!/:latest$/.test(s.image || '') && /:/.test(s.image || ''), n, `image "${s.image}" needs a tag other than latest`);
  for (const d of deps) check(healthyDeps(s).includes(d), n, `must depend on ${d} with condition service_healthy`);
  check(!s.profiles, n, 'must not be in a profile (it is part of the default stack)');
}
for (const n of ['billing', 'control']) {
  const e = env(svc(n));
  check('DATABASE_URL' in e || 'PGHOST' in e, n, 'needs DATABASE_URL or the PG* variables');
}
const gw = svc('gateway');
const published = (gw.ports || []).map((p) => (typeof p === 'object' ? Number(p.target) : Number(String(p).split(':').pop().split('/')[0])));
check(published.includes(9000) && published.includes(8080), 'gateway', 'must publish 9000 (OCPP) and 8080 (HTTP)');
const outbox = env(gw).CSMS_OUTBOX_DIR;
check(Boolean(outbox) && (gw.volumes || []).some((v) => String(v).split(':')[1] === outbox), 'gateway',
  'CSMS_OUTBOX_DIR must be set and a named volume mounted there');
check(Boolean(env(gw).CSMS_ADVERTISE_ADDRESS), 'gateway', 'CSMS_ADVERTISE_ADDRESS must be set (control dials it)');
check(/^control:/.test(env(gw).CSMS_CONTROL_ADDRESS || '') && /^billing:/.test(env(gw).CSMS_BILLING_ADDRESS || ''), 'gateway',
  'CSMS_CONTROL_ADDRESS / CSMS_BILLING_ADDRESS must name the compose services');

// The demo profile: three simulated chargers, the first in the seed simulator's dialect.
const chargers = Object.entries(services).filter(([, s]) => (s.profiles || []).includes('demo'));
check(chargers.length === 3, 'demo profile', `must hold 3 chargers (holds ${chargers.length})`);
const want = { emart_jeju_01: 'seed', emart_jeju_02: 'standard', emart_jeju_03: 'standard' };
for (const [id, dialect] of Object.entries(want)) {
  const found = chargers.find(([, s]) => env(s).CSMS_SIM_ID === id);
  check(Boolean(found), 'demo profile', `no charger ${id}`);
  if (!found) continue;
  const [n, s] = found;
  check(env(s).CSMS_SIM_DIALECT === dialect, n, `${id} must use the ${dialect} dialect`);
  check(/^ws:\/\/gateway:9000\//.test(env(s).CSMS_SIM_URL || ''), n, 'CSMS_SIM_URL must point at ws://gateway:9000/');
  check(healthyDeps(s).includes('gateway'), n, 'must depend on gateway with condition service_healthy');
  check(Boolean(s.build && stages.has(s.build.target)), n, 'build.target must be a Dockerfile stage');
}

for (const v of ['pgdata', 'gateway-outbox']) {
  check(Boolean(compose.volumes && v in compose.volumes), 'volumes', `named volume ${v} missing`);
}

console.log(`validate-compose: ${Object.keys(services).length} services, ${checks} checks, ` +
  `${failures === 0 ? 'no problems' : `${failures} problem(s)`}`);
process.exit(failures === 0 ? 0 : 1);
