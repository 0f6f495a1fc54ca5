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
// 4. Security invariants (docs/deploy.md "Kubernetes"): every CSMS container reads an API keys
//    file from a Secret volume; control its own service token (for ChargerLink) from a Secret
//    that is not the gateway's, and neither mounts the other's token Secret (in the overlay the
//    two hold different tokens); the gateway its service token, station auth required, wss:// on
//    9443 with an RSA and an ECDSA chain and the charger CA, all from Secret volumes; Secret
//    volumes mounted read-only and whole (no subPath, so rotation reaches the files); the load
//    balancer exposes 9443; the NetworkPolicy admits 9443 from anywhere and 50053 only from
//    control; no secret value in an environment variable, ConfigMap or annotation. With
//    --overlay, each Secret file a container reads exists as a key of its Secret.
//
//   node tests/deploy/validate-k8s.js --sources deploy/k8s
// 5. The committed sources hold no secret: no API token, keys-file line or PEM private key in any
//    file, no Secret object with values and no secretGenerator `literals` (values come from files
//    made by deploy/k8s/create-secrets.sh), no URL with a password. Folders named `secrets` (its
//    gitignored output) are skipped.
// Exit status: 0 when everything passed, 1 otherwise. tests/deploy/selftest-k8s.js proves that
// each check fails on a broken copy.
'use strict';

const fs = require('fs');
const path = require('path');
const yaml = require('js-yaml');

const args = process.argv.slice(2);
const overlay = args.includes('--overlay');
const sourcesAt = args.indexOf('--sources');
const sourcesDir = sourcesAt >= 0 ? args[sourcesAt + 1] : null;
const files = args.filter((a, i) => !a.startsWith('--') && !(sourcesAt >= 0 && i === sourcesAt + 1));
if (files.length === 0 && !sourcesDir) {
  console.error('usage: validate-k8s.js [--overlay] RENDERED.yaml... | --sources DIR');
  process.exit(2);
}

let failures = 0;
const fail = (where, msg) => {
  failures++;
  console.log(`FAIL ${where}: ${msg}`);
};

// Secret values, wherever they would show: a CSMS API token, a keys-file line (a hash, but tied
// to a token that then lives somewhere), a PEM private key.
const SECRET_PATTERNS = [
  [/csms_[0-9a-f]{64}/, 'an API token'],
  [/sha256\$[0-9a-f]{32}\$[0-9a-f]{64}/, 'an API keys-file line'],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a PEM private key'],
];
const secretIn = (text) => SECRET_PATTERNS.find(([re]) => re.test(String(text)));
// A URL with a password in it (scheme://user:password@host).
const URL_WITH_PASSWORD = /\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@]+:[^\s/@]+@/i;
// Names of settings whose values are secrets: these must come from a Secret, never a literal.
const SECRET_NAME = /(TOKEN|PASSWORD|SECRET|PRIVATE_KEY|API_KEY|DATABASE_URL)$/;

// ---------------------------------------------------------------------------------------------
// --sources DIR: the committed files.
// ---------------------------------------------------------------------------------------------
if (sourcesDir) {
  let scanned = 0;
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'secrets' && entry.name !== 'node_modules') walk(p);
        continue;
      }
      if (!entry.isFile()) continue;
      scanned++;
      const text = fs.readFileSync(p, 'utf8');
      for (const [i, line] of text.split('\n').entries()) {
        const found = secretIn(line);
        if (found) fail(`${p}:${i + 1}`, `holds ${found[1]}: secrets come from deploy/k8s/create-secrets.sh, never the repository`);
        if (/\.ya?ml$/.test(p) && !/^\s*#/.test(line) && URL_WITH_PASSWORD.test(line)) {
          fail(`${p}:${i + 1}`, 'holds a URL with a password');
        }
      }
      if (!/\.ya?ml$/.test(p)) continue;
      let docs = [];
      try {
        docs = yaml.loadAll(text).filter(Boolean);
      } catch (e) {
        fail(p, `not YAML: ${e.message}`);
      }
      for (const doc of docs) {
        if (doc.kind === 'Secret' && (doc.data || doc.stringData)) {
          fail(p, `Secret ${doc.metadata && doc.metadata.name} holds values: generate it from files (create-secrets.sh)`);
        }
        for (const g of doc.secretGenerator || []) {
          if (g.literals && g.literals.length) fail(p, `secretGenerator ${g.name} has literals: read the values from files (create-secrets.sh)`);
        }
        for (const g of doc.configMapGenerator || []) {
          for (const l of g.literals || []) {
            const key = String(l).split('=')[0];
            if (SECRET_NAME.test(key)) fail(p, `configMapGenerator ${g.name}: ${key} is a secret; put it in a Secret`);
          }
        }
      }
    }
  };
  walk(sourcesDir);
  if (files.length === 0) {
    console.log(`validate-k8s: ${scanned} source files in ${sourcesDir}, ${failures === 0 ? 'no secrets' : `${failures} problem(s)`}`);
    process.exit(failures === 0 ? 0 : 1);
  }
}

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

// ---------------------------------------------------------------------------------------------
// Security invariants.
// ---------------------------------------------------------------------------------------------
// The Secret volume and key behind a file path a container reads: {mount, secret, key} or null.
const secretFileOf = (w, c, file) => {
  if (typeof file !== 'string' || !file) return null;
  const volumes = new Map((podSpecOf(w).volumes || []).filter((v) => v.secret).map((v) => [v.name, v.secret]));
  for (const m of c.volumeMounts || []) {
    const dir = m.mountPath.replace(/\/$/, '');
    if (volumes.has(m.name) && file.startsWith(`${dir}/`)) return { mount: m, secret: volumes.get(m.name), key: file.slice(dir.length + 1) };
  }
  return null;
};
const envOf = (c) => Object.fromEntries((c.env || []).map((e) => [e.name, e]));
const literal = (c, n) => (envOf(c)[n] || {}).value;
// A setting's effective value: the container's env, else a ConfigMap it reads with envFrom.
const setting = (c, n) => {
  const e = envOf(c)[n];
  if (e) return e.value;
  for (const ref of c.envFrom || []) {
    const cm = ref.configMapRef && objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === ref.configMapRef.name);
    if (cm && cm.data && n in cm.data) return cm.data[n];
  }
  return undefined;
};
const requireSecretFile = (w, c, n, file) => {
  const where = `${name(w)} container ${c.name}`;
  const f = secretFileOf(w, c, file);
  check(Boolean(f), where, `${n} (${file || 'unset'}) must name a file in a Secret volume`);
  if (!f || !overlay) return;
  const secret = objects.find((o) => o.kind === 'Secret' && o.metadata.name === f.secret.secretName);
  if (!secret) return; // reported by the completeness check below
  const keys = Object.keys({ ...(secret.data || {}), ...(secret.stringData || {}) });
  const item = (f.secret.items || []).find((i) => i.path === f.key);
  const key = f.secret.items ? item && item.key : f.key;
  check(Boolean(key) && keys.includes(key), where, `${n}: Secret ${secret.metadata.name} has no key "${f.key}"`);
};
const list = (v) => String(v || '').split(',').map((x) => x.trim()).filter(Boolean);

for (const [component, d] of Object.entries(csms)) {
  if (!d) continue;
  const c = podSpecOf(d).containers[0];
  const where = `${name(d)} container ${c.name}`;
  check(Boolean(literal(c, 'CSMS_API_KEYS_FILE')), where, 'CSMS_API_KEYS_FILE must be set (API keys on)');
  requireSecretFile(d, c, 'CSMS_API_KEYS_FILE', literal(c, 'CSMS_API_KEYS_FILE'));
  const apiAuth = setting(c, 'CSMS_API_AUTH');
  check(apiAuth === undefined || apiAuth === 'keys', where, `CSMS_API_AUTH must be unset or keys (is ${apiAuth})`);
  if (component === 'control') {
    // ChargerLink (control -> gateway commands) requires the service role: control presents its
    // own key, from its own Secret.
    check(Boolean(literal(c, 'CSMS_SERVICE_TOKEN_FILE')), where, 'CSMS_SERVICE_TOKEN_FILE must be set (its service token for ChargerLink)');
    requireSecretFile(d, c, 'CSMS_SERVICE_TOKEN_FILE', literal(c, 'CSMS_SERVICE_TOKEN_FILE'));
  }
  if (component !== 'gateway') continue;
  check(Boolean(literal(c, 'CSMS_SERVICE_TOKEN_FILE')), where, 'CSMS_SERVICE_TOKEN_FILE must be set (its service token)');
  requireSecretFile(d, c, 'CSMS_SERVICE_TOKEN_FILE', literal(c, 'CSMS_SERVICE_TOKEN_FILE'));
  check(literal(c, 'CSMS_STATION_AUTH') === 'required', where,
    `CSMS_STATION_AUTH must be "required" in the container env (is ${setting(c, 'CSMS_STATION_AUTH')})`);
  const tlsListen = literal(c, 'CSMS_OCPP_TLS_LISTEN') || '';
  check(/:9443$/.test(tlsListen), where, `CSMS_OCPP_TLS_LISTEN must listen on 9443 (wss://; is "${tlsListen}")`);
  const tlsPort = (c.ports || []).find((p) => p.containerPort === 9443);
  check(Boolean(tlsPort), where, 'must declare containerPort 9443 (OCPP over TLS)');
  for (const n of ['CSMS_OCPP_TLS_CERT', 'CSMS_OCPP_TLS_KEY']) {
    check(list(literal(c, n)).length === 2, where, `${n} must name two files, an RSA and an ECDSA chain (OCPP needs both suites)`);
    for (const f of list(literal(c, n))) requireSecretFile(d, c, n, f);
  }
  check(Boolean(literal(c, 'CSMS_OCPP_TLS_CLIENT_CA')), where, 'CSMS_OCPP_TLS_CLIENT_CA must be set (profile 3)');
  requireSecretFile(d, c, 'CSMS_OCPP_TLS_CLIENT_CA', literal(c, 'CSMS_OCPP_TLS_CLIENT_CA'));
  const reload = setting(c, 'CSMS_OCPP_TLS_RELOAD_MS');
  check(reload === undefined || Number(reload) > 0, where, `CSMS_OCPP_TLS_RELOAD_MS must be > 0 (is ${reload}): rotated certificates`);
  // The load balancer passes 9443 through to that port.
  const lb = objects.find((o) => o.kind === 'Service' && o.spec.type === 'LoadBalancer' && matches(o.spec.selector, podLabelsOf(d)));
  if (lb) {
    const p = lb.spec.ports.find((x) => x.port === 9443);
    check(Boolean(p), name(lb), 'must expose 9443 (OCPP over TLS)');
    if (p && tlsPort) {
      check(p.targetPort === 9443 || (tlsPort.name && p.targetPort === tlsPort.name), name(lb), 'port 9443 must target the gateway\'s container port 9443');
    }
  }
  // NetworkPolicy: 9443 open (chargers come from outside), 50053 from control pods only.
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy' && matches(o.spec.podSelector.matchLabels, podLabelsOf(d)) &&
    (o.spec.policyTypes || ['Ingress']).includes('Ingress'));
  check(policies.length > 0, name(d), 'no NetworkPolicy selects the gateway pods');
  const rules = policies.flatMap((pol) => (pol.spec.ingress || []).map((r) => ({ pol, r })));
  const admits = (r, port) => !r.ports || r.ports.length === 0 || r.ports.some((x) => x.port === port);
  if (policies.length) {
    check(rules.some(({ r }) => admits(r, 9443) && (!r.from || r.from.length === 0)), name(policies[0]),
      'must admit 9443 from anywhere (chargers reach it through the load balancer)');
    const controlLabels = csms.control ? podLabelsOf(csms.control) : {};
    const others = Object.values(csms).filter((x) => x && x !== csms.control).map(podLabelsOf);
    for (const { pol, r } of rules.filter(({ r }) => admits(r, 50053))) {
      const ok = Array.isArray(r.from) && r.from.length > 0 && r.from.every((peer) => peer.podSelector && !peer.namespaceSelector &&
        !peer.ipBlock && matches(peer.podSelector.matchLabels, controlLabels) && !others.some((l) => matches(peer.podSelector.matchLabels, l)));
      check(ok, name(pol), 'admits ChargerLink (50053, control -> gateway commands) from more than the control pods');
    }
  }
}

// Each service token is its own: control's and the gateway's come from different Secrets, neither
// pod mounts the other's, and (overlay) the two Secrets hold different tokens.
const tokenOf = (component) => {
  const d = csms[component];
  if (!d) return null;
  const c = podSpecOf(d).containers[0];
  const f = secretFileOf(d, c, literal(c, 'CSMS_SERVICE_TOKEN_FILE'));
  return f && { d, f, secret: objects.find((o) => o.kind === 'Secret' && o.metadata.name === f.secret.secretName) };
};
const gwToken = tokenOf('gateway');
const ctlToken = tokenOf('control');
if (gwToken && ctlToken) {
  const mounted = (d, secretName) => (podSpecOf(d).volumes || []).some((v) => v.secret && v.secret.secretName === secretName);
  check(ctlToken.f.secret.secretName !== gwToken.f.secret.secretName, name(ctlToken.d),
    `CSMS_SERVICE_TOKEN_FILE must not read the gateway's token Secret ${gwToken.f.secret.secretName}: control has its own key`);
  check(!mounted(ctlToken.d, gwToken.f.secret.secretName), name(ctlToken.d), `must not mount the gateway's token Secret ${gwToken.f.secret.secretName}`);
  check(!mounted(gwToken.d, ctlToken.f.secret.secretName), name(gwToken.d), `must not mount control's token Secret ${ctlToken.f.secret.secretName}`);
  if (overlay && ctlToken.secret && gwToken.secret && ctlToken.secret !== gwToken.secret) {
    const value = (t) => {
      const item = (t.f.secret.items || []).find((i) => i.path === t.f.key);
      const key = t.f.secret.items ? item && item.key : t.f.key;
      return { ...(t.secret.data || {}), ...(t.secret.stringData || {}) }[key];
    };
    const a = value(ctlToken);
    check(!a || a !== value(gwToken), name(ctlToken.secret),
      `holds the same token as ${gwToken.secret.metadata.name}: control needs its own key (create-secrets.sh makes control.token)`);
  }
}

for (const w of workloads) {
  const spec = podSpecOf(w);
  const secretVolumes = new Set((spec.volumes || []).filter((v) => v.secret || (v.projected &&
    (v.projected.sources || []).some((src) => src.secret))).map((v) => v.name));
  for (const c of [...(spec.initContainers || []), ...spec.containers]) {
    const where = `${name(w)} container ${c.name}`;
    for (const m of c.volumeMounts || []) {
      if (!secretVolumes.has(m.name)) continue;
      check(m.readOnly === true, where, `Secret volume ${m.name} must be mounted readOnly: true`);
      check(!m.subPath && !m.subPathExpr, where, `Secret volume ${m.name} must be mounted whole (a subPath never sees updates)`);
    }
    for (const e of c.env || []) {
      const found = e.value !== undefined && secretIn(e.value);
      check(!found, where, `env ${e.name} holds ${found && found[1]}`);
      check(!(SECRET_NAME.test(e.name) && e.value), where, `env ${e.name} is a secret as a literal value: use a Secret (secretKeyRef or a file)`);
      check(!(e.value && URL_WITH_PASSWORD.test(e.value)), where, `env ${e.name} holds a URL with a password: use a Secret`);
    }
  }
}
for (const o of objects) {
  for (const [k, v] of Object.entries((o.metadata && o.metadata.annotations) || {})) {
    const found = secretIn(v);
    check(!found, name(o), `annotation ${k} holds ${found && found[1]}`);
  }
  if (o.kind !== 'ConfigMap') continue;
  for (const [k, v] of Object.entries({ ...(o.data || {}), ...(o.binaryData || {}) })) {
    const found = secretIn(v);
    check(!found, name(o), `${k} holds ${found && found[1]}: put it in a Secret`);
    check(!SECRET_NAME.test(k) && !URL_WITH_PASSWORD.test(v), name(o), `${k} looks like a secret: put it in a Secret`);
  }
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
