import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publishedCertificates, runPruem } from '../../appliance/demo/network.js';
import { DEMO_PROFILE } from '../../appliance/demo/seed.js';
import { runOk } from '../../appliance/util/exec.js';
import { foreignMailbox, opensslIdentity, type ForeignMailbox } from '../support/foreign-state.js';
import { eventually, startGateways, type Gateways } from '../support/gateways.js';

/**
 * Issue 12, items 1–3 from outside: a foreign State made only of `openssl cms` and `curl` (no code of
 * ours on its side) sends our gateway (DE)
 *   - an invalid request (reqtype 7, refused by the schema): the E answer carries its ref, request ids
 *     and profile ident, so AT can tell which request failed;
 *   - the same signed bytes again under a new Message-ID: refused as a replay, not answered twice;
 *   - a request signed by a key DE does not know: refused, and visible as a security event in the
 *     signed audit export an auditor receives.
 */
const XSD = new URL('../../appliance/dna/pruemdna.xsd', import.meta.url).pathname;
let dir: string;
let net: Gateways | undefined;
let mailbox: ForeignMailbox | undefined;
let received: Buffer[] = [];
const AT = 'ncp@dna.pruem.at.eu-admin.net';
const DE = 'ncp@dna.pruem.de.eu-admin.net';
const openssl = (...args: string[]) => runOk('openssl', args);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pruem-hostile-'));
  for (const who of ['at', 'stranger']) await opensslIdentity(dir, who);
  mailbox = await foreignMailbox();
  received = mailbox.received;
  net = await startGateways(['DE'], {
    relay: { host: '127.0.0.1', port: mailbox.port },
    syntheticProfiles: 50,
    config: { peers: [{ code: 'AT', certificates: { signing: join(dir, 'at.pem'), encryption: join(dir, 'at.pem') }, crypto: { keyTransport: 'rsa-pkcs1' } }] },
  });
});

after(async () => {
  await net?.close();
  await mailbox?.close();
  if (!process.env.PRUEM_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
});

function requestXml(requestId: string, reqtype: string): string {
  const loci = Object.entries(DEMO_PROFILE)
    .map(([locus, [a, b]]) => `<${locus}><low_allele>${a}</low_allele><high_allele>${b}</high_allele></${locus}>`)
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>
<PRUEMDNA><header><direction>R</direction><ref>${requestId}-REF</ref><generator>openssl-foreign-state</generator><schema_version>1.0</schema_version>
<requesting><source_isocode>AT</source_isocode><destination_isocode>DE</destination_isocode><request_id>${requestId}</request_id><date>2026-11-23</date><time>10:00:00</time></requesting>
<requested><source_isocode>DE</source_isocode><destination_isocode>AT</destination_isocode><request_id>${requestId}</request_id><date>2026-11-23</date><time>10:00:00</time></requested></header>
<datas><reqtype>${reqtype}</reqtype><date>2026-11-23</date><type>S</type><result>U</result><agency>AT-BK</agency><profile_ident>${requestId}-STAIN</profile_ident>
<profile><ess_issol>${loci}</ess_issol></profile></datas></PRUEMDNA>
`;
}

/** Encrypt for DE, then sign (Annex ch.1 §5) with openssl alone; returns the S/MIME body (headers + base64). */
async function signedBody(name: string, xml: string, signer: 'at' | 'stranger'): Promise<string> {
  const { encryption } = publishedCertificates(net!.node('DE').dataDir);
  writeFileSync(join(dir, `${name}.xml`), xml);
  await openssl('cms', '-encrypt', '-aes256', '-binary', '-in', join(dir, `${name}.xml`), '-outform', 'DER', '-out', join(dir, `${name}.enc`), encryption);
  await openssl('cms', '-sign', '-binary', '-nodetach', '-in', join(dir, `${name}.enc`), '-econtent_type', 'pkcs7-envelopedData', '-signer', join(dir, `${signer}.pem`), '-inkey', join(dir, `${signer}.key`), '-outform', 'SMIME', '-out', join(dir, `${name}.smime`));
  return readFileSync(join(dir, `${name}.smime`), 'utf8').replace(/\r?\n/g, '\r\n');
}

/** A plain SMTP client (curl) hands the mail to DE's receiver, as the TESTA relay would. */
async function send(name: string, messageId: string, body: string, date = new Date()): Promise<void> {
  const mail = [`From: ${AT}`, `To: ${DE}`, 'Subject: AT/DNA', `Message-ID: <${messageId}>`, `Date: ${date.toUTCString()}`].join('\r\n') + '\r\n' + body;
  writeFileSync(join(dir, `${name}.eml`), mail);
  await runOk('curl', ['-sS', '--url', `smtp://127.0.0.1:${net!.node('DE').spec.smtpPort}`, '--mail-from', AT, '--mail-rcpt', DE, '--upload-file', join(dir, `${name}.eml`)]);
}

/** Verify with DE's published certificate and decrypt with AT's key: openssl only. Returns the PRUEMDNA text. */
async function openAnswer(name: string, mail: Buffer): Promise<string> {
  const { signing } = publishedCertificates(net!.node('DE').dataDir);
  writeFileSync(join(dir, `${name}.eml`), mail);
  await openssl('cms', '-verify', '-in', join(dir, `${name}.eml`), '-inform', 'SMIME', '-CAfile', signing, '-binary', '-out', join(dir, `${name}.der`));
  await openssl('cms', '-decrypt', '-inform', 'DER', '-in', join(dir, `${name}.der`), '-recip', join(dir, 'at.pem'), '-inkey', join(dir, 'at.key'), '-out', join(dir, `${name}.mime`));
  const inner = readFileSync(join(dir, `${name}.mime`), 'utf8');
  const split = inner.search(/\r?\n\r?\n/);
  const body = split >= 0 ? inner.slice(split).trim() : inner;
  return /^\s*</.test(body) ? body : Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
}

const inbox = (messageId: string) => net!.query<{ status: string; outcome: string | null }>('DE', 'SELECT status, outcome FROM queue_inbox WHERE message_id = ?', messageId)[0];
const answersToAt = () => net!.query<{ n: number }>('DE', `SELECT count(*) AS n FROM queue_outbox WHERE peer = 'AT'`)[0]!.n;

test('an invalid request is answered E with its ids; its replay under a new Message-ID is refused; an unknown signer is in the audit export', async () => {
  // 1. reqtype 7: refused by the schema, but the header is readable.
  const body = await signedBody('bad', requestXml('AT-BAD-1', '7'), 'at');
  await send('bad', 'at-bad-1@dna.pruem.at.eu-admin.net', body);
  await eventually(() => received.length > 0, 'the E answer in the foreign mailbox');
  const xml = await openAnswer('answer-bad', received[0]!);
  writeFileSync(join(dir, 'answer-bad.xml'), xml);
  await runOk('xmllint', ['--noout', '--schema', XSD, join(dir, 'answer-bad.xml')]);
  assert.match(xml, /<direction>A<\/direction>/);
  assert.match(xml, /<result>E<\/result>/);
  assert.match(xml, /<ref>AT-BAD-1-REF<\/ref>/, 'the ref comes back');
  assert.equal((xml.match(/<request_id>AT-BAD-1<\/request_id>/g) ?? []).length, 2, 'the request id in both header blocks');
  assert.match(xml, /<profile_ident>AT-BAD-1-STAIN<\/profile_ident>/, 'the profile ident comes back');
  assert.match(xml, /<message>[^<]*reqtype[^<]*<\/message>/);

  // 2. The same signed bytes under a new Message-ID (and a back-dated Date header): a replay.
  await send('replay', 'at-bad-1-again@dna.pruem.at.eu-admin.net', body, new Date(Date.now() - 3 * 3_600_000));
  await eventually(() => inbox('at-bad-1-again@dna.pruem.at.eu-admin.net')?.status === 'rejected', 'the replay refused');
  assert.match(inbox('at-bad-1-again@dna.pruem.at.eu-admin.net')?.outcome ?? '', /^REPLAY: /);
  assert.equal(answersToAt(), 1, 'answered once only');

  // 3. A request signed by a stranger's key.
  await send('stranger', 'stranger-1@dna.pruem.at.eu-admin.net', await signedBody('stranger', requestXml('AT-STRANGE-1', '3'), 'stranger'));
  await eventually(() => inbox('stranger-1@dna.pruem.at.eu-admin.net')?.status === 'rejected', 'the stranger refused');
  assert.equal(answersToAt(), 1);
  assert.equal(received.length, 1, 'the foreign mailbox got exactly one answer');

  // The auditor's export (signed bundle) shows both refusals as security events, without personal data.
  // Exports go only below the configured export roots (<dataDir>/exports by default).
  const out = join(net!.node('DE').dataDir, 'exports', 'hostile');
  const today = new Date().toISOString().slice(0, 10);
  await runPruem(['audit', 'export', '--config', net!.node('DE').configPath, '--from', today, '--to', today, '--out', out]);
  await runPruem(['audit', 'verify', out]);
  const events = readFileSync(join(out, 'entries.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { event: { kind: string; action?: string; target?: string; details?: Record<string, unknown> } }).event)
    .filter((e) => e.kind === 'admin' && e.action === 'message-rejected');
  const stranger = events.find((e) => e.target === 'stranger-1@dna.pruem.at.eu-admin.net');
  assert.equal(stranger?.details?.code, 'UNKNOWN_SIGNER');
  assert.equal(stranger?.details?.senderDomain, 'dna.pruem.at.eu-admin.net');
  const replay = events.find((e) => e.target === 'at-bad-1-again@dna.pruem.at.eu-admin.net');
  assert.equal(replay?.details?.code, 'REPLAY');
  assert.equal(replay?.details?.signer, 'AT');
  assert.doesNotMatch(JSON.stringify(events), /AT-STRANGE-1|low_allele/, 'nothing of the refused content');
});
