import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import {
  buildMailMessage,
  classifySmtpFailure,
  createSmtpSender,
  MailBuildError,
  type MailMessageInput,
} from '../../appliance/transport/mail/sender.js';
import { run, runOk } from '../../appliance/util/exec.js';
import { freePort } from '../support/ports.js';

const FROM = 'ncp@dna.pruem.ro.eu-admin.net';
const TO = 'ncp@dna.pruem.de.eu-admin.net';
const SIGNED = 'application/pkcs7-mime; smime-type=signed-data; name=smime.p7m';

function headerBlock(msg: Buffer): string {
  const text = msg.toString('latin1');
  return text.slice(0, text.indexOf('\r\n\r\n'));
}

function input(overrides: Partial<MailMessageInput> = {}): MailMessageInput {
  return {
    from: FROM,
    to: [TO],
    subject: 'RO/SRE',
    messageId: 'abc.123@dna.pruem.ro.eu-admin.net',
    date: new Date('2026-11-23T10:00:00Z'),
    contentType: SIGNED,
    body: Buffer.from('hello').toString('base64'),
    ...overrides,
  };
}

describe('buildMailMessage', () => {
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mail-build-'));
    await runOk('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=RO test signer',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')]);
    writeFileSync(join(dir, 'content.txt'), 'profile data\r\n');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('puts the S/MIME entity at the top level, with the outer header, CRLF line ends and 76-column base64', () => {
    const der = Buffer.alloc(3000, 7);
    const msg = buildMailMessage(input({ body: der.toString('base64'), extraHeaders: { 'Content-Disposition': 'attachment; filename=smime.p7m' } }));
    const head = headerBlock(msg);
    assert.match(head, /^From: ncp@dna\.pruem\.ro\.eu-admin\.net$/m);
    assert.match(head, /^To: ncp@dna\.pruem\.de\.eu-admin\.net$/m);
    assert.match(head, /^Subject: RO\/SRE$/m);
    assert.match(head, /^Message-ID: <abc\.123@dna\.pruem\.ro\.eu-admin\.net>$/m);
    assert.match(head, /^Date: Mon, 23 Nov 2026 10:00:00 \+0000$/m);
    assert.match(head, /^MIME-Version: 1\.0$/m);
    assert.match(head, /^Content-Transfer-Encoding: base64$/m);
    assert.match(head, /^Content-Disposition: attachment; filename=smime\.p7m$/m);
    assert.match(head.replace(/\r\n\s+/g, ' '), /^Content-Type: application\/pkcs7-mime; smime-type=signed-data; name=smime\.p7m$/m);
    assert.doesNotMatch(msg.toString('latin1'), /multipart/i);
    assert.doesNotMatch(msg.toString('latin1').replace(/\r\n/g, ''), /\n|\r/, 'only CRLF line ends');
    const body = msg.toString('latin1').slice(head.length + 4);
    const lines = body.split('\r\n');
    assert.equal(lines.at(-1), '');
    assert.ok(lines.slice(0, -2).every((l) => l.length === 76));
    assert.ok(Buffer.from(body, 'base64').equals(der), 'decoded body unchanged');
  });

  test('openssl cms verifies an opaque-signed message built around its own output', async () => {
    const der = await runOk('openssl', ['cms', '-sign', '-nodetach', '-binary', '-in', join(dir, 'content.txt'), '-signer', join(dir, 'cert.pem'),
      '-inkey', join(dir, 'key.pem'), '-outform', 'DER', '-md', 'sha256']);
    // openssl wraps base64 at 64 columns; we re-wrap at 76 without changing the bytes.
    const body = der.toString('base64').replace(/(.{64})/g, '$1\n');
    const msg = buildMailMessage(input({ body }));
    writeFileSync(join(dir, 'opaque.eml'), msg);
    const out = await run('openssl', ['cms', '-verify', '-in', join(dir, 'opaque.eml'), '-CAfile', join(dir, 'cert.pem')]);
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout.toString(), 'profile data\r\n');
  });

  test('keeps a multipart/signed body byte-exact, so openssl cms verifies the detached signature', async () => {
    const smime = (await runOk('openssl', ['cms', '-sign', '-in', join(dir, 'content.txt'), '-signer', join(dir, 'cert.pem'),
      '-inkey', join(dir, 'key.pem'), '-md', 'sha256'])).toString('latin1');
    // openssl writes its own header; take the Content-Type and the body from it.
    const split = smime.search(/\r?\n\r?\n/);
    const ownHead = smime.slice(0, split).replace(/\r?\n\s+/g, ' ');
    const contentType = /^Content-Type: (.*)$/im.exec(ownHead)?.[1];
    assert.ok(contentType?.startsWith('multipart/signed'));
    const body = smime.slice(smime.indexOf('\n', smime.indexOf('\n', split) + 1) + 1);
    const msg = buildMailMessage(input({ contentType, body }));
    assert.match(headerBlock(msg), /^Content-Transfer-Encoding: 7bit$/m);
    writeFileSync(join(dir, 'detached.eml'), msg);
    const out = await run('openssl', ['cms', '-verify', '-in', join(dir, 'detached.eml'), '-CAfile', join(dir, 'cert.pem')]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout.toString(), /profile data/);
  });

  test('accepts a message id with or without brackets and several recipients; encodes a non-ASCII subject', () => {
    const msg = buildMailMessage(input({ messageId: '<x@y.z>', to: [TO, 'ncp@fp.pruem.de.eu-admin.net'], subject: 'Überprüfung' }));
    const head = headerBlock(msg);
    assert.match(head, /^Message-ID: <x@y\.z>$/m);
    assert.match(head, /^To: ncp@dna\.pruem\.de\.eu-admin\.net, ncp@fp\.pruem\.de\.eu-admin\.net$/m);
    assert.match(head, /^Subject: =\?UTF-8\?Q\?=C3=9Cberpr=C3=BCfung\?=$/m);
    assert.ok(/^[\x00-\x7f]*$/.test(msg.toString('latin1')), 'ASCII only');
  });

  const bad: Array<[string, Partial<MailMessageInput>, string]> = [
    ['subject with a line break', { subject: 'x\r\nBcc: someone@else' }, 'BAD_HEADER'],
    ['extra header with a line break', { extraHeaders: { 'X-A': 'a\nInjected: yes' } }, 'BAD_HEADER'],
    ['extra header with a bad name', { extraHeaders: [['X A', 'v']] }, 'BAD_HEADER'],
    ['extra header that we own', { extraHeaders: { 'content-type': 'text/plain' } }, 'RESERVED_HEADER'],
    ['display name smuggled into an address', { from: 'Evil <e@x.y>' }, 'BAD_ADDRESS'],
    ['no recipient', { to: [] }, 'NO_RECIPIENT'],
    ['message id without @', { messageId: 'nope' }, 'BAD_MESSAGE_ID'],
    ['message id over 250 characters', { messageId: `${'a'.repeat(250)}@x.y` }, 'BAD_MESSAGE_ID'],
    ['content type with a line break', { contentType: 'text/plain\r\nX: y' }, 'BAD_CONTENT_TYPE'],
    ['base64 multipart', { contentType: 'multipart/mixed; boundary=x', contentTransferEncoding: 'base64' }, 'BAD_CONTENT_TYPE'],
    ['body that is not base64', { body: 'not base64!' }, 'BAD_BASE64'],
    ['7bit line over 998 octets', { contentType: 'text/plain', contentTransferEncoding: '7bit', body: 'a'.repeat(999) }, 'LINE_TOO_LONG'],
    ['8-bit byte in a 7bit body', { contentType: 'text/plain', contentTransferEncoding: '7bit', body: Buffer.from([0x41, 0xe9, 0x0d, 0x0a]) }, 'NON_ASCII_BODY'],
  ];
  for (const [name, overrides, code] of bad) {
    test(`refuses ${name} with ${code}`, () => {
      assert.throws(() => buildMailMessage(input(overrides)), (e: unknown) => e instanceof MailBuildError && e.code === code);
    });
  }

  test('turns bare LF into CRLF in a 7bit body and keeps existing CRLF', () => {
    const msg = buildMailMessage(input({ contentType: 'text/plain', contentTransferEncoding: '7bit', body: 'a\nb\r\nc\n' }));
    assert.ok(msg.toString('latin1').endsWith('\r\n\r\na\r\nb\r\nc\r\n'));
  });
});

describe('classifySmtpFailure', () => {
  const cases: Array<[string, Parameters<typeof classifySmtpFailure>[0], boolean, number | null]> = [
    ['550 at RCPT', { code: 'EENVELOPE', responseCode: 550, response: '550 5.1.1 unknown', message: 'x' }, true, 550],
    ['552 size', { code: 'EMESSAGE', responseCode: 552, response: '552 too big', message: 'x' }, true, 552],
    ['451 local error', { code: 'EMESSAGE', responseCode: 451, response: '451 try later', message: 'x' }, false, 451],
    ['421 shutting down', { code: 'EPROTOCOL', responseCode: 421, response: '421 bye', message: 'x' }, false, 421],
    ['503 bad sequence', { code: 'EPROTOCOL', responseCode: 503, response: '503 bad sequence', message: 'x' }, false, 503],
    ['connection refused', { code: 'ESOCKET', message: 'connect ECONNREFUSED 127.0.0.1:1' }, false, null],
    ['timeout', { code: 'ETIMEDOUT', message: 'Greeting never received' }, false, null],
    ['TLS', { code: 'ETLS', message: 'self-signed certificate' }, false, null],
    ['envelope invalid before sending', { code: 'EENVELOPE', message: 'Invalid recipient' }, true, null],
  ];
  for (const [name, err, permanent, code] of cases) {
    test(`${name} → ${permanent ? 'permanent' : 'temporary'}`, () => {
      const c = classifySmtpFailure(err);
      assert.equal(c.permanent, permanent);
      assert.equal(c.code, code);
      assert.ok(c.reason.length > 0);
    });
  }
});

describe('SMTP sender against an in-process server', () => {
  let server: SMTPServer;
  let port: number;
  const received: Array<{ from: string; to: string[]; raw: Buffer }> = [];
  /** The next reply of the fake relay, chosen by the recipient's local part. */
  before(async () => {
    server = new SMTPServer({
      disabledCommands: ['AUTH', 'STARTTLS'],
      disableReverseLookup: true,
      logger: false,
      onRcptTo(address, _session, cb) {
        if (address.address.startsWith('unknown@')) return cb(Object.assign(new Error('5.1.1 no such user'), { responseCode: 550 }));
        if (address.address.startsWith('greylist@')) return cb(Object.assign(new Error('4.7.1 try again later'), { responseCode: 450 }));
        cb();
      },
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const to = session.envelope.rcptTo.map((r) => r.address);
          if (to.some((a) => a.startsWith('full@'))) return cb(Object.assign(new Error('4.3.1 disk full'), { responseCode: 452 }));
          if (to.some((a) => a.startsWith('reject@'))) return cb(Object.assign(new Error('5.7.1 content refused'), { responseCode: 554 }));
          received.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to, raw: Buffer.concat(chunks) });
          cb(null, 'queued as X1');
        });
      },
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.server.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  const mail = (to: string): { from: string; to: string[]; raw: Buffer } => ({
    from: FROM,
    to: [to],
    raw: buildMailMessage(input({ to: [to.includes('@') ? to : TO] })),
  });

  test('delivers the raw bytes unchanged with the given envelope, pooled', async () => {
    const sender = createSmtpSender({ host: '127.0.0.1', port, heloName: 'gw-ro.test' });
    try {
      received.length = 0;
      const m = mail(TO);
      const results = await Promise.all([sender.send(m), sender.send(m), sender.send(m)]);
      for (const r of results) {
        assert.equal(r.ok, true, JSON.stringify(r));
        if (r.ok) {
          assert.match(r.response, /^250 .*queued as X1/);
          assert.deepEqual(r.accepted, [TO]);
          assert.deepEqual(r.rejected, []);
        }
      }
      assert.equal(received.length, 3);
      assert.equal(received[0]!.from, FROM);
      assert.deepEqual(received[0]!.to, [TO]);
      assert.ok(received[0]!.raw.equals(m.raw), 'bytes unchanged');
    } finally {
      sender.close();
    }
  });

  test('reports refusals: 5xx permanent, 4xx temporary, with the reply code', async () => {
    const sender = createSmtpSender({ host: '127.0.0.1', port, heloName: 'gw-ro.test', pool: false });
    try {
      const expect = async (to: string, permanent: boolean, code: number): Promise<void> => {
        const r = await sender.send(mail(to));
        assert.equal(r.ok, false, to);
        if (!r.ok) {
          assert.equal(r.permanent, permanent, `${to}: ${r.reason}`);
          assert.equal(r.code, code, `${to}: ${r.reason}`);
        }
      };
      await expect('unknown@dna.pruem.de.eu-admin.net', true, 550);
      await expect('greylist@dna.pruem.de.eu-admin.net', false, 450);
      await expect('full@dna.pruem.de.eu-admin.net', false, 452);
      await expect('reject@dna.pruem.de.eu-admin.net', true, 554);
    } finally {
      sender.close();
    }
  });

  test('a partly refused recipient list is delivered to the others and names the refused ones', async () => {
    const sender = createSmtpSender({ host: '127.0.0.1', port, heloName: 'gw-ro.test', pool: false });
    try {
      const r = await sender.send({ ...mail(TO), to: [TO, 'unknown@dna.pruem.de.eu-admin.net'] });
      assert.equal(r.ok, true);
      if (r.ok) assert.deepEqual(r.rejected, ['unknown@dna.pruem.de.eu-admin.net']);
    } finally {
      sender.close();
    }
  });

  test('verify() says up for a live relay and down, with the reason, for a closed port', async () => {
    const up = createSmtpSender({ host: '127.0.0.1', port, heloName: 'gw-ro.test' });
    const closed = await freePort();
    const down = createSmtpSender({ host: '127.0.0.1', port: closed, heloName: 'gw-ro.test' });
    try {
      const a = await up.verify();
      assert.equal(a.state, 'up');
      assert.ok(!Number.isNaN(Date.parse(a.checkedAt)));
      const b = await down.verify();
      assert.equal(b.state, 'down');
      assert.match(b.detail, /ECONNREFUSED/);
    } finally {
      up.close();
      down.close();
    }
  });
});

describe('SMTP sender when the relay is unreachable', () => {
  let silent: Server;
  let silentPort: number;
  const sockets = new Set<Socket>();
  before(async () => {
    // Accepts TCP but never greets: a hung relay.
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    silentPort = (silent.address() as AddressInfo).port;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => silent.close(() => r()));
  });

  test('a refused connection is a temporary failure without a reply code', async () => {
    const sender = createSmtpSender({ host: '127.0.0.1', port: await freePort(), heloName: 'gw-ro.test' });
    try {
      const r = await sender.send({ from: FROM, to: [TO], raw: buildMailMessage(input()) });
      assert.deepEqual({ ok: r.ok, permanent: !r.ok && r.permanent, code: !r.ok && r.code }, { ok: false, permanent: false, code: null });
      if (!r.ok) assert.match(r.reason, /ECONNREFUSED/);
    } finally {
      sender.close();
    }
  });

  test('a relay that never greets is a temporary failure after timeoutMs', async () => {
    const sender = createSmtpSender({ host: '127.0.0.1', port: silentPort, heloName: 'gw-ro.test', timeoutMs: 300, pool: false });
    try {
      const r = await sender.send({ from: FROM, to: [TO], raw: buildMailMessage(input()) });
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.permanent, false);
        assert.equal(r.code, null);
        assert.match(r.reason, /ETIMEDOUT/);
      }
    } finally {
      sender.close();
    }
  });
});
