/**
 * Interoperability with the `openssl cms` command line acting as a foreign Member State (DE):
 * openssl encrypts to our token certificate and signs with DE's software key → openMessage accepts
 * and decrypts; sealMessage output → openssl cms -verify, then -decrypt with DE's key, yields the payload.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as asn1js from 'asn1js';
import { simpleParser } from 'mailparser';
import { parseConfig, resolvePaths } from '../../appliance/config/config.js';
import { PeerDirectory } from '../../appliance/peers/directory.js';
import { Token } from '../../appliance/token/token.js';
import { run, runOk } from '../../appliance/util/exec.js';
import { buildMailMessage } from '../../appliance/transport/mail/message.js';
import { openMessage, signingTimeOf, sealMessage, type OpenResult } from '../../appliance/transport/smime/index.js';
import { provisionDevelopmentKeys } from '../../provisioning/index.js';
import { createTestToken, type TestToken } from '../support/softhsm.js';

let tt: TestToken;
let token: Token;
let work: string;
let directory: PeerDirectory;
let ourDecryptCert: string;
let ourSignCert: string;

const MAX = 20 * 1024 * 1024;
const DNA_XML = Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n<PRUEMDNA><Header><Sender>DE</Sender></Header><Body/></PRUEMDNA>\n');

async function openssl(args: string[]): Promise<Buffer> {
  return runOk('openssl', args, { cwd: work });
}

function file(name: string, data: Buffer | string): string {
  const p = join(work, name);
  writeFileSync(p, data);
  return p;
}

/** Prepends RFC 5322 headers to openssl's S/MIME output and turns it into CRLF, as an SMTP delivery would. */
function asMail(smime: Buffer, opts: { from?: string; subject?: string; messageId?: string } = {}): Buffer {
  const headers =
    `From: ${opts.from ?? 'NCP Germany <ncp@dna.pruem.de.eu-admin.net>'}\n` +
    `To: ncp@dna.pruem.ro.eu-admin.net\n` +
    `Subject: ${opts.subject ?? 'DE/DNA search'}\n` +
    `Message-ID: <${opts.messageId ?? `${randomBytes(6).toString('hex')}@dna.pruem.de.eu-admin.net`}>\n` +
    `Date: ${new Date().toUTCString()}\n`;
  return Buffer.from((headers + smime.toString('latin1')).replace(/\r?\n/g, '\r\n'), 'latin1');
}

/** DE's side, opaque: cms -encrypt to our token certificate, then cms -sign -nodetach over the DER with eContentType envelopedData. */
async function deSendsOpaque(payload: Buffer, opts: { oaep?: boolean; md?: string; bare?: boolean; noCerts?: boolean; keyid?: boolean; noAttr?: boolean } = {}): Promise<Buffer> {
  const tag = randomBytes(4).toString('hex');
  const input = file(`p-${tag}`, payload);
  const keyopt = opts.oaep ? ['-keyopt', 'rsa_padding_mode:oaep', '-keyopt', 'rsa_oaep_md:sha256'] : [];
  await openssl(['cms', '-encrypt', '-aes256', '-binary', '-in', input, '-outform', 'DER', '-out', `enc-${tag}.der`, '-recip', ourDecryptCert, ...keyopt]);
  let enveloped = `enc-${tag}.der`;
  if (opts.bare) {
    // A strict RFC 5652 producer puts the bare EnvelopedData in eContent: strip the ContentInfo.
    const ci = asn1js.fromBER(new Uint8Array(readFileSync(join(work, enveloped)))).result as asn1js.Sequence;
    const content = (ci.valueBlock.value[1] as asn1js.Constructed).valueBlock.value[0]!;
    enveloped = `bare-${tag}.der`;
    file(enveloped, Buffer.from(content.toBER(false)));
  }
  await openssl([
    'cms', '-sign', '-binary', '-nodetach', '-econtent_type', 'pkcs7-envelopedData', '-in', enveloped,
    '-signer', 'de-sign.pem', '-inkey', 'de-sign.key', '-md', opts.md ?? 'sha256', ...(opts.noCerts ? ['-nocerts'] : []), ...(opts.keyid ? ['-keyid'] : []), ...(opts.noAttr ? ['-noattr'] : []),
    '-outform', 'SMIME', '-out', `signed-${tag}.smime`,
  ]);
  return asMail(readFileSync(join(work, `signed-${tag}.smime`)));
}

/** DE's side, MIME-level: cms -encrypt in S/MIME form, then cms -sign (detached, the default): multipart/signed. */
async function deSendsMultipart(payload: Buffer): Promise<Buffer> {
  const tag = randomBytes(4).toString('hex');
  const input = file(`p-${tag}`, payload);
  await openssl(['cms', '-encrypt', '-aes256', '-binary', '-in', input, '-out', `enc-${tag}.smime`, ourDecryptCert]);
  await openssl(['cms', '-sign', '-in', `enc-${tag}.smime`, '-signer', 'de-sign.pem', '-inkey', 'de-sign.key', '-out', `signed-${tag}.smime`]);
  return asMail(readFileSync(join(work, `signed-${tag}.smime`)));
}

function assertOpened(r: OpenResult): asserts r is Extract<OpenResult, { ok: true }> {
  if (!r.ok) assert.fail(`openMessage refused: ${r.error.code}: ${r.error.message}`);
}

before(async () => {
  tt = await createTestToken({ label: 'gw-ro' });
  work = mkdtempSync(join(tt.dir, 'work-'));
  token = await Token.open({ module: tt.module, label: tt.label, pin: tt.pin, softhsmConf: tt.conf });
  const certs = await provisionDevelopmentKeys(token, { memberState: 'RO', certsDir: join(work, 'certs') });
  ourSignCert = certs.find((c) => c.label === 'ncp-sign')!.path;
  ourDecryptCert = certs.find((c) => c.label === 'ncp-decrypt')!.path;
  for (const name of ['de-sign', 'de-enc']) {
    await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-subj', `/CN=DE NCP ${name}/C=DE`, '-days', '30',
      '-addext', 'keyUsage=critical,digitalSignature,keyEncipherment', '-addext', 'extendedKeyUsage=emailProtection']);
  }
  const parsed = parseConfig({
    memberState: 'RO',
    peers: [{ code: 'DE', certificates: { signing: 'de-sign.pem', encryption: 'de-enc.pem' } }],
  });
  assert.ok(parsed.ok);
  directory = new PeerDirectory(resolvePaths(parsed.config, work));
});

after(async () => {
  await token.close();
  tt.cleanup();
});

const opts = () => ({ directory, token, now: new Date(), maxBytes: MAX });

test('openssl → gateway: opaque signed-data over a ContentInfo-wrapped EnvelopedData (PKCS#1 v1.5), raw payload', async () => {
  const mail = await deSendsOpaque(DNA_XML);
  const r = await openMessage(mail, opts());
  assertOpened(r);
  assert.equal(r.sender, 'DE');
  assert.deepEqual(r.payload, DNA_XML);
  assert.equal(r.payloadContentType, 'application/octet-stream');
  assert.equal(r.subject, 'DE/DNA search');
  assert.equal(r.from, 'ncp@dna.pruem.de.eu-admin.net');
  assert.match(r.messageId ?? '', /@dna\.pruem\.de\.eu-admin\.net$/);
  assert.equal(r.signerFingerprint, directory.get('DE')!.signing!.fingerprintSha256);
  assert.deepEqual(r.algorithms, { digest: 'sha256', cipher: 'aes-256-cbc', keyTransport: 'rsa-pkcs1', signature: 'opaque', envelope: 'wrapped', legacy: false });
});

test('openssl → gateway: RSA-OAEP-SHA256 key transport, bare EnvelopedData, signer certificate not included, signer named by key id', async () => {
  const payload = randomBytes(70_000); // larger than one BER chunk
  const r1 = await openMessage(await deSendsOpaque(payload, { oaep: true }), opts());
  assertOpened(r1);
  assert.deepEqual(r1.payload, payload);
  assert.equal(r1.algorithms.keyTransport, 'rsa-oaep-sha256');
  const r2 = await openMessage(await deSendsOpaque(DNA_XML, { bare: true }), opts());
  assertOpened(r2);
  assert.equal(r2.algorithms.envelope, 'bare');
  assert.deepEqual(r2.payload, DNA_XML);
  const r3 = await openMessage(await deSendsOpaque(DNA_XML, { noCerts: true }), opts());
  assertOpened(r3);
  assert.equal(r3.sender, 'DE');
  // SignerIdentifier as subjectKeyIdentifier (openssl cms -sign -keyid) instead of issuer and serial
  const r4 = await openMessage(await deSendsOpaque(DNA_XML, { noCerts: true, keyid: true }), opts());
  assertOpened(r4);
  assert.equal(r4.sender, 'DE');
  // no signed attributes (openssl cms -sign -noattr): the signature covers the eContent itself
  const m5 = await deSendsOpaque(DNA_XML, { noAttr: true });
  const r5 = await openMessage(m5, opts());
  assertOpened(r5);
  assert.deepEqual(r5.payload, DNA_XML);
  assert.equal(r5.signingTime, null, 'no signed attributes, no signing time');
  assert.equal(signingTimeOf(m5), null);
});

test('openssl → gateway: the signing time read before verification (DNA-TIME order) is the verified one; the signed digest is stable', async () => {
  for (const mail of [await deSendsOpaque(DNA_XML), await deSendsOpaque(DNA_XML, { keyid: true, noCerts: true }), await deSendsMultipart(DNA_XML)]) {
    const r = await openMessage(mail, opts());
    assertOpened(r);
    assert.ok(r.signingTime, 'openssl cms -sign includes signingTime');
    assert.ok(Math.abs(r.signingTime.getTime() - Date.now()) < 10 * 60_000);
    assert.equal(signingTimeOf(mail)?.getTime(), r.signingTime.getTime());
    assert.match(r.signedDigest, /^[0-9a-f]{64}$/);
    // The same signed bytes under other headers: the same digest (the replay key does not depend on the mail headers).
    const renamed = Buffer.from(mail.toString('latin1').replace(/^Message-ID: .*$/im, 'Message-ID: <other@de>').replace(/^Subject: .*$/im, 'Subject: again'), 'latin1');
    const again = await openMessage(renamed, opts());
    assertOpened(again);
    assert.equal(again.signedDigest, r.signedDigest);
  }
});

test('openssl → gateway: decrypted content that is a MIME entity yields its decoded body and Content-Type', async () => {
  const entity = Buffer.from(`Content-Type: application/xml; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${DNA_XML.toString('base64')}\r\n`);
  const r = await openMessage(await deSendsOpaque(entity), opts());
  assertOpened(r);
  assert.deepEqual(r.payload, DNA_XML);
  assert.equal(r.payloadContentType, 'application/xml; charset=utf-8');
});

test('openssl → gateway: multipart/signed (openssl cms -sign without -nodetach) over an enveloped-data entity', async () => {
  const mail = await deSendsMultipart(DNA_XML);
  assert.match(mail.toString('latin1'), /Content-Type: multipart\/signed; protocol="application\/(x-)?pkcs7-signature"/);
  const r = await openMessage(mail, opts());
  assertOpened(r);
  assert.equal(r.sender, 'DE');
  assert.deepEqual(r.payload, DNA_XML);
  assert.equal(r.algorithms.signature, 'multipart');
  assert.equal(r.algorithms.envelope, 'mime');
  // The same mail with LF line ends (stored by an MTA that converts) still verifies (canonical CRLF form).
  const lf = Buffer.from(mail.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
  const r2 = await openMessage(lf, opts());
  assertOpened(r2);
  assert.deepEqual(r2.payload, DNA_XML);
});

async function gatewaySends(payload: Buffer, keyTransport: 'rsa-pkcs1' | 'rsa-oaep-sha256'): Promise<string> {
  const sealed = await sealMessage({
    payload,
    payloadContentType: 'application/xml',
    recipientCert: readFileSync(join(work, 'de-enc.pem'), 'utf8'),
    profile: { allowLegacy: false, keyTransport, digest: 'sha256' },
    token,
    signerCert: readFileSync(ourSignCert, 'utf8'),
  });
  assert.equal(sealed.contentType, 'application/pkcs7-mime; smime-type=signed-data; name=smime.p7m');
  const mail = buildMailMessage({
    from: 'ncp@dna.pruem.ro.eu-admin.net',
    to: 'ncp@dna.pruem.de.eu-admin.net',
    subject: 'RO/DNA answer',
    messageId: `${randomBytes(6).toString('hex')}@dna.pruem.ro.eu-admin.net`,
    date: new Date(),
    contentType: sealed.contentType,
    body: sealed.body,
    extraHeaders: { 'Content-Disposition': 'attachment; filename=smime.p7m' },
  });
  return file(`out-${randomBytes(4).toString('hex')}.eml`, mail);
}

for (const kt of ['rsa-pkcs1', 'rsa-oaep-sha256'] as const) {
  test(`gateway → openssl (${kt}): openssl cms -verify accepts our token signature, then -decrypt with DE's key yields the payload`, async () => {
    const mailPath = await gatewaySends(DNA_XML, kt);
    const inner = join(work, `inner-${kt}.der`);
    const verify = await run('openssl', ['cms', '-verify', '-in', mailPath, '-CAfile', ourSignCert, '-binary', '-out', inner], { cwd: work });
    assert.equal(verify.code, 0, verify.stderr);
    assert.match(verify.stderr, /Verification successful/);
    const decrypted = await openssl(['cms', '-decrypt', '-inform', 'DER', '-in', inner, '-recip', 'de-enc.pem', '-inkey', 'de-enc.key']);
    // What openssl decrypted is our inner MIME entity; read it with an independent MIME parser.
    const parsed = await simpleParser(decrypted);
    const part = parsed.attachments[0];
    assert.ok(part, 'one MIME body');
    assert.equal(part.contentType, 'application/xml');
    assert.deepEqual(part.content, DNA_XML);
    // The eContent openssl handed to -decrypt is the ContentInfo-wrapped EnvelopedData (starts with the OID).
    const der = readFileSync(inner);
    assert.equal(der[0], 0x30);
    assert.equal(Buffer.from(der.subarray(0, 20)).includes(Buffer.from('06092a864886f70d010703', 'hex')), true);
  });
}

test('gateway → openssl: a tampered message fails openssl cms -verify (the check can fail)', async () => {
  const mailPath = await gatewaySends(DNA_XML, 'rsa-pkcs1');
  const text = readFileSync(mailPath, 'latin1');
  const [head, body] = text.split('\r\n\r\n') as [string, string];
  const der = Buffer.from(body.replace(/\s+/g, ''), 'base64');
  der[der.length - 300] = der[der.length - 300]! ^ 0x01; // inside the encrypted content
  const tampered = file('tampered.eml', `${head}\r\n\r\n${der.toString('base64').replace(/(.{76})/g, '$1\r\n')}\r\n`);
  const verify = await run('openssl', ['cms', '-verify', '-in', tampered, '-CAfile', ourSignCert, '-binary', '-out', join(work, 'x.der')], { cwd: work });
  assert.notEqual(verify.code, 0);
});

test('gateway → openssl: the signer certificate openssl extracts is our token certificate', async () => {
  const mailPath = await gatewaySends(DNA_XML, 'rsa-pkcs1');
  const signer = join(work, 'signer-out.pem');
  await openssl(['cms', '-verify', '-in', mailPath, '-CAfile', ourSignCert, '-signer', signer, '-out', join(work, 'y.der'), '-binary']);
  assert.equal(readFileSync(signer, 'utf8').replace(/\r/g, ''), readFileSync(ourSignCert, 'utf8').replace(/\r/g, ''));
});
