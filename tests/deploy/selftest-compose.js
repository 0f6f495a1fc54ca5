#!/usr/bin/env node
// Proves validate-compose.js catches what it claims to: each case below breaks one thing in a copy
// of docker-compose.yml's resolved configuration (or of the raw file, or of the Dockerfile), in a
// temporary folder, and expects validate-compose.js to fail with a matching message. The clean
// files must pass.
//
//   node tests/deploy/selftest-compose.js docker-compose.yml RESOLVED.yaml RESOLVED-GRPC-TLS.yaml \
//     RESOLVED-OPEN.yaml Dockerfile
// (the three resolved with --profile demo: plain, with deploy/docker/compose.grpc-tls.yml and
// with deploy/docker/compose.insecure-open.yml)
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const yaml = require('js-yaml');

const [rawFile, secureFile, grpcFile, openFile, dockerfile] = process.argv.slice(2);
if (!rawFile || !secureFile || !grpcFile || !openFile || !dockerfile) {
  console.error('usage: selftest-compose.js docker-compose.yml RESOLVED.yaml RESOLVED-GRPC-TLS.yaml RESOLVED-OPEN.yaml Dockerfile');
  process.exit(2);
}
const validator = path.join(__dirname, 'validate-compose.js');
const load = (f) => yaml.load(fs.readFileSync(f, 'utf8'));
const clean = { secure: load(secureFile), 'grpc-tls': load(grpcFile), open: load(openFile) };
const rawClean = fs.readFileSync(rawFile, 'utf8');
const dockerClean = fs.readFileSync(dockerfile, 'utf8');

const S = (c, n) => c.services[n];
const env = (c, n) => S(c, n).environment;
// Rewrites a service's volume entries (either syntax) with f({source, target, readOnly}) -> entry.
const mapVolumes = (c, n, f) => {
  S(c, n).volumes = S(c, n).volumes.map((v) => {
    const m = typeof v === 'object' ? { source: v.source, target: v.target, readOnly: v.read_only === true }
      : { source: v.split(':')[0], target: v.split(':')[1], readOnly: v.split(':')[2] === 'ro' };
    const r = f(m);
    return `${r.source}:${r.target}:${r.readOnly ? 'ro' : 'rw'}`;
  });
};
const charger = (c, id) => Object.keys(c.services).find((n) => (c.services[n].environment || {}).CSMS_SIM_ID === id);
const TOKEN = `csms_${'ab'.repeat(32)}`;

// [label, mode, expected FAIL line, mutate(resolved), mutateRaw(text) (optional),
//  mutateDockerfile(text) (optional)]
const cases = [
  ['no csms-secrets service', 'secure', /no service "csms-secrets"/, (c) => { delete c.services['csms-secrets']; }],
  ['csms-secrets restarted', 'secure', /csms-secrets: restart must be "no"/, (c) => { S(c, 'csms-secrets').restart = 'unless-stopped'; }],
  ['csms-secrets cannot write csms-admin', 'secure', /csms-secrets: must mount csms-admin read-write/, (c) => {
    mapVolumes(c, 'csms-secrets', (m) => ({ ...m, readOnly: m.source === 'csms-admin' }));
  }],
  ['control starts before the secrets exist', 'secure', /control: must depend on csms-secrets with condition service_completed_successfully/, (c) => {
    delete S(c, 'control').depends_on['csms-secrets'];
  }],
  ['billing without API keys', 'secure', /billing: CSMS_API_KEYS_FILE must be set/, (c) => { delete env(c, 'billing').CSMS_API_KEYS_FILE; }],
  ['control with API auth off', 'secure', /control: CSMS_API_AUTH must be unset or keys/, (c) => { env(c, 'control').CSMS_API_AUTH = 'off'; }],
  ['keys file outside the secret volume', 'secure', /control: \/tmp\/api-keys must be a file on the csms-secrets volume/, (c) => {
    env(c, 'control').CSMS_API_KEYS_FILE = '/tmp/api-keys';
  }],
  ['gateway secrets mounted read-write', 'secure', /gateway: volume csms-gateway-secrets must be mounted read-only/, (c) => {
    mapVolumes(c, 'gateway', (m) => ({ ...m, readOnly: m.source === 'csms-gateway-secrets' ? false : m.readOnly }));
  }],
  ['gateway without a service token', 'secure', /gateway: CSMS_SERVICE_TOKEN_FILE must be set/, (c) => { delete env(c, 'gateway').CSMS_SERVICE_TOKEN_FILE; }],
  // Control's own service token (ChargerLink requires the service role).
  ['control without a service token', 'secure', /control: CSMS_SERVICE_TOKEN_FILE must be set/, (c) => { delete env(c, 'control').CSMS_SERVICE_TOKEN_FILE; }],
  ['control reads the gateway\'s token', 'secure', /control: CSMS_SERVICE_TOKEN_FILE must not be the gateway's token/, (c) => {
    env(c, 'control').CSMS_SERVICE_TOKEN_FILE = env(c, 'gateway').CSMS_SERVICE_TOKEN_FILE;
    S(c, 'control').volumes.push('csms-gateway-secrets:/var/lib/csms/gateway-secrets:ro');
  }],
  ['control token outside its volume', 'secure', /control: \/tmp\/control\.token must be a file on the csms-control-secrets volume/, (c) => {
    env(c, 'control').CSMS_SERVICE_TOKEN_FILE = '/tmp/control.token';
  }],
  ['control mounts the gateway\'s secrets', 'secure', /control: must not mount csms-gateway-secrets/, (c) => {
    S(c, 'control').volumes.push('csms-gateway-secrets:/var/lib/csms/gateway-secrets:ro');
  }],
  ['gateway mounts control\'s secrets', 'secure', /gateway: must not mount csms-control-secrets/, (c) => {
    S(c, 'gateway').volumes.push('csms-control-secrets:/var/lib/csms/control-secrets:ro');
  }],
  ['billing mounts control\'s secrets', 'secure', /billing: must not mount csms-control-secrets/, (c) => {
    S(c, 'billing').volumes.push('csms-control-secrets:/var/lib/csms/control-secrets:ro');
  }],
  ['control secrets mounted read-write', 'secure', /control: volume csms-control-secrets must be mounted read-only/, (c) => {
    mapVolumes(c, 'control', (m) => ({ ...m, readOnly: m.source === 'csms-control-secrets' ? false : m.readOnly }));
  }],
  ['csms-secrets does not write control\'s volume', 'secure', /csms-secrets: must mount csms-control-secrets read-write/, (c) => {
    S(c, 'csms-secrets').volumes = S(c, 'csms-secrets').volumes.filter((v) => !String(v.source || v).startsWith('csms-control-secrets'));
  }],
  ['image lacks the control secrets folder', 'secure', /csms-secrets: \S+ must make \/var\/lib\/csms\/control-secrets/, null, null,
    (t) => t.replace(/[ \t]+\/var\/lib\/csms\/control-secrets\b/g, '')],
  ['station auth open', 'secure', /CSMS_STATION_AUTH must be required/, (c) => { env(c, 'gateway').CSMS_STATION_AUTH = 'open'; }],
  ['station auth unset (the binary default)', 'secure', /CSMS_STATION_AUTH must be required/, (c) => { delete env(c, 'gateway').CSMS_STATION_AUTH; }],
  ['9443 not published', 'secure', /gateway: must publish 9443/, (c) => {
    S(c, 'gateway').ports = S(c, 'gateway').ports.filter((p) => Number(p.target || String(p).split(':').pop()) !== 9443);
  }],
  ['no wss:// listener', 'secure', /CSMS_OCPP_TLS_LISTEN must listen on 9443/, (c) => { delete env(c, 'gateway').CSMS_OCPP_TLS_LISTEN; }],
  ['RSA certificate only', 'secure', /CSMS_OCPP_TLS_CERT must name two files/, (c) => {
    env(c, 'gateway').CSMS_OCPP_TLS_CERT = env(c, 'gateway').CSMS_OCPP_TLS_CERT.split(',')[0];
  }],
  ['TLS key outside the secret volume', 'secure', /gateway: \/etc\/server-ecdsa\.key must be a file on the csms-gateway-secrets volume/, (c) => {
    const e = env(c, 'gateway');
    e.CSMS_OCPP_TLS_KEY = `${e.CSMS_OCPP_TLS_KEY.split(',')[0]},/etc/server-ecdsa.key`;
  }],
  ['no charger CA (profile 3)', 'secure', /CSMS_OCPP_TLS_CLIENT_CA must be set/, (c) => { delete env(c, 'gateway').CSMS_OCPP_TLS_CLIENT_CA; }],
  ['TLS files never re-read', 'secure', /CSMS_OCPP_TLS_RELOAD_MS must be > 0/, (c) => { env(c, 'gateway').CSMS_OCPP_TLS_RELOAD_MS = '0'; }],
  ['gateway mounts the admin volume', 'secure', /gateway: must not mount csms-admin/, (c) => {
    S(c, 'gateway').volumes.push('csms-admin:/var/lib/csms/admin:ro');
  }],
  ['token as an environment value', 'secure', /gateway: CSMS_API_TOKEN holds an API token/, (c) => { env(c, 'gateway').CSMS_API_TOKEN = TOKEN; }],
  ['charger password in the environment', 'secure', /CSMS_SIM_PASSWORD is a secret value in the environment/, (c) => {
    env(c, charger(c, 'emart_jeju_02')).CSMS_SIM_PASSWORD = 'example-password-123';
  }],
  ['private key in the compose file', 'secure', /holds a PEM private key/, null, (t) => `${t}\n# -----BEGIN PRIVATE KEY-----\n`],
  ['keys-file line in the compose file', 'secure', /holds an API keys-file line/, null,
    (t) => `${t}\n# ops operate sha256$${'0'.repeat(32)}$${'1'.repeat(64)}\n`],
  ['variable without a default', 'secure', /\$\{CSMS_NEW\} has no default/, null, (t) => `${t}\nx-extra: \${CSMS_NEW}\n`],
  ['gRPC TLS on one service only', 'secure', /on for control only: turn it on for all three at once/, (c) => {
    Object.assign(env(c, 'control'), { CSMS_GRPC_TLS_CERT: '/var/lib/csms/secrets/grpc/server.pem',
      CSMS_GRPC_TLS_KEY: '/var/lib/csms/secrets/grpc/server.key', CSMS_GRPC_TLS_CA: '/var/lib/csms/secrets/grpc/ca.pem' });
  }],
  ['control gRPC published beyond loopback', 'secure', /control: port 50051 may be published on 127.0.0.1 only/, (c) => {
    S(c, 'control').ports = ['50051:50051/tcp'];
  }],
  ['no demo provisioning', 'secure', /needs a provisioning service from the secrets stage/, (c) => {
    delete c.services['demo-provision'];
    for (const n of Object.keys(c.services)) if (c.services[n].depends_on) delete c.services[n].depends_on['demo-provision'];
  }],
  ['demo charger starts before it is provisioned', 'secure', /must depend on demo-provision with condition service_completed_successfully/, (c) => {
    delete S(c, charger(c, 'emart_jeju_03')).depends_on['demo-provision'];
  }],
  ['demo charger provisioned with the wrong profile', 'secure', /must provision emart_jeju_02 with security profile 1/, (c) => {
    S(c, 'demo-provision').command = S(c, 'demo-provision').command.map((a) => a.replace('emart_jeju_02:1', 'emart_jeju_02:0'));
  }],
  ['profile 2 charger on ws://', 'secure', /CSMS_SIM_URL must point at wss:\/\/gateway:9443\//, (c) => {
    env(c, charger(c, 'emart_jeju_03')).CSMS_SIM_URL = 'ws://gateway:9000/ocpp';
  }],
  ['wss:// charger without the root CA', 'secure', /CSMS_SIM_CA_FILE must name the root CA/, (c) => {
    delete env(c, charger(c, 'emart_jeju_03')).CSMS_SIM_CA_FILE;
  }],
  ['demo charger may write the password volume', 'secure', /volume csms-demo-chargers must be mounted read-only/, (c) => {
    mapVolumes(c, charger(c, 'emart_jeju_01'), (m) => ({ ...m, readOnly: false }));
  }],
  ['gRPC TLS override misses a file', 'grpc-tls', /billing: gRPC TLS: .* must all be set/, (c) => { delete env(c, 'billing').CSMS_GRPC_TLS_CA; }],
  ['open override leaves the gateway keys on', 'open', /open mode: CSMS_API_KEYS_FILE must be empty/, (c) => {
    env(c, 'gateway').CSMS_API_KEYS_FILE = '/var/lib/csms/secrets/api-keys';
  }],
  ['open override without CSMS_API_AUTH=off', 'open', /billing: open mode: CSMS_API_AUTH must be off/, (c) => {
    delete env(c, 'billing').CSMS_API_AUTH;
  }],
  ['open override leaves control\'s service token', 'open', /control: open mode: CSMS_SERVICE_TOKEN_FILE must be empty/, (c) => {
    env(c, 'control').CSMS_SERVICE_TOKEN_FILE = '/var/lib/csms/control-secrets/control.token';
  }],
];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'csms-compose-selftest-'));
const run = (mode, resolved, rawText, dockerText) => {
  fs.writeFileSync(path.join(dir, 'resolved.yaml'), yaml.dump(resolved));
  fs.writeFileSync(path.join(dir, 'docker-compose.yml'), rawText);
  fs.writeFileSync(path.join(dir, 'Dockerfile'), dockerText);
  return spawnSync(process.execPath, [validator, '--mode', mode, path.join(dir, 'docker-compose.yml'),
    path.join(dir, 'resolved.yaml'), path.join(dir, 'Dockerfile')], { encoding: 'utf8' });
};

let bad = 0;
let total = 0;
try {
  for (const mode of Object.keys(clean)) {
    total++;
    const r = run(mode, clean[mode], rawClean, dockerClean);
    if (r.status !== 0) {
      bad++;
      console.log(`FAIL clean configuration (${mode}) does not pass:\n${r.stdout}${r.stderr}`);
    } else {
      console.log(`ok   clean configuration passes (${mode})`);
    }
  }
  for (const [label, mode, expected, mutate, mutateRaw, mutateDockerfile] of cases) {
    total++;
    const resolved = JSON.parse(JSON.stringify(clean[mode]));
    if (mutate) mutate(resolved);
    const r = run(mode, resolved, mutateRaw ? mutateRaw(rawClean) : rawClean,
      mutateDockerfile ? mutateDockerfile(dockerClean) : dockerClean);
    const failLines = r.stdout.split('\n').filter((l) => l.startsWith('FAIL')).join('\n');
    if (r.status === 1 && expected.test(failLines)) {
      console.log(`ok   caught: ${label}`);
    } else {
      bad++;
      console.log(`FAIL not caught: ${label} (exit ${r.status}; expected ${expected})\n${failLines || r.stdout}${r.stderr}`);
    }
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
console.log(`selftest-compose: ${total - bad}/${total} cases as expected`);
process.exit(bad === 0 ? 0 : 1);
