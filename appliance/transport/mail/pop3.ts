import Pop3Command from 'node-pop3';
import type { Readable } from 'node:stream';
import { sanitizeReason, silentLogger, type LinkCheck, type MailLogger, type OnMailRefused, type StoreMessage } from './types.js';

/*
 * POP3 retrieval (Annex ch.1 §5: mailboxes read with POP3), the alternative to being delivered to by
 * SMTP. The session is: UIDL + LIST, then for each message RETR → store → DELE only if the store
 * committed it, then QUIT, which is when the server really deletes (RFC 1939 §6). A crash anywhere
 * before QUIT leaves every message on the server; a crash between store and QUIT makes the next
 * session fetch a duplicate, which the store rejects by Message-ID. Nothing is ever lost.
 */

/** Default wait for each POP3 reply; a mailbox server that is silent this long is treated as down. */
export const DEFAULT_POP3_TIMEOUT_MS = 30_000;

/**
 * Largest message fetched when the caller gives no limit (the daemon passes limits.maxMessageBytes).
 * A larger one is left on the server and reported, never read into memory.
 */
export const DEFAULT_POP3_MAX_MESSAGE_BYTES = 20 * 1024 * 1024;

/**
 * Dot-stuffing can at most double a message on the wire (every line "."); this bounds what we read
 * for one RETR whatever the server claimed in LIST.
 */
const WIRE_OVERHEAD_FACTOR = 2;

/** RFC 1939 §3: a status line is at most 512 octets; beyond that we stop waiting for its CRLF. */
const MAX_STATUS_LINE_BYTES = 512;

/** The header block we look at for trace fields; the store gets the whole message regardless. */
const MAX_TRACE_HEADER_BYTES = 64 * 1024;

export interface Pop3FetcherOptions {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** Implicit TLS (POP3S, RFC 8314); certificates are verified. */
  readonly tls?: boolean;
  readonly tlsCa?: string | Buffer;
  readonly timeoutMs?: number;
  readonly maxMessageBytes?: number;
  readonly logger?: MailLogger;
  /** A message refused here (too large to fetch), reported once per message: for the audit log's security events. */
  readonly onRefused?: OnMailRefused;
}

export interface Pop3Failure {
  readonly uid: string;
  readonly reason: string;
  /** The store refused the message for good; it stays on the server and is not fetched again by this fetcher. */
  readonly permanent: boolean;
}

export interface FetchResult {
  /** Messages the store committed in this session (and marked for deletion). */
  readonly fetched: number;
  /** Messages left on the server this round: store failed, too large, or RETR broke. */
  readonly failed: number;
  /** Left on the server without fetching: refused for good earlier by the store. */
  readonly skipped: number;
  readonly failures: readonly Pop3Failure[];
  /**
   * QUIT was acknowledged, so the deletions are committed on the server. When false, the fetched
   * messages are still there and come again next time (the store drops them as duplicates).
   */
  readonly committed: boolean;
  /** Why the session itself failed (connect, login, UIDL/LIST, a dropped connection); null if it did not. */
  readonly error: string | null;
}

export interface Pop3Fetcher {
  fetchNew(store: StoreMessage): Promise<FetchResult>;
  /** Logs in, STAT, QUIT. */
  verify(): Promise<LinkCheck>;
}

type Pop3Config = ConstructorParameters<typeof Pop3Command>[0];

const CRLF = Buffer.from('\r\n');
const TERMINATOR = Buffer.from('\r\n.\r\n');

/**
 * node-pop3 0.11 finds the end of a multi-line reply only when the final "\r\n.\r\n" arrives
 * at the end of one TCP chunk; a terminator split across two chunks hangs the session, and a chunk
 * that is exactly "." ends the reply early. This subclass scans across chunk boundaries, holding back
 * the last 4 bytes until the next chunk shows whether they start the terminator.
 * Bytes are passed on unchanged: dot-unstuffing is done by the caller on the whole reply.
 * Exported for its unit test only.
 */
export class Pop3Session extends Pop3Command {
  /** Bytes held back from the stream; starts as a virtual CRLF so that an empty reply (".\r\n") is seen too. */
  private carry: Buffer = CRLF;
  /** How many bytes at the start of `carry` are the virtual CRLF (never emitted). */
  private virtualBytes = CRLF.length;

  constructor(config: Pop3Config) {
    super(config);
  }

  override _updateStream(): Readable {
    this.carry = CRLF;
    this.virtualBytes = CRLF.length;
    return super._updateStream();
  }

  override _pushStream(chunk: Buffer): void {
    const stream = this._stream;
    if (!stream) return;
    const data = Buffer.concat([this.carry, chunk]);
    const end = data.indexOf(TERMINATOR);
    if (end !== -1) {
      // Keep the CRLF that ends the last line: it belongs to the message.
      const last = end + CRLF.length;
      if (last > this.virtualBytes) stream.push(data.subarray(this.virtualBytes, last));
      this.carry = CRLF;
      this.virtualBytes = CRLF.length;
      this._endStream();
      return;
    }
    const emitEnd = Math.max(0, data.length - (TERMINATOR.length - 1));
    if (emitEnd > this.virtualBytes) stream.push(data.subarray(this.virtualBytes, emitEnd));
    this.virtualBytes = Math.max(0, this.virtualBytes - emitEnd);
    this.carry = data.subarray(emitEnd);
  }

  /**
   * node-pop3 also reads a status line ("+OK …" / "-ERR …") from the first bytes of a TCP chunk: a line
   * cut in two would be misread (its tail taken as reply data). After login, this puts a line assembler
   * in front of the library's socket listener: outside a multi-line reply, bytes are held until a CRLF
   * has arrived. Called once the session is logged in (the greeting, USER and PASS go unassembled; their
   * replies start fresh segments).
   */
  assembleStatusLines(): void {
    const socket = this._socket;
    const listeners = socket?.listeners('data') ?? [];
    const library = listeners[0];
    if (!socket || listeners.length !== 1 || typeof library !== 'function') return;
    socket.removeListener('data', library as (chunk: Buffer) => void);
    let pending: Buffer | null = null;
    socket.on('data', (chunk: Buffer) => {
      if (this._stream) {
        library.call(socket, chunk);
        return;
      }
      const data: Buffer = pending ? Buffer.concat([pending, chunk]) : chunk;
      if (data.indexOf(CRLF) === -1 && data.length < MAX_STATUS_LINE_BYTES) {
        pending = data;
        return;
      }
      pending = null;
      library.call(socket, data);
    });
  }
}

/** RFC 1939 §3: a line of a multi-line reply that starts with "." has had one "." prepended. */
export function unstuffDots(wire: Buffer): Buffer {
  const parts: Buffer[] = [];
  let from = 0;
  let lineStart = 0;
  while (lineStart < wire.length) {
    if (wire[lineStart] === 0x2e) {
      parts.push(wire.subarray(from, lineStart));
      from = lineStart + 1;
    }
    const lf = wire.indexOf(0x0a, lineStart);
    if (lf === -1) break;
    lineStart = lf + 1;
  }
  if (from === 0) return wire;
  parts.push(wire.subarray(from));
  return Buffer.concat(parts);
}

/**
 * POP3 has no envelope; the delivering MTA records it in trace fields at the top of the message
 * (RFC 5321 §4.4 Return-Path; Postfix and others add Delivered-To).
 */
export function envelopeFromTrace(raw: Buffer, fallbackRcpt: string): { mailFrom: string; rcptTo: string[] } {
  const head = raw.subarray(0, MAX_TRACE_HEADER_BYTES).toString('latin1');
  const endOfHeader = head.search(/\r?\n\r?\n/);
  const block = (endOfHeader === -1 ? head : head.slice(0, endOfHeader)).replace(/\r?\n[ \t]+/g, ' ');
  let mailFrom: string | null = null;
  const rcptTo: string[] = [];
  for (const line of block.split(/\r?\n/)) {
    const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const name = m[1]!.toLowerCase();
    const value = m[2]!.trim();
    if (name === 'return-path' && mailFrom === null) mailFrom = /<([^>]*)>/.exec(value)?.[1] ?? value;
    if (name === 'delivered-to' && value && !rcptTo.includes(value)) rcptTo.push(value);
  }
  return { mailFrom: sanitizeReason(mailFrom ?? '', 320), rcptTo: rcptTo.length ? rcptTo.map((r) => sanitizeReason(r, 320)) : [fallbackRcpt] };
}

class SessionBroken extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'SessionBroken';
  }
}

/** One POP3 session with a deadline on every step; a broken session rejects every pending step. */
class GuardedSession {
  readonly pop: Pop3Session;
  private broken: Error | null = null;
  private readonly breakers = new Set<(e: Error) => void>();

  constructor(
    config: Pop3Config,
    private readonly timeoutMs: number,
    log: MailLogger,
  ) {
    this.pop = new Pop3Session(config);
    // node-pop3 emits 'error' both for a -ERR reply (with `command` set; the command's own promise
    // rejects, the session goes on) and for a socket error in the middle of a reply, when no command
    // may be waiting. The listener must exist either way: an unhandled 'error' event would stop the daemon.
    this.pop.on('error', (err: Error & { command?: unknown }) => {
      if (typeof err.command !== 'string') this.fail(`connection error: ${err.message}`);
    });
    this.pop.on('warn', (err: Error) => log.debug({ err: err.message }, 'pop3: warning'));
    this.pop.on('end', (err?: Error) => {
      if (err) this.fail(`connection ended: ${err.message}`);
    });
  }

  private fail(reason: string): void {
    if (this.broken) return;
    this.broken = new SessionBroken(reason);
    for (const reject of this.breakers) reject(this.broken);
    this.breakers.clear();
    this.destroy();
  }

  /** Runs one protocol step: rejects on a -ERR reply, on timeout, or when the connection drops. */
  step<T>(label: string, work: () => Promise<T>): Promise<T> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(`${label}: no answer within ${this.timeoutMs} ms`), this.timeoutMs);
      const breaker = (e: Error): void => {
        clearTimeout(timer);
        reject(e);
      };
      this.breakers.add(breaker);
      work().then(
        (value) => {
          clearTimeout(timer);
          this.breakers.delete(breaker);
          resolve(value);
        },
        (err: unknown) => {
          clearTimeout(timer);
          this.breakers.delete(breaker);
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }

  /** Once connected, a closed socket breaks the session at once instead of waiting for the timeout. */
  watchSocket(): void {
    this.pop._socket?.once('close', () => this.fail('connection closed by server'));
    this.pop.assembleStatusLines();
  }

  get isBroken(): boolean {
    return this.broken !== null;
  }

  destroy(): void {
    const socket = this.pop._socket;
    if (socket && !socket.destroyed) socket.destroy();
  }
}

function readReply(stream: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        stream.destroy(new Error(`reply exceeds ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    stream.once('error', reject);
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('close', () => reject(new Error('reply stream closed early')));
  });
}

function parseListing(lines: string[][] | string[]): Map<number, string> {
  const out = new Map<number, string>();
  for (const row of lines) {
    if (!Array.isArray(row)) continue;
    const n = Number(row[0]);
    const v = row[1];
    if (Number.isSafeInteger(n) && n > 0 && v !== undefined) out.set(n, v);
  }
  return out;
}

function describe(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return sanitizeReason(text);
}

export function createPop3Fetcher(opts: Pop3FetcherOptions): Pop3Fetcher {
  const log = opts.logger ?? silentLogger;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_POP3_TIMEOUT_MS;
  const maxBytes = opts.maxMessageBytes ?? DEFAULT_POP3_MAX_MESSAGE_BYTES;
  const origin = `pop3:${opts.host}:${opts.port}`;
  /** UIDs the store refused for good; kept for the life of the fetcher so a poison message is not re-fetched every poll. */
  const refused = new Set<string>();
  /** Oversized messages already reported: they stay on the server and are seen again at every poll. */
  const reportedOversized = new Set<string>();
  /** Two overlapping sessions on one maildrop would collide on its lock (and on which of them deletes what). */
  let running: Promise<unknown> = Promise.resolve();

  const config = (): Pop3Config => ({
    host: opts.host,
    port: opts.port,
    user: opts.user,
    password: opts.password,
    tls: opts.tls === true,
    // No idle timeout in the library: each protocol step has its own deadline (GuardedSession.step), and
    // the connection may rightly sit idle while the store commits a large message.
    ...(opts.tls ? { tlsOptions: { rejectUnauthorized: true, ...(opts.tlsCa ? { ca: opts.tlsCa } : {}) } } : {}),
  });

  async function open(): Promise<GuardedSession> {
    const session = new GuardedSession(config(), timeoutMs, log);
    try {
      await session.step('login', () => session.pop._connect());
    } catch (err) {
      session.destroy();
      throw err;
    }
    session.watchSocket();
    return session;
  }

  async function fetchOnce(store: StoreMessage): Promise<FetchResult> {
    const failures: Pop3Failure[] = [];
    let fetched = 0;
    let skipped = 0;
    let error: string | null = null;
    let session: GuardedSession;
    try {
      session = await open();
    } catch (err) {
      log.warn({ server: origin, err: describe(err) }, 'pop3: cannot open session');
      return { fetched, failed: 0, skipped, failures, committed: false, error: describe(err) };
    }
    const pop = session.pop;
    try {
      const uids = parseListing(await session.step('UIDL', () => pop.UIDL()));
      const sizes = parseListing(await session.step('LIST', () => pop.LIST()));
      // Forget refusals of messages an operator has since removed, so the set only holds what is still there.
      const present = new Set(uids.values());
      for (const uid of refused) if (!present.has(uid)) refused.delete(uid);
      for (const [n, uid] of [...uids].sort((a, b) => a[0] - b[0])) {
        if (refused.has(uid)) {
          skipped++;
          continue;
        }
        const size = Number(sizes.get(n));
        if (!Number.isFinite(size) || size > maxBytes) {
          failures.push({ uid, reason: `message of ${sizes.get(n) ?? '?'} bytes exceeds the limit of ${maxBytes} bytes`, permanent: false });
          log.warn({ uid, size: sizes.get(n), limit: maxBytes }, 'pop3: message too large, left on server');
          if (!reportedOversized.has(uid)) {
            reportedOversized.add(uid);
            try {
              opts.onRefused?.({ code: 'OVERSIZED', reason: `message of ${sizes.get(n) ?? '?'} bytes exceeds the limit of ${maxBytes} bytes`, ref: `pop3:${uid}`, mailFrom: '', rcptTo: [], remoteAddress: origin, at: new Date() });
            } catch (err) {
              log.error({ uid, err: describe(err) }, 'pop3: recording a refusal failed');
            }
          }
          continue;
        }
        let raw: Buffer;
        try {
          const wire = await session.step(`RETR ${n}`, async () => {
            const [, stream] = await pop.command('RETR', n);
            return readReply(stream, size * WIRE_OVERHEAD_FACTOR + 1024);
          });
          raw = unstuffDots(wire);
        } catch (err) {
          failures.push({ uid, reason: `RETR failed: ${describe(err)}`, permanent: false });
          if (session.isBroken) throw err;
          continue;
        }
        const trace = envelopeFromTrace(raw, opts.user);
        let result: Awaited<ReturnType<StoreMessage>>;
        try {
          result = await store(raw, { ...trace, remoteAddress: origin, receivedAt: new Date() });
        } catch (err) {
          result = { ok: false, reason: describe(err), permanent: false };
        }
        if (!result.ok) {
          failures.push({ uid, reason: sanitizeReason(result.reason), permanent: result.permanent });
          if (result.permanent) refused.add(uid);
          log.warn({ uid, reason: result.reason, permanent: result.permanent }, 'pop3: store failed, message left on server');
          continue;
        }
        fetched++;
        log.info({ uid, id: result.id, bytes: raw.length }, 'pop3: message stored');
        // Stored but not deleted if this fails: the next session fetches it again and the store drops the duplicate.
        await session.step(`DELE ${n}`, () => pop.DELE(n));
      }
      await session.step('QUIT', () => pop.QUIT());
      return { fetched, failed: failures.length, skipped, failures, committed: true, error };
    } catch (err) {
      // The server rolls back every DELE of a session that did not end with QUIT (RFC 1939 §6).
      error = describe(err);
      log.warn({ server: origin, err: error, fetched }, 'pop3: session failed, deletions not committed');
      return { fetched, failed: failures.length, skipped, failures, committed: false, error };
    } finally {
      session.destroy();
    }
  }

  /** Sessions run one at a time, in call order. */
  function serialised<T>(work: () => Promise<T>): Promise<T> {
    const result = running.then(work, work);
    running = result.catch(() => undefined);
    return result;
  }

  async function verifyOnce(): Promise<LinkCheck> {
    const started = Date.now();
    const checkedAt = (): string => new Date().toISOString();
    let session: GuardedSession | null = null;
    try {
      session = await open();
      const pop = session.pop;
      const stat = await session.step('STAT', () => pop.STAT());
      await session.step('QUIT', () => pop.QUIT());
      const [count = '?', octets = '?'] = stat.trim().split(/\s+/);
      return { state: 'up', detail: `${origin}: ${count} message(s), ${octets} bytes waiting`, checkedAt: checkedAt(), latencyMs: Date.now() - started };
    } catch (err) {
      return { state: 'down', detail: `${origin}: ${describe(err)}`, checkedAt: checkedAt(), latencyMs: Date.now() - started };
    } finally {
      session?.destroy();
    }
  }

  return {
    fetchNew: (store) => serialised(() => fetchOnce(store)),
    verify: () => serialised(verifyOnce),
  };
}
