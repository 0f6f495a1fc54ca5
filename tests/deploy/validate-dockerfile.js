#!/usr/bin/env node
// Light structural checks of the Dockerfile and .dockerignore (hadolint is not available here):
// the stages exist, build on debian:bookworm, the service stages run as a non-root numeric user,
// each has a HEALTHCHECK (or an explicit HEALTHCHECK NONE) and an ENTRYPOINT, and every file the
// build needs is in the build context (not excluded by .dockerignore).
//
//   node tests/deploy/validate-dockerfile.js Dockerfile .dockerignore
'use strict';

const fs = require('fs');
const path = require('path');

const [dockerfile, ignoreFile] = process.argv.slice(2);
if (!dockerfile || !ignoreFile) {
  console.error('usage: validate-dockerfile.js Dockerfile .dockerignore');
  process.exit(2);
}
const root = path.dirname(path.resolve(dockerfile));
let failures = 0;
let checks = 0;
const check = (ok, where, msg) => {
  checks++;
  if (!ok) {
    failures++;
    console.log(`FAIL ${where}: ${msg}`);
  }
};

// Instructions, with continuation lines joined and comments dropped.
const instructions = [];
let pending = '';
for (const line of fs.readFileSync(dockerfile, 'utf8').split('\n')) {
  if (!pending && /^\s*(#|$)/.test(line)) continue;
  if (/\\\s*$/.test(line)) {
    pending += line.replace(/\\\s*$/, ' ');
    continue;
  }
  pending += line;
  const m = pending.trim().match(/^(\w+)\s+([\s\S]*)$/);
  if (m) instructions.push({ op: m[1].toUpperCase(), arg: m[2].trim() });
  pending = '';
}

// Stages and what each sets (inheriting from its parent stage).
const args = Object.fromEntries(instructions.filter((i) => i.op === 'ARG' && i.arg.includes('='))
  .map((i) => i.arg.split('=', 2)));
const stages = new Map();
let current = null;
for (const ins of instructions) {
  if (ins.op === 'FROM') {
    const m = ins.arg.match(/^(\S+)(?:\s+AS\s+(\S+))?$/i);
    const image = m[1].replace(/\$\{(\w+)\}/g, (_, v) => args[v] || '');
    const parent = stages.get(image);
    current = { name: m[2] || `#${stages.size}`, image, user: parent ? parent.user : null,
      healthcheck: parent ? parent.healthcheck : null, entrypoint: parent ? parent.entrypoint : null, copies: [] };
    stages.set(current.name, current);
    continue;
  }
  if (!current) continue;
  if (ins.op === 'USER') current.user = ins.arg;
  if (ins.op === 'HEALTHCHECK') current.healthcheck = ins.arg;
  if (ins.op === 'ENTRYPOINT') current.entrypoint = ins.arg;
  if (ins.op === 'COPY' && !/--from=/.test(ins.arg)) {
    const parts = ins.arg.replace(/--\S+/g, '').trim().split(/\s+/);
    current.copies.push(...parts.slice(0, -1));
  }
}

const rootImage = (s) => (stages.has(s.image) ? rootImage(stages.get(s.image)) : s.image);
check(stages.has('build') && stages.has('runtime'), dockerfile, 'needs a "build" and a "runtime" stage');
for (const s of stages.values()) {
  check(/^debian:bookworm(-slim)?$/.test(rootImage(s)), `stage ${s.name}`, `must build on debian:bookworm (is ${rootImage(s)})`);
}
for (const n of ['gateway', 'control', 'billing', 'charger-sim', 'secrets']) {
  const s = stages.get(n);
  check(Boolean(s), dockerfile, `no stage "${n}"`);
  if (!s) continue;
  check(rootImage(s) === rootImage(stages.get('runtime') || s) && s.image !== 'build', `stage ${n}`, 'must derive from the runtime stage');
  check(/^\d+(:\d+)?$/.test(s.user || '') && !/^0(:|$)/.test(s.user), `stage ${n}`, `USER must be a numeric non-root uid (is ${s.user})`);
  check(Boolean(s.healthcheck), `stage ${n}`, 'HEALTHCHECK missing (write HEALTHCHECK NONE when there is nothing to check)');
  check(Boolean(s.entrypoint), `stage ${n}`, 'ENTRYPOINT missing');
}
check([...stages.values()].pop().name === 'gateway', dockerfile, 'the last (default) stage should be gateway');

// .dockerignore: Docker's rules, simplified (no escapes): a path is excluded when the last
// matching pattern (or one matching a parent folder) is not a "!" exception.
const patterns = fs.readFileSync(ignoreFile, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))
  .map((p) => {
    const negate = p.startsWith('!');
    const body = path.posix.normalize((negate ? p.slice(1) : p).replace(/^\/+/, ''));
    const re = body.split('/').map((seg) => (seg === '**' ? '.*' : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]'))).join('/').replace(/\.\*\//g, '(?:.*/)?');
    return { negate, re: new RegExp(`^${re}$`) };
  });
const excluded = (rel) => {
  const parts = rel.split('/');
  let out = false;
  for (const { negate, re } of patterns) {
    for (let i = 1; i <= parts.length; i++) {
      if (re.test(parts.slice(0, i).join('/'))) out = !negate;
    }
  }
  return out;
};

// What the image build reads: the COPY sources plus the CMake tree of the four binaries.
const needed = new Set(['CMakeLists.txt', 'cmake', 'proto', 'common', 'schemas', 'gateway', 'control-service',
  'billing-service', 'tools/charger-sim']);
for (const s of stages.values()) for (const c of s.copies) if (c !== '.') needed.add(c);
for (const rel of needed) {
  check(fs.existsSync(path.join(root, rel)), ignoreFile, `${rel} (needed by the build) does not exist`);
  check(!excluded(rel), ignoreFile, `${rel} is needed by the build but excluded from the context`);
}
for (const rel of ['.git', 'build', '.data', 'tests/deploy/node_modules']) {
  check(excluded(rel), ignoreFile, `${rel} should be excluded from the build context`);
}

console.log(`validate-dockerfile: ${stages.size} stages, ${checks} checks, ${failures === 0 ? 'no problems' : `${failures} problem(s)`}`);
process.exit(failures === 0 ? 0 : 1);
