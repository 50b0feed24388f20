import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import nodemailer from 'nodemailer';
import {
  MAX_COMMAND_LINE_BYTES,
  MAX_RECIPIENTS_PER_MESSAGE,
  startSmtpReceiver,
  type SmtpReceiver,
} from '../../appliance/transport/mail/receiver.js';
import type { MailEnvelope, StoreResult } from '../../appliance/transport/mail/types.js';
import { createSmtpSender } from '../../appliance/transport/mail/sender.js';
import { runOk } from '../../appliance/util/exec.js';

const RO = 'dna.pruem.ro.eu-admin.net';
const FROM = 'ncp@dna.pruem.de.eu-admin.net';
const TO = `ncp@${RO}`;

/** A minimal SMTP client speaking raw lines, to play the broken clients nodemailer will not imitate. */
class RawSmtp {
  private buffer = '';
  private waiting: Array<() => void> = [];
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.buffer += d;
      for (const w of this.waiting.splice(0)) w();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => {
      for (const w of this.waiting.splice(0)) w();
      resolve();
    }));
  }

  static open(port: number): Promise<RawSmtp> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new RawSmtp(s)));
      s.once('error', reject);
    });
  }

  /** The next complete reply (all its lines); null if the server closed first. */
  async reply(): Promise<{ code: number; text: string } | null> {
    for (;;) {
      const m = /^((?:\d{3}-[^\r\n]*\r\n)*)(\d{3}) ([^\r\n]*)\r\n/.exec(this.buffer);
      if (m) {
        this.buffer = this.buffer.slice(m[0].length);
        return { code: Number(m[2]), text: `${m[1] ?? ''}${m[3] ?? ''}` };
      }
      if (this.socket.destroyed || this.socket.readableEnded) return null;
      await new Promise<void>((r) => this.waiting.push(r));
    }
  }

  send(data: string | Buffer): void {
    this.socket.write(data);
  }

  async cmd(line: string): Promise<{ code: number; text: string } | null> {
    this.send(`${line}\r\n`);
    return this.reply();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function message(id: string, body = 'AAAA\r\n'): Buffer {
  return Buffer.from(
    `From: ${FROM}\r\nTo: ${TO}\r\nSubject: DE/CPS\r\nMessage-ID: <${id}@dna.pruem.de.eu-admin.net>\r\n` +
      `MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=signed-data\r\n` +
      `Content-Transfer-Encoding: base64\r\n\r\n${body}`,
  );
}

interface Stored {
  raw: Buffer;
  envelope: MailEnvelope;
}

/** A store whose answer each test can set; it records what it was given. */
function recordingStore() {
  const stored: Stored[] = [];
  let answer: (raw: Buffer) => Promise<StoreResult> = async () => ({ ok: true, id: `q${stored.length}` });
  return {
    stored,
    set(next: (raw: Buffer) => Promise<StoreResult>) {
      answer = next;
    },
    reset() {
      stored.length = 0;
      answer = async () => ({ ok: true, id: `q${stored.length}` });
    },
    store: async (raw: Buffer, envelope: MailEnvelope): Promise<StoreResult> => {
      stored.push({ raw, envelope });
      return answer(raw);
    },
  };
}

/** Drives one transaction up to the DATA terminator with a raw client and returns the final reply. */
async function rawTransaction(port: number, body: Buffer | string): Promise<{ code: number; text: string } | null> {
  const c = await RawSmtp.open(port);
  try {
    assert.equal((await c.reply())?.code, 220);
    assert.equal((await c.cmd('EHLO relay.test'))?.code, 250);
    assert.equal((await c.cmd(`MAIL FROM:<${FROM}>`))?.code, 250);
    assert.equal((await c.cmd(`RCPT TO:<${TO}>`))?.code, 250);
    assert.equal((await c.cmd('DATA'))?.code, 354);
    c.send(body);
    c.send('\r\n.\r\n');
    return await c.reply();
  } finally {
    c.destroy();
  }
}

describe('SMTP receiver', () => {
  const MAX = 64 * 1024;
  const rec = recordingStore();
  let receiver: SmtpReceiver;

  before(async () => {
    receiver = await startSmtpReceiver({
      host: '127.0.0.1',
      port: 0,
      maxMessageBytes: MAX,
      acceptedDomains: [RO, 'FP.pruem.ro.eu-admin.net'],
      store: rec.store,
      serverName: 'gw-ro.test',
    });
  });
  after(async () => {
    await receiver?.close();
  });

  test('stores a message with its envelope and a Received: line, then answers 250 with the queue id', async () => {
    rec.reset();
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: receiver.port, secure: false, ignoreTLS: true, name: 'relay.test' });
    const raw = message('m1');
    const info = await transport.sendMail({ envelope: { from: FROM, to: [TO] }, raw });
    transport.close();
    assert.match(info.response, /^250 .*queued as q1/);
    assert.equal(rec.stored.length, 1);
    const { raw: got, envelope } = rec.stored[0]!;
    assert.equal(envelope.mailFrom, FROM);
    assert.deepEqual(envelope.rcptTo, [TO]);
    assert.equal(envelope.remoteAddress, '127.0.0.1');
    assert.ok(envelope.receivedAt instanceof Date);
    const text = got.toString('latin1');
    assert.match(text, /^Received: from relay\.test \(\[127\.0\.0\.1\]\)\r\n\tby gw-ro\.test \(pruem-gateway\) with ESMTP id \S+\r\n\tfor <ncp@dna\.pruem\.ro\.eu-admin\.net>; \w{3}, \d{2} \w{3} \d{4} [\d:]{8} \+0000\r\n/);
    // After the trace line, the bytes are exactly what the client sent.
    assert.ok(got.subarray(got.indexOf('From: ')).equals(raw), 'message bytes unchanged');
  });

  test('answers 250 only after the store has resolved', async () => {
    rec.reset();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const events: string[] = [];
    rec.set(async () => {
      events.push('store called');
      await gate;
      events.push('store committed');
      return { ok: true, id: 'late' };
    });
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: receiver.port, secure: false, ignoreTLS: true });
    const sending = transport.sendMail({ envelope: { from: FROM, to: [TO] }, raw: message('m2') }).then((info) => {
      events.push(`client got ${info.response.slice(0, 3)}`);
    });
    while (!events.includes('store called')) await tick();
    for (let i = 0; i < 50; i++) await tick(); // give a premature reply every chance to arrive
    assert.deepEqual(events, ['store called']);
    release();
    await sending;
    transport.close();
    assert.deepEqual(events, ['store called', 'store committed', 'client got 250']);
  });

  test('a temporary store failure is 451, a permanent one 554, a throwing store 451', async () => {
    rec.reset();
    rec.set(async () => ({ ok: false, reason: 'database is locked', permanent: false }));
    const temp = await rawTransaction(receiver.port, message('t1'));
    assert.equal(temp?.code, 451);
    assert.match(temp?.text ?? '', /4\.3\.0 .*database is locked/);

    rec.set(async () => ({ ok: false, reason: 'not S/MIME\r\nInjected: header', permanent: true }));
    const perm = await rawTransaction(receiver.port, message('t2'));
    assert.equal(perm?.code, 554);
    assert.match(perm?.text ?? '', /5\.6\.0 Message refused: not S\/MIME Injected: header$/);

    rec.set(async () => {
      throw new Error('disk on fire');
    });
    const thrown = await rawTransaction(receiver.port, message('t3'));
    assert.equal(thrown?.code, 451);
    assert.doesNotMatch(thrown?.text ?? '', /disk on fire/, 'internal error text stays internal');
    assert.equal(rec.stored.length, 3);
  });

  test('refuses a recipient outside the accepted domains with 550 at RCPT, accepts domains case-insensitively', async () => {
    rec.reset();
    const c = await RawSmtp.open(receiver.port);
    try {
      await c.reply();
      await c.cmd('EHLO relay.test');
      assert.equal((await c.cmd(`MAIL FROM:<${FROM}>`))?.code, 250);
      const bad = await c.cmd('RCPT TO:<ncp@dna.pruem.de.eu-admin.net>');
      assert.equal(bad?.code, 550);
      assert.match(bad?.text ?? '', /5\.1\.2 .*not served here/);
      assert.equal((await c.cmd('RCPT TO:<postmaster>'))?.code, 550);
      assert.equal((await c.cmd('RCPT TO:<ncp@fp.PRUEM.ro.eu-admin.net>'))?.code, 250);
      assert.equal((await c.cmd('QUIT'))?.code, 221);
    } finally {
      c.destroy();
    }
  });

  test('advertises SIZE and refuses a declared oversize at MAIL FROM with 552 naming the limit', async () => {
    const c = await RawSmtp.open(receiver.port);
    try {
      await c.reply();
      const ehlo = await c.cmd('EHLO relay.test');
      // Without its number: a declared oversize is refused by us (and reported for the audit log), not by the library.
      assert.match(ehlo?.text ?? '', /SIZE/);
      assert.doesNotMatch(ehlo?.text ?? '', /STARTTLS|AUTH/);
      const mail = await c.cmd(`MAIL FROM:<${FROM}> SIZE=${MAX + 1}`);
      assert.equal(mail?.code, 552);
      assert.match(mail?.text ?? '', new RegExp(`exceeds the limit of ${MAX} bytes`));
      assert.equal((await c.cmd(`MAIL FROM:<${FROM}> SIZE=${MAX}`))?.code, 250, 'the limit itself is allowed');
    } finally {
      c.destroy();
    }
  });

  test('refuses an oversized DATA stream with 552 naming the limit, stores nothing, and keeps serving the session', async () => {
    rec.reset();
    const c = await RawSmtp.open(receiver.port);
    try {
      await c.reply();
      await c.cmd('EHLO relay.test');
      await c.cmd(`MAIL FROM:<${FROM}>`);
      await c.cmd(`RCPT TO:<${TO}>`);
      assert.equal((await c.cmd('DATA'))?.code, 354);
      const line = `${'A'.repeat(998)}\r\n`;
      for (let sent = 0; sent < MAX * 4; sent += line.length) c.send(line);
      c.send('.\r\n');
      const r = await c.reply();
      assert.equal(r?.code, 552);
      assert.match(r?.text ?? '', new RegExp(`5\\.3\\.4 Message size \\d+ bytes exceeds the limit of ${MAX} bytes`));
      assert.equal(rec.stored.length, 0);
      // Same connection, next transaction goes through.
      await c.cmd(`MAIL FROM:<${FROM}>`);
      await c.cmd(`RCPT TO:<${TO}>`);
      await c.cmd('DATA');
      c.send(message('after-oversize'));
      const ok = await c.cmd('.');
      assert.equal(ok?.code, 250);
      assert.equal(rec.stored.length, 1);
    } finally {
      c.destroy();
    }
  });

  test('a message of exactly the limit is accepted, one byte more is refused', async () => {
    rec.reset();
    const head = message('exact', '');
    // The message ends with the CRLF before the terminating ".": 2 bytes of it count.
    const filler = (extra: number): string => 'B'.repeat(MAX - head.length - 2 + extra);
    assert.equal((await rawTransaction(receiver.port, Buffer.concat([head, Buffer.from(filler(0))])))?.code, 250);
    assert.equal(rec.stored.length, 1);
    assert.equal(rec.stored[0]!.raw.length - rec.stored[0]!.raw.indexOf('From: '), MAX);
    assert.equal((await rawTransaction(receiver.port, Buffer.concat([head, Buffer.from(filler(1))])))?.code, 552);
    assert.equal(rec.stored.length, 1);
  });

  test('survives a client that disconnects in the middle of DATA, storing nothing', async () => {
    rec.reset();
    const c = await RawSmtp.open(receiver.port);
    await c.reply();
    await c.cmd('EHLO relay.test');
    await c.cmd(`MAIL FROM:<${FROM}>`);
    await c.cmd(`RCPT TO:<${TO}>`);
    await c.cmd('DATA');
    c.send(message('cut', 'AAAA\r\nBBBB'));
    c.socket.resetAndDestroy();
    await c.closed;
    const next = await rawTransaction(receiver.port, message('after-cut'));
    assert.equal(next?.code, 250);
    assert.equal(rec.stored.length, 1);
    assert.match(rec.stored[0]!.raw.toString(), /after-cut/);
  });

  test('survives a client that disconnects while its message is being stored', async () => {
    rec.reset();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let called!: () => void;
    const storeCalled = new Promise<void>((r) => (called = r));
    rec.set(async () => {
      called();
      await gate;
      return { ok: true, id: 'orphan' };
    });
    const c = await RawSmtp.open(receiver.port);
    await c.reply();
    await c.cmd('EHLO relay.test');
    await c.cmd(`MAIL FROM:<${FROM}>`);
    await c.cmd(`RCPT TO:<${TO}>`);
    await c.cmd('DATA');
    c.send(message('orphan'));
    c.send('\r\n.\r\n');
    await storeCalled;
    c.destroy();
    await c.closed;
    release();
    rec.set(async () => ({ ok: true, id: 'fine' }));
    assert.equal((await rawTransaction(receiver.port, message('after-orphan')))?.code, 250);
  });

  test('answers garbage commands with 5xx, disconnects after too many, and keeps serving others', async () => {
    const c = await RawSmtp.open(receiver.port);
    await c.reply();
    const codes: number[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await c.cmd(i % 2 ? '\x00\x01\xff GARBAGE' : 'HELLO?');
      if (!r) break;
      codes.push(r.code);
    }
    await c.closed;
    assert.ok(codes.slice(0, -1).every((code) => code === 500), codes.join(','));
    assert.equal(codes.at(-1), 421);
    // Commands out of order
    const d = await RawSmtp.open(receiver.port);
    await d.reply();
    assert.equal((await d.cmd('DATA'))?.code, 503);
    assert.equal((await d.cmd(`RCPT TO:<${TO}>`))?.code, 503);
    d.destroy();
    assert.equal((await rawTransaction(receiver.port, message('after-garbage')))?.code, 250);
  });

  test(`bounds a command line at ${MAX_COMMAND_LINE_BYTES} bytes and keeps serving others`, async () => {
    const c = await RawSmtp.open(receiver.port);
    await c.reply();
    c.send(`EHLO ${'x'.repeat(MAX_COMMAND_LINE_BYTES * 4)}`); // no line end: the buffer must not grow unbounded
    const r = await c.reply();
    assert.equal(r?.code, 421);
    assert.match(r?.text ?? '', /too long/);
    await c.closed;
    assert.equal((await rawTransaction(receiver.port, message('after-long-line')))?.code, 250);
  });

  test(`limits recipients per message to ${MAX_RECIPIENTS_PER_MESSAGE} with 452`, async () => {
    const c = await RawSmtp.open(receiver.port);
    try {
      await c.reply();
      await c.cmd('EHLO relay.test');
      await c.cmd(`MAIL FROM:<${FROM}>`);
      for (let i = 0; i < MAX_RECIPIENTS_PER_MESSAGE; i++) assert.equal((await c.cmd(`RCPT TO:<n${i}@${RO}>`))?.code, 250);
      assert.equal((await c.cmd(`RCPT TO:<extra@${RO}>`))?.code, 452);
    } finally {
      c.destroy();
    }
  });

  test('accepts the null sender (bounces from the relay)', async () => {
    rec.reset();
    const c = await RawSmtp.open(receiver.port);
    try {
      await c.reply();
      await c.cmd('EHLO relay.test');
      assert.equal((await c.cmd('MAIL FROM:<>'))?.code, 250);
      await c.cmd(`RCPT TO:<${TO}>`);
      await c.cmd('DATA');
      c.send(message('bounce'));
      assert.equal((await c.cmd('\r\n.'))?.code, 250);
      assert.equal(rec.stored[0]?.envelope.mailFrom, '');
    } finally {
      c.destroy();
    }
  });
});

describe('SMTP receiver start-up', () => {
  test('rejects when the port is taken', async () => {
    const first = await startSmtpReceiver({ host: '127.0.0.1', port: 0, maxMessageBytes: 1000, acceptedDomains: [RO], store: async () => ({ ok: true, id: 'x' }) });
    try {
      await assert.rejects(
        startSmtpReceiver({ host: '127.0.0.1', port: first.port, maxMessageBytes: 1000, acceptedDomains: [RO], store: async () => ({ ok: true, id: 'x' }) }),
        /EADDRINUSE/,
      );
    } finally {
      await first.close();
    }
  });
});

describe('SMTP receiver with STARTTLS', () => {
  let dir: string;
  let cert: Buffer;
  let receiver: SmtpReceiver;
  const stored: Buffer[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mail-tls-'));
    // A self-signed certificate made at test time, for the name the client will check.
    await runOk('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ]);
    cert = readFileSync(join(dir, 'cert.pem'));
    receiver = await startSmtpReceiver({
      host: '127.0.0.1',
      port: 0,
      maxMessageBytes: 100_000,
      acceptedDomains: [RO],
      tls: { key: readFileSync(join(dir, 'key.pem')), cert, required: true },
      store: async (raw) => {
        stored.push(raw);
        return { ok: true, id: `tls${stored.length}` };
      },
    });
  });
  after(async () => {
    await receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('refuses MAIL FROM before STARTTLS when TLS is required', async () => {
    const c = await RawSmtp.open(receiver.port);
    try {
      await c.reply();
      assert.match((await c.cmd('EHLO relay.test'))?.text ?? '', /STARTTLS/);
      const r = await c.cmd(`MAIL FROM:<${FROM}>`);
      assert.equal(r?.code, 530);
    } finally {
      c.destroy();
    }
  });

  test('survives a client that sends garbage instead of a TLS handshake after STARTTLS', async () => {
    const c = await RawSmtp.open(receiver.port);
    await c.reply();
    await c.cmd('EHLO relay.test');
    assert.equal((await c.cmd('STARTTLS'))?.code, 220);
    c.send(Buffer.from('this is not a TLS ClientHello\r\n\x16\x03\x01\x00\xff garbage'));
    await c.closed;
    const again = await RawSmtp.open(receiver.port);
    try {
      assert.equal((await again.reply())?.code, 220);
    } finally {
      again.destroy();
    }
  });

  test('our sender with requireTls delivers over a verified STARTTLS session', async () => {
    const sender = createSmtpSender({ host: '127.0.0.1', port: receiver.port, heloName: 'gw-de.test', requireTls: true, tlsCa: cert, pool: false });
    try {
      const r = await sender.send({ from: FROM, to: [TO], raw: message('tls') });
      assert.equal(r.ok, true, JSON.stringify(r));
      assert.match(stored.at(-1)!.toString(), /with ESMTPS id/);
    } finally {
      sender.close();
    }
  });

  test('our sender with requireTls refuses an unverifiable certificate (temporary failure)', async () => {
    const sender = createSmtpSender({ host: '127.0.0.1', port: receiver.port, heloName: 'gw-de.test', requireTls: true, pool: false });
    try {
      const r = await sender.send({ from: FROM, to: [TO], raw: message('tls-bad') });
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.permanent, false);
        assert.equal(r.code, null);
        assert.match(r.reason, /ETLS|certificate/i);
      }
    } finally {
      sender.close();
    }
  });
});
