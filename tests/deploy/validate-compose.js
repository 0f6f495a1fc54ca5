#!/usr/bin/env node
// Checks docker-compose.yml beyond what `docker-compose config -q` checks (its syntax):
// the services, their start order by health, the demo profile, the volumes and ports, that every
// ${VAR} has a default, and the security set-up (docs/deploy.md "docker-compose"): the one-shot
// csms-secrets service, API keys on all three services, the gateway's and control's own service
// tokens (each from its own volume), station auth required, wss:// on 9443, secret volumes
// read-only and only in the services that need them, their mount points made by the image (so a
// new volume is writable by uid 10001), and no secret value in the file. Reads the file itself,
// the output of `docker-compose config` and the Dockerfile.
//
//   docker-compose -f docker-compose.yml --profile demo config > resolved.yaml
//   node tests/deploy/validate-compose.js [--mode M] docker-compose.yml resolved.yaml Dockerfile
//
// --mode secure     (default) the stack as shipped
// --mode grpc-tls   resolved with deploy/docker/compose.grpc-tls.yml: secure, plus gRPC TLS on all
//                   three services from the csms-secrets volume
// --mode open       resolved with deploy/docker/compose.insecure-open.yml: the override really
//                   turns authentication off (so the documented switch works); no security checks
// tests/deploy/selftest-compose.js proves each check fails on a broken copy.
'use strict';

const fs = require('fs');
const yaml = require('js-yaml');

const argv = process.argv.slice(2);
let mode = 'secure';
const modeAt = argv.indexOf('--mode');
if (modeAt >= 0) {
  mode = argv[modeAt + 1];
  argv.splice(modeAt, 2);
}
const [rawFile, resolvedFile, dockerfile] = argv;
if (!rawFile || !resolvedFile || !dockerfile || !['secure', 'grpc-tls', 'open'].includes(mode)) {
  console.error('usage: validate-compose.js [--mode secure|grpc-tls|open] docker-compose.yml RESOLVED.yaml Dockerfile');
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

// Secret values, wherever they would show: a CSMS API token, a keys-file line (a hash, but tied
// to a token that then lives somewhere), a PEM private key.
const SECRET_PATTERNS = [
  [/csms_[0-9a-f]{64}/, 'an API token'],
  [/sha256\$[0-9a-f]{32}\$[0-9a-f]{64}/, 'an API keys-file line'],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a PEM private key'],
];
const secretIn = (text) => SECRET_PATTERNS.find(([re]) => re.test(String(text)));

// Configuration by environment only, each variable with a default: ${VAR:-default}.
const raw = fs.readFileSync(rawFile, 'utf8');
for (const [i, line] of raw.split('\n').entries()) {
  const found = secretIn(line);
  check(!found, `${rawFile}:${i + 1}`, `holds ${found && found[1]}: secrets belong in the csms-secrets volumes`);
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
const depsWith = (s, condition) => Object.entries(s.depends_on || {}).filter(([, v]) => v && v.condition === condition).map(([k]) => k);
const healthyDeps = (s) => depsWith(s, 'service_healthy');
const env = (s) => s.environment || {};
// Volumes in either syntax: "src:target[:mode]" or {type, source, target, read_only}.
const mounts = (s) => (s.volumes || []).map((v) => {
  if (typeof v === 'object') return { source: v.source, target: v.target, readOnly: v.read_only === true };
  const parts = String(v).split(':');
  return { source: parts[0], target: parts[1], readOnly: (parts[2] || '').split(',').includes('ro') };
});
// Ports in either syntax: "[ip:]published:target[/proto]" or {host_ip, published, target}.
const ports = (s) => (s.ports || []).map((p) => {
  if (typeof p === 'object') return { hostIp: p.host_ip || '', target: Number(p.target) };
  const parts = String(p).split('/')[0].split(':');
  return { hostIp: parts.length === 3 ? parts[0] : '', target: Number(parts[parts.length - 1]) };
});
const under = (path, dir) => typeof path === 'string' && path.startsWith(`${dir.replace(/\/$/, '')}/`);
const mountOf = (s, path) => mounts(s).find((m) => under(path, m.target));

// PostgreSQL 15 with a named volume and a pg_isready health check.
const pg = svc('postgres');
check(/^postgres:15(\b|$)/.test(pg.image || ''), 'postgres', `image must be postgres:15 (is ${pg.image})`);
check(JSON.stringify((pg.healthcheck || {}).test || '').includes('pg_isready'), 'postgres', 'healthcheck must run pg_isready');
check((pg.volumes || []).some((v) => String(v).startsWith('pgdata:/var/lib/postgresql/data') ||
  (v.source === 'pgdata' && v.target === '/var/lib/postgresql/data')), 'postgres', 'named volume pgdata must hold /var/lib/postgresql/data');

// The CSMS services: built from the Dockerfile's targets, started in order of health.
const order = { billing: ['postgres'], control: ['postgres'], gateway: ['control', 'billing'] };
for (const [n, deps] of Object.entries(order)) {
  const s = svc(n);
  const target = s.build && s.build.target;
  check(Boolean(target) && stages.has(target), n, `build.target "${target}" is not a stage of ${dockerfile}`);
  check(!/:latest$/.test(s.image || '') && /:/.test(s.image || ''), n, `image "${s.image}" needs a tag other than latest`);
  for (const d of deps) check(healthyDeps(s).includes(d), n, `must depend on ${d} with condition service_healthy`);
  check(!s.profiles, n, 'must not be in a profile (it is part of the default stack)');
  // gRPC ports stay on the host's loopback (and ChargerLink, 50053, unpublished).
  for (const p of ports(s)) {
    if ([50051, 50052].includes(p.target)) check(p.hostIp === '127.0.0.1', n, `port ${p.target} may be published on 127.0.0.1 only`);
    check(p.target !== 50053, n, 'ChargerLink (50053) must not be published');
  }
}
for (const n of ['billing', 'control']) {
  const e = env(svc(n));
  check('DATABASE_URL' in e || 'PGHOST' in e, n, 'needs DATABASE_URL or the PG* variables');
}
const gw = svc('gateway');
const published = ports(gw).map((p) => p.target);
check(published.includes(9000) && published.includes(8080), 'gateway', 'must publish 9000 (OCPP) and 8080 (HTTP)');
const outbox = env(gw).CSMS_OUTBOX_DIR;
check(Boolean(outbox) && mounts(gw).some((m) => m.target === outbox), 'gateway', 'CSMS_OUTBOX_DIR must be set and a named volume mounted there');
check(Boolean(env(gw).CSMS_ADVERTISE_ADDRESS), 'gateway', 'CSMS_ADVERTISE_ADDRESS must be set (control dials it)');
check(/^control:/.test(env(gw).CSMS_CONTROL_ADDRESS || '') && /^billing:/.test(env(gw).CSMS_BILLING_ADDRESS || ''), 'gateway',
  'CSMS_CONTROL_ADDRESS / CSMS_BILLING_ADDRESS must name the compose services');

// The demo profile: three simulated chargers, the first in the seed simulator's dialect (which
// sends no credentials: security profile 0), one per profile the simulator can show: 1 (HTTP
// Basic on ws://) and 2 (HTTP Basic on wss://, trusting the CSMS root CA).
const chargers = Object.entries(services).filter(([, s]) => (s.profiles || []).includes('demo') && env(s).CSMS_SIM_ID);
check(chargers.length === 3, 'demo profile', `must hold 3 chargers (holds ${chargers.length})`);
const want = {
  emart_jeju_01: { dialect: 'seed', profile: 0, url: 'ws://gateway:9000/' },
  emart_jeju_02: { dialect: 'standard', profile: 1, url: 'ws://gateway:9000/' },
  emart_jeju_03: { dialect: 'standard', profile: 2, url: 'wss://gateway:9443/' },
};
for (const [id, w] of Object.entries(want)) {
  const found = chargers.find(([, s]) => env(s).CSMS_SIM_ID === id);
  check(Boolean(found), 'demo profile', `no charger ${id}`);
  if (!found) continue;
  const [n, s] = found;
  check(env(s).CSMS_SIM_DIALECT === w.dialect, n, `${id} must use the ${w.dialect} dialect`);
  check((env(s).CSMS_SIM_URL || '').startsWith(w.url), n, `CSMS_SIM_URL must point at ${w.url}`);
  if (w.url.startsWith('wss:')) {
    const ca = env(s).CSMS_SIM_CA_FILE;
    check(Boolean(ca) && Boolean(mountOf(s, ca)), n, 'CSMS_SIM_CA_FILE must name the root CA on a mounted volume');
  }
  check(healthyDeps(s).includes('gateway'), n, 'must depend on gateway with condition service_healthy');
  check(Boolean(s.build && stages.has(s.build.target)), n, 'build.target must be a Dockerfile stage');
}

for (const v of ['pgdata', 'gateway-outbox']) {
  check(Boolean(compose.volumes && v in compose.volumes), 'volumes', `named volume ${v} missing`);
}

// ---------------------------------------------------------------------------------------------
// Security.
// ---------------------------------------------------------------------------------------------
const CSMS = ['billing', 'control', 'gateway'];
// The named volumes csms-secrets writes, where it mounts them, and who may read them.
const SECRET_VOLUMES = {
  'csms-secrets': '/var/lib/csms/secrets', // keys file (hashes), gRPC TLS: all three services
  'csms-gateway-secrets': '/var/lib/csms/gateway-secrets', // service token, OCPP TLS keys: gateway
  'csms-control-secrets': '/var/lib/csms/control-secrets', // control's service token: control
  'csms-admin': '/var/lib/csms/admin', // operate/read tokens, CA keys: no service
};
// The services that may mount each one (read-only), besides the secrets tool. A service token
// volume belongs to its one service: control never reads the gateway's token, nor the reverse.
const READERS = {
  'csms-secrets': CSMS,
  'csms-gateway-secrets': ['gateway'],
  'csms-control-secrets': ['control'],
  'csms-admin': [],
};
const secretsStage = 'secrets';
const isSecretsTool = (s) => Boolean(s.build && s.build.target === secretsStage);
// A file the service reads from a secret volume mounted read-only.
const secretFile = (n, s, path, volume) => {
  const m = mountOf(s, path);
  check(Boolean(m) && (!volume || m.source === volume), n,
    `${path || '(empty)'} must be a file on the ${volume || 'a secret'} volume (mounted at ${SECRET_VOLUMES[volume] || '?'})`);
  if (m) check(m.readOnly, n, `volume ${m.source} must be mounted read-only (:ro)`);
};

if (mode === 'open') {
  // The override must really open everything it claims to, or the documented switch is broken.
  for (const n of CSMS) {
    check(env(svc(n)).CSMS_API_AUTH === 'off', n, 'open mode: CSMS_API_AUTH must be off');
    check(env(svc(n)).CSMS_API_KEYS_FILE === '', n, 'open mode: CSMS_API_KEYS_FILE must be empty (a keys file contradicts CSMS_API_AUTH=off)');
  }
  for (const n of ['gateway', 'control']) {
    check(env(svc(n)).CSMS_SERVICE_TOKEN_FILE === '', n, 'open mode: CSMS_SERVICE_TOKEN_FILE must be empty');
  }
  check(env(gw).CSMS_STATION_AUTH === 'open', 'gateway', 'open mode: CSMS_STATION_AUTH must be open');
} else {
  // The one-shot that writes the secrets: from the secrets stage, never restarted, in the default
  // stack, writing all three volumes.
  const init = svc('csms-secrets');
  check(isSecretsTool(init), 'csms-secrets', `build.target must be the "${secretsStage}" stage`);
  check(stages.has(secretsStage), dockerfile, `no "${secretsStage}" stage`);
  check(!init.restart || init.restart === 'no', 'csms-secrets', `restart must be "no" (a one-shot; is ${init.restart})`);
  check(!init.profiles, 'csms-secrets', 'must not be in a profile (the default stack needs it)');
  for (const [v, path] of Object.entries(SECRET_VOLUMES)) {
    check(mounts(init).some((m) => m.source === v && m.target === path && !m.readOnly), 'csms-secrets', `must mount ${v} read-write at ${path}`);
    check(Boolean(compose.volumes && v in compose.volumes), 'volumes', `named volume ${v} missing`);
  }

  for (const n of CSMS) {
    const s = svc(n);
    const e = env(s);
    check(depsWith(s, 'service_completed_successfully').includes('csms-secrets'), n,
      'must depend on csms-secrets with condition service_completed_successfully');
    check(Boolean(e.CSMS_API_KEYS_FILE), n, 'CSMS_API_KEYS_FILE must be set (API keys on)');
    check(e.CSMS_API_AUTH === undefined || e.CSMS_API_AUTH === 'keys', n, `CSMS_API_AUTH must be unset or keys (is ${e.CSMS_API_AUTH})`);
    secretFile(n, s, e.CSMS_API_KEYS_FILE, 'csms-secrets');
    // gRPC TLS: all three or none (a plaintext client cannot reach a TLS port).
    const tls = ['CSMS_GRPC_TLS_CERT', 'CSMS_GRPC_TLS_KEY', 'CSMS_GRPC_TLS_CA'];
    const set = tls.filter((k) => e[k]);
    if (mode === 'grpc-tls') {
      check(set.length === 3, n, `gRPC TLS: ${tls.join(', ')} must all be set`);
      for (const k of set) secretFile(n, s, e[k], 'csms-secrets');
    }
    const grpcOn = CSMS.filter((m) => tls.every((k) => env(services[m] || {})[k]));
    check(set.length === 0 || set.length === 3, n, `set all or none of ${tls.join(', ')}`);
    if (n === 'gateway') check(grpcOn.length === 0 || grpcOn.length === 3, 'gRPC TLS', `on for ${grpcOn.join(', ')} only: turn it on for all three at once`);
  }

  const ge = env(gw);
  check(Boolean(ge.CSMS_SERVICE_TOKEN_FILE), 'gateway', 'CSMS_SERVICE_TOKEN_FILE must be set (its service token)');
  secretFile('gateway', gw, ge.CSMS_SERVICE_TOKEN_FILE, 'csms-gateway-secrets');
  // Control's own key for ChargerLink (the gateway requires the service role there): a file on
  // its own volume, never the gateway's token.
  const ctl = svc('control');
  const ce = env(ctl);
  check(Boolean(ce.CSMS_SERVICE_TOKEN_FILE), 'control', 'CSMS_SERVICE_TOKEN_FILE must be set (its service token for ChargerLink)');
  secretFile('control', ctl, ce.CSMS_SERVICE_TOKEN_FILE, 'csms-control-secrets');
  check(!ce.CSMS_SERVICE_TOKEN_FILE || ce.CSMS_SERVICE_TOKEN_FILE !== ge.CSMS_SERVICE_TOKEN_FILE, 'control',
    'CSMS_SERVICE_TOKEN_FILE must not be the gateway\'s token: control has its own key');
  check(ge.CSMS_STATION_AUTH === 'required', 'gateway', `CSMS_STATION_AUTH must be required (is ${ge.CSMS_STATION_AUTH})`);
  check(/:9443$/.test(ge.CSMS_OCPP_TLS_LISTEN || ''), 'gateway', 'CSMS_OCPP_TLS_LISTEN must listen on 9443 (wss://)');
  check(published.includes(9443), 'gateway', 'must publish 9443 (OCPP over TLS)');
  const list = (v) => String(v || '').split(',').filter(Boolean);
  for (const k of ['CSMS_OCPP_TLS_CERT', 'CSMS_OCPP_TLS_KEY']) {
    check(list(ge[k]).length === 2, 'gateway', `${k} must name two files, RSA and ECDSA (OCPP needs both suites)`);
    for (const f of list(ge[k])) secretFile('gateway', gw, f, 'csms-gateway-secrets');
  }
  check(Boolean(ge.CSMS_OCPP_TLS_CLIENT_CA), 'gateway', 'CSMS_OCPP_TLS_CLIENT_CA must be set (profile 3)');
  secretFile('gateway', gw, ge.CSMS_OCPP_TLS_CLIENT_CA, 'csms-gateway-secrets');
  check(Number(ge.CSMS_OCPP_TLS_RELOAD_MS ?? 30000) > 0, 'gateway', 'CSMS_OCPP_TLS_RELOAD_MS must be > 0 (renewed certificates)');

  // Who reads what: secret volumes read-only outside the secrets tool, and only in the services
  // that need them; the admin volume (operator tokens, CA keys) in no service at all; and no
  // secret passed as a value.
  for (const [n, s] of Object.entries(services)) {
    for (const m of mounts(s)) {
      if (!(m.source in SECRET_VOLUMES) && m.source !== 'csms-demo-chargers') continue;
      if (!isSecretsTool(s)) {
        check(m.readOnly, n, `volume ${m.source} must be mounted read-only (:ro)`);
        check(m.source !== 'csms-admin', n, 'must not mount csms-admin (operator tokens and CA keys)');
        if (m.source in READERS && m.source !== 'csms-admin') {
          check(READERS[m.source].includes(n), n, `must not mount ${m.source} (only ${READERS[m.source].join(', ')} may read it)`);
        }
      }
    }
    for (const [k, v] of Object.entries(env(s))) {
      const found = secretIn(v);
      check(!found, n, `${k} holds ${found && found[1]}`);
      // Database passwords are the one documented exception (example default, POSTGRES_PASSWORD).
      if (/(TOKEN|PASSWORD|SECRET|PRIVATE_KEY|API_KEY)$/.test(k) && !['PGPASSWORD', 'POSTGRES_PASSWORD'].includes(k)) {
        check(!v, n, `${k} is a secret value in the environment: pass a file (${k}_FILE) on a secret volume`);
      }
    }
  }
  check(!mounts(gw).some((m) => m.source === 'csms-admin'), 'gateway', 'must not mount csms-admin');

  // A new named volume takes the owner and mode of the image's folder at its mount point; where
  // the image has none, the volume is root's and the secrets tool (uid 10001) cannot write it.
  // So every volume a secrets-stage service writes must be mounted at a folder the Dockerfile
  // makes with `install -d -o csms|10001 ... -m 0700`.
  const imageDirs = new Set();
  const dockerText = fs.readFileSync(dockerfile, 'utf8').replace(/\\\n/g, ' ');
  for (const seg of dockerText.split(/&&|;|\n/)) {
    const t = seg.trim().split(/\s+/);
    const at = t.indexOf('install');
    if (at < 0 || !t.slice(at + 1).includes('-d')) continue;
    let owner = '';
    let modeBits = '';
    const dirs = [];
    for (let i = at + 1; i < t.length; i++) {
      if (t[i] === '-o') owner = t[++i];
      else if (t[i] === '-m') modeBits = t[++i];
      else if (t[i] === '-g') i++;
      else if (!t[i].startsWith('-')) dirs.push(t[i]);
    }
    if (['csms', '10001'].includes(owner) && modeBits === '0700') dirs.forEach((d) => imageDirs.add(d.replace(/\/$/, '')));
  }
  for (const [n, s] of Object.entries(services).filter(([, x]) => isSecretsTool(x))) {
    for (const m of mounts(s)) {
      if (m.readOnly || !(m.source in SECRET_VOLUMES || m.source === 'csms-demo-chargers')) continue;
      check(imageDirs.has(m.target), n, `${dockerfile} must make ${m.target} (install -d -o csms -g csms -m 0700), ` +
        `or a new ${m.source} volume belongs to root and uid 10001 cannot write it`);
    }
  }

  // The demo chargers are provisioned (station auth is required) by demo-provision, with the
  // operate token, before they start; their passwords come from a file.
  const prov = Object.entries(services).find(([, s]) => (s.profiles || []).includes('demo') && isSecretsTool(s));
  check(Boolean(prov), 'demo profile', 'needs a provisioning service from the secrets stage (demo-provision)');
  if (prov) {
    const [pn, p] = prov;
    check(healthyDeps(p).includes('gateway'), pn, 'must depend on gateway with condition service_healthy');
    check(mounts(p).some((m) => m.source === 'csms-admin' && m.readOnly), pn, 'must mount csms-admin read-only (the operate token)');
    check(mounts(p).some((m) => m.source === 'csms-demo-chargers' && !m.readOnly), pn, 'must mount csms-demo-chargers read-write');
    check(!p.restart || p.restart === 'no', pn, `restart must be "no" (is ${p.restart})`);
    const cmd = [].concat(p.command || []);
    for (const [id, w] of Object.entries(want)) {
      check(cmd.includes(`${id}:${w.profile}`), pn, `must provision ${id} with security profile ${w.profile} (command: ${cmd.join(' ')})`);
    }
    for (const [n, s] of chargers) {
      check(depsWith(s, 'service_completed_successfully').includes(pn), n, `must depend on ${pn} with condition service_completed_successfully`);
      check(mounts(s).some((m) => m.source === 'csms-demo-chargers' && m.readOnly), n, 'must mount csms-demo-chargers read-only (its password)');
    }
  }
}

console.log(`validate-compose (${mode}): ${Object.keys(services).length} services, ${checks} checks, ` +
  `${failures === 0 ? 'no problems' : `${failures} problem(s)`}`);
process.exit(failures === 0 ? 0 : 1);
