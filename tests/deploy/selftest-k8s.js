#!/usr/bin/env node
// Proves validate-k8s.js catches what it claims to: each case below breaks one thing in a copy of
// the rendered overlay (in a temporary folder) and expects validate-k8s.js to fail with a
// matching message. The clean rendering must pass.
//
//   node tests/deploy/selftest-k8s.js rendered.yaml
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');
const yaml = require('js-yaml');

const source = process.argv[2];
if (!source) {
  console.error('usage: selftest-k8s.js RENDERED.yaml');
  process.exit(2);
}
const validator = path.join(__dirname, 'validate-k8s.js');
const clean = yaml.loadAll(fs.readFileSync(source, 'utf8')).filter(Boolean);
const find = (docs, kind, n) => docs.find((d) => d.kind === kind && d.metadata.name.startsWith(n));
const container = (docs, n) => find(docs, 'Deployment', n).spec.template.spec.containers[0];

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
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
console.log(`selftest-k8s: ${cases.length + 1 - bad}/${cases.length + 1} cases as expected`);
process.exit(bad === 0 ? 0 : 1);
