import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { Token } from '../../appliance/token/token.js';
import { runOk } from '../../appliance/util/exec.js';
import { provisionDevelopmentKeys } from '../../provisioning/index.js';
import { createTestToken, type TestToken } from '../support/softhsm.js';

// token.cryptoEngine() lets other parts (audit checkpoints, exports) build CMS with pkijs while the
// private-key operations run on the token. openssl checks the results independently.
let tt: TestToken;
let token: Token;
let work: string;
let signCert: string;
let decryptCert: string;

before(async () => {
  tt = await createTestToken({ label: 'engine' });
  work = mkdtempSync(join(tt.dir, 'w-'));
  token = await Token.open({ module: tt.module, label: tt.label, pin: tt.pin, softhsmConf: tt.conf });
  const certs = await provisionDevelopmentKeys(token, { memberState: 'RO', certsDir: join(work, 'certs') });
  signCert = certs.find((c) => c.label === 'audit')!.path;
  decryptCert = certs.find((c) => c.label === 'ncp-decrypt')!.path;
});

after(async () => {
  await token.close();
  tt.cleanup();
});

function pemToDer(pem: string): Uint8Array<ArrayBuffer> {
  const bytes = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const out = new Uint8Array(bytes.length);
  out.set(bytes);
  return out;
}

test('pkijs SignedData signed through cryptoEngine() with the token key "audit" verifies with openssl cms', async () => {
  const engine = token.cryptoEngine();
  const cert = pkijs.Certificate.fromBER(pemToDer(readFileSync(signCert, 'utf8')));
  const content = Buffer.from('checkpoint 42: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n');
  const signed = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: pkijs.ContentInfo.DATA, eContent: new asn1js.OctetString({ valueHex: content }) }),
    signerInfos: [
      new pkijs.SignerInfo({ version: 1, sid: new pkijs.IssuerAndSerialNumber({ issuer: cert.issuer, serialNumber: cert.serialNumber }) }),
    ],
    certificates: [cert],
  });
  await signed.sign(token.privateKey('audit', 'RSASSA-PKCS1-v1_5', 'SHA-256'), 0, 'SHA-256', undefined, engine);
  const der = new pkijs.ContentInfo({ contentType: pkijs.ContentInfo.SIGNED_DATA, content: signed.toSchema(true) }).toSchema().toBER(false);
  const path = join(work, 'checkpoint.p7s');
  writeFileSync(path, Buffer.from(der));
  const out = await runOk('openssl', ['cms', '-verify', '-inform', 'DER', '-in', path, '-CAfile', signCert, '-purpose', 'any', '-binary']);
  assert.deepEqual(out, content);
  // and pkijs verifies it too, with Node's crypto
  const check = await signed.verify({ signer: 0, checkChain: false }, engine);
  assert.equal(check, true);
});

for (const [name, keyopt, alg] of [
  ['PKCS#1 v1.5', [] as string[], 'RSAES-PKCS1-v1_5'],
  ['RSA-OAEP SHA-256', ['-keyopt', 'rsa_padding_mode:oaep', '-keyopt', 'rsa_oaep_md:sha256'], 'RSA-OAEP'],
] as const) {
  test(`pkijs EnvelopedData.decrypt through cryptoEngine() (${name}, made by openssl) unwraps the key on the token`, async () => {
    const plain = Buffer.from(`secret for ${name}`);
    const input = join(work, `plain-${alg}`);
    writeFileSync(input, plain);
    const out = join(work, `enc-${alg}.der`);
    await runOk('openssl', ['cms', '-encrypt', '-aes256', '-binary', '-in', input, '-outform', 'DER', '-out', out, '-recip', decryptCert, ...keyopt]);
    const ci = pkijs.ContentInfo.fromBER(new Uint8Array(readFileSync(out)));
    const env = new pkijs.EnvelopedData({ schema: ci.content });
    const result = await env.decrypt(
      0,
      {
        recipientCertificate: pkijs.Certificate.fromBER(pemToDer(readFileSync(decryptCert, 'utf8'))),
        recipientPrivateKey: token.privateKey('ncp-decrypt', alg, 'SHA-256'),
      },
      token.cryptoEngine(),
    );
    assert.deepEqual(Buffer.from(result), plain);
  });
}
