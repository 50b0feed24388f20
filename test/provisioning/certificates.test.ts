import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Token } from '../../appliance/token/token.js';
import { runOk } from '../../appliance/util/exec.js';
import { createTestToken, type TestToken } from '../support/softhsm.js';
import {
  certificateInfo,
  generateCsr,
  importCertificate,
  importPeerCertificate,
  provisionDevelopmentKeys,
  ProvisioningError,
} from '../../provisioning/index.js';

let tt: TestToken;
let token: Token;
let work: string;

const code = (c: string) => (e: unknown) => e instanceof ProvisioningError && e.code === c;

async function makeCa(): Promise<{ cert: string; key: string }> {
  const key = join(work, 'ca.key');
  const cert = join(work, 'ca.pem');
  await runOk('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=Test National CA/O=Test', '-days', '30']);
  return { cert, key };
}

before(async () => {
  tt = await createTestToken({ label: 'certs' });
  work = mkdtempSync(join(tt.dir, 'work-'));
  token = await Token.open({ module: tt.module, label: tt.label, pin: tt.pin, softhsmConf: tt.conf });
  await provisionDevelopmentKeys(token, { memberState: 'RO', certsDir: join(work, 'certs') });
});

after(async () => {
  await token.close();
  tt.cleanup();
});

test('CSR signed on the token verifies with openssl, carries the subject, the key and the e-mail addresses', async () => {
  const csr = await generateCsr(token, 'ncp-sign', 'CN=RO NCP signing, O=Inspectoratul General al Politiei, C=RO', {
    emails: ['ncp@dna.pruem.ro.eu-admin.net'],
  });
  const path = join(work, 'sign.csr');
  writeFileSync(path, csr);
  const out = (await runOk('openssl', ['req', '-in', path, '-noout', '-verify', '-subject', '-text'])).toString();
  assert.match(out, /subject=CN = RO NCP signing, O = Inspectoratul General al Politiei, C = RO/);
  assert.match(out, /email:ncp@dna\.pruem\.ro\.eu-admin\.net/);
  const csrKey = (await runOk('openssl', ['req', '-in', path, '-noout', '-pubkey'])).toString();
  const tokenKey = (await token.publicKey('ncp-sign')).export({ type: 'spki', format: 'pem' }).toString();
  assert.equal(csrKey, tokenKey);
});

test('the CA answer to a CSR is imported: matched to its key without a label, stored on the token and as PEM', async () => {
  const ca = await makeCa();
  const csrPath = join(work, 'audit.csr');
  writeFileSync(csrPath, await generateCsr(token, 'audit', 'CN=RO audit, O=Test, C=RO'));
  const certPath = join(work, 'audit-ca.pem');
  await runOk('openssl', ['x509', '-req', '-in', csrPath, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', certPath, '-days', '20']);
  const pem = readFileSync(certPath, 'utf8');
  const certsDir = join(work, 'certs');
  const r = await importCertificate(token, null, pem, { certsDir });
  assert.equal(r.label, 'audit');
  assert.equal(r.path, join(certsDir, 'audit.pem'));
  assert.equal(r.info.issuer, 'CN=Test National CA, O=Test');
  assert.equal(r.info.development, false);
  assert.ok(r.info.daysLeft >= 18 && r.info.daysLeft <= 20);
  assert.equal(certificateInfo(readFileSync(r.path!, 'utf8')).fingerprintSha256, r.info.fingerprintSha256);
  assert.equal(certificateInfo((await token.certificatePem('audit'))!).fingerprintSha256, r.info.fingerprintSha256);
  // A CA certificate for a key we do not have is refused; so is one named for the wrong key.
  await assert.rejects(importCertificate(token, null, readFileSync(ca.cert, 'utf8')), code('CERT_MISMATCH'));
  await assert.rejects(importCertificate(token, 'ncp-sign', pem), code('CERT_MISMATCH'));
  // Provisioning again leaves a CA certificate alone.
  const again = await provisionDevelopmentKeys(token, { memberState: 'RO', certsDir });
  assert.equal(again.find((c) => c.label === 'audit')!.info.fingerprintSha256, r.info.fingerprintSha256);
});

test('expired certificates and garbage are refused with their codes', async () => {
  const pem = (await token.certificatePem('ncp-sign'))!;
  await assert.rejects(importCertificate(token, 'ncp-sign', pem, { now: new Date(Date.now() + 400 * 86_400_000) }), code('CERT_EXPIRED'));
  await assert.rejects(importCertificate(token, 'ncp-sign', 'not a certificate'), code('BAD_CERTIFICATE'));
  assert.throws(() => certificateInfo('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), code('BAD_CERTIFICATE'));
});

test('peer certificates: filed under certs/peers, RSA-1024 accepted with a warning, expired refused', async () => {
  const dataDir = join(work, 'data');
  const key = join(work, 'peer.key');
  const cert = join(work, 'peer.pem');
  await runOk('openssl', ['req', '-x509', '-newkey', 'rsa:1024', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=DE NCP/C=DE', '-days', '10']);
  const r = await importPeerCertificate({ dataDir, state: 'DE', usage: 'signing', pem: readFileSync(cert, 'utf8') });
  assert.equal(r.path, join(dataDir, 'certs', 'peers', 'de-signing.pem'));
  assert.ok(existsSync(r.path));
  assert.equal(r.info.keyBits, 1024);
  assert.ok(r.warnings.some((w) => /RSA-1024/.test(w)));
  assert.ok(r.warnings.some((w) => /expires in/.test(w)));
  await assert.rejects(
    importPeerCertificate({ dataDir, state: 'DE', usage: 'signing', pem: readFileSync(cert, 'utf8'), now: new Date(Date.now() + 20 * 86_400_000) }),
    code('CERT_EXPIRED'),
  );
});

test('certificateInfo agrees with openssl on serial and dates', async () => {
  const path = join(work, 'certs', 'ncp-sign.pem');
  const info = certificateInfo(readFileSync(path, 'utf8'));
  const out = (await runOk('openssl', ['x509', '-in', path, '-noout', '-serial', '-enddate'])).toString();
  assert.match(out, new RegExp(`serial=${info.serialNumber.toUpperCase()}`));
  const end = /notAfter=(.*)/.exec(out)![1]!;
  assert.equal(new Date(end).toISOString(), info.notAfter);
});
