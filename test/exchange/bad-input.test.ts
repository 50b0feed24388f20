import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { composeGateway, type GatewayCore } from '../../appliance/main.js';
import { loadConfig } from '../../appliance/config/config.js';
import { runOk } from '../../appliance/util/exec.js';

/**
 * Issue 2 item 9: bad input in the daemon's own pipeline. Good link tests from a foreign State
 * (openssl with a software key) are interleaved with malformed MIME, an unsigned message, a
 * tampered signature, an unknown signer, an undecryptable body and an oversized message. Each bad
 * one is rejected with its own reason and recorded; the good ones before and after are answered.
 */
let dir: string;
let core: GatewayCore;

const openssl = (...args: string[]) => runOk('openssl', args);

async function sealed(name: string, content: string, opts: { signer?: 'at' | 'stranger'; recipient?: string; sign?: boolean } = {}): Promise<Buffer> {
  const input = join(dir, `${name}.in`);
  writeFileSync(input, content);
  await openssl('cms', '-encrypt', '-aes256', '-binary', '-in', input, '-outform', 'DER', '-out', join(dir, `${name}.enc`), opts.recipient ?? join(dir, 'DE', 'certs', 'ncp-decrypt.pem'));
  let body: string;
  if (opts.sign === false) {
    body = `Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\n${readFileSync(join(dir, `${name}.enc`)).toString('base64')}\r\n`;
  } else {
    const who = opts.signer ?? 'at';
    await openssl('cms', '-sign', '-binary', '-nodetach', '-in', join(dir, `${name}.enc`), '-econtent_type', 'pkcs7-envelopedData', '-signer', join(dir, `${who}.pem`), '-inkey', join(dir, `${who}.key`), '-outform', 'SMIME', '-out', join(dir, `${name}.smime`));
    body = readFileSync(join(dir, `${name}.smime`), 'utf8').replace(/\r?\n/g, '\r\n');
  }
  return Buffer.from(`From: ncp@dna.pruem.at.eu-admin.net\r\nTo: ncp@dna.pruem.de.eu-admin.net\r\nSubject: AT/PING\r\nMessage-ID: <${name}@dna.pruem.at.eu-admin.net>\r\nDate: ${new Date().toUTCString()}\r\n${body}`);
}

const ping = (token: string) => `Content-Type: application/x-pruem-ping\r\n\r\nPING ${token}`;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pruem-bad-'));
  chmodSync(dir, 0o755);
  for (const who of ['at', 'stranger', 'other']) {
    await openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, `${who}.key`), '-out', join(dir, `${who}.pem`), '-days', '30', '-subj', `/C=AT/CN=${who}`);
  }
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      memberState: 'DE',
      dataDir: join(dir, 'DE'),
      token: { label: 'pruem-de-bad' },
      limits: { maxMessageBytes: 64 * 1024 },
      peers: [{ code: 'AT', certificates: { signing: join(dir, 'at.pem'), encryption: join(dir, 'at.pem') } }],
    }),
  );
  core = await composeGateway(loadConfig(join(dir, 'config.json')), { log: pino({ level: 'silent' }) });
});

after(async () => {
  await core?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('each kind of bad message is rejected with its reason; the good ones around them are answered', async () => {
  const good1 = await sealed('good1', ping('first'));
  const tampered = Buffer.from(await sealed('tampered', ping('t')));
  // Flip a character well inside the base64 signature block.
  const at = tampered.length - 200;
  tampered[at] = tampered[at] === 0x41 ? 0x42 : 0x41;
  const messages: Array<[string, Buffer, RegExp | null]> = [
    ['good1', good1, null],
    ['malformed', Buffer.from('From: x@y\r\nMessage-ID: <malformed@x>\r\nContent-Type: multipart/signed; boundary="\r\n\r\n--garbage'), /MALFORMED_MIME|NOT_SMIME/],
    ['unsigned', await sealed('unsigned', ping('u'), { sign: false }), /NO_SIGNATURE/],
    ['tampered', tampered, /BAD_SIGNATURE|MALFORMED/],
    ['stranger', await sealed('stranger', ping('s'), { signer: 'stranger' }), /UNKNOWN_SIGNER/],
    ['undecryptable', await sealed('undecryptable', ping('x'), { recipient: join(dir, 'other.pem') }), /UNDECRYPTABLE/],
    ['oversized', await sealed('oversized', ping('o'.repeat(100 * 1024))), /OVERSIZED/],
    ['good2', await sealed('good2', ping('second')), null],
  ];
  const ids = new Map<string, string>();
  for (const [name, raw] of messages) ids.set(name, core.queue.receive(raw, 'dna', 'ncp@dna.pruem.at.eu-admin.net').id);

  let rounds = 0;
  while (await core.pipeline.processNextInbound()) assert.ok(++rounds <= messages.length, 'every message is processed once');
  assert.equal(rounds, messages.length);

  for (const [name, , expected] of messages) {
    const record = core.queue.inboxRecord(ids.get(name)!);
    if (expected === null) {
      assert.equal(record?.status, 'done', `${name}: ${record?.outcome}`);
      assert.equal(record?.senderState, 'AT');
    } else {
      assert.equal(record?.status, 'rejected', `${name} must be rejected`);
      assert.match(record?.outcome ?? '', expected, `${name}: ${record?.outcome}`);
    }
  }
  const recorded = core.db.prepare('SELECT message_id, code FROM exchange_rejections ORDER BY message_id').all() as Array<{ message_id: string; code: string }>;
  assert.equal(recorded.length, messages.length - 2, 'every rejection is recorded');
  const answers = core.db.prepare(`SELECT count(*) AS n FROM queue_outbox WHERE peer = 'AT'`).get() as { n: number };
  assert.equal(answers.n, 2, 'both good pings were answered');
});
