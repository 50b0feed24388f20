import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../appliance/config/config.js';
import { runOk, run } from '../../appliance/util/exec.js';
import { readRecord } from '../../provisioning/state.js';
import { liveCertificate } from '../../provisioning/live.js';
import { tokenOptionsFromConfig } from '../../provisioning/index.js';
import { Token } from '../../appliance/token/token.js';
import { X509Certificate, verify } from 'node:crypto';
import { makeBox, makeCa, issueAll, issue, initialFlags, pruem, type Box, type TestCa } from './support.js';

let root: string;
let ca: TestCa;
let box: Box;
let dePem: { signing: string; encryption: string };

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'pruem-prov-life-'));
  ca = await makeCa(join(root, 'ca'));
  box = makeBox(root, 'RO', { relay: { host: '127.0.0.1', port: 2500 } });
  for (const usage of ['signing', 'encryption'] as const) {
    const ku = usage === 'signing' ? 'digitalSignature,nonRepudiation' : 'keyEncipherment';
    await runOk('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(root, `de-${usage}.key`), '-out', join(root, `de-${usage}.csr`), '-subj', `/C=DE/O=BKA/CN=DE NCP ${usage}`, '-addext', 'subjectAltName=email:ncp@dna.pruem.de.eu-admin.net', '-addext', `keyUsage=critical,${ku}`]);
  }
  dePem = {
    signing: await issue(ca, join(root, 'de-signing.csr'), join(root, 'de-signing.pem')),
    encryption: await issue(ca, join(root, 'de-encryption.csr'), join(root, 'de-encryption.pem')),
  };
});
after(() => {
  if (!process.env.PRUEM_KEEP_TEST_DIRS) rmSync(root, { recursive: true, force: true });
});

async function provisionFully(tag: string): Promise<void> {
  const r = await pruem(['provision', ...initialFlags(box)]);
  assert.equal(r.code, 0, r.out);
  const issued = await issueAll(ca, box, join(root, `issued-${tag}`));
  const imp = await pruem(['provision', '--config', box.configPath, '--ca', ca.cert, ...issued.flatMap((f) => ['--certificate', f])]);
  assert.equal(imp.code, 0, imp.out);
  assert.match(imp.out, /state: ready/);
}

async function tokenLabels(): Promise<string[]> {
  const r = await run('pkcs11-tool', ['--module', '/usr/lib/softhsm/libsofthsm2.so', '--token-label', 'prod-ro', '--login', '--pin', 'ro-user-4711', '--list-objects', '--type', 'privkey'], { env: box.env });
  return [...r.stdout.toString().matchAll(/label:\s+(\S+)/g)].map((m) => m[1]!).sort();
}

test('peers: added from their certificates, a channel disabled, removed — each audited', async () => {
  await provisionFully('first');
  const add = await pruem(['provision', 'peer', 'add', 'DE', '--config', box.configPath, '--signing', dePem.signing, '--encryption', dePem.encryption]);
  assert.equal(add.code, 0, add.out);
  let config = loadConfig(box.configPath);
  assert.equal(config.peers[0]?.code, 'DE');
  assert.equal(config.peers[0]?.certificates.signing, join(box.dataDir, 'certs', 'peers', 'de-signing.pem'));
  const dis = await pruem(['provision', 'peer', 'disable', 'DE', '--channel', 'fp', '--config', box.configPath]);
  assert.equal(dis.code, 0, dis.out);
  config = loadConfig(box.configPath);
  assert.equal(config.peers[0]?.channels.fp?.enabled, false);
  assert.equal(config.peers[0]?.channels.dna, undefined);
  const bad = await pruem(['provision', 'peer', 'remove', 'AT', '--config', box.configPath]);
  assert.equal(bad.code, 1);
  assert.match(bad.out, /AT is not a configured peer/);
  // AT added and removed again, DE stays for the backup below.
  assert.equal((await pruem(['provision', 'peer', 'add', 'AT', '--config', box.configPath])).code, 0);
  assert.equal((await pruem(['provision', 'peer', 'remove', 'AT', '--config', box.configPath])).code, 0);
  assert.deepEqual(loadConfig(box.configPath).peers.map((p) => p.code), ['DE']);
});

test('backup → factory reset → restore gives the same configuration; keys are provisioned again', async () => {
  const before = loadConfig(box.configPath);
  const backup = join(root, 'backup.json');
  const b = await pruem(['provision', 'backup', '--config', box.configPath, '--out', backup]);
  assert.equal(b.code, 0, b.out);
  const text = readFileSync(backup, 'utf8');
  assert.doesNotMatch(text, /ro-user-4711|ro-so-0815|PRIVATE KEY/, 'no PIN, no key in the backup');
  assert.match(text, /"signature"/);

  // A changed backup is refused.
  const tampered = join(root, 'tampered.json');
  writeFileSync(tampered, text.replace('"memberState": "RO"', '"memberState": "RO" ').replace('"agency": "RO NCP"', '"agency": "RO NCP!"'));
  const t = await pruem(['provision', 'restore', tampered, '--config', box.configPath, '--ca', ca.cert]);
  assert.equal(t.code, 1);
  assert.match(t.out, /signature does not verify/);

  // The reset wants the exact words and the SO PIN.
  const no = await pruem(['provision', 'reset', '--config', box.configPath, '--so-pin-file', box.soPinFile, '--confirm', 'yes']);
  assert.equal(no.code, 1);
  assert.match(no.out, /type exactly "ERASE RO"/);
  assert.deepEqual(await tokenLabels(), ['audit', 'ncp-decrypt', 'ncp-sign'], 'nothing erased without the confirmation');
  const wrongPin = join(root, 'wrong.pin');
  writeFileSync(wrongPin, 'not-the-so-pin\n');
  const wp = await pruem(['provision', 'reset', '--config', box.configPath, '--so-pin-file', wrongPin, '--confirm', 'ERASE RO']);
  assert.equal(wp.code, 1);
  assert.match(wp.out, /wrong SO PIN/);
  assert.ok(existsSync(join(box.dataDir, 'gateway.sqlite')), 'nothing wiped with a wrong SO PIN');

  const reset = await pruem(['provision', 'reset', '--config', box.configPath, '--so-pin-file', box.soPinFile, '--confirm', 'ERASE RO']);
  assert.equal(reset.code, 0, reset.out);
  assert.match(reset.out, /zeroised/);
  assert.deepEqual(readdirSync(box.dataDir), [], 'data folder wiped');
  const login = await run('pkcs11-tool', ['--module', '/usr/lib/softhsm/libsofthsm2.so', '--token-label', 'prod-ro', '--login', '--pin', 'ro-user-4711', '--list-objects'], { env: box.env });
  assert.notEqual(login.code, 0, 'the old user PIN no longer opens the token');
  assert.deepEqual(loadConfig(box.configPath).peers, []);

  // Signed, but by a key the technician does not trust: refused.
  const rogue = await makeCa(join(root, 'rogue'), 'Rogue');
  const untrusted = await pruem(['provision', 'restore', backup, '--config', box.configPath, '--ca', rogue.cert]);
  assert.equal(untrusted.code, 1);
  assert.match(untrusted.out, /BACKUP_SIGNER_UNTRUSTED: the backup is signed by "C=RO, O=RO Police, CN=RO NCP audit log signing" \(SHA-256 [0-9a-f]{64}\), which is neither issued by the given national CA nor the fingerprint given/);
  assert.deepEqual(loadConfig(box.configPath).peers, [], 'nothing restored');
  const restore = await pruem(['provision', 'restore', backup, '--config', box.configPath, '--ca', ca.cert]);
  assert.equal(restore.code, 0, restore.out);
  const after = loadConfig(box.configPath);
  assert.deepEqual(after, before);
  assert.equal(readFileSync(after.peers[0]!.certificates.signing!, 'utf8'), readFileSync(dePem.signing, 'utf8').replace(/\r/g, ''));

  // Keys again (new ones), certificates again: operational.
  await provisionFully('after-reset');
  assert.deepEqual(await tokenLabels(), ['audit', 'ncp-decrypt', 'ncp-sign']);
  assert.deepEqual(loadConfig(box.configPath), before);
});

test('renewal: a new key and CSR while the old certificate serves; importing the new certificate switches', async () => {
  const record = readRecord(box.dataDir)!;
  const oldKey = record.keys['ncp-sign']!.spkiSha256;
  const signerPath = join(box.dataDir, 'certs', 'ncp-sign.pem');
  const live = liveCertificate(signerPath);
  const oldFingerprint = live.fingerprint256;
  // The running daemon's token session: it signs before, during and after the renewal.
  const daemonToken = await Token.open(tokenOptionsFromConfig(loadConfig(box.configPath)));
  const signsWith = async (cert: X509Certificate) => verify('sha256', Buffer.from('checkpoint'), cert.publicKey, await daemonToken.sign('ncp-sign', Buffer.from('checkpoint')));
  assert.ok(await signsWith(new X509Certificate(readFileSync(signerPath))));

  const r = await pruem(['provision', 'renew', '--key', 'ncp-sign', '--config', box.configPath]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /keeps serving/);
  assert.deepEqual(await tokenLabels(), ['audit', 'ncp-decrypt', 'ncp-sign', 'ncp-sign~next']);
  const status = await pruem(['provision', 'status', '--config', box.configPath]);
  assert.equal(status.code, 0, `still operational during the renewal: ${status.out}`);
  assert.match(status.out, /renewal requested/);
  assert.equal(live.fingerprint256, oldFingerprint);
  assert.ok(await signsWith(live), 'the old key keeps serving while the new certificate is requested');

  const csr = join(box.dataDir, 'provisioning', 'csr', 'ncp-sign~next.csr');
  const renewed = await issue(ca, csr, join(root, 'renewed-sign.pem'));
  const imp = await pruem(['provision', '--config', box.configPath, '--certificate', renewed]);
  assert.equal(imp.code, 0, imp.out);
  assert.deepEqual(await tokenLabels(), ['audit', 'ncp-decrypt', 'ncp-sign']);
  const after = readRecord(box.dataDir)!;
  assert.notEqual(after.keys['ncp-sign']!.spkiSha256, oldKey);
  assert.equal(after.keys['ncp-sign~next'], undefined);
  assert.deepEqual(after.renewals, {});
  // What the running daemon signs with follows the file.
  assert.notEqual(live.fingerprint256, oldFingerprint);
  assert.equal(live.fingerprint256, (await import('node:crypto')).createHash('sha256').update(live.raw).digest('hex').toUpperCase().match(/../g)!.join(':'));
  const final = await pruem(['provision', 'status', '--config', box.configPath]);
  assert.equal(final.code, 0, final.out);
  // The daemon's session signs with the new key at once (no restart): the signature verifies under the new certificate.
  try {
    assert.ok(await signsWith(live));
  } finally {
    await daemonToken.close();
  }
});
