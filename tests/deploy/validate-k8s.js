#!/usr/bin/env node
// Validates rendered Kubernetes manifests offline (no API server needed).
//
//   kubectl kustomize deploy/k8s/overlays/example > rendered.yaml
//   node tests/deploy/validate-k8s.js [--overlay] rendered.yaml [more.yaml ...]
//
// 1. Schema: every object is checked with its kubernetes-models class (types, required fields,
//    enums, formats). An apiVersion/kind with no model is a FAILURE, never a silent skip.
// 2. Unknown fields: kubernetes-models accepts unknown keys (a typo such as `readinesProbe` would
//    pass), so every key is also checked against the field lists of the models' type declarations.
// 3. CSMS invariants (see INVARIANTS below): gateway/control/billing present with 2+ replicas, an
//    HPA for the gateway, a PDB for each, every container with resources and probes, nobody runs as
//    root, the gateway advertises its pod IP, Service selectors and probe ports resolve, and with
//    --overlay: images pinned (tag or digest, never :latest) and every referenced ConfigMap/Secret
//    present in the rendered set.
// Exit status: 0 when everything passed, 1 otherwise.
'use strict';

const fs = require('fs');
const path = require('path');
const yaml = require('js-yaml');

const args = process.argv.slice(2);
const overlay = args.includes('--overlay');
const files = args.filter((a) => !a.startsWith('--'));
if (files.length === 0) {
  console.error('usage: validate-k8s.js [--overlay] RENDERED.yaml...');
  process.exit(2);
}

let failures = 0;
const fail = (where, msg) => {
  failures++;
  console.log(`FAIL ${where}: ${msg}`);
};

// ---------------------------------------------------------------------------------------------
// Unknown-field check from the models' .d.ts declarations.
// ---------------------------------------------------------------------------------------------
const MODELS_DIR = path.dirname(require.resolve('kubernetes-models/package.json'));

function findModuleFile(fromDir, spec) {
  // "@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta" -> first node_modules/<spec>.d.ts up
  // the tree (packages may be hoisted or nested).
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', `${spec}.d.ts`);
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return null;
  }
}

const parsedFiles = new Map(); // file -> {imports: Map(name -> file), interfaces: Map(name -> props)}

function parseDts(file) {
  if (parsedFiles.has(file)) return parsedFiles.get(file);
  const text = fs.readFileSync(file, 'utf8');
  const imports = new Map();
  for (const m of text.matchAll(/^import \{([^}]*)\} from "([^"]+)";/gm)) {
    const spec = m[2];
    const target = spec.startsWith('.')
      ? path.resolve(path.dirname(file), `${spec}.d.ts`)
      : findModuleFile(path.dirname(file), spec);
    for (const name of m[1].split(',').map((s) => s.trim()).filter(Boolean)) {
      if (target) imports.set(name, target);
    }
  }
  const interfaces = new Map();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const head = lines[i].match(/^export interface (\w+)(?: extends [^{]+)? \{$/);
    if (!head) continue;
    const props = new Map();
    let current = null;
    for (i++; i < lines.length && lines[i] !== '}'; i++) {
      const line = lines[i];
      if (current === null) {
        const prop = line.match(/^ {4}"([^"]+)"\??: (.*)$/);
        if (!prop) continue; // doc comments
        current = { name: prop[1], type: prop[2] };
      } else {
        current.type += `\n${line}`;
      }
      // The type ends at the first ';' that closes every '{' and '<' it opened (multi-line maps).
      const count = (re) => (current.type.match(re) || []).length;
      if (/;$/.test(line) && count(/\{/g) === count(/\}/g) && count(/</g) === count(/>/g)) {
        props.set(current.name, current.type.replace(/;$/, '').trim());
        current = null;
      }
    }
    interfaces.set(head[1], props);
  }
  const parsed = { imports, interfaces };
  parsedFiles.set(file, parsed);
  return parsed;
}

// A type node: {object: props Map(name -> {file, type})} | {array: node} | {map: node} | {leaf}.
function typeNode(file, typeText) {
  let t = typeText.trim();
  const arr = t.match(/^Array<([\s\S]*)>$/);
  if (arr) return { array: () => typeNode(file, arr[1]) };
  const map = t.match(/^\{\s*\[key: string\]: ([\s\S]*?);?\s*\}$/);
  if (map) return { map: () => typeNode(file, map[1]) };
  const ident = t.match(/^(\w+)$/);
  if (ident) {
    const { imports } = parseDts(file);
    const target = imports.get(ident[1]);
    if (!target) return { leaf: true }; // string, number, boolean
    const parsed = parseDts(target);
    if (parsed.interfaces.size === 0) return { leaf: true }; // type alias: IntOrString, Quantity, Time
    const [props] = parsed.interfaces.values();
    return { object: props, file: target };
  }
  return { leaf: true }; // literal unions, inline objects: not checked further
}

function checkFields(value, node, where, at, problems) {
  if (value === null || value === undefined || node.leaf) return;
  if (node.array) {
    if (Array.isArray(value)) value.forEach((v, i) => checkFields(v, node.array(), where, `${at}[${i}]`, problems));
    return;
  }
  if (node.map) {
    if (typeof value === 'object') for (const [k, v] of Object.entries(value)) checkFields(v, node.map(), where, `${at}.${k}`, problems);
    return;
  }
  if (node.object && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (!node.object.has(k)) {
        problems.push(`unknown field ${at ? `${at}.` : ''}${k}`);
        continue;
      }
      checkFields(v, typeNode(node.file, node.object.get(k)), where, at ? `${at}.${k}` : k, problems);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Load and validate every object.
// ---------------------------------------------------------------------------------------------
const objects = [];
for (const file of files) {
  let docs;
  try {
    docs = yaml.loadAll(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    fail(file, `not YAML: ${e.message}`);
    continue;
  }
  for (const doc of docs) {
    if (!doc) continue;
    const where = `${doc.kind}/${doc.metadata && doc.metadata.name}`;
    if (typeof doc.apiVersion !== 'string' || typeof doc.kind !== 'string') {
      fail(where, 'no apiVersion or kind');
      continue;
    }
    let Model = null;
    let kindFile = null;
    try {
      Model = require(`kubernetes-models/${doc.apiVersion}`)[doc.kind];
      kindFile = path.join(MODELS_DIR, doc.apiVersion, `${doc.kind}.d.ts`);
    } catch {
      Model = null;
    }
    if (!Model || !fs.existsSync(kindFile)) {
      fail(where, `no kubernetes-models schema for ${doc.apiVersion} ${doc.kind} (unknown kind or API version)`);
      continue;
    }
    // kustomize folds long base64 values over several lines; the API server's base64 decoder
    // (Go's encoding/base64) skips '\r' and '\n', so drop them before the "byte" format check.
    if (doc.kind === 'Secret' && doc.data && typeof doc.data === 'object') {
      for (const k of Object.keys(doc.data)) {
        if (typeof doc.data[k] === 'string') doc.data[k] = doc.data[k].replace(/[\r\n]/g, '');
      }
    }
    try {
      new Model(doc).validate();
    } catch (e) {
      fail(where, `schema: ${e.message}`);
      continue;
    }
    const problems = [];
    const root = parseDts(kindFile).interfaces.get(`I${doc.kind}`);
    if (!root) {
      fail(where, `cannot read the field list of ${doc.kind}`);
      continue;
    }
    checkFields(doc, { object: root, file: kindFile }, where, '', problems);
    if (problems.length) {
      fail(where, problems.join('; '));
      continue;
    }
    console.log(`OK   ${where} (${doc.apiVersion})`);
    objects.push(doc);
  }
}

// ---------------------------------------------------------------------------------------------
// Invariants.
// ---------------------------------------------------------------------------------------------
const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'Pod']);
const name = (o) => `${o.kind}/${o.metadata && o.metadata.name}`;
const podSpecOf = (o) =>
  o.kind === 'Pod' ? o.spec : o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template.spec : o.spec.template.spec;
const podLabelsOf = (o) =>
  o.kind === 'Pod' ? o.metadata.labels || {} : o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template.metadata.labels || {}
    : (o.spec.template.metadata && o.spec.template.metadata.labels) || {};
const matches = (selector, labels) =>
  selector && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
const workloads = objects.filter((o) => WORKLOAD_KINDS.has(o.kind));
let invariantChecks = 0;
const check = (ok, where, msg) => {
  invariantChecks++;
  if (!ok) fail(where, msg);
};

// The three CSMS services, found by their app.kubernetes.io/name label.
const csms = {};
for (const component of ['gateway', 'control', 'billing']) {
  const d = objects.find((o) => o.kind === 'Deployment' && podLabelsOf(o)['app.kubernetes.io/name'] === `csms-${component}`);
  check(Boolean(d), 'invariant', `no Deployment for csms-${component}`);
  csms[component] = d;
}

for (const [component, d] of Object.entries(csms)) {
  if (!d) continue;
  const where = name(d);
  check((d.spec.replicas ?? 1) >= 2, where, `replicas must be >= 2 (is ${d.spec.replicas ?? 1})`);
  const pdb = objects.find((o) => o.kind === 'PodDisruptionBudget' && matches(o.spec.selector && o.spec.selector.matchLabels, podLabelsOf(d)));
  check(Boolean(pdb), where, 'no PodDisruptionBudget selects its pods');
  const c = podSpecOf(d).containers[0];
  const port = (c.ports || [])[0];
  if (component === 'gateway') {
    const hpa = objects.find((o) => o.kind === 'HorizontalPodAutoscaler' && o.spec.scaleTargetRef.kind === 'Deployment' &&
      o.spec.scaleTargetRef.name === d.metadata.name);
    check(Boolean(hpa), where, 'no HorizontalPodAutoscaler targets the gateway');
    if (hpa) {
      check(hpa.apiVersion === 'autoscaling/v2', name(hpa), `must be autoscaling/v2 (is ${hpa.apiVersion})`);
      check((hpa.spec.minReplicas ?? 1) >= 2, name(hpa), 'minReplicas must be >= 2');
    }
    const env = Object.fromEntries((c.env || []).map((e) => [e.name, e]));
    check(env.POD_IP && env.POD_IP.valueFrom && env.POD_IP.valueFrom.fieldRef &&
      env.POD_IP.valueFrom.fieldRef.fieldPath === 'status.podIP', where, 'POD_IP must come from the downward API (status.podIP)');
    check(env.CSMS_ADVERTISE_ADDRESS && /^\$\(POD_IP\):\d+$/.test(env.CSMS_ADVERTISE_ADDRESS.value || ''), where,
      'CSMS_ADVERTISE_ADDRESS must be "$(POD_IP):<ChargerLink port>"');
    const outbox = env.CSMS_OUTBOX_DIR && env.CSMS_OUTBOX_DIR.value;
    check(Boolean(outbox) && (c.volumeMounts || []).some((m) => m.mountPath === outbox), where,
      'CSMS_OUTBOX_DIR must be set and a volume mounted there');
    check((podSpecOf(d).terminationGracePeriodSeconds ?? 30) >= 30, where, 'terminationGracePeriodSeconds must be >= 30 to drain');
    check(Boolean(c.readinessProbe && c.readinessProbe.httpGet && c.readinessProbe.httpGet.path === '/healthz'), where,
      'readinessProbe must be an HTTP GET of /healthz');
    const lb = objects.find((o) => o.kind === 'Service' && o.spec.type === 'LoadBalancer' && matches(o.spec.selector, podLabelsOf(d)));
    check(Boolean(lb), where, 'no LoadBalancer Service selects the gateway');
    if (lb) {
      const ports = lb.spec.ports.map((p) => p.port);
      check(ports.includes(9000) && ports.includes(8080), name(lb), `must expose 9000 and 8080 (has ${ports.join(', ')})`);
    }
  } else {
    // Readiness follows gRPC health, which is NOT_SERVING while the database is unreachable.
    check(Boolean(c.readinessProbe && c.readinessProbe.grpc && port && c.readinessProbe.grpc.port === port.containerPort), where,
      'readinessProbe must be a gRPC probe on the container port');
    // Liveness must not restart replicas during a database outage: /healthz on the metrics port
    // (or, as before, gRPC health).
    const live = c.livenessProbe || {};
    const metricsPort = (c.ports || []).find((p) => p.name === 'metrics');
    check(Boolean((live.grpc && port && live.grpc.port === port.containerPort) ||
      (live.httpGet && live.httpGet.path === '/healthz' && metricsPort &&
        (live.httpGet.port === 'metrics' || live.httpGet.port === metricsPort.containerPort))), where,
      'livenessProbe must be an HTTP GET of /healthz on the metrics port (or a gRPC probe on the container port)');
    const env = Object.fromEntries((c.env || []).map((e) => [e.name, e]));
    check(Boolean(env.DATABASE_URL && env.DATABASE_URL.valueFrom && env.DATABASE_URL.valueFrom.secretKeyRef), where,
      'DATABASE_URL must come from a Secret');
  }
}

// Every container of every workload.
for (const w of workloads) {
  const spec = podSpecOf(w);
  const podSec = spec.securityContext || {};
  for (const c of [...(spec.initContainers || []), ...spec.containers]) {
    const where = `${name(w)} container ${c.name}`;
    const isInit = (spec.initContainers || []).includes(c);
    const r = c.resources || {};
    for (const kind of ['requests', 'limits']) {
      for (const res of ['cpu', 'memory']) {
        check(Boolean(r[kind] && r[kind][res]), where, `resources.${kind}.${res} missing`);
      }
    }
    if (!isInit) {
      check(Boolean(c.readinessProbe), where, 'readinessProbe missing');
      check(Boolean(c.livenessProbe), where, 'livenessProbe missing');
    }
    const sec = c.securityContext || {};
    const nonRoot = sec.runAsNonRoot ?? podSec.runAsNonRoot;
    const uid = sec.runAsUser ?? podSec.runAsUser;
    check(nonRoot === true, where, 'securityContext.runAsNonRoot must be true (pod or container)');
    check(uid !== 0, where, 'runAsUser must not be 0');
    check(sec.privileged !== true, where, 'must not be privileged');
    check(sec.allowPrivilegeEscalation === false, where, 'allowPrivilegeEscalation must be false');
    check(Boolean(sec.capabilities && (sec.capabilities.drop || []).includes('ALL')), where, 'capabilities must drop ALL');
    const seccomp = (sec.seccompProfile || podSec.seccompProfile || {}).type;
    check(seccomp === 'RuntimeDefault' || seccomp === 'Localhost', where, 'seccompProfile must be RuntimeDefault');
    // Named probe ports must exist on the container.
    const portNames = new Set((c.ports || []).map((p) => p.name).filter(Boolean));
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
      const p = c[probe] && (c[probe].httpGet || c[probe].tcpSocket);
      if (p && typeof p.port === 'string') check(portNames.has(p.port), where, `${probe} port "${p.port}" is not a container port`);
    }
    // Images: --overlay requires a pinned tag or digest.
    if (overlay) {
      const image = c.image || '';
      const last = image.split('/').pop();
      check(image.includes('@sha256:') || (last.includes(':') && !last.endsWith(':latest')), where,
        `image "${image}" must be pinned to a tag (not :latest) or a digest`);
    }
  }
}

// Services select pods, and named target ports exist on those pods.
for (const s of objects.filter((o) => o.kind === 'Service' && o.spec.selector)) {
  const selected = workloads.filter((w) => matches(s.spec.selector, podLabelsOf(w)));
  check(selected.length > 0, name(s), `selector ${JSON.stringify(s.spec.selector)} matches no workload`);
  for (const p of s.spec.ports || []) {
    if (typeof p.targetPort !== 'string') continue;
    for (const w of selected) {
      const names = podSpecOf(w).containers.flatMap((c) => (c.ports || []).map((cp) => cp.name));
      check(names.includes(p.targetPort), name(s), `targetPort "${p.targetPort}" is not a port of ${name(w)}`);
    }
  }
}

// PDBs and HPAs point at something.
for (const pdb of objects.filter((o) => o.kind === 'PodDisruptionBudget')) {
  check(workloads.some((w) => matches(pdb.spec.selector && pdb.spec.selector.matchLabels, podLabelsOf(w))), name(pdb), 'selects no workload');
}
for (const hpa of objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
  const t = hpa.spec.scaleTargetRef;
  check(workloads.some((w) => w.kind === t.kind && w.metadata.name === t.name), name(hpa), `target ${t.kind}/${t.name} not found`);
}

// With --overlay the rendered set is complete: every referenced ConfigMap and Secret is in it.
if (overlay) {
  const have = new Set(objects.filter((o) => o.kind === 'ConfigMap' || o.kind === 'Secret').map((o) => `${o.kind}/${o.metadata.name}`));
  for (const w of workloads) {
    const spec = podSpecOf(w);
    const refs = [];
    for (const c of [...(spec.initContainers || []), ...spec.containers]) {
      for (const e of c.envFrom || []) {
        if (e.configMapRef) refs.push(['ConfigMap', e.configMapRef]);
        if (e.secretRef) refs.push(['Secret', e.secretRef]);
      }
      for (const e of c.env || []) {
        const f = e.valueFrom || {};
        if (f.configMapKeyRef) refs.push(['ConfigMap', f.configMapKeyRef]);
        if (f.secretKeyRef) refs.push(['Secret', f.secretKeyRef]);
      }
    }
    for (const v of spec.volumes || []) {
      if (v.configMap) refs.push(['ConfigMap', v.configMap]);
      if (v.secret) refs.push(['Secret', { name: v.secret.secretName, optional: v.secret.optional }]);
    }
    for (const [kind, ref] of refs) {
      if (ref.optional) continue;
      check(have.has(`${kind}/${ref.name}`), name(w), `refers to ${kind} "${ref.name}", which is not in the rendered manifests`);
    }
  }
}

const total = objects.length + failures;
console.log(`validate-k8s: ${objects.length}/${total} objects valid, ${invariantChecks} invariant checks, ` +
  `${failures === 0 ? 'no problems' : `${failures} problem(s)`}`);
process.exit(failures === 0 ? 0 : 1);
