import { createHash, randomUUID } from 'node:crypto';
import { statement, type Db } from '../db/database.js';
import type { Channel, MemberStateCode } from '../peers/member-states.js';
import { deadlineFor, isAtRisk, retryDelayMs } from './deadlines.js';
import type { DeadLetter, QueueStatus } from '../status/types.js';
import { migrateSchema } from '../db/schema.js';

export interface QueueOptions {
  /**
   * When the sender signed a raw mail (the CMS signing time), for DNA-TIME ordering. Read from the signed
   * attributes without verifying them: the opener verifies them before anything is answered, so a forged
   * time only gets a message refused. Absent or unreadable: the time we received it.
   */
  readonly signedTimeOf?: (raw: Buffer) => Date | null;
  /** How far back a signing time may place a message in the order (the replay window); default 24 h. */
  readonly orderWindowMs?: number;
}

/**
 * The durable inbox and outbox. Idempotency is by message id (the RFC 5322 Message-ID, or
 * the SHA-256 of the raw bytes when a sender left it out): a message the relay delivers
 * twice, or that we re-fetch by POP3 after a crash, is stored once and processed once.
 * Delivery to peers is at-least-once (a crash between the relay's 250 and our commit sends
 * again); the peer's inbox makes it exactly-once end to end.
 */

export type InboxStatus = 'pending' | 'done' | 'rejected' | 'dead';
export type OutboxStatus = 'pending' | 'sent' | 'failed';

export interface InboxItem {
  readonly id: string;
  readonly messageId: string;
  readonly channel: Channel;
  readonly receivedAt: Date;
  /** When the sender signed it (CMS signing time, clamped to the replay window), for DNA-TIME ordering; receivedAt if absent. */
  readonly sentAt: Date;
  readonly deadline: Date;
  readonly mailFrom: string;
  readonly raw: Buffer;
  readonly attempts: number;
  /** The signing time read from the signature at receipt, unverified (the ordering hint); null when none was found. */
  readonly signedAt: Date | null;
}

export interface OutboxItem {
  readonly id: string;
  readonly messageId: string;
  readonly channel: Channel;
  readonly peer: MemberStateCode;
  readonly mailFrom: string;
  readonly rcptTo: string;
  readonly raw: Buffer;
  readonly createdAt: Date;
  readonly deadline: Date | null;
  readonly attempts: number;
}

export interface NewOutboxMessage {
  readonly messageId: string;
  readonly channel: Channel;
  readonly peer: MemberStateCode;
  readonly mailFrom: string;
  readonly rcptTo: string;
  readonly raw: Buffer;
  readonly deadline: Date | null;
  /** What this message answers or belongs to (inbox id, search id), for correlation and audit. */
  readonly correlation: string | null;
}

interface InboxRow {
  id: string;
  message_id: string;
  channel: Channel;
  received_at: number;
  sent_at: number;
  deadline: number;
  mail_from: string;
  raw: Buffer;
  attempts: number;
  signed_at: number | null;
}

interface OutboxRow {
  id: string;
  message_id: string;
  channel: Channel;
  peer: MemberStateCode;
  mail_from: string;
  rcpt_to: string;
  raw: Buffer;
  created_at: number;
  deadline: number | null;
  attempts: number;
}

const MESSAGE_ID = /^\s*<([^<>\s]{1,500})>/m;

/** The idempotency key of a raw mail: its Message-ID header, else a digest of its bytes. */
export function messageIdOf(raw: Buffer): string {
  const headerEnd = raw.indexOf('\r\n\r\n');
  const headers = raw.subarray(0, headerEnd < 0 ? Math.min(raw.length, 64 * 1024) : headerEnd).toString('latin1');
  const match = /^message-id:(.*(?:\r?\n[ \t].*)*)/im.exec(headers);
  const id = match?.[1] !== undefined ? MESSAGE_ID.exec(match[1].replace(/\r?\n/g, ''))?.[1] : undefined;
  return id ?? `sha256:${createHash('sha256').update(raw).digest('hex')}`;
}

/** The Date header of a raw mail, if present and sane. */
export function sentDateOf(raw: Buffer): Date | null {
  const headerEnd = raw.indexOf('\r\n\r\n');
  const headers = raw.subarray(0, headerEnd < 0 ? Math.min(raw.length, 64 * 1024) : headerEnd).toString('latin1');
  const match = /^date:\s*(.+)$/im.exec(headers);
  if (!match?.[1]) return null;
  const d = new Date(match[1].trim());
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Consecutive same-kind failures after which an inbox message becomes a dead letter (config exchange.maxFailures). */
export const DEFAULT_MAX_FAILURES = 5;

/** How long an outbound message the relay keeps refusing is retried (config exchange.outboundGiveUpHours). */
export const DEFAULT_OUTBOUND_GIVE_UP_MS = 72 * 3_600_000;

export class MessageQueue {
  private readonly signedTimeOf: (raw: Buffer) => Date | null;
  private readonly orderWindowMs: number;

  constructor(
    private readonly db: Db,
    private readonly clock: () => Date = () => new Date(),
    options: QueueOptions = {},
  ) {
    MessageQueue.migrate(db);
    this.signedTimeOf = options.signedTimeOf ?? (() => null);
    this.orderWindowMs = options.orderWindowMs ?? 24 * 3_600_000;
  }

  static migrate(db: Db): void {
    migrateSchema(db);
  }

  /**
   * Stores a received mail before it is acknowledged. Returns the existing id for a duplicate
   * (same message id), so the sender gets its 250 and nothing is processed twice.
   */
  receive(raw: Buffer, channel: Channel, mailFrom: string): { id: string; duplicate: boolean } {
    const now = this.clock();
    const messageId = messageIdOf(raw);
    // DNA-TIME order by what the sender signed, never by the unsigned Date header (a back-dated Date would
    // jump the queue). Clamped to [now - window, now]: an older time is refused at opening anyway, and a
    // time in the future must not let others overtake it indefinitely.
    const signed = this.signedTimeOf(raw);
    const sentAt = signed ? new Date(Math.min(now.getTime(), Math.max(signed.getTime(), now.getTime() - this.orderWindowMs))) : now;
    const id = randomUUID();
    const inserted = statement(
      this.db,
      `INSERT OR IGNORE INTO queue_inbox (id, message_id, channel, received_at, sent_at, deadline, mail_from, raw, signed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
      .run(id, messageId, channel, now.getTime(), sentAt.getTime(), deadlineFor(channel, now).getTime(), mailFrom, raw, signed?.getTime() ?? null);
    if (inserted.changes === 1) return { id, duplicate: false };
    const existing = statement(this.db, 'SELECT id FROM queue_inbox WHERE message_id = ?').get(messageId) as { id: string };
    return { id: existing.id, duplicate: true };
  }

  /**
   * The next inbox message to process: per channel in the chronological order of sending
   * (DNA-TIME), the oldest first. `skip`: messages already being processed (the pipeline works on a
   * few at once), passed over. `accept`: when given, the oldest message it accepts (the pipeline picks
   * light requests ahead of heavy ones, exchange/priority.ts); ids are scanned first, so passing over a
   * flood of batches does not read their bodies.
   */
  nextInbound(skip: ReadonlySet<string> = new Set(), accept?: (id: string) => boolean): InboxItem | null {
    const now = this.clock().getTime();
    if (!accept) {
      const rows = statement(
        this.db,
        `SELECT id, message_id, channel, received_at, sent_at, deadline, mail_from, raw, attempts, signed_at FROM queue_inbox
         WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY sent_at, received_at, rowid LIMIT ?`,
      ).all(now, skip.size + 1) as InboxRow[];
      const row = rows.find((r) => !skip.has(r.id));
      return row ? toInboxItem(row) : null;
    }
    let chosen: string | null = null;
    for (const r of statement(
      this.db,
      `SELECT id FROM queue_inbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY sent_at, received_at, rowid`,
    ).iterate(now) as IterableIterator<{ id: string }>) {
      if (!skip.has(r.id) && accept(r.id)) {
        chosen = r.id;
        break;
      }
    }
    if (chosen === null) return null;
    const row = statement(
      this.db,
      `SELECT id, message_id, channel, received_at, sent_at, deadline, mail_from, raw, attempts, signed_at FROM queue_inbox WHERE id = ?`,
    ).get(chosen) as InboxRow | undefined;
    return row ? toInboxItem(row) : null;
  }

  /** Whether an inbox message is still waiting to be processed (not answered, rejected or buried). */
  isPending(id: string): boolean {
    return (statement(this.db, `SELECT status FROM queue_inbox WHERE id = ?`).get(id) as { status: InboxStatus } | undefined)?.status === 'pending';
  }

  /**
   * Marks an inbox message finished. The raw mail is dropped here: once answered, the data a
   * peer supplied is not kept in working storage (2008/615 Art. 26, DP-PURPOSE); the audit
   * log holds what the law requires. Call inside the transaction that also enqueues the answer.
   */
  finishInbound(id: string, status: 'done' | 'rejected', outcome: string, senderState: MemberStateCode | null): void {
    statement(this.db, `UPDATE queue_inbox SET status = ?, outcome = ?, sender_state = ?, raw = NULL, done_at = ? WHERE id = ?`)
      .run(status, outcome, senderState, this.clock().getTime(), id);
  }

  /**
   * Processing did not finish; try again later with back-off. `counted`: a failure of the message's own
   * making (or of ours we cannot tell apart from it): after `maxFailures` consecutive failures with the
   * same code the message becomes a dead letter — no more attempts, its raw data dropped (DP-PURPOSE).
   * Not counted: waiting for something known to come back (the token logged in, the DNA index built).
   * Call inside a transaction when the caller also records the dead letter.
   */
  deferInbound(id: string, failure: { code: string; reason: string; counted: boolean; maxFailures?: number }): { dead: boolean; attempts: number; failures: number } {
    const row = statement(this.db, 'SELECT attempts, failures, failure_code FROM queue_inbox WHERE id = ?').get(id) as
      | { attempts: number; failures: number; failure_code: string | null }
      | undefined;
    const attempts = (row?.attempts ?? 0) + 1;
    const failures = failure.counted ? (row?.failure_code === failure.code ? (row?.failures ?? 0) : 0) + 1 : (row?.failures ?? 0);
    const code = failure.counted ? failure.code : (row?.failure_code ?? null);
    const reason = failure.reason.slice(0, 500);
    if (failure.counted && failures >= (failure.maxFailures ?? DEFAULT_MAX_FAILURES)) {
      statement(this.db, `UPDATE queue_inbox SET status = 'dead', attempts = ?, failures = ?, failure_code = ?, outcome = ?, raw = NULL, done_at = ? WHERE id = ?`)
        .run(attempts, failures, code, `dead letter after ${failures} × ${failure.code}: ${reason}`, this.clock().getTime(), id);
      return { dead: true, attempts, failures };
    }
    statement(this.db, 'UPDATE queue_inbox SET attempts = ?, failures = ?, failure_code = ?, next_attempt_at = ?, outcome = ? WHERE id = ?')
      .run(attempts, failures, code, this.clock().getTime() + retryDelayMs(attempts), `deferred: ${reason}`, id);
    return { dead: false, attempts, failures };
  }

  /** Dead letters of both directions, newest first (no personal data: the raw mail is gone, the outcome names the failure). */
  deadLetters(limit = 50): { count: number; recent: DeadLetter[] } {
    const count = (statement(
      this.db,
      `SELECT (SELECT count(*) FROM queue_inbox WHERE status = 'dead') + (SELECT count(*) FROM queue_outbox WHERE status = 'failed') AS n`,
    ).get() as { n: number }).n;
    // Outbound rows keep their last relay answer in last_error; its code is the kind of failure.
    const rows = statement(
      this.db,
      `SELECT id, 'in' AS direction, message_id, channel, sender_state AS state, received_at, done_at, failure_code AS code, failures, outcome AS reason
         FROM queue_inbox WHERE status = 'dead'
       UNION ALL
       SELECT id, 'out', message_id, channel, peer, created_at, failed_at,
              CASE WHEN last_error LIKE 'gave up%' THEN 'UNDELIVERABLE' ELSE 'RELAY_REFUSED' END, attempts, last_error
         FROM queue_outbox WHERE status = 'failed'
       ORDER BY done_at DESC LIMIT ?`,
    ).all(limit) as Array<{
      id: string;
      direction: 'in' | 'out';
      message_id: string;
      channel: Channel;
      state: string | null;
      received_at: number;
      done_at: number | null;
      code: string | null;
      failures: number;
      reason: string | null;
    }>;
    return {
      count,
      recent: rows.map((r) => ({
        id: r.id,
        direction: r.direction,
        messageId: r.message_id,
        channel: r.channel,
        state: r.state,
        receivedAt: new Date(r.received_at).toISOString(),
        deadAt: new Date(r.done_at ?? r.received_at).toISOString(),
        code: r.code ?? 'UNKNOWN',
        failures: r.failures,
        reason: r.reason ?? '',
      })),
    };
  }

  /**
   * Retention of working storage: finished inbox entries (done, rejected, dead) and sent or failed outbox
   * entries older than `olderThan` are deleted (their raw data went at once; this drops the bookkeeping).
   * Returns the rows removed per table.
   */
  prune(olderThan: Date): { inbox: number; outbox: number } {
    const t = olderThan.getTime();
    const inbox = statement(this.db, `DELETE FROM queue_inbox WHERE status IN ('done', 'rejected', 'dead') AND done_at < ?`).run(t).changes;
    const outbox = statement(this.db, `DELETE FROM queue_outbox WHERE status IN ('sent', 'failed') AND coalesce(sent_at, created_at) < ?`).run(t).changes;
    return { inbox, outbox };
  }

  /**
   * Makes the deferred inbox messages of a channel due now: what they waited for is back (the DNA index
   * is built, the token is unlocked), so they need not sit out the rest of their back-off. Returns how many.
   */
  retryDeferredNow(channel: Channel): number {
    return statement(
      this.db,
      `UPDATE queue_inbox SET next_attempt_at = ? WHERE status = 'pending' AND channel = ? AND attempts > 0 AND next_attempt_at > ?`,
    ).run(this.clock().getTime(), channel, this.clock().getTime()).changes;
  }

  enqueueOutbound(message: NewOutboxMessage): { id: string; duplicate: boolean } {
    const id = randomUUID();
    const inserted = statement(
      this.db,
      `INSERT OR IGNORE INTO queue_outbox (id, message_id, channel, peer, mail_from, rcpt_to, raw, created_at, deadline, correlation)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
      .run(
        id,
        message.messageId,
        message.channel,
        message.peer,
        message.mailFrom,
        message.rcptTo,
        message.raw,
        this.clock().getTime(),
        message.deadline?.getTime() ?? null,
        message.correlation,
      );
    if (inserted.changes === 1) return { id, duplicate: false };
    const existing = statement(this.db, 'SELECT id FROM queue_outbox WHERE message_id = ?').get(message.messageId) as { id: string };
    return { id: existing.id, duplicate: true };
  }

  /** Outbound messages due for a (re)try, oldest first. */
  dueOutbound(limit: number): OutboxItem[] {
    const rows = statement(
      this.db,
      `SELECT id, message_id, channel, peer, mail_from, rcpt_to, raw, created_at, deadline, attempts FROM queue_outbox
       WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY created_at, rowid LIMIT ?`,
    )
      .all(this.clock().getTime(), limit) as OutboxRow[];
    return rows.map(toOutboxItem);
  }

  /** The relay accepted it. The sealed copy is dropped: it carries a peer's data encrypted for the peer. */
  markSent(id: string): void {
    statement(this.db, `UPDATE queue_outbox SET status = 'sent', sent_at = ?, raw = NULL, last_error = NULL WHERE id = ?`)
      .run(this.clock().getTime(), id);
  }

  /**
   * Temporary failure: back off and try again — until the message has waited `giveUpAfterMs` since it was
   * queued; then it is given up on like a permanent failure (`dead`: the caller audits it).
   */
  markRetry(id: string, reason: string, giveUpAfterMs = DEFAULT_OUTBOUND_GIVE_UP_MS): { dead: boolean; attempts: number } {
    const row = statement(this.db, 'SELECT attempts, created_at FROM queue_outbox WHERE id = ?').get(id) as { attempts: number; created_at: number } | undefined;
    const attempts = (row?.attempts ?? 0) + 1;
    const now = this.clock().getTime();
    if (row && now - row.created_at >= giveUpAfterMs) {
      const hours = Math.round((now - row.created_at) / 360_000) / 10;
      this.fail(id, `gave up after ${attempts} attempts over ${hours} h: ${reason}`);
      return { dead: true, attempts };
    }
    statement(this.db, 'UPDATE queue_outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?')
      .run(attempts, now + retryDelayMs(attempts), reason.slice(0, 500), id);
    return { dead: false, attempts };
  }

  /** Permanent failure (5xx from the relay): a dead letter, not retried; the caller audits it. */
  markFailed(id: string, reason: string): void {
    this.fail(id, reason);
  }

  /**
   * An outbound dead letter: its sealed copy is dropped (a peer's data, encrypted for the peer: no use to
   * our operators, and the peer can ask again); the row stays for the dashboard until retention.
   */
  private fail(id: string, reason: string): void {
    statement(this.db, `UPDATE queue_outbox SET status = 'failed', last_error = ?, attempts = attempts + 1, raw = NULL, failed_at = ? WHERE id = ?`)
      .run(reason.slice(0, 500), this.clock().getTime(), id);
  }

  /** An outbox row's bookkeeping (no message data), for audit records and tests. */
  outboxRecord(id: string): { status: OutboxStatus; attempts: number; lastError: string | null; correlation: string | null } | null {
    const row = statement(this.db, 'SELECT status, attempts, last_error, correlation FROM queue_outbox WHERE id = ?').get(id) as
      | { status: OutboxStatus; attempts: number; last_error: string | null; correlation: string | null }
      | undefined;
    return row ? { status: row.status, attempts: row.attempts, lastError: row.last_error, correlation: row.correlation } : null;
  }

  /** Depth, oldest age, nearest deadline and at-risk count per channel and direction, for the status API. */
  depths(): QueueStatus[] {
    const now = this.clock();
    const result: QueueStatus[] = [];
    const collect = (direction: 'in' | 'out', rows: Array<{ channel: Channel; created: number; deadline: number | null }>) => {
      const byChannel = new Map<Channel, Array<{ created: number; deadline: number | null }>>();
      for (const r of rows) {
        const list = byChannel.get(r.channel) ?? [];
        list.push(r);
        byChannel.set(r.channel, list);
      }
      for (const channel of ['dna', 'fp', 'vrd'] as const) {
        const list = byChannel.get(channel) ?? [];
        const oldest = list.length ? Math.min(...list.map((r) => r.created)) : null;
        const deadlines = list.map((r) => r.deadline).filter((d): d is number => d !== null);
        const nearest = deadlines.length ? Math.min(...deadlines) : null;
        result.push({
          channel,
          direction,
          depth: list.length,
          oldestAgeSeconds: oldest === null ? null : Math.max(0, Math.round((now.getTime() - oldest) / 1000)),
          nearestDeadline: nearest === null ? null : new Date(nearest).toISOString(),
          atRisk: deadlines.filter((d) => isAtRisk(channel, new Date(d), now)).length,
        });
      }
    };
    collect(
      'in',
      statement(this.db, `SELECT channel, received_at AS created, deadline FROM queue_inbox WHERE status = 'pending'`).all() as Array<{
        channel: Channel;
        created: number;
        deadline: number;
      }>,
    );
    collect(
      'out',
      statement(this.db, `SELECT channel, created_at AS created, deadline FROM queue_outbox WHERE status = 'pending'`).all() as Array<{
        channel: Channel;
        created: number;
        deadline: number | null;
      }>,
    );
    return result;
  }

  /** Messages finished per minute over the last hour, oldest bucket first. */
  throughput(): { in: number[]; out: number[] } {
    const now = this.clock().getTime();
    const since = now - 3_600_000;
    const bucket = (times: Array<{ t: number }>) => {
      const buckets = new Array<number>(60).fill(0);
      for (const { t } of times) {
        const i = Math.floor((t - since) / 60_000);
        if (i >= 0 && i < 60) buckets[i] = (buckets[i] ?? 0) + 1;
      }
      return buckets;
    };
    return {
      in: bucket(statement(this.db, 'SELECT received_at AS t FROM queue_inbox WHERE received_at >= ?').all(since) as Array<{ t: number }>),
      out: bucket(statement(this.db, 'SELECT sent_at AS t FROM queue_outbox WHERE sent_at >= ?').all(since) as Array<{ t: number }>),
    };
  }

  inboxRecord(id: string): { status: InboxStatus; outcome: string | null; senderState: string | null } | null {
    const row = statement(this.db, 'SELECT status, outcome, sender_state FROM queue_inbox WHERE id = ?').get(id) as
      | { status: InboxStatus; outcome: string | null; sender_state: string | null }
      | undefined;
    return row ? { status: row.status, outcome: row.outcome, senderState: row.sender_state } : null;
  }
}

function toInboxItem(row: InboxRow): InboxItem {
  return {
    id: row.id,
    messageId: row.message_id,
    channel: row.channel,
    receivedAt: new Date(row.received_at),
    sentAt: new Date(row.sent_at),
    deadline: new Date(row.deadline),
    mailFrom: row.mail_from,
    raw: row.raw,
    attempts: row.attempts,
    signedAt: row.signed_at === null ? null : new Date(row.signed_at),
  };
}

function toOutboxItem(row: OutboxRow): OutboxItem {
  return {
    id: row.id,
    messageId: row.message_id,
    channel: row.channel,
    peer: row.peer,
    mailFrom: row.mail_from,
    rcptTo: row.rcpt_to,
    raw: row.raw,
    createdAt: new Date(row.created_at),
    deadline: row.deadline === null ? null : new Date(row.deadline),
    attempts: row.attempts,
  };
}
