import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, readFileSync, unlinkSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, resolvePaths, type GatewayConfig } from '../../appliance/config/config.js';
import { Token } from '../../appliance/token/token.js';
import { runOk, run } from '../../appliance/util/exec.js';
import { ensureDevelopmentToken, setupDevelopmentToken, tokenOptionsFromConfig, certificateInfo, parseCertificate, DEVELOPMENT_MARK } from '../../provisioning/index.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function config(raw: Record<string, unknown>): GatewayConfig {
  const dir = mkdtempSync(join(tmpdir(), 'pruem-prov-'));
  dirs.push(dir);
  const parsed = parseConfig({ dataDir: 'var', ...raw });
  assert.ok(parsed.ok);
  return resolvePaths(parsed.config, dir);
}

test('first start makes the SoftHSM2 token, a 0600 PIN file, three keys and DEVELOPMENT certificates; later starts change nothing', async () => {
  const cfg = config({ memberState: 'RO' });
  const first = await ensureDevelopmentToken(cfg);
  assert.equal(first.status, 'created');
  assert.equal(first.softhsmConf, join(cfg.dataDir, 'softhsm', 'softhsm2.conf'));
  assert.ok('file' in cfg.token.pin);
  const pinFile = 'file' in cfg.token.pin ? cfg.token.pin.file : '';
  assert.equal(statSync(pinFile).mode & 0o777, 0o600);
  assert.match(readFileSync(pinFile, 'utf8').trim(), /^[A-Za-z0-9_-]{16}$/);
  assert.deepEqual(first.certificates.map((c) => c.label), ['ncp-sign', 'ncp-decrypt', 'audit']);

  for (const c of first.certificates) {
    assert.equal(c.path, join(cfg.dataDir, 'certs', `${c.label}.pem`));
    assert.ok(c.info.development);
    assert.ok(c.info.subject.includes(DEVELOPMENT_MARK));
    assert.match(c.info.subject, /O=Prüm gateway development/);
    assert.match(c.info.subject, /C=RO/);
    assert.equal(c.info.keyBits, 2048);
    assert.ok(c.info.daysLeft >= 364);
    // openssl, independently: the signature verifies (the decrypt-only key's certificate is issued by
    // the signing key, the others are self-signed) and the fingerprint is the same.
    const issuer = c.label === 'ncp-decrypt' ? first.certificates[0]!.path : c.path;
    if (c.label === 'ncp-decrypt') {
      const sub = parseCertificate(readFileSync(c.path, 'utf8'));
      const iss = parseCertificate(readFileSync(issuer, 'utf8'));
      assert.ok(sub.issuer === iss.subject && sub.verify(iss.publicKey), 'decrypt certificate issued by the signing key');
      assert.equal(c.info.selfSigned, false);
    } else {
      await runOk('openssl', ['verify', '-CAfile', c.path, c.path]);
      assert.equal(c.info.selfSigned, true);
    }
    const fp = (await runOk('openssl', ['x509', '-in', c.path, '-noout', '-fingerprint', '-sha256'])).toString();
    assert.equal(fp.split('=')[1]!.trim().replace(/:/g, '').toLowerCase(), c.info.fingerprintSha256);
  }
  const signText = (await runOk('openssl', ['x509', '-in', first.certificates[0]!.path, '-noout', '-text'])).toString();
  assert.match(signText, /E-mail Protection/);
  assert.match(signText, /email:ncp@dna\.pruem\.ro\.eu-admin\.net/);
  assert.match(signText, /Digital Signature, Non Repudiation/);
  const decText = (await runOk('openssl', ['x509', '-in', first.certificates[1]!.path, '-noout', '-text'])).toString();
  assert.match(decText, /Key Encipherment/);

  // Keys on the token: private, sensitive, not extractable; certificates stored beside them.
  const token = await Token.open(tokenOptionsFromConfig(cfg));
  try {
    const objects = await token.listObjects();
    for (const label of ['ncp-sign', 'ncp-decrypt', 'audit']) {
      const key = objects.find((o) => o.kind === 'private-key' && o.label === label);
      assert.ok(key && key.kind === 'private-key' && key.sensitive === true && key.extractable === false, label);
      const cert = objects.find((o) => o.kind === 'certificate' && o.label === label);
      assert.ok(cert && cert.kind === 'certificate' && cert.id === key.id, `certificate ${label} on the token with the key's id`);
    }
    // pkcs11-tool agrees the private key is not extractable
    const tool = await runOk('pkcs11-tool', ['--module', cfg.token.module, '--token-label', cfg.token.label, '--login', '--pin', readFileSync(pinFile, 'utf8').trim(), '--list-objects', '--type', 'privkey'], {
      env: { ...process.env, SOFTHSM2_CONF: first.softhsmConf ?? '' },
    });
    assert.match(tool.toString(), /never extractable/);
  } finally {
    await token.close();
  }

  const second = await ensureDevelopmentToken(cfg);
  assert.equal(second.status, 'existing');
  assert.deepEqual(second.actions, []);
  assert.deepEqual(second.certificates.map((c) => c.info.fingerprintSha256), first.certificates.map((c) => c.info.fingerprintSha256));

  // A deleted PEM file is written again from the token; nothing else changes.
  unlinkSync(join(cfg.dataDir, 'certs', 'audit.pem'));
  const third = await ensureDevelopmentToken(cfg);
  assert.deepEqual(third.actions, [`wrote ${join(cfg.dataDir, 'certs', 'audit.pem')}`]);
  assert.equal(third.certificates[2]!.info.fingerprintSha256, first.certificates[2]!.info.fingerprintSha256);

  // Close to expiry, development certificates are renewed for the same keys.
  const later = new Date(Date.now() + 350 * 86_400_000);
  const renewed = await ensureDevelopmentToken(cfg, { now: later });
  assert.equal(renewed.certificates.length, 3);
  for (let i = 0; i < 3; i++) {
    assert.notEqual(renewed.certificates[i]!.info.fingerprintSha256, first.certificates[i]!.info.fingerprintSha256);
    assert.ok(renewed.certificates[i]!.info.daysLeft >= 364);
  }
  assert.ok(renewed.actions.some((a) => a.startsWith('renewed development certificate')));
  assert.ok(!renewed.actions.some((a) => a.startsWith('generated')));
});

test('Greece: the certificates say C=GR and use the el mail domain; PIN from a literal value', async () => {
  const cfg = config({ memberState: 'EL', token: { label: 'gr-dev', pin: { value: 'dev-pin-1234' } } });
  const r = await ensureDevelopmentToken(cfg);
  assert.equal(r.status, 'created');
  const info = certificateInfo(readFileSync(r.certificates[0]!.path, 'utf8'));
  assert.match(info.subject, /C=GR/);
  assert.match(info.subject, /CN=EL NCP/);
  assert.deepEqual(info.emails, ['ncp@dna.pruem.el.eu-admin.net', 'ncp@fp.pruem.el.eu-admin.net']);
  assert.equal(existsSync(join(cfg.dataDir, 'token.pin')), false);
});

test('an existing token whose PIN file was lost is reported, not re-created', async () => {
  const cfg = config({ memberState: 'DE' });
  await ensureDevelopmentToken(cfg);
  const pinFile = 'file' in cfg.token.pin ? cfg.token.pin.file : '';
  unlinkSync(pinFile);
  await assert.rejects(ensureDevelopmentToken(cfg), (e: unknown) => (e as { code?: string }).code === 'PIN_FILE_MISSING');
  writeFileSync(pinFile, 'wrong-pin-000\n', { mode: 0o600 });
  await assert.rejects(ensureDevelopmentToken(cfg), (e: unknown) => (e as { code?: string }).code === 'TOKEN_LOCKED');
});

test('setupDevelopmentToken: first run stores the chosen PIN; later, a wrong PIN is refused even while the daemon is logged in', async () => {
  const cfg = config({ memberState: 'BG' });
  const pinFile = 'file' in cfg.token.pin ? cfg.token.pin.file : '';
  const r = await setupDevelopmentToken(cfg, 'chosen-pin-42');
  assert.equal(r.status, 'created');
  assert.equal(readFileSync(pinFile, 'utf8').trim(), 'chosen-pin-42');
  const daemon = await Token.open(tokenOptionsFromConfig(cfg));
  try {
    await assert.rejects(setupDevelopmentToken(cfg, 'not-the-pin-1'), (e: unknown) => (e as { code?: string }).code === 'TOKEN_LOCKED');
    assert.equal(readFileSync(pinFile, 'utf8').trim(), 'chosen-pin-42', 'PIN file untouched');
    const again = await setupDevelopmentToken(cfg, 'chosen-pin-42');
    assert.equal(again.status, 'existing');
  } finally {
    await daemon.close();
  }
});

test('not SoftHSM2 → nothing is done', async () => {
  const cfg = config({ token: { module: '/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so', label: 'card', pin: { env: 'PRUEM_CARD_PIN' } } });
  const r = await ensureDevelopmentToken(cfg);
  assert.equal(r.status, 'not-softhsm');
  assert.equal(existsSync(join(cfg.dataDir, 'softhsm')), false);
  // and openssl sees no such module files were touched
  assert.equal((await run('true', [])).code, 0);
});
