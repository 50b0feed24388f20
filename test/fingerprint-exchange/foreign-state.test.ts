import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publishedCertificates } from '../../appliance/demo/network.js';
import { runOk } from '../../appliance/util/exec.js';
import { makeTcn, parseTransaction, readType1, readType2, type1, validateIntI, type TaggedRecord } from '../../appliance/fingerprint/index.js';
import { DEMO_SUBJECT_REFERENCE, demoSearchTransaction, demoSubjectProbe } from '../../appliance/fingerprint/afis/demo-seed.js';
import { foreignMailbox, opensslIdentity, type ForeignMailbox } from '../support/foreign-state.js';
import { eventually, startGateways, type Gateways } from '../support/gateways.js';

/**
 * Issue 10: a foreign State built only from public tools — `openssl cms` for S/MIME, `curl` as the
 * SMTP client, a stock SMTP server as its mailbox — sends our gateway (DE) a CPS (subject `AT/CPS`,
 * to fp.pruem.de.eu-admin.net) and gets an SRE it verifies and decrypts with openssl alone.
 */
let dir: string;
let net: Gateways | undefined;
let mailbox: ForeignMailbox | undefined;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pruem-fp-foreign-'));
  await opensslIdentity(dir, 'at', '/C=AT/O=Foreign NCP/CN=ncp@fp.pruem.at.eu-admin.net');
  mailbox = await foreignMailbox();
  net = await startGateways(['DE'], {
    relay: { host: '127.0.0.1', port: mailbox.port },
    syntheticProfiles: 10,
    config: {
      peers: [{ code: 'AT', certificates: { signing: join(dir, 'at.pem'), encryption: join(dir, 'at.pem') }, crypto: { keyTransport: 'rsa-pkcs1' } }],
      fingerprint: { afis: 'demo', demoPopulation: { persons: 30, latents: 5 } },
    },
  });
});

after(async () => {
  await net?.close();
  await mailbox?.close();
  if (!process.env.PRUEM_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
});

test('openssl cms + curl as a foreign State: a CPS to fp.pruem.de, an SRE hit back, verifiable and decryptable with openssl', async () => {
  const tcn = makeTcn(2026, 4711);
  const cps = demoSearchTransaction({ tot: 'CPS', from: 'AT', agency: 'BK_AFIS', destination: 'DE/BKA', tcn, priority: 1, now: new Date(), reference: 'E123456', fingers: demoSubjectProbe('tenprint') });
  writeFileSync(join(dir, 'request.an2'), cps);

  const { encryption: deEnc, signing: deSign } = publishedCertificates(net!.node('DE').dataDir);
  // Encrypt first, then sign (Annex ch.1 §5): the raw ANSI/NIST bytes, as a foreign AFIS writes them.
  await runOk('openssl', ['cms', '-encrypt', '-aes256', '-binary', '-in', join(dir, 'request.an2'), '-outform', 'DER', '-out', join(dir, 'enc.der'), deEnc]);
  await runOk('openssl', ['cms', '-sign', '-binary', '-nodetach', '-in', join(dir, 'enc.der'), '-econtent_type', 'pkcs7-envelopedData', '-signer', join(dir, 'at.pem'), '-inkey', join(dir, 'at.key'), '-outform', 'SMIME', '-out', join(dir, 'signed.smime')]);
  const smime = readFileSync(join(dir, 'signed.smime'), 'utf8').replace(/\r?\n/g, '\r\n');
  const mail =
    [
      'From: ncp@fp.pruem.at.eu-admin.net',
      'To: ncp@fp.pruem.de.eu-admin.net',
      'Subject: AT/CPS',
      'Message-ID: <at-cps-4711@fp.pruem.at.eu-admin.net>',
      `Date: ${new Date().toUTCString()}`,
    ].join('\r\n') +
    '\r\n' +
    smime;
  writeFileSync(join(dir, 'request.eml'), mail);
  await runOk('curl', ['-sS', '--url', `smtp://127.0.0.1:${net!.node('DE').spec.smtpPort}`, '--mail-from', 'ncp@fp.pruem.at.eu-admin.net', '--mail-rcpt', 'ncp@fp.pruem.de.eu-admin.net', '--upload-file', join(dir, 'request.eml')]);

  await eventually(() => (mailbox?.received.length ?? 0) > 0, 'the SRE in the foreign mailbox', 120_000);
  const answerMail = mailbox!.received[0]!;
  assert.match(answerMail.toString('latin1'), /^Subject: DE\/SRE\r?$/m);
  writeFileSync(join(dir, 'answer.eml'), answerMail);
  await runOk('openssl', ['cms', '-verify', '-in', join(dir, 'answer.eml'), '-inform', 'SMIME', '-CAfile', deSign, '-binary', '-out', join(dir, 'answer-enc.der')]);
  await runOk('openssl', ['cms', '-decrypt', '-inform', 'DER', '-in', join(dir, 'answer-enc.der'), '-recip', join(dir, 'at.pem'), '-inkey', join(dir, 'at.key'), '-out', join(dir, 'answer.mime')]);
  // The decrypted content is a MIME entity (RFC 5751) carrying the ANSI/NIST file in base64.
  const inner = readFileSync(join(dir, 'answer.mime'));
  const text = inner.toString('latin1');
  const split = text.search(/\r?\n\r?\n/);
  assert.ok(split > 0, 'a MIME entity');
  assert.match(text.slice(0, split), /content-type:\s*application\/octet-stream/i);
  const sre = Buffer.from(text.slice(split).replace(/\s+/g, ''), 'base64');
  const parsed = parseTransaction(sre);
  assert.ok(parsed.ok, 'the SRE parses');
  assert.deepEqual(validateIntI(parsed.value, { self: 'AT', peer: 'DE' }), [], 'the SRE is valid INT-I');
  const header = readType1(type1(parsed.value));
  assert.equal(header.tot, 'SRE');
  assert.equal(header.tcr, tcn);
  assert.equal(header.destination, 'AT/BK_AFIS');
  const t2 = readType2(parsed.value.records.find((r): r is TaggedRecord => r.kind === 'tagged' && r.type === 2)!);
  assert.equal(t2.criminalReference, DEMO_SUBJECT_REFERENCE.DE);
  assert.deepEqual([t2.respondents?.tot, t2.respondents?.result, t2.respondents?.candidate], ['CPS', 'I', '001/001']);
  assert.equal(t2.mn1, 'E123456');
});
