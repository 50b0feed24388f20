import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publishedCertificates } from '../../appliance/demo/network.js';
import { DEMO_PROFILE } from '../../appliance/demo/seed.js';
import { runOk } from '../../appliance/util/exec.js';
import { foreignMailbox, type ForeignMailbox } from '../support/foreign-state.js';
import { eventually, startGateways, type Gateways } from '../support/gateways.js';

/**
 * Issue 4: a foreign State built only from public tools — `openssl cms` for S/MIME, `curl` as the
 * SMTP client, a stock SMTP server (smtp-server) as its mailbox — sends our gateway (DE) an
 * Art. 3 request and gets a valid, verifiable answer. No code of ours runs on that side.
 */
const XSD = new URL('../../appliance/dna/pruemdna.xsd', import.meta.url).pathname;
let dir: string;
let net: Gateways | undefined;
let mailbox: ForeignMailbox | undefined;
let received: Buffer[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pruem-foreign-'));
  // The foreign State (AT): a software key and a self-signed certificate, made with openssl alone.
  await runOk('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'at.key'), '-out', join(dir, 'at.pem'), '-days', '30', '-subj', '/C=AT/O=Foreign NCP/CN=ncp@dna.pruem.at.eu-admin.net']);
  mailbox = await foreignMailbox();
  received = mailbox.received;

  // Our gateway (DE) knows AT as its only peer; its answers go straight to the foreign State's
  // mailbox, as the TESTA relay would deliver them.
  net = await startGateways(['DE'], {
    relay: { host: '127.0.0.1', port: mailbox.port },
    syntheticProfiles: 100,
    config: { peers: [{ code: 'AT', certificates: { signing: join(dir, 'at.pem'), encryption: join(dir, 'at.pem') }, crypto: { keyTransport: 'rsa-pkcs1' } }] },
  });
});

after(async () => {
  await net?.close();
  await mailbox?.close();
  if (!process.env.PRUEM_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
});

function loci(): string {
  return Object.entries(DEMO_PROFILE)
    .map(([locus, [a, b]]) => `<${locus}><low_allele>${a}</low_allele><high_allele>${b}</high_allele></${locus}>`)
    .join('');
}

test('openssl cms + curl as a foreign State: request accepted, answer verifiable and decryptable with openssl', async () => {
  const ess = ['vwa', 'th01', 'd21s11', 'fga', 'd8s1179', 'd3s1358', 'd18s51', 'amelogenin'];
  const all = loci();
  const essXml = all.split(/(?=<[a-z0-9_]+><low_allele>)/).filter((x) => ess.some((l) => x.startsWith(`<${l}>`))).join('');
  const addXml = all.split(/(?=<[a-z0-9_]+><low_allele>)/).filter((x) => !ess.some((l) => x.startsWith(`<${l}>`))).join('');
  const requestXml = `<?xml version="1.0" encoding="UTF-8"?>
<PRUEMDNA><header><direction>R</direction><ref>AT-REF-1</ref><generator>openssl-foreign-state</generator><schema_version>1.0</schema_version>
<requesting><source_isocode>AT</source_isocode><destination_isocode>DE</destination_isocode><request_id>AT-REQ-1</request_id><date>2026-11-23</date><time>10:00:00</time></requesting>
<requested><source_isocode>DE</source_isocode><destination_isocode>AT</destination_isocode><request_id>AT-REQ-1</request_id><date>2026-11-23</date><time>10:00:00</time></requested></header>
<datas><reqtype>3</reqtype><date>2026-11-23</date><type>S</type><result>U</result><agency>AT-BK</agency><profile_ident>AT-STAIN-1</profile_ident>
<profile><ess_issol>${essXml}</ess_issol><additional_loci>${addXml}</additional_loci><profile_id>AT-STAIN-1</profile_id></profile></datas></PRUEMDNA>
`;
  writeFileSync(join(dir, 'request.xml'), requestXml);
  await runOk('xmllint', ['--noout', '--schema', XSD, join(dir, 'request.xml')]);

  const { encryption: deEnc, signing: deSign } = publishedCertificates(net!.node('DE').dataDir);
  // Encrypt first, then sign (Annex ch.1 §5): the signed content is the ContentInfo-wrapped EnvelopedData.
  await runOk('openssl', ['cms', '-encrypt', '-aes256', '-binary', '-in', join(dir, 'request.xml'), '-outform', 'DER', '-out', join(dir, 'enc.der'), deEnc]);
  await runOk('openssl', ['cms', '-sign', '-binary', '-nodetach', '-in', join(dir, 'enc.der'), '-econtent_type', 'pkcs7-envelopedData', '-signer', join(dir, 'at.pem'), '-inkey', join(dir, 'at.key'), '-outform', 'SMIME', '-out', join(dir, 'signed.smime')]);
  const smime = readFileSync(join(dir, 'signed.smime'), 'utf8').replace(/\r?\n/g, '\r\n');
  const mail = [
    'From: ncp@dna.pruem.at.eu-admin.net',
    'To: ncp@dna.pruem.de.eu-admin.net',
    'Subject: AT/DNA',
    'Message-ID: <at-req-1@dna.pruem.at.eu-admin.net>',
    `Date: ${new Date().toUTCString()}`,
  ].join('\r\n') + '\r\n' + smime;
  writeFileSync(join(dir, 'request.eml'), mail);
  await runOk('curl', ['-sS', '--url', `smtp://127.0.0.1:${net!.node('DE').spec.smtpPort}`, '--mail-from', 'ncp@dna.pruem.at.eu-admin.net', '--mail-rcpt', 'ncp@dna.pruem.de.eu-admin.net', '--upload-file', join(dir, 'request.eml')]);

  await eventually(() => received.length > 0, 'the answer in the foreign mailbox', 120_000);
  const answerMail = received[0]!;
  writeFileSync(join(dir, 'answer.eml'), answerMail);
  // Verify against DE's published signing certificate, then decrypt with the foreign key: openssl only.
  await runOk('openssl', ['cms', '-verify', '-in', join(dir, 'answer.eml'), '-inform', 'SMIME', '-CAfile', deSign, '-binary', '-out', join(dir, 'answer-enc.der')]);
  await runOk('openssl', ['cms', '-decrypt', '-inform', 'DER', '-in', join(dir, 'answer-enc.der'), '-recip', join(dir, 'at.pem'), '-inkey', join(dir, 'at.key'), '-out', join(dir, 'answer.mime')]);
  const inner = readFileSync(join(dir, 'answer.mime'), 'utf8');
  // The decrypted content is a MIME entity (RFC 5751) carrying the PRUEMDNA answer in base64.
  const [, body = ''] = inner.split(/\r?\n\r?\n/, 2).length === 2 ? [inner.slice(0, inner.search(/\r?\n\r?\n/)), inner.slice(inner.search(/\r?\n\r?\n/)).trim()] : ['', inner];
  const xml = /^\s*</.test(body) ? body : Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  writeFileSync(join(dir, 'answer.xml'), xml);
  await runOk('xmllint', ['--noout', '--schema', XSD, join(dir, 'answer.xml')]);
  assert.match(xml, /<direction>A<\/direction>/);
  assert.match(xml, /<request_id>AT-REQ-1<\/request_id>/);
  assert.match(xml, /<profile_ident>DE-DEMO-0001<\/profile_ident>/);
  assert.match(xml, /<match_id>AT-STAIN-1<\/match_id>/);
  assert.match(xml, /<quality>1<\/quality>/);
});
