import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOk } from '../../appliance/util/exec.js';
import { readRecord } from '../../provisioning/state.js';
import { makeBox, makeCa, issueAll, issue, initialFlags, pruem, type Box, type TestCa } from './support.js';

/**
 * A power cut between any two steps: the provisioning process is SIGKILLed at each point in turn
 * (PRUEM_PROVISION_CRASH_AT makes it kill itself there, deterministically), and the same command run
 * again picks up where it stopped. After every kill, each key on the token has its record, and each
 * certificate file belongs to a key on the token.
 */
let root: string;
let ca: TestCa;
let box: Box;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'pruem-prov-kill-'));
  ca = await makeCa(join(root, 'ca'));
  box = makeBox(root, 'AT');
});
after(() => {
  if (!process.env.PRUEM_KEEP_TEST_DIRS) rmSync(root, { recursive: true, force: true });
});

async function tokenKeys(): Promise<string[]> {
  if (!existsSync(join(box.dataDir, 'token.pin'))) return [];
  const r = await runOk('pkcs11-tool', ['--module', '/usr/lib/softhsm/libsofthsm2.so', '--token-label', 'prod-at', '--login', '--pin', 'at-user-4711', '--list-objects', '--type', 'privkey'], { env: box.env }).catch(() => Buffer.from(''));
  return [...r.toString().matchAll(/label:\s+(\S+)/g)].map((m) => m[1]!).sort();
}

async function invariants(where: string): Promise<void> {
  const record = readRecord(box.dataDir);
  const keys = await tokenKeys();
  for (const k of keys) assert.ok(record?.keys[k], `${where}: key ${k} on the token has no record`);
  assert.equal(new Set(keys).size, keys.length, `${where}: a label twice on the token: ${keys.join(', ')}`);
  for (const label of ['ncp-sign', 'ncp-decrypt', 'audit']) {
    if (existsSync(join(box.dataDir, 'certs', `${label}.pem`))) assert.ok(keys.includes(label), `${where}: certificate ${label} without its key`);
  }
}

async function killedAt(point: string, args: string[]): Promise<void> {
  const r = await pruem(args, { ...process.env, PRUEM_PROVISION_CRASH_AT: point });
  assert.equal(r.signal, 'SIGKILL', `expected a kill at ${point}: ${r.out}`);
  await invariants(point);
}

test('provisioning killed between each pair of steps completes when run again', async () => {
  const first = initialFlags(box);
  for (const point of ['after:config', 'after:token', 'key-generated:ncp-sign', 'key-generated:ncp-decrypt', 'key-generated:audit', 'after:keys']) {
    await killedAt(point, ['provision', ...first]);
  }
  // The record shows the adopted keys, not a second generation.
  const mid = readRecord(box.dataDir)!;
  assert.deepEqual(Object.keys(mid.keys).sort(), ['audit', 'ncp-decrypt', 'ncp-sign']);
  await killedAt('after:csrs', ['provision', ...first]);
  const done = await pruem(['provision', ...first]);
  assert.equal(done.code, 0, done.out);
  assert.deepEqual(await tokenKeys(), ['audit', 'ncp-decrypt', 'ncp-sign']);

  // The second half: chain, certificates, peers.
  const issued = await issueAll(ca, box, join(root, 'issued'));
  await runOk('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(root, 'de.key'), '-out', join(root, 'de.csr'), '-subj', '/C=DE/O=BKA/CN=DE NCP', '-addext', 'subjectAltName=email:ncp@dna.pruem.de.eu-admin.net', '-addext', 'keyUsage=critical,digitalSignature,keyEncipherment']);
  const dePem = await issue(ca, join(root, 'de.csr'), join(root, 'de.pem'));
  const second = ['provision', '--config', box.configPath, '--ca', ca.cert, ...issued.flatMap((f) => ['--certificate', f]), '--peers', dePem, '--yes'];
  for (const point of ['after:ca', 'cert-stored:audit', 'cert-stored:ncp-decrypt', 'cert-stored:ncp-sign', 'after:certificates', 'after:peers']) {
    await killedAt(point, second);
  }
  const end = await pruem(second);
  assert.equal(end.code, 0, end.out);
  assert.match(end.out, /state: ready/);
  await invariants('end');
  const record = readRecord(box.dataDir)!;
  assert.deepEqual(Object.keys(record.certificates).sort(), ['audit', 'ncp-decrypt', 'ncp-sign']);
  for (const step of ['config', 'token', 'keys', 'csrs', 'ca', 'certificates', 'peers', 'summary'] as const) assert.ok(record.steps[step], step);
  const config = JSON.parse(readFileSync(box.configPath, 'utf8')) as { peers: Array<{ code: string; certificates: { signing?: string; encryption?: string } }> };
  assert.deepEqual(config.peers.map((p) => p.code), ['DE']);
  assert.ok(config.peers[0]!.certificates.signing && config.peers[0]!.certificates.encryption);
});
