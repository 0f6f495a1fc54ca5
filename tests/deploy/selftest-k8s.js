#!/usr/bin/env node
// Proves validate-k8s.js catches what it claims to: each case below breaks one thing in a copy of
// the rendered overlay (in a temporary folder) and expects validate-k8s.js to fail with a
// matching message. The clean rendering must pass. With --sources, the same for copies of the
// committed deploy/k8s tree (validate-k8s.js --sources).
//
//   node tests/deploy/selftest-k8s.js rendered.yaml [--sources deploy/k8s]
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const yaml = require('js-yaml');

const source = process.argv[2];
const sourcesDir = process.argv[3] === '--sources' ? process.argv[4] : null;
if (!source || (process.argv[3] && !sourcesDir)) {
  console.error('usage: selftest-k8s.js RENDERED.yaml [--sources DIR]');
  process.exit(2);
}
const validator = path.join(__dirname, 'validate-k8s.js');
const clean = yaml.loadAll(fs.readFileSync(source, 'utf8')).filter(Boolean);
const find = (docs, kind, n) => docs.find((d) => d.kind === kind && d.metadata.name.startsWith(n));
const container = (docs, n) => find(docs, 'Deployment', n).spec.template.spec.containers[0];
const setEnv = (c, n, value) => {
  const e = c.env.find((x) => x.name === n);
  if (e) e.value = value;
  else c.env.push({ name: n, value });
};

const cases = [
  ['unknown kind', /no kubernetes-models schema/, (d) => d.push({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } })],
  ['unknown apiVersion of a known kind', /no kubernetes-models schema/, (d) => { find(d, 'HorizontalPodAutoscaler', 'csms-gateway').apiVersion = 'autoscaling/v9'; }],
  ['wrong type (replicas as a string)', /schema:.*replicas/, (d) => { find(d, 'Deployment', 'csms-control').spec.replicas = 'two'; }],
  ['missing required field (container name)', /schema:.*name/, (d) => { delete container(d, 'csms-billing').name; }],
  ['typo in a container field', /unknown field spec\.template\.spec\.containers\[0\]\.readinesProbe/, (d) => {
    const c = container(d, 'csms-gateway');
    c.readinesProbe = c.readinessProbe;
  }],
  ['typo deep in a probe', /unknown field .*readinessProbe\.grpc\.prot/, (d) => { container(d, 'csms-control').readinessProbe.grpc.prot = 1; }],
  ['typo in metadata', /unknown field metadata\.lables/, (d) => { find(d, 'Service', 'csms-gateway').metadata.lables = { a: 'b' }; }],
  ['gateway with one replica', /replicas must be >= 2/, (d) => { find(d, 'Deployment', 'csms-gateway').spec.replicas = 1; }],
  ['HPA minReplicas 1', /minReplicas must be >= 2/, (d) => { find(d, 'HorizontalPodAutoscaler', 'csms-gateway').spec.minReplicas = 1; }],
  ['container without resources', /resources\.limits\.memory missing/, (d) => { delete container(d, 'csms-billing').resources.limits; }],
  ['container without readiness probe', /readinessProbe/, (d) => { delete container(d, 'csms-control').readinessProbe; }],
  ['control probe not gRPC', /must be a gRPC probe/, (d) => { container(d, 'csms-control').readinessProbe = { tcpSocket: { port: 50051 } }; }],
  ['control liveness not /healthz', /livenessProbe must be an HTTP GET of \/healthz/, (d) => { container(d, 'csms-control').livenessProbe = { tcpSocket: { port: 50051 } }; }],
  ['container running as root', /runAsUser must not be 0/, (d) => { container(d, 'csms-gateway').securityContext.runAsUser = 0; }],
  ['runAsNonRoot off', /runAsNonRoot must be true/, (d) => {
    const dep = find(d, 'Deployment', 'csms-billing');
    dep.spec.template.spec.securityContext.runAsNonRoot = false;
    delete dep.spec.template.spec.containers[0].securityContext.runAsNonRoot;
  }],
  ['image :latest', /must be pinned/, (d) => { container(d, 'csms-gateway').image = 'registry.example.com/csms/csms-gateway:latest'; }],
  ['image without a tag', /must be pinned/, (d) => { container(d, 'csms-control').image = 'registry.example.com/csms/csms-control'; }],
  ['advertise address not the pod IP', /CSMS_ADVERTISE_ADDRESS/, (d) => {
    container(d, 'csms-gateway').env.find((e) => e.name === 'CSMS_ADVERTISE_ADDRESS').value = '127.0.0.1:50053';
  }],
  ['PDB missing', /no PodDisruptionBudget/, (d) => { d.splice(d.indexOf(find(d, 'PodDisruptionBudget', 'csms-control')), 1); }],
  ['Service selector typo', /matches no workload/, (d) => { find(d, 'Service', 'csms-billing').spec.selector['app.kubernetes.io/name'] = 'csms-biling'; }],
  ['Secret missing from the rendering', /not in the rendered manifests/, (d) => { d.splice(d.indexOf(find(d, 'Secret', 'csms-database')), 1); }],
  // Security.
  ['control without API keys', /csms-control container control: CSMS_API_KEYS_FILE must be set/, (d) => {
    const c = container(d, 'csms-control');
    c.env = c.env.filter((e) => e.name !== 'CSMS_API_KEYS_FILE');
  }],
  ['billing keys file not on a Secret volume', /csms-billing container billing: CSMS_API_KEYS_FILE \(\/tmp\/api-keys\) must name a file in a Secret volume/, (d) => {
    setEnv(container(d, 'csms-billing'), 'CSMS_API_KEYS_FILE', '/tmp/api-keys');
  }],
  ['keys file name not a key of its Secret', /CSMS_API_KEYS_FILE: Secret csms-api-keys-\S+ has no key "keys"/, (d) => {
    setEnv(container(d, 'csms-gateway'), 'CSMS_API_KEYS_FILE', '/etc/csms/api-keys/keys');
  }],
  ['API auth off in a ConfigMap', /csms-billing container billing: CSMS_API_AUTH must be unset or keys \(is off\)/, (d) => {
    find(d, 'ConfigMap', 'csms-billing-config').data.CSMS_API_AUTH = 'off';
  }],
  ['gateway without a service token', /CSMS_SERVICE_TOKEN_FILE must be set/, (d) => {
    const c = container(d, 'csms-gateway');
    c.env = c.env.filter((e) => e.name !== 'CSMS_SERVICE_TOKEN_FILE');
  }],
  // Control's own service token for ChargerLink.
  ['control without a service token', /csms-control\S* container control: CSMS_SERVICE_TOKEN_FILE must be set/, (d) => {
    const c = container(d, 'csms-control');
    c.env = c.env.filter((e) => e.name !== 'CSMS_SERVICE_TOKEN_FILE');
  }],
  ['control token not on a Secret volume', /csms-control\S* container control: CSMS_SERVICE_TOKEN_FILE \(\/tmp\/token\) must name a file in a Secret volume/, (d) => {
    setEnv(container(d, 'csms-control'), 'CSMS_SERVICE_TOKEN_FILE', '/tmp/token');
  }],
  ['control token name not a key of its Secret', /CSMS_SERVICE_TOKEN_FILE: Secret csms-control-token-\S+ has no key "control\.token"/, (d) => {
    setEnv(container(d, 'csms-control'), 'CSMS_SERVICE_TOKEN_FILE', '/etc/csms/service-token/control.token');
  }],
  ['control reads the gateway\'s token Secret', /Deployment\/csms-control: CSMS_SERVICE_TOKEN_FILE must not read the gateway's token Secret/, (d) => {
    const gwSecret = find(d, 'Deployment', 'csms-gateway').spec.template.spec.volumes.find((v) => v.name === 'service-token').secret.secretName;
    find(d, 'Deployment', 'csms-control').spec.template.spec.volumes.find((v) => v.name === 'service-token').secret.secretName = gwSecret;
  }],
  ['control mounts the gateway\'s token Secret', /Deployment\/csms-control: must not mount the gateway's token Secret/, (d) => {
    const gwSecret = find(d, 'Deployment', 'csms-gateway').spec.template.spec.volumes.find((v) => v.name === 'service-token').secret.secretName;
    const dep = find(d, 'Deployment', 'csms-control');
    dep.spec.template.spec.volumes.push({ name: 'gateway-token', secret: { secretName: gwSecret, defaultMode: 0o440 } });
    dep.spec.template.spec.containers[0].volumeMounts.push({ name: 'gateway-token', mountPath: '/etc/csms/gateway-token', readOnly: true });
  }],
  ['gateway mounts control\'s token Secret', /Deployment\/csms-gateway: must not mount control's token Secret/, (d) => {
    const ctlSecret = find(d, 'Deployment', 'csms-control').spec.template.spec.volumes.find((v) => v.name === 'service-token').secret.secretName;
    const dep = find(d, 'Deployment', 'csms-gateway');
    dep.spec.template.spec.volumes.push({ name: 'control-token', secret: { secretName: ctlSecret, defaultMode: 0o440 } });
    dep.spec.template.spec.containers[0].volumeMounts.push({ name: 'control-token', mountPath: '/etc/csms/control-token', readOnly: true });
  }],
  ['control token Secret made from the gateway\'s token', /Secret\/csms-control-token-\S+: holds the same token as csms-gateway-token/, (d) => {
    find(d, 'Secret', 'csms-control-token').data.token = find(d, 'Secret', 'csms-gateway-token').data.token;
  }],
  ['control token mounted writable', /csms-control\S* container control: Secret volume service-token must be mounted readOnly: true/, (d) => {
    container(d, 'csms-control').volumeMounts.find((m) => m.name === 'service-token').readOnly = false;
  }],
  ['control token mounted with subPath', /csms-control\S* container control: Secret volume service-token must be mounted whole/, (d) => {
    const m = container(d, 'csms-control').volumeMounts.find((x) => x.name === 'service-token');
    m.mountPath = '/etc/csms/service-token/token';
    m.subPath = 'token';
  }],
  ['station auth open', /CSMS_STATION_AUTH must be "required"/, (d) => { setEnv(container(d, 'csms-gateway'), 'CSMS_STATION_AUTH', 'open'); }],
  ['station auth only in the ConfigMap', /CSMS_STATION_AUTH must be "required" in the container env/, (d) => {
    const c = container(d, 'csms-gateway');
    c.env = c.env.filter((e) => e.name !== 'CSMS_STATION_AUTH');
    find(d, 'ConfigMap', 'csms-gateway-config').data.CSMS_STATION_AUTH = 'required';
  }],
  ['no wss:// listener', /CSMS_OCPP_TLS_LISTEN must listen on 9443/, (d) => {
    const c = container(d, 'csms-gateway');
    c.env = c.env.filter((e) => e.name !== 'CSMS_OCPP_TLS_LISTEN');
  }],
  ['no container port 9443', /must declare containerPort 9443/, (d) => {
    const c = container(d, 'csms-gateway');
    c.ports = c.ports.filter((p) => p.containerPort !== 9443);
    const lb = find(d, 'Service', 'csms-gateway');
    lb.spec.ports = lb.spec.ports.filter((p) => p.port !== 9443);
  }],
  ['ECDSA chain missing', /CSMS_OCPP_TLS_CERT must name two files/, (d) => {
    const c = container(d, 'csms-gateway');
    setEnv(c, 'CSMS_OCPP_TLS_CERT', c.env.find((e) => e.name === 'CSMS_OCPP_TLS_CERT').value.split(',')[0]);
  }],
  ['TLS key not on a Secret volume', /CSMS_OCPP_TLS_KEY \(\/etc\/ssl\/gw\.key\) must name a file in a Secret volume/, (d) => {
    const c = container(d, 'csms-gateway');
    setEnv(c, 'CSMS_OCPP_TLS_KEY', `${c.env.find((e) => e.name === 'CSMS_OCPP_TLS_KEY').value.split(',')[0]},/etc/ssl/gw.key`);
  }],
  ['no charger CA', /CSMS_OCPP_TLS_CLIENT_CA must be set/, (d) => {
    const c = container(d, 'csms-gateway');
    c.env = c.env.filter((e) => e.name !== 'CSMS_OCPP_TLS_CLIENT_CA');
  }],
  ['TLS files never re-read', /CSMS_OCPP_TLS_RELOAD_MS must be > 0/, (d) => {
    find(d, 'ConfigMap', 'csms-gateway-config').data.CSMS_OCPP_TLS_RELOAD_MS = '0';
  }],
  ['Secret mounted writable', /Secret volume api-keys must be mounted readOnly: true/, (d) => {
    container(d, 'csms-control').volumeMounts.find((m) => m.name === 'api-keys').readOnly = false;
  }],
  ['Secret mounted with subPath', /Secret volume ocpp-tls-rsa must be mounted whole/, (d) => {
    const m = container(d, 'csms-gateway').volumeMounts.find((x) => x.name === 'ocpp-tls-rsa');
    m.mountPath = '/etc/csms/ocpp-tls/rsa/tls.crt';
    m.subPath = 'tls.crt';
  }],
  ['token as an env value', /env CSMS_API_TOKEN holds an API token/, (d) => {
    container(d, 'csms-gateway').env.push({ name: 'CSMS_API_TOKEN', value: `csms_${'0f'.repeat(32)}` });
  }],
  ['password as an env value', /env PGPASSWORD is a secret as a literal value/, (d) => {
    container(d, 'csms-billing').env.push({ name: 'PGPASSWORD', value: 'example' });
  }],
  ['database URL with a password in an env value', /env DATABASE_URL is a secret as a literal value/, (d) => {
    setEnv(container(d, 'csms-control'), 'DATABASE_URL', 'postgresql://csms:pw@db:5432/csms');
  }],
  ['private key in a ConfigMap', /tls\.key holds a PEM private key/, (d) => {
    find(d, 'ConfigMap', 'csms-gateway-config').data['tls.key'] = '-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----\n';
  }],
  ['load balancer without 9443', /Service\/csms-gateway: must expose 9443/, (d) => {
    const lb = find(d, 'Service', 'csms-gateway');
    lb.spec.ports = lb.spec.ports.filter((p) => p.port !== 9443);
  }],
  ['NetworkPolicy blocks 9443', /must admit 9443 from anywhere/, (d) => {
    for (const r of find(d, 'NetworkPolicy', 'csms-gateway').spec.ingress) if (r.ports) r.ports = r.ports.filter((p) => p.port !== 9443);
  }],
  ['NetworkPolicy opens ChargerLink to all', /admits ChargerLink \(50053, control -> gateway commands\) from more than the control pods/, (d) => {
    find(d, 'NetworkPolicy', 'csms-gateway').spec.ingress[0].ports.push({ port: 50053, protocol: 'TCP' });
  }],
  ['NetworkPolicy opens ChargerLink to the gateways', /admits ChargerLink/, (d) => {
    const rule = find(d, 'NetworkPolicy', 'csms-gateway').spec.ingress.find((r) => r.from);
    rule.from.push({ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'csms-gateway' } } });
  }],
];

// Cases on a copy of the committed deploy/k8s tree: [label, expected, mutate(dir)].
const sourceCases = [
  ['private key committed', /holds a PEM private key/, (dir) => {
    fs.writeFileSync(path.join(dir, 'base', 'server.key'), '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n');
  }],
  ['token in a comment', /holds an API token/, (dir) => {
    fs.appendFileSync(path.join(dir, 'base', 'kustomization.yaml'), `# token: csms_${'1'.repeat(64)}\n`);
  }],
  ['keys file committed', /holds an API keys-file line/, (dir) => {
    fs.writeFileSync(path.join(dir, 'base', 'api-keys'), `ops operate sha256$${'a'.repeat(32)}$${'b'.repeat(64)}\n`);
  }],
  ['secretGenerator with literals', /secretGenerator csms-database has literals/, (dir) => {
    const f = path.join(dir, 'overlays', 'example', 'kustomization.yaml');
    const k = yaml.load(fs.readFileSync(f, 'utf8'));
    k.secretGenerator.find((g) => g.name === 'csms-database').literals = ['DATABASE_URL=postgresql://db/csms'];
    fs.writeFileSync(f, yaml.dump(k));
  }],
  ['Secret object with values', /Secret csms-api-keys holds values/, (dir) => {
    fs.writeFileSync(path.join(dir, 'base', 'secret.yaml'), yaml.dump({ apiVersion: 'v1', kind: 'Secret',
      metadata: { name: 'csms-api-keys' }, stringData: { 'api-keys': '# none' } }));
  }],
  ['password in a configMapGenerator', /configMapGenerator csms-control-config: PGPASSWORD is a secret/, (dir) => {
    const f = path.join(dir, 'base', 'kustomization.yaml');
    const k = yaml.load(fs.readFileSync(f, 'utf8'));
    k.configMapGenerator.find((g) => g.name === 'csms-control-config').literals.push('PGPASSWORD=example');
    fs.writeFileSync(f, yaml.dump(k));
  }],
  ['URL with a password in a manifest', /holds a URL with a password/, (dir) => {
    fs.appendFileSync(path.join(dir, 'overlays', 'example', 'postgres.yaml'), '---\n# x\nkind: ConfigMap\ndata:\n  url: "postgresql://csms:pw@db/csms"\n');
  }],
];

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'csms-k8s-selftest-'));
const run = (docs) => {
  const file = path.join(dir, 'rendered.yaml');
  fs.writeFileSync(file, docs.map((d) => yaml.dump(d)).join('---\n'));
  return spawnSync(process.execPath, [validator, '--overlay', file], { encoding: 'utf8' });
};

let bad = 0;
try {
  const base = run(clean);
  if (base.status !== 0) {
    bad++;
    console.log(`FAIL clean rendering does not pass:\n${base.stdout}${base.stderr}`);
  } else {
    console.log('ok   clean rendering passes');
  }
  for (const [label, expected, mutate] of cases) {
    const docs = JSON.parse(JSON.stringify(clean));
    mutate(docs);
    const r = run(docs);
    const failLines = r.stdout.split('\n').filter((l) => l.startsWith('FAIL')).join('\n');
    if (r.status === 1 && expected.test(failLines)) {
      console.log(`ok   caught: ${label}`);
    } else {
      bad++;
      console.log(`FAIL not caught: ${label} (exit ${r.status}; expected ${expected})\n${failLines || r.stdout}${r.stderr}`);
    }
  }
  if (sourcesDir) {
    const runSources = (tree) => spawnSync(process.execPath, [validator, '--sources', tree], { encoding: 'utf8' });
    const copy = (label) => {
      const tree = path.join(dir, `sources-${label.replace(/\W+/g, '-')}`);
      fs.cpSync(sourcesDir, tree, { recursive: true, filter: (p) => path.basename(p) !== 'secrets' });
      return tree;
    };
    const base = runSources(copy('clean'));
    if (base.status !== 0) {
      bad++;
      console.log(`FAIL clean sources do not pass:\n${base.stdout}${base.stderr}`);
    } else {
      console.log('ok   clean sources pass');
    }
    for (const [label, expected, mutate] of sourceCases) {
      const tree = copy(label);
      mutate(tree);
      const r = runSources(tree);
      const failLines = r.stdout.split('\n').filter((l) => l.startsWith('FAIL')).join('\n');
      if (r.status === 1 && expected.test(failLines)) {
        console.log(`ok   caught: ${label}`);
      } else {
        bad++;
        console.log(`FAIL not caught: ${label} (exit ${r.status}; expected ${expected})\n${failLines || r.stdout}${r.stderr}`);
      }
    }
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
const total = cases.length + 1 + (sourcesDir ? sourceCases.length + 1 : 0);
console.log(`selftest-k8s: ${total - bad}/${total} cases as expected`);
process.exit(bad === 0 ? 0 : 1);
