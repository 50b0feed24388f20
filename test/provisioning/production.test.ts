import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runOk } from '../../appliance/util/exec.js';
import { readRecord } from '../../provisioning/state.js';
import { makeBox, makeCa, issueAll, issue, initialFlags, pruem, type Box, type TestCa } from './support.js';

let root: string;
let ca: TestCa;
let box: Box;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'pruem-prov-'));
  ca = await makeCa(join(root, 'ca'));
  box = makeBox(root, 'RO');
});
after(() => {
  if (!process.env.PRUEM_KEEP_TEST_DIRS) rmSync(root, { recursive: true, force: true });
});

function auditRows(b: Box): Array<{ action: string; target: string; outcome: string }> {
  const db = new Database(join(b.dataDir, 'gateway.sqlite'), { readonly: true });
  try {
    return (db.prepare('SELECT leaf FROM audit_entries ORDER BY idx').all() as Array<{ leaf: string }>).map((r) => (JSON.parse(r.leaf) as { event: { action: string; target: string; outcome: string } }).event);
  } finally {
    db.close();
  }
}

test('flags provision a fresh token in production mode: keys on the token, a CSR each (the decryption key signs its own), no development certificate', async () => {
  const r = await pruem(['provision', ...initialFlags(box)]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /state: NOT ready/);
  assert.doesNotMatch(r.out, /DEVELOPMENT/);
  const record = readRecord(box.dataDir)!;
  assert.equal(record.mode, 'production');
  assert.deepEqual(Object.keys(record.keys).sort(), ['audit', 'ncp-decrypt', 'ncp-sign']);
  for (const k of Object.values(record.keys)) assert.equal(k.state, 'generated');
  // The PIN the daemon will read, mode 0600; the configuration names the file, never the PIN.
  const config = JSON.parse(readFileSync(box.configPath, 'utf8')) as { memberState: string; token: { pin: unknown } };
  assert.equal(config.memberState, 'RO');
  assert.deepEqual(config.token.pin, { file: join(box.dataDir, 'token.pin') });
  assert.equal(readFileSync(join(box.dataDir, 'token.pin'), 'utf8').trim(), 'ro-user-4711');
  // Keys on the token: never extractable; the decryption key may sign (its CSR) — its certificate restricts it.
  const objects = (await runOk('pkcs11-tool', ['--module', '/usr/lib/softhsm/libsofthsm2.so', '--token-label', 'prod-ro', '--login', '--pin', 'ro-user-4711', '--list-objects'], { env: box.env })).toString();
  assert.match(objects, /label:\s+ncp-decrypt[\s\S]*?Usage:\s+decrypt, sign, unwrap/);
  assert.match(objects, /never extractable/);
  for (const label of ['ncp-sign', 'ncp-decrypt', 'audit']) {
    const csr = join(box.dataDir, 'provisioning', 'csr', `${label}.csr`);
    const text = (await runOk('openssl', ['req', '-in', csr, '-noout', '-verify', '-text'])).toString();
    assert.match(text, /Subject: C\s*=\s*RO, O\s*=\s*RO Police, CN\s*=\s*RO NCP/);
    if (label === 'ncp-decrypt') {
      assert.match(text, /Key Encipherment/);
      assert.doesNotMatch(text, /Digital Signature/);
      assert.match(text, /email:ncp@dna\.pruem\.ro\.eu-admin\.net/);
    }
    if (label === 'ncp-sign') assert.match(text, /Digital Signature, Non Repudiation[\s\S]*E-mail Protection/);
  }
  assert.equal(existsSync(join(box.dataDir, 'certs', 'ncp-sign.pem')), false, 'no development certificate');
  // A rerun changes nothing (idempotent): same keys.
  const again = await pruem(['provision', ...initialFlags(box)]);
  assert.equal(again.code, 0, again.out);
  assert.deepEqual(readRecord(box.dataDir)!.keys['ncp-sign']!.spkiSha256, record.keys['ncp-sign']!.spkiSha256);
  // A mistyped PIN for the existing token is refused and does not replace the good PIN file.
  const typo = join(root, 'typo.pin');
  writeFileSync(typo, 'ro-user-4712\n');
  const wrong = await pruem(['provision', '--config', box.configPath, '--user-pin-file', typo, '--pin-file', join(box.dataDir, 'token.pin')]);
  assert.equal(wrong.code, 1, wrong.out);
  assert.match(wrong.out, /login refused|does not log in/);
  assert.equal(readFileSync(join(box.dataDir, 'token.pin'), 'utf8').trim(), 'ro-user-4711');
  const audit = auditRows(box);
  assert.ok(audit.some((e) => e.action === 'token-operation' && /token "prod-ro"/.test(e.target) && e.outcome === 'success'));
  assert.ok(audit.some((e) => e.action === 'token-operation' && /key ncp-decrypt/.test(e.target)));
  assert.ok(audit.some((e) => e.action === 'certificate-change' && /certificate request audit/.test(e.target)));
});

test('a certificate for another key is refused with a clear message; the right ones are imported and checked against the chain', async () => {
  // A CSR from a key that is not on this token.
  const other = join(root, 'other');
  await runOk('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${other}.key`, '-out', `${other}.csr`, '-subj', '/C=RO/O=RO Police/CN=RO NCP DNA and fingerprint mail signing']);
  const wrong = await issue(ca, `${other}.csr`, `${other}.pem`);
  const r = await pruem(['provision', '--config', box.configPath, '--ca', ca.cert, '--certificate', `ncp-sign=${wrong}`]);
  assert.equal(r.code, 1);
  assert.match(r.out, /CERT_MISMATCH: certificate "C=RO, O=RO Police, CN=RO NCP DNA and fingerprint mail signing" \(SHA-256 [0-9a-f]{16}…\) is not for the key "ncp-sign": its public key \(SHA-256 [0-9a-f]{16}\) differs from ncp-sign/);
  const unnamed = await pruem(['provision', '--config', box.configPath, '--certificate', wrong]);
  assert.match(unnamed.out, /matches none of this appliance's keys/);
  assert.equal(existsSync(join(box.dataDir, 'certs', 'ncp-sign.pem')), false);
  assert.ok(auditRows(box).some((e) => e.action === 'certificate-change' && e.outcome === 'failure'));

  // A certificate from another CA (not the national chain imported above) is refused too.
  const rogue = await makeCa(join(root, 'rogue'), 'Rogue');
  const rogueCert = await issue(rogue, join(box.dataDir, 'provisioning', 'csr', 'ncp-sign.csr'), join(root, 'rogue-sign.pem'));
  const rr = await pruem(['provision', '--config', box.configPath, '--certificate', rogueCert]);
  assert.equal(rr.code, 1);
  assert.match(rr.out, /not issued by the national CA chain/);

  const issued = await issueAll(ca, box, join(root, 'issued-ro'));
  const ok = await pruem(['provision', '--config', box.configPath, ...issued.flatMap((f) => ['--certificate', f])]);
  assert.equal(ok.code, 0, ok.out);
  assert.match(ok.out, /state: ready/);
  const record = readRecord(box.dataDir)!;
  assert.deepEqual(Object.keys(record.certificates).sort(), ['audit', 'ncp-decrypt', 'ncp-sign']);
  const status = await pruem(['provision', 'status', '--config', box.configPath]);
  assert.equal(status.code, 0, status.out);
  // A literal PIN in a production configuration is not accepted as provisioned.
  const raw = JSON.parse(readFileSync(box.configPath, 'utf8')) as { token: Record<string, unknown> };
  writeFileSync(box.configPath, JSON.stringify({ ...raw, token: { ...raw.token, pin: { value: 'ro-user-4711' } } }));
  const literal = await pruem(['provision', 'status', '--config', box.configPath]);
  assert.equal(literal.code, 1, literal.out);
  assert.match(literal.out, /token\.pin: a literal PIN in the configuration is for development only/);
});

test('the same steps as prompts (a technician at a terminal)', async () => {
  const b = makeBox(root, 'DE');
  const answers = ['DE', 'BKA', '', 'y', 'de-user-4711', 'de-so-0815', `file ${join(b.dataDir, 'token.pin')}`, 'Bundeskriminalamt', '', '', ''].join('\n');
  const r = await pruem(['provision', '--interactive', '--config', b.configPath], process.env, `${answers}\n`);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /Member State code \[RO\]/);
  assert.match(r.out, /state: NOT ready/);
  const record = readRecord(b.dataDir)!;
  assert.deepEqual(Object.keys(record.csrs).sort(), ['audit', 'ncp-decrypt', 'ncp-sign']);
  const text = (await runOk('openssl', ['req', '-in', join(b.dataDir, 'provisioning', 'csr', 'ncp-sign.csr'), '-noout', '-subject'])).toString();
  assert.match(text, /C\s*=\s*DE, O\s*=\s*Bundeskriminalamt/);
  assert.equal((JSON.parse(readFileSync(b.configPath, 'utf8')) as { agency: string }).agency, 'BKA');
});

test('the PIN from an environment variable: never stored, the daemon reads it from its environment', async () => {
  const b = makeBox(root, 'AT');
  const flags = initialFlags(b).map((f) => (f === '--pin-file' ? '--pin-env' : f === join(b.dataDir, 'token.pin') ? 'PRUEM_TOKEN_PIN' : f));
  const r = await pruem(['provision', ...flags]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /set PRUEM_TOKEN_PIN to the user PIN in the daemon's environment/);
  assert.deepEqual((JSON.parse(readFileSync(b.configPath, 'utf8')) as { token: { pin: unknown } }).token.pin, { env: 'PRUEM_TOKEN_PIN' });
  assert.equal(existsSync(join(b.dataDir, 'token.pin')), false, 'no PIN file');
  assert.doesNotMatch(readFileSync(b.configPath, 'utf8'), /at-user-4711/);
  const without = await pruem(['provision', 'status', '--config', b.configPath]);
  assert.match(without.out, /token "prod-at": locked: no PIN: environment variable PRUEM_TOKEN_PIN is not set/);
  const withPin = await pruem(['provision', 'status', '--config', b.configPath], { ...process.env, PRUEM_TOKEN_PIN: 'at-user-4711' });
  assert.doesNotMatch(withPin.out, /token "prod-at"/);
  assert.match(withPin.out, /certificate ncp-sign .*not imported/);
});
