import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../appliance/util/exec.js';

const root = new URL('../../', import.meta.url).pathname;
const makefile = readFileSync(join(root, 'Makefile'), 'utf8');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

function aptList(name: string): string[] {
  const m = new RegExp(`^${name} := (.+)$`, 'm').exec(makefile);
  assert.ok(m?.[1], `${name} in the Makefile`);
  return m[1].trim().split(/\s+/);
}

test('make installs the compilers the native addons need before npm ci, after checking Node.js', () => {
  assert.deepEqual(aptList('APT_BUILD').sort(), ['g++', 'make', 'python3']);
  const recipe = /^\$\(STAMP\)\/npm:.*\n((?:\t.*\n)+)/m.exec(makefile)?.[1] ?? '';
  const steps = recipe.split('\n').map((l) => l.trim());
  const check = steps.findIndex((l) => l.includes('scripts/check-node.sh'));
  const apt = steps.findIndex((l) => l.includes('scripts/apt-ensure.sh $(APT_BUILD)'));
  const ci = steps.findIndex((l) => l.startsWith('npm ci'));
  assert.ok(check >= 0 && apt > check && ci > apt, recipe);
  // `make run` reaches that recipe: run → deps → the npm stamp.
  assert.match(makefile, /^run: deps build$/m);
  assert.match(makefile, /^deps: \$\(STAMP\)\/npm$/m);
});

test('the README names the prerequisites and every package make installs itself', () => {
  assert.match(readme, /Debian 12/);
  assert.match(readme, /Node\.js 20 or later, with npm/);
  for (const list of ['APT_BUILD', 'APT_RUNTIME', 'APT_TEST', 'APT_IMAGE']) {
    for (const pkg of aptList(list)) assert.ok(readme.includes(`\`${pkg}\``), `README names ${pkg} (${list})`);
  }
});

test('check-node.sh refuses a missing or old Node.js and a missing npm, with the fix', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'check-node-'));
  try {
    const fake = (name: string, body: string) => {
      const p = join(dir, name);
      writeFileSync(p, `#!/bin/sh\n${body}\n`);
      chmodSync(p, 0o755);
      return p;
    };
    const script = join(root, 'scripts', 'check-node.sh');
    const node18 = fake('node18', 'echo v18.19.0');
    const node20 = fake('node20', 'echo v20.11.1');
    const npm = fake('npm', 'echo 10.2.4');
    const old = await run('bash', [script, node18, npm]);
    assert.equal(old.code, 1);
    assert.match(old.stderr, /v18\.19\.0 is too old.*20 or later/);
    const missing = await run('bash', [script, join(dir, 'no-such-node'), npm]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /Node\.js not found/);
    const noNpm = await run('bash', [script, node20, join(dir, 'no-such-npm')]);
    assert.equal(noNpm.code, 1);
    assert.match(noNpm.stderr, /npm not found/);
    assert.equal((await run('bash', [script, node20, npm])).code, 0);
    assert.equal((await run('bash', [script])).code, 0, 'this machine passes');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
