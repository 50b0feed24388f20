import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../appliance/cli/pruem.js';
import { capture } from './capture.js';

const SUBCOMMANDS = ['run', 'provision', 'demo', 'config', 'status', 'ping', 'dna', 'nist', 'officers-client', 'audit'];

test('pruem --help lists every subcommand, and each has its own --help', async () => {
  const c = capture();
  assert.equal(await main(['--help'], c.io), 0);
  for (const sub of SUBCOMMANDS) assert.match(c.text().stdout, new RegExp(`^  ${sub} `, 'm'));
  for (const sub of SUBCOMMANDS) {
    const s = capture();
    assert.equal(await main([sub, '--help'], s.io), 0, sub);
    assert.match(s.text().stdout, /usage: pruem/, sub);
  }
});

test('misuse exits 2 with a message, not a stack trace', async () => {
  const c = capture();
  assert.equal(await main(['frobnicate'], c.io), 2);
  assert.match(c.text().stderr, /unknown command "frobnicate"/);
  const d = capture();
  assert.equal(await main(['run', '--no-such-option'], d.io), 2);
  assert.match(d.text().stderr, /no-such-option/);
});

test('pruem config check names the bad key of a configuration file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pruem-cli-'));
  try {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ memberState: 'GR', listen: { api: { port: 99999 } }, peers: [{ code: 'DE', colour: 'blue' }] }));
    const c = capture();
    assert.equal(await main(['config', 'check', bad], c.io), 2);
    const { stderr } = c.text();
    assert.match(stderr, /memberState/);
    assert.match(stderr, /listen\.api\.port/);
    assert.match(stderr, /peers\.0.*colour/);
    const notJson = join(dir, 'x.json');
    writeFileSync(notJson, '{ memberState: RO');
    const d = capture();
    assert.equal(await main(['config', 'check', notJson], d.io), 2);
    assert.match(d.text().stderr, /not valid JSON/);
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ memberState: 'EL', token: { pin: { value: 'secret-pin' } } }));
    const e = capture();
    assert.equal(await main(['config', 'check', good], e.io), 0);
    assert.match(e.text().stdout, /"memberState": "EL"/);
    assert.doesNotMatch(e.text().stdout, /secret-pin/, 'the PIN is never printed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
