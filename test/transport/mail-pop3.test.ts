import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createPop3Fetcher,
  envelopeFromTrace,
  Pop3Session,
  unstuffDots,
} from '../../appliance/transport/mail/pop3.js';
import type { MailEnvelope, MailRefusal, StoreResult } from '../../appliance/transport/mail/types.js';

/*
 * The real-server path (Postfix → maildir → Dovecot → fetcher) is in test/integration/mail-servers.test.ts.
 * Here a small in-process POP3 server provokes what a real one will not do on demand: replies cut at
 * awkward byte positions, connections dropped mid-reply, silence.
 */

interface FakeMailbox {
  messages: Array<{ uid: string; raw: Buffer }>;
}

type Chunker = (reply: Buffer) => Buffer[];

interface FakePop3Options {
  password?: string;
  /** How each multi-line reply is cut into separate writes (with a pause between them). */
  chunker?: Chunker;
  /** Drop the connection after sending this many bytes of the reply to RETR of this message number. */
  dropDuringRetr?: { n: number; after: number };
  /** Never answer after the greeting. */
  silent?: boolean;
  /** After login, send every reply's first 2 bytes on their own ("+O", "K …"), as a slow link might. */
  splitStatus?: boolean;
}

class FakePop3 {
  readonly mailbox: FakeMailbox = { messages: [] };
  retrCount = 0;
  sessions = 0;
  maxConcurrent = 0;
  private active = 0;
  private server!: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(public options: FakePop3Options = {}) {}

  async start(): Promise<void> {
    this.server = createServer((s) => void this.session(s));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  add(uid: string, raw: string | Buffer): void {
    this.mailbox.messages.push({ uid, raw: typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw });
  }

  uids(): string[] {
    return this.mailbox.messages.map((m) => m.uid);
  }

  private async session(socket: Socket): Promise<void> {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    this.sessions++;
    this.active++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.active);
    const deleted = new Set<number>();
    let authed = false;
    let user = '';
    const snapshot = [...this.mailbox.messages];
    const write = (s: string): void => {
      if (authed && this.options.splitStatus) void this.sendMulti(socket, Buffer.from(s, 'latin1'));
      else socket.write(s);
    };
    // A real server holds the maildrop lock from login until QUIT (or a dropped connection).
    let holding = true;
    const release = (): void => {
      if (holding) this.active--;
      holding = false;
    };
    socket.once('close', () => {
      release();
      this.sockets.delete(socket);
    });
    write('+OK fake POP3 ready\r\n');
    if (this.options.silent) return;
    let buffer = '';
    let busy = Promise.resolve();
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      buffer += d;
      let i: number;
      while ((i = buffer.indexOf('\r\n')) !== -1) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        busy = busy.then(() => handle(line));
      }
    });
    const live = (n: number): { uid: string; raw: Buffer } | undefined => (deleted.has(n) ? undefined : snapshot[n - 1]);
    const handle = async (line: string): Promise<void> => {
      const [cmd = '', arg = ''] = line.split(' ');
      switch (cmd.toUpperCase()) {
        case 'USER':
          user = arg;
          return write('+OK\r\n');
        case 'PASS':
          if (user && arg === (this.options.password ?? 'secret')) {
            authed = true;
            return write('+OK logged in\r\n');
          }
          return write('-ERR [AUTH] authentication failed\r\n');
        case 'QUIT':
          this.mailbox.messages = this.mailbox.messages.filter((m) => !deleted.has(snapshot.indexOf(m) + 1));
          release();
          socket.end('+OK bye\r\n');
          return;
      }
      if (!authed) return write('-ERR not logged in\r\n');
      switch (cmd.toUpperCase()) {
        case 'STAT': {
          const msgs = snapshot.filter((_, k) => !deleted.has(k + 1));
          return write(`+OK ${msgs.length} ${msgs.reduce((a, m) => a + m.raw.length, 0)}\r\n`);
        }
        case 'UIDL':
        case 'LIST': {
          const rows = snapshot
            .map((m, k) => [k + 1, m] as const)
            .filter(([n]) => !deleted.has(n))
            .map(([n, m]) => `${n} ${cmd.toUpperCase() === 'UIDL' ? m.uid : m.raw.length}\r\n`);
          return this.sendMulti(socket, Buffer.from(`+OK\r\n${rows.join('')}.\r\n`, 'latin1'));
        }
        case 'RETR': {
          const n = Number(arg);
          const m = live(n);
          if (!m) return write('-ERR no such message\r\n');
          this.retrCount++;
          const stuffed = m.raw.toString('latin1').replace(/(^|\r\n)\./g, '$1..');
          const reply = Buffer.from(`+OK ${m.raw.length} octets\r\n${stuffed}${stuffed.endsWith('\r\n') ? '' : '\r\n'}.\r\n`, 'latin1');
          const drop = this.options.dropDuringRetr;
          if (drop && drop.n === n) {
            socket.write(reply.subarray(0, drop.after));
            await sleep(20);
            socket.destroy();
            return;
          }
          return this.sendMulti(socket, reply);
        }
        case 'DELE': {
          const n = Number(arg);
          if (!live(n)) return write('-ERR no such message\r\n');
          deleted.add(n);
          return write('+OK deleted\r\n');
        }
        case 'NOOP':
          return write('+OK\r\n');
        default:
          return write('-ERR unknown command\r\n');
      }
    };
  }

  private async sendMulti(socket: Socket, reply: Buffer): Promise<void> {
    // The status line goes out whole with the first piece, as every real server does, unless splitStatus.
    const pieces = this.options.chunker ? this.options.chunker(reply) : [reply];
    if (this.options.splitStatus) pieces.splice(0, 1, pieces[0]!.subarray(0, 2), pieces[0]!.subarray(2));
    for (const [k, piece] of pieces.entries()) {
      if (k > 0) await sleep(15); // separate TCP segments, so the client sees separate chunks
      socket.write(piece);
    }
  }
}

function mail(id: string, body = 'AAAA\r\n'): string {
  return `Return-Path: <ncp@dna.pruem.de.eu-admin.net>\r\nDelivered-To: ncp@dna.pruem.ro.eu-admin.net\r\n` +
    `Message-ID: <${id}@dna.pruem.de.eu-admin.net>\r\nSubject: DE/CPS\r\n\r\n${body}`;
}

function recorder(answer: (raw: Buffer, i: number) => StoreResult | Promise<StoreResult> = (_r, i) => ({ ok: true, id: `q${i}` })) {
  const calls: Array<{ raw: Buffer; envelope: MailEnvelope }> = [];
  return {
    calls,
    store: async (raw: Buffer, envelope: MailEnvelope): Promise<StoreResult> => {
      calls.push({ raw, envelope });
      return answer(raw, calls.length);
    },
  };
}

describe('Pop3Session reply framing (node-pop3 workaround)', () => {
  async function frame(chunks: string[]): Promise<string> {
    const s = new Pop3Session({ host: '127.0.0.1', port: 1, user: 'u', password: 'p' });
    const stream = s._updateStream();
    const out: Buffer[] = [];
    stream.on('data', (c: Buffer) => out.push(c));
    const ended = new Promise<void>((r) => stream.once('end', r));
    for (const c of chunks) s._pushStream(Buffer.from(c, 'latin1'));
    await ended;
    return Buffer.concat(out).toString('latin1');
  }

  test('finds the terminator however it is cut across chunks', async () => {
    const wire = 'line one\r\n..dot line\r\nlast\r\n.\r\n';
    for (let a = 1; a < wire.length; a++) {
      for (const b of [a + 1, a + 3, wire.length]) {
        if (b <= a || b > wire.length) continue;
        const got = await frame([wire.slice(0, a), wire.slice(a, b), wire.slice(b)].filter((c) => c.length));
        assert.equal(got, 'line one\r\n..dot line\r\nlast\r\n', `cut at ${a},${b}`);
      }
    }
  });

  test('an empty multi-line reply and a chunk that is just "." are framed right', async () => {
    assert.equal(await frame(['.\r\n']), '');
    assert.equal(await frame(['.', '\r\n']), '');
    assert.equal(await frame(['a\r\n', '.', '.b\r\n.\r\n']), 'a\r\n..b\r\n');
  });
});

describe('POP3 helpers', () => {
  test('unstuffDots removes one leading dot per line and nothing else', () => {
    assert.equal(unstuffDots(Buffer.from('..a\r\nb.\r\n...\r\nc..d\r\n..\r\n')).toString(), '.a\r\nb.\r\n..\r\nc..d\r\n.\r\n');
    const plain = Buffer.from('no dots\r\n');
    assert.equal(unstuffDots(plain), plain);
  });

  test('envelopeFromTrace reads Return-Path and Delivered-To from the header only', () => {
    const raw = Buffer.from('Return-Path: <a@b.c>\r\nDelivered-To: x@y.z\r\nDelivered-To: x@y.z\r\nSubject: s\r\n\r\nDelivered-To: not@header.x\r\n');
    assert.deepEqual(envelopeFromTrace(raw, 'fallback'), { mailFrom: 'a@b.c', rcptTo: ['x@y.z'] });
    assert.deepEqual(envelopeFromTrace(Buffer.from('Subject: s\r\n\r\nbody'), 'gwtest'), { mailFrom: '', rcptTo: ['gwtest'] });
    assert.deepEqual(envelopeFromTrace(Buffer.from('Return-Path: <>\r\n\r\n'), 'u').mailFrom, '');
  });
});

describe('POP3 fetcher against an in-process server', () => {
  const servers: FakePop3[] = [];
  async function server(options: FakePop3Options = {}): Promise<FakePop3> {
    const s = new FakePop3(options);
    await s.start();
    servers.push(s);
    return s;
  }
  const fetcher = (s: FakePop3, extra: Partial<Parameters<typeof createPop3Fetcher>[0]> = {}) =>
    createPop3Fetcher({ host: '127.0.0.1', port: s.port, user: 'gwtest', password: 'secret', ...extra });

  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
  });

  test('stores each message byte for byte, deletes only what was stored, commits with QUIT', async () => {
    const s = await server();
    const binary = Buffer.concat([Buffer.from(mail('bin', '')), Buffer.from([0xc3, 0x28, 0xff, 0x0d, 0x0a])]);
    s.add('u1', mail('one'));
    s.add('u2', mail('dots', '.leading dot\r\n..two dots\r\nend\r\n'));
    s.add('u3', binary);
    const rec = recorder();
    const r = await fetcher(s).fetchNew(rec.store);
    assert.deepEqual({ ...r, failures: r.failures.length }, { fetched: 3, failed: 0, skipped: 0, failures: 0, committed: true, error: null });
    assert.equal(rec.calls.length, 3);
    assert.equal(rec.calls[0]!.raw.toString('latin1'), mail('one'));
    assert.equal(rec.calls[1]!.raw.toString('latin1'), mail('dots', '.leading dot\r\n..two dots\r\nend\r\n'));
    assert.ok(rec.calls[2]!.raw.equals(binary), 'non-UTF-8 bytes survive');
    assert.deepEqual(rec.calls[0]!.envelope.rcptTo, ['ncp@dna.pruem.ro.eu-admin.net']);
    assert.equal(rec.calls[0]!.envelope.mailFrom, 'ncp@dna.pruem.de.eu-admin.net');
    assert.equal(rec.calls[0]!.envelope.remoteAddress, `pop3:127.0.0.1:${s.port}`);
    assert.deepEqual(s.uids(), []);
  });

  test('a store failure leaves that message on the server; the next poll fetches it', async () => {
    const s = await server();
    s.add('a', mail('a'));
    s.add('b', mail('b'));
    s.add('c', mail('c'));
    const f = fetcher(s);
    const first = await f.fetchNew(recorder((raw, i) => (raw.includes('<b@') ? { ok: false, reason: 'database is locked', permanent: false } : { ok: true, id: `q${i}` })).store);
    assert.equal(first.fetched, 2);
    assert.equal(first.failed, 1);
    assert.deepEqual(first.failures, [{ uid: 'b', reason: 'database is locked', permanent: false }]);
    assert.deepEqual(s.uids(), ['b']);
    const second = await f.fetchNew(recorder().store);
    assert.equal(second.fetched, 1);
    assert.deepEqual(s.uids(), []);
  });

  test('a store that throws counts as a temporary failure', async () => {
    const s = await server();
    s.add('x', mail('x'));
    const r = await fetcher(s).fetchNew(async () => {
      throw new Error('boom');
    });
    assert.equal(r.failed, 1);
    assert.equal(r.failures[0]?.permanent, false);
    assert.deepEqual(s.uids(), ['x']);
  });

  test('a message the store refuses for good stays on the server and is not fetched again by this fetcher', async () => {
    const s = await server();
    s.add('poison', mail('poison'));
    s.add('good', mail('good'));
    const f = fetcher(s);
    const first = await f.fetchNew(recorder((raw, i) => (raw.includes('<poison@') ? { ok: false, reason: 'not S/MIME', permanent: true } : { ok: true, id: `q${i}` })).store);
    assert.equal(first.fetched, 1);
    assert.equal(first.failures[0]?.permanent, true);
    const retrBefore = s.retrCount;
    s.add('later', mail('later'));
    const second = await f.fetchNew(recorder().store);
    assert.equal(second.skipped, 1);
    assert.equal(second.fetched, 1);
    assert.equal(s.retrCount, retrBefore + 1, 'only the new message was retrieved');
    assert.deepEqual(s.uids(), ['poison']);
  });

  test('a message over maxMessageBytes is left on the server without being retrieved', async () => {
    const s = await server();
    s.add('big', mail('big', `${'B'.repeat(5000)}\r\n`));
    s.add('small', mail('small'));
    const rec = recorder();
    const refusals: MailRefusal[] = [];
    const f = fetcher(s, { maxMessageBytes: 1000, onRefused: (x) => refusals.push(x) });
    const r = await f.fetchNew(rec.store);
    assert.equal(r.fetched, 1);
    assert.equal(r.failed, 1);
    assert.match(r.failures[0]?.reason ?? '', /exceeds the limit of 1000 bytes/);
    assert.equal(s.retrCount, 1);
    assert.deepEqual(s.uids(), ['big']);
    // Reported for the audit log once, though it is seen again at every poll.
    await f.fetchNew(rec.store);
    assert.deepEqual(refusals.map((x) => [x.code, x.ref]), [['OVERSIZED', 'pop3:big']]);
  });

  test('replies cut at awkward places (split terminator, a lone "." chunk) are read correctly', async () => {
    // Cut every multi-line reply 2 bytes before its end, and before the last line's second byte.
    const chunker: Chunker = (reply) => {
      const cuts = new Set([reply.length - 2, reply.length - 4, reply.lastIndexOf('\r\n.', reply.length - 4) + 3]);
      const sorted = [...cuts].filter((c) => c > reply.indexOf('\r\n') + 2 && c < reply.length).sort((a, b) => a - b);
      const pieces: Buffer[] = [];
      let from = 0;
      for (const c of sorted) {
        pieces.push(reply.subarray(from, c));
        from = c;
      }
      pieces.push(reply.subarray(from));
      return pieces;
    };
    const s = await server({ chunker });
    s.add('d1', mail('d1', 'x\r\n.y\r\n'));
    s.add('d2', mail('d2', 'plain\r\n'));
    const rec = recorder();
    const r = await fetcher(s, { timeoutMs: 5000 }).fetchNew(rec.store);
    assert.equal(r.error, null);
    assert.equal(r.fetched, 2);
    assert.equal(rec.calls[0]!.raw.toString('latin1'), mail('d1', 'x\r\n.y\r\n'));
    assert.equal(rec.calls[1]!.raw.toString('latin1'), mail('d2', 'plain\r\n'));
  });

  test('status lines cut in two are read correctly', async () => {
    const s = await server({ splitStatus: true });
    s.add('s1', mail('s1'));
    s.add('s2', mail('s2', '.dot\r\n'));
    const rec = recorder((raw, i) => (raw.includes('<s2@') ? { ok: false, reason: 'busy', permanent: false } : { ok: true, id: `q${i}` }));
    const r = await fetcher(s, { timeoutMs: 5000 }).fetchNew(rec.store);
    assert.equal(r.error, null);
    assert.deepEqual({ fetched: r.fetched, failed: r.failed, committed: r.committed }, { fetched: 1, failed: 1, committed: true });
    assert.equal(rec.calls[0]!.raw.toString('latin1'), mail('s1'));
    assert.equal(rec.calls[1]!.raw.toString('latin1'), mail('s2', '.dot\r\n'));
    assert.deepEqual(s.uids(), ['s2']);
  });

  test('a connection dropped in the middle of RETR is an error value, and nothing is deleted', async () => {
    const s = await server({ dropDuringRetr: { n: 2, after: 40 } });
    s.add('ok', mail('ok'));
    s.add('cut', mail('cut', `${'C'.repeat(2000)}\r\n`));
    const rec = recorder();
    const r = await fetcher(s, { timeoutMs: 5000 }).fetchNew(rec.store);
    assert.equal(r.committed, false);
    assert.ok(r.error, 'session error reported');
    assert.equal(r.fetched, 1, 'the first message was stored');
    assert.equal(r.failures[0]?.uid, 'cut');
    // No QUIT: the server rolled back the DELE of the first message; it comes again (a duplicate the store drops).
    assert.deepEqual(s.uids(), ['ok', 'cut']);
    s.options.dropDuringRetr = undefined;
    const again = await fetcher(s).fetchNew(recorder().store);
    assert.equal(again.fetched, 2);
    assert.deepEqual(s.uids(), []);
  });

  test('a store slower than timeoutMs does not break the session (the deadline is per protocol step)', async () => {
    const s = await server();
    s.add('slow1', mail('slow1'));
    s.add('slow2', mail('slow2'));
    const r = await fetcher(s, { timeoutMs: 200 }).fetchNew(async (_raw) => {
      await sleep(400);
      return { ok: true, id: 'slow' };
    });
    assert.deepEqual({ fetched: r.fetched, committed: r.committed, error: r.error }, { fetched: 2, committed: true, error: null });
    assert.deepEqual(s.uids(), []);
  });

  test('a wrong password is an error value', async () => {
    const s = await server({ password: 'other' });
    s.add('m', mail('m'));
    const r = await fetcher(s).fetchNew(recorder().store);
    assert.equal(r.committed, false);
    assert.match(r.error ?? '', /authentication failed/);
    assert.deepEqual(s.uids(), ['m']);
  });

  test('a server that goes silent is an error value after timeoutMs', async () => {
    const s = await server({ silent: true });
    const r = await fetcher(s, { timeoutMs: 300 }).fetchNew(recorder().store);
    assert.equal(r.committed, false);
    assert.match(r.error ?? '', /no answer within 300 ms|timeout/);
  });

  test('an unreachable server is an error value', async () => {
    const s = await server();
    await s.stop();
    servers.splice(servers.indexOf(s), 1);
    const r = await fetcher(s).fetchNew(recorder().store);
    assert.match(r.error ?? '', /ECONNREFUSED|close/);
  });

  test('overlapping polls run one session at a time', async () => {
    const s = await server();
    for (let i = 0; i < 4; i++) s.add(`p${i}`, mail(`p${i}`));
    const f = fetcher(s);
    const slowStore = recorder(async (_raw, i) => {
      await sleep(10);
      return { ok: true, id: `q${i}` };
    });
    const [a, b] = await Promise.all([f.fetchNew(slowStore.store), f.fetchNew(slowStore.store)]);
    assert.equal(s.maxConcurrent, 1);
    assert.equal(a.fetched + b.fetched, 4);
    assert.equal(slowStore.calls.length, 4, 'no message stored twice');
  });

  test('verify() reports up with the mailbox size, down with the reason', async () => {
    const s = await server();
    s.add('v', mail('v'));
    const up = await fetcher(s).verify();
    assert.equal(up.state, 'up');
    assert.match(up.detail, /1 message\(s\)/);
    const down = await fetcher(s, { password: 'wrong' }).verify();
    assert.equal(down.state, 'down');
    assert.doesNotMatch(down.detail, /wrong/, 'no password in the detail');
  });
});
