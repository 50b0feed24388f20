/**
 * Every refusal code of openMessage and sealMessage, from real bad input (made by openssl or by
 * damaging real messages), the in-process round trip under concurrency, and a mutation fuzz that
 * must never throw.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as asn1js from 'asn1js';
import { parseConfig, resolvePaths, type CryptoProfile } from '../../appliance/config/config.js';
import { PeerDirectory } from '../../appliance/peers/directory.js';
import { Token } from '../../appliance/token/token.js';
import { runOk } from '../../appliance/util/exec.js';
import { buildMailMessage } from '../../appliance/transport/mail/message.js';
import { openMessage, sealMessage, SmimeError, type OpenResult } from '../../appliance/transport/smime/index.js';
import { provisionDevelopmentKeys } from '../../provisioning/index.js';
import { createTestToken, type TestToken } from '../support/softhsm.js';

let tt: TestToken;
let token: Token;
let work: string;
let directory: PeerDirectory;
let ourSign: string;
let ourDecrypt: string;

const MAX = 20 * 1024 * 1024;
const PAYLOAD = Buffer.from('<?xml version="1.0"?><PRUEMDNA><Body>profile</Body></PRUEMDNA>');
const MODERN: CryptoProfile = { allowLegacy: false, keyTransport: 'rsa-pkcs1', digest: 'sha256' };
const DAY = 86_400_000;

const openssl = (args: string[]) => runOk('openssl', args, { cwd: work });
const file = (name: string, data: Buffer | string) => {
  writeFileSync(join(work, name), data);
  return join(work, name);
};

function mail(smime: Buffer | string, from = 'ncp@dna.pruem.de.eu-admin.net'): Buffer {
  const head = `From: ${from}\nTo: ncp@dna.pruem.ro.eu-admin.net\nSubject: test\nMessage-ID: <${randomBytes(4).toString('hex')}@x>\n`;
  return Buffer.from((head + (typeof smime === 'string' ? smime : smime.toString('latin1'))).replace(/\r?\n/g, '\r\n'), 'latin1');
}

/** A peer signs (software key) an EnvelopedData made by openssl; options pick the ways to get it wrong. */
async function peerSends(opts: {
  signOptions?: string[];
  signer?: string;
  md?: string;
  cipher?: string;
  recipient?: string;
  noCerts?: boolean;
  payload?: Buffer;
  envelopedDer?: Buffer;
  from?: string;
}): Promise<Buffer> {
  const tag = randomBytes(4).toString('hex');
  const signer = opts.signer ?? 'de-sign';
  let enc = `enc-${tag}.der`;
  if (opts.envelopedDer) file(enc, opts.envelopedDer);
  else {
    file(`p-${tag}`, opts.payload ?? PAYLOAD);
    await openssl(['cms', '-encrypt', `-${opts.cipher ?? 'aes256'}`, '-binary', '-in', `p-${tag}`, '-outform', 'DER', '-out', enc, '-recip', opts.recipient ?? ourDecrypt]);
  }
  await openssl([
    'cms', '-sign', '-binary', '-nodetach', '-econtent_type', 'pkcs7-envelopedData', '-in', enc, '-signer', `${signer}.pem`, '-inkey', `${signer}.key`,
    '-md', opts.md ?? 'sha256', ...(opts.noCerts ? ['-nocerts'] : []), ...(opts.signOptions ?? []), '-outform', 'SMIME', '-out', `s-${tag}.smime`,
  ]);
  return mail(readFileSync(join(work, `s-${tag}.smime`)), opts.from ?? `ncp@dna.pruem.${signer.slice(0, 2)}.eu-admin.net`);
}

async function expectCode(result: Promise<OpenResult>, code: string, message?: RegExp): Promise<void> {
  const r = await result;
  assert.equal(r.ok, false, `expected ${code}, got ok`);
  if (!r.ok) {
    assert.equal(r.error.code, code, r.error.message);
    if (message) assert.match(r.error.message, message);
  }
}

const opts = (over: Partial<{ now: Date; maxBytes: number; token: Token }> = {}) => ({ directory, token, now: new Date(), maxBytes: MAX, ...over });

before(async () => {
  tt = await createTestToken({ label: 'gw-errors' });
  work = mkdtempSync(join(tt.dir, 'w-'));
  token = await Token.open({ module: tt.module, label: tt.label, pin: tt.pin, softhsmConf: tt.conf });
  const certs = await provisionDevelopmentKeys(token, { memberState: 'RO', certsDir: join(work, 'certs') });
  ourSign = certs.find((c) => c.label === 'ncp-sign')!.path;
  ourDecrypt = certs.find((c) => c.label === 'ncp-decrypt')!.path;
  const mk = (name: string, bits: number, days: number) =>
    openssl(['req', '-x509', '-newkey', `rsa:${bits}`, '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-subj', `/CN=${name}`, '-days', String(days)]);
  await Promise.all([mk('de-sign', 2048, 30), mk('uk-sign', 1024, 30), mk('fr-sign', 2048, 1), mk('xx-stranger', 2048, 30)]);
  const parsed = parseConfig({
    memberState: 'RO',
    peers: [
      { code: 'DE', certificates: { signing: 'de-sign.pem' } },
      { code: 'UK', certificates: { signing: 'uk-sign.pem' }, crypto: { allowLegacy: true, digest: 'sha1' } },
      { code: 'FR', certificates: { signing: 'fr-sign.pem' } },
      // A loopback peer holding our own certificates: the gateway's output can be opened by the gateway.
      { code: 'AT', certificates: { signing: ourSign, encryption: ourDecrypt } },
    ],
  });
  assert.ok(parsed.ok);
  directory = new PeerDirectory(resolvePaths(parsed.config, work));
});

after(async () => {
  await token.close();
  tt.cleanup();
});

async function sealForAt(payload: Buffer, profile: CryptoProfile = MODERN): Promise<Buffer> {
  const sealed = await sealMessage({
    payload,
    payloadContentType: 'application/xml',
    recipientCert: readFileSync(ourDecrypt, 'utf8'),
    profile,
    token,
    signerCert: readFileSync(ourSign, 'utf8'),
  });
  return buildMailMessage({
    from: 'ncp@dna.pruem.at.eu-admin.net',
    to: 'ncp@dna.pruem.ro.eu-admin.net',
    subject: 'AT/DNA',
    messageId: `${randomBytes(4).toString('hex')}@dna.pruem.at.eu-admin.net`,
    date: new Date(),
    contentType: sealed.contentType,
    body: sealed.body,
  });
}

test('20 concurrent seals and 20 concurrent opens on one token all succeed', async () => {
  const payloads = Array.from({ length: 20 }, (_, i) => Buffer.concat([PAYLOAD, Buffer.from(` #${i}`)]));
  const mails = await Promise.all(payloads.map((p, i) => sealForAt(p, i % 2 ? MODERN : { ...MODERN, keyTransport: 'rsa-oaep-sha256' })));
  const opened = await Promise.all(mails.map((m) => openMessage(m, opts())));
  opened.forEach((r, i) => {
    assert.ok(r.ok, r.ok ? '' : `${r.error.code}: ${r.error.message}`);
    if (r.ok) {
      assert.equal(r.sender, 'AT');
      assert.deepEqual(r.payload, payloads[i]);
      assert.equal(r.payloadContentType, 'application/xml');
    }
  });
});

test('BAD_SIGNATURE: a flipped byte in the signed content, or in the signature value', async () => {
  const good = await peerSends({});
  assert.equal((await openMessage(good, opts())).ok, true);
  const text = good.toString('latin1');
  const split = text.indexOf('\r\n\r\n') + 4;
  const der = Buffer.from(text.slice(split).replace(/\s+/g, ''), 'base64');
  const reencode = (d: Buffer) => Buffer.from(text.slice(0, split) + d.toString('base64').replace(/(.{64})/g, '$1\r\n') + '\r\n', 'latin1');
  const inContent = Buffer.from(der);
  const at = inContent.indexOf(Buffer.from('06096086480165030401', 'hex')); // aes OID inside the enveloped eContent
  inContent[at + 40] = inContent[at + 40]! ^ 0x55;
  await expectCode(openMessage(reencode(inContent), opts()), 'BAD_SIGNATURE', /digest/);
  const inSignature = Buffer.from(der);
  inSignature[inSignature.length - 10] = inSignature[inSignature.length - 10]! ^ 0x01; // the signature is last
  await expectCode(openMessage(reencode(inSignature), opts()), 'BAD_SIGNATURE', /does not verify/);
});

test('BAD_SIGNATURE: multipart/signed whose first part was altered', async () => {
  file('mp.txt', PAYLOAD);
  await openssl(['cms', '-encrypt', '-aes256', '-binary', '-in', 'mp.txt', '-out', 'mp.smime', ourDecrypt]);
  await openssl(['cms', '-sign', '-in', 'mp.smime', '-signer', 'de-sign.pem', '-inkey', 'de-sign.key', '-out', 'mp-signed.smime']);
  const good = mail(readFileSync(join(work, 'mp-signed.smime')));
  assert.equal((await openMessage(good, opts())).ok, true);
  const text = good.toString('latin1');
  const i = text.indexOf('Content-Transfer-Encoding: base64\r\n\r\n') + 40; // inside the first part's base64
  const bad = text.slice(0, i) + (text[i] === 'A' ? 'B' : 'A') + text.slice(i + 1);
  await expectCode(openMessage(Buffer.from(bad, 'latin1'), opts()), 'BAD_SIGNATURE');
});

test('UNKNOWN_SIGNER: a certificate no peer is configured with (included, or only named)', async () => {
  await expectCode(openMessage(await peerSends({ signer: 'xx-stranger', from: 'ncp@dna.pruem.de.eu-admin.net' }), opts()), 'UNKNOWN_SIGNER', /CN=xx-stranger/);
  await expectCode(openMessage(await peerSends({ signer: 'xx-stranger', noCerts: true, from: 'ncp@dna.pruem.de.eu-admin.net' }), opts()), 'UNKNOWN_SIGNER');
});

test('EXPIRED_SIGNER: outside the signer certificate validity (after notAfter, before notBefore)', async () => {
  const fr = await peerSends({ signer: 'fr-sign' });
  assert.equal((await openMessage(fr, opts())).ok, true, 'valid today');
  await expectCode(openMessage(fr, opts({ now: new Date(Date.now() + 3 * DAY) })), 'EXPIRED_SIGNER', /FR signing certificate/);
  await expectCode(openMessage(await peerSends({}), opts({ now: new Date(Date.now() - 2 * DAY) })), 'EXPIRED_SIGNER');
});

test('LEGACY_NOT_ALLOWED: SHA-1 or AES-128 from a modern peer; the same accepted from a legacy peer (RSA-1024, SHA-1)', async () => {
  await expectCode(openMessage(await peerSends({ md: 'sha1' }), opts()), 'LEGACY_NOT_ALLOWED', /SHA-1 from DE/);
  await expectCode(openMessage(await peerSends({ cipher: 'aes128' }), opts()), 'LEGACY_NOT_ALLOWED', /aes-128-cbc/);
  const uk = await openMessage(await peerSends({ signer: 'uk-sign', md: 'sha1', cipher: 'aes128' }), opts());
  assert.ok(uk.ok, uk.ok ? '' : uk.error.message);
  if (uk.ok) {
    assert.equal(uk.sender, 'UK');
    assert.deepEqual(uk.payload, PAYLOAD);
    assert.equal(uk.algorithms.digest, 'sha1');
    assert.equal(uk.algorithms.legacy, true);
  }
});

test('UNDECRYPTABLE: addressed to someone else, to our signing certificate, or with a damaged content key', async () => {
  await expectCode(openMessage(await peerSends({ recipient: 'xx-stranger.pem' }), opts()), 'UNDECRYPTABLE', /not addressed to us/);
  await expectCode(openMessage(await peerSends({ recipient: ourSign }), opts()), 'UNDECRYPTABLE');
  file('k.txt', PAYLOAD);
  await openssl(['cms', '-encrypt', '-aes256', '-binary', '-in', 'k.txt', '-outform', 'DER', '-out', 'k.der', '-recip', ourDecrypt]);
  const der = readFileSync(join(work, 'k.der'));
  const ci = asn1js.fromBER(new Uint8Array(der)).result;
  const ktri = (((ci as asn1js.Sequence).valueBlock.value[1] as asn1js.Constructed).valueBlock.value[0] as asn1js.Sequence).valueBlock.value[1] as asn1js.Set;
  const encryptedKey = ((ktri.valueBlock.value[0] as asn1js.Sequence).valueBlock.value[3] as asn1js.OctetString).valueBlock.valueHexView;
  const pos = der.indexOf(Buffer.from(encryptedKey));
  der[pos + 100] = der[pos + 100]! ^ 0xff;
  await expectCode(openMessage(await peerSends({ envelopedDer: der }), opts()), 'UNDECRYPTABLE');
});

test('UNSUPPORTED_ALGORITHM: an RSA-PSS signature (RFC 4056) is not in the profile', async () => {
  await expectCode(openMessage(await peerSends({ signOptions: ['-keyopt', 'rsa_padding_mode:pss'] }), opts()), 'UNSUPPORTED_ALGORITHM', /1\.2\.840\.113549\.1\.1\.10/);
});

test('MALFORMED_MIME: no header/body separator, a line that is no header, broken base64, unterminated multipart', async () => {
  await expectCode(openMessage(Buffer.from('From: a@b\r\nSubject: x'), opts()), 'MALFORMED_MIME');
  await expectCode(openMessage(Buffer.from('From: a@b\r\nthis is not a header\r\n\r\nbody'), opts()), 'MALFORMED_MIME');
  await expectCode(
    openMessage(mail('Content-Type: application/pkcs7-mime; smime-type=signed-data\nContent-Transfer-Encoding: base64\n\n@@@@not*base64\n'), opts()),
    'MALFORMED_MIME',
  );
  await expectCode(
    openMessage(mail('Content-Type: multipart/signed; protocol="application/pkcs7-signature"; boundary="b1"\n\n--b1\nContent-Type: text/plain\n\nx\n--b1\n'), opts()),
    'MALFORMED_MIME',
  );
  await expectCode(openMessage(mail('Content-Type: text/plain; charset\n\nx'), opts()), 'MALFORMED_MIME');
});

test('NOT_SMIME, NO_SIGNATURE, MALFORMED_CMS, SENDER_MISMATCH, OVERSIZED', async () => {
  await expectCode(openMessage(mail('Content-Type: text/plain\n\nhello'), opts()), 'NOT_SMIME');
  await expectCode(openMessage(mail('Content-Type: multipart/mixed; boundary=z\n\n--z\n\nx\n--z--\n'), opts()), 'NOT_SMIME');
  file('e.txt', PAYLOAD);
  await openssl(['cms', '-encrypt', '-aes256', '-in', 'e.txt', '-out', 'e.smime', ourDecrypt]);
  await expectCode(openMessage(mail(readFileSync(join(work, 'e.smime'))), opts()), 'NO_SIGNATURE');
  await expectCode(
    openMessage(mail(`Content-Type: application/pkcs7-mime; smime-type=signed-data\nContent-Transfer-Encoding: base64\n\n${randomBytes(300).toString('base64')}\n`), opts()),
    'MALFORMED_CMS',
  );
  await expectCode(openMessage(await peerSends({ from: 'ncp@dna.pruem.fr.eu-admin.net' }), opts()), 'SENDER_MISMATCH', /belongs to FR/);
  const good = await peerSends({});
  await expectCode(openMessage(good, opts({ maxBytes: good.length - 1 })), 'OVERSIZED');
  assert.equal((await openMessage(good, opts({ maxBytes: good.length }))).ok, true);
});

test('MALFORMED_CMS: a correctly signed EnvelopedData whose inside is damaged names the field', async () => {
  file('m.txt', PAYLOAD);
  await openssl(['cms', '-encrypt', '-aes256', '-binary', '-in', 'm.txt', '-outform', 'DER', '-out', 'm.der', '-recip', ourDecrypt]);
  const ci = asn1js.fromBER(new Uint8Array(readFileSync(join(work, 'm.der')))).result as asn1js.Sequence;
  const enveloped = (ci.valueBlock.value[1] as asn1js.Constructed).valueBlock.value[0] as asn1js.Sequence;
  const fields = enveloped.valueBlock.value;
  const rebuilt = (value: asn1js.AsnType[]) => Buffer.from(new asn1js.Sequence({ value }).toBER());
  // Each is signed by DE, so it passes verification and reaches the EnvelopedData reader.
  await expectCode(openMessage(await peerSends({ envelopedDer: rebuilt([fields[1]!, fields[2]!]) }), opts()), 'MALFORMED_CMS', /neither a ContentInfo nor an EnvelopedData/);
  await expectCode(openMessage(await peerSends({ envelopedDer: rebuilt([fields[0]!, fields[2]!, fields[1]!]) }), opts()), 'MALFORMED_CMS', /recipientInfos is not a SET/);
  await expectCode(openMessage(await peerSends({ envelopedDer: rebuilt([fields[0]!, fields[1]!]) }), opts()), 'MALFORMED_CMS', /encryptedContentInfo is not a SEQUENCE/);
  const eci = fields[2] as asn1js.Sequence;
  const detached = new asn1js.Sequence({ value: eci.valueBlock.value.slice(0, 2) });
  await expectCode(openMessage(await peerSends({ envelopedDer: rebuilt([fields[0]!, fields[1]!, detached]) }), opts()), 'MALFORMED_CMS', /no encryptedContent/);
  await expectCode(openMessage(await peerSends({ envelopedDer: rebuilt([fields[0]!, fields[1]!, eci, new asn1js.Integer({ value: 7 })]) }), opts()), 'MALFORMED_CMS', /after encryptedContentInfo/);
  await expectCode(openMessage(await peerSends({ envelopedDer: randomBytes(200) }), opts()), 'MALFORMED_CMS');
  // The same parts in the right order still open: the mutations above are what made them fail.
  const ok = await openMessage(await peerSends({ envelopedDer: rebuilt([fields[0]!, fields[1]!, eci]) }), opts());
  assert.ok(ok.ok, ok.ok ? '' : ok.error.message);
});

test('TOKEN_UNAVAILABLE: a token that cannot decrypt now is a transient refusal, not a verdict on the message', async () => {
  const other = await Token.open({ module: tt.module, label: tt.label, pin: tt.pin, softhsmConf: tt.conf });
  await other.close();
  await expectCode(openMessage(await peerSends({}), opts({ token: other })), 'TOKEN_UNAVAILABLE');
});

test('sealMessage refuses what would break policy or could not be verified, with its codes', async () => {
  const seal = (over: Partial<Parameters<typeof sealMessage>[0]>) =>
    sealMessage({
      payload: PAYLOAD,
      payloadContentType: 'application/xml',
      recipientCert: readFileSync(join(work, 'de-sign.pem'), 'utf8'),
      profile: MODERN,
      token,
      signerCert: readFileSync(ourSign, 'utf8'),
      ...over,
    });
  const code = (c: string) => (e: unknown) => e instanceof SmimeError && e.code === c;
  await assert.rejects(seal({ recipientCert: readFileSync(join(work, 'uk-sign.pem'), 'utf8') }), code('LEGACY_NOT_ALLOWED'));
  await assert.rejects(seal({ profile: { ...MODERN, digest: 'sha1' } }), code('LEGACY_NOT_ALLOWED'));
  await assert.rejects(seal({ now: new Date(Date.now() + 40 * DAY) }), code('EXPIRED_RECIPIENT'));
  await assert.rejects(seal({ recipientCert: 'garbage' }), code('BAD_RECIPIENT_CERT'));
  await assert.rejects(seal({ signerCert: readFileSync(ourDecrypt, 'utf8') }), code('BAD_SIGNER_CERT'));
  await assert.rejects(seal({ payloadContentType: 'application/xml\r\nX-Evil: 1' }), code('BAD_CONTENT_TYPE'));
  // A legacy peer gets SHA-1 and its RSA-1024 key when its profile says so.
  const legacy = await seal({ recipientCert: readFileSync(join(work, 'uk-sign.pem'), 'utf8'), profile: { allowLegacy: true, keyTransport: 'rsa-pkcs1', digest: 'sha1' } });
  const der = Buffer.from(legacy.body.toString('ascii').replace(/\s+/g, ''), 'base64');
  const printed = (await runOk('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER', '-in', file('legacy.der', der)])).toString();
  assert.match(printed, /algorithm: sha1/);
});

/** Small deterministic PRNG so a failure can be replayed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('fuzz: 300 damaged variants of valid opaque and multipart mails never throw and never yield another payload', async () => {
  const opaque = await peerSends({});
  file('fz.txt', PAYLOAD);
  await openssl(['cms', '-encrypt', '-aes256', '-binary', '-in', 'fz.txt', '-out', 'fz.smime', ourDecrypt]);
  await openssl(['cms', '-sign', '-in', 'fz.smime', '-signer', 'de-sign.pem', '-inkey', 'de-sign.key', '-out', 'fz-signed.smime']);
  const multipart = mail(readFileSync(join(work, 'fz-signed.smime')));
  const rnd = prng(20261123);
  const codes = new Map<string, number>();
  for (let i = 0; i < 300; i++) {
    const base = i % 2 ? opaque : multipart;
    const m = Buffer.from(base);
    const kind = Math.floor(rnd() * 3);
    let variant: Buffer;
    if (kind === 0) {
      for (let k = 0; k < 1 + Math.floor(rnd() * 4); k++) {
        const at = Math.floor(rnd() * m.length);
        m[at] = Math.floor(rnd() * 256);
      }
      variant = m;
    } else if (kind === 1) {
      variant = m.subarray(0, Math.floor(rnd() * m.length));
    } else {
      const at = Math.floor(rnd() * m.length);
      variant = Buffer.concat([m.subarray(0, at), randomBytes(1 + Math.floor(rnd() * 20)), m.subarray(at)]);
    }
    const r = await openMessage(variant, opts());
    if (r.ok) assert.deepEqual(r.payload, PAYLOAD, `variant ${i} opened to another payload`);
    else codes.set(r.error.code, (codes.get(r.error.code) ?? 0) + 1);
  }
  assert.ok(codes.size >= 3, `several refusal codes seen: ${[...codes.keys()].join(', ')}`);
});
