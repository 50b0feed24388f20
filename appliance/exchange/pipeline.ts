import { randomUUID } from 'node:crypto';
import type { Db } from '../db/database.js';
import type { MailChannel, MemberStateCode } from '../peers/member-states.js';
import { MessageQueue, type InboxItem, type OutboxItem } from '../queue/queue.js';
import { deadlineFor } from '../queue/deadlines.js';
import type { ChannelHandler, ExchangeRecord, Reply } from './handler.js';
import type { LinkTracker } from './links.js';

/** Result of opening a received mail (verify against the peer directory, then decrypt). */
export type OpenResult =
  | {
      readonly ok: true;
      readonly sender: MemberStateCode;
      readonly payload: Buffer;
      readonly payloadContentType: string;
      readonly subject: string;
    }
  | { readonly ok: false; readonly error: { readonly code: string; readonly message: string } };

export interface MessageOpener {
  open(raw: Buffer): Promise<OpenResult>;
}

/** Encrypts for the peer, signs with the token and wraps the result in an RFC 5322 mail. */
export interface MessageSealer {
  seal(message: { peer: MemberStateCode; channel: MailChannel; reply: Reply; messageId: string; inReplyTo: string | null }): Promise<{
    raw: Buffer;
    mailFrom: string;
    rcptTo: string;
  }>;
}

export type SendResult = { ok: true; response: string } | { ok: false; permanent: boolean; reason: string };

export interface MailSender {
  send(message: { from: string; to: string[]; raw: Buffer }): Promise<SendResult>;
  /** Messages it can carry side by side (pooled connections to the relay); 1 when absent. */
  readonly concurrency?: number;
}

/** Where the pipeline writes its Art. 30 records; synchronous so it joins the queue transaction. */
export interface ExchangeAudit {
  exchange(
    record: ExchangeRecord,
    context: { channel: MailChannel; peer: MemberStateCode; messageId: string; inReplyTo: string | null; occurredAt: Date; payload: Buffer },
  ): void;
  rejected(entry: { channel: MailChannel; messageId: string; mailFrom: string; code: string; reason: string; occurredAt: Date }): void;
}

/** A message we originate (an officer's search, a link test). */
export interface OriginMessage {
  readonly peer: MemberStateCode;
  readonly channel: MailChannel;
  readonly reply: Reply;
  readonly correlation: string | null;
  readonly records: readonly ExchangeRecord[];
  readonly persist?: (db: Db, messageId: string) => void;
}

export interface PipelineOptions {
  readonly db: Db;
  readonly queue: MessageQueue;
  readonly links: LinkTracker;
  readonly opener: MessageOpener;
  readonly sealer: MessageSealer;
  readonly sender: MailSender | null;
  readonly handlers: readonly ChannelHandler[];
  readonly audit: ExchangeAudit;
  readonly ourState: MemberStateCode;
  readonly messageIdDomain: (channel: MailChannel) => string;
  /**
   * Inbox messages worked on at once (default 2). While one waits for the token or the disk, the
   * next is parsed and matched; their results are still committed one by one in the order the
   * messages were sent (DNA-TIME).
   */
  readonly inboundConcurrency?: number;
  readonly clock?: () => Date;
  readonly log?: (event: string, fields: Record<string, unknown>) => void;
}

/**
 * The one pipeline every mail channel shares: inbox → open → handler → seal → outbox, with the
 * queue change, the answer and the audit records committed in one SQLite transaction, so a
 * crash at any point either leaves the message pending (processed again) or fully done.
 */
export class ExchangePipeline {
  private readonly clock: () => Date;
  private readonly log: (event: string, fields: Record<string, unknown>) => void;
  private wakers: Array<() => void> = [];
  private stopped = false;
  /** Inbox messages being worked on by an inbound lane. */
  private readonly inFlight = new Set<string>();
  /** Settles when the message taken last has committed (or given up). */
  private lastCommit: Promise<void> = Promise.resolve();
  private loops: Promise<void>[] = [];

  constructor(private readonly o: PipelineOptions) {
    this.clock = o.clock ?? (() => new Date());
    this.log = o.log ?? (() => undefined);
  }

  /**
   * Process one inbox message; false when there was none due. Several calls may run at once (the
   * inbound lanes): each takes the oldest message nobody is working on, and the commits happen in
   * the order the messages were taken, which is the order they were sent.
   */
  async processNextInbound(): Promise<boolean> {
    const item = this.o.queue.nextInbound(this.inFlight);
    if (!item) return false;
    this.inFlight.add(item.id);
    const turn = this.commitTurn();
    try {
      await this.process(item, turn.wait);
    } catch (error) {
      // Token or database trouble is temporary: the message stays queued and is tried again.
      const reason = error instanceof Error ? error.message : String(error);
      this.log('inbound-deferred', { id: item.id, reason });
      await turn.wait();
      this.o.queue.deferInbound(item.id, reason);
    } finally {
      this.inFlight.delete(item.id);
      turn.done();
    }
    return true;
  }

  /**
   * A place in the commit order: `wait` resolves once every message taken before this one has
   * committed or given up; `done` lets the next one go.
   */
  private commitTurn(): { wait: () => Promise<void>; done: () => void } {
    const before = this.lastCommit;
    let done!: () => void;
    this.lastCommit = new Promise<void>((resolve) => (done = resolve));
    return { wait: () => before, done };
  }

  private async process(item: InboxItem, inOrder: () => Promise<void>): Promise<void> {
    const now = this.clock();
    const channel = item.channel as MailChannel;
    const opened = await this.o.opener.open(item.raw);
    if (!opened.ok) {
      await inOrder();
      this.o.db.transaction(() => {
        this.o.queue.finishInbound(item.id, 'rejected', `${opened.error.code}: ${opened.error.message}`, null);
        this.o.audit.rejected({
          channel,
          messageId: item.messageId,
          mailFrom: item.mailFrom,
          code: opened.error.code,
          reason: opened.error.message,
          occurredAt: now,
        });
      })();
      this.log('inbound-rejected', { id: item.id, code: opened.error.code });
      return;
    }
    const handler = this.o.handlers.find((h) => h.channel === channel && h.accepts(opened.payloadContentType));
    const outcome = handler
      ? await handler.handle({
          inboxId: item.id,
          messageId: item.messageId,
          channel,
          sender: opened.sender,
          payload: opened.payload,
          payloadContentType: opened.payloadContentType,
          subject: opened.subject,
          receivedAt: item.receivedAt,
          sentAt: item.sentAt,
        })
      : null;
    if (!outcome) {
      await inOrder();
      this.o.db.transaction(() => {
        this.o.queue.finishInbound(item.id, 'rejected', `UNSUPPORTED_CONTENT: ${opened.payloadContentType}`, opened.sender);
        this.o.audit.rejected({
          channel,
          messageId: item.messageId,
          mailFrom: item.mailFrom,
          code: 'UNSUPPORTED_CONTENT',
          reason: `no handler for ${opened.payloadContentType} on ${channel}`,
          occurredAt: now,
        });
      })();
      return;
    }
    const sealed: Array<{ messageId: string; raw: Buffer; mailFrom: string; rcptTo: string; payload: Buffer }> = [];
    for (const reply of outcome.replies) {
      const messageId = this.newMessageId(channel);
      const s = await this.o.sealer.seal({ peer: opened.sender, channel, reply, messageId, inReplyTo: item.messageId });
      sealed.push({ messageId, ...s, payload: reply.payload });
    }
    await inOrder();
    this.o.db.transaction(() => {
      for (const s of sealed) {
        this.o.queue.enqueueOutbound({
          messageId: s.messageId,
          channel,
          peer: opened.sender,
          mailFrom: s.mailFrom,
          rcptTo: s.rcptTo,
          raw: s.raw,
          // The answer must leave before the request's deadline (15 min DNA, 24 h fingerprints).
          deadline: item.deadline,
          correlation: item.id,
        });
      }
      for (const record of outcome.records) {
        const received = record.direction === 'received';
        const answer = sealed[0];
        this.o.audit.exchange(record, {
          channel,
          peer: opened.sender,
          messageId: received || !answer ? item.messageId : answer.messageId,
          inReplyTo: received ? null : item.messageId,
          occurredAt: now,
          payload: received || !answer ? opened.payload : Buffer.concat(sealed.map((s) => s.payload)),
        });
      }
      outcome.persist?.(this.o.db);
      this.o.queue.finishInbound(item.id, 'done', outcome.summary, opened.sender);
      this.o.links.success(opened.sender, channel);
    })();
    if (sealed.length) this.kick();
    this.log('inbound-done', { id: item.id, sender: opened.sender, answers: sealed.length });
  }

  /**
   * Sends a message we originate (an officer's search, a link test): sealed, queued and
   * audited in one transaction. Returns the message id for correlation.
   */
  async originate(message: {
    peer: MemberStateCode;
    channel: MailChannel;
    reply: Reply;
    correlation: string | null;
    records: readonly ExchangeRecord[];
    persist?: (db: Db, messageId: string) => void;
  }): Promise<string> {
    const messageId = this.newMessageId(message.channel);
    const sealed = await this.o.sealer.seal({ peer: message.peer, channel: message.channel, reply: message.reply, messageId, inReplyTo: null });
    const now = this.clock();
    this.o.db.transaction(() => {
      this.o.queue.enqueueOutbound({
        messageId,
        channel: message.channel,
        peer: message.peer,
        mailFrom: sealed.mailFrom,
        rcptTo: sealed.rcptTo,
        raw: sealed.raw,
        deadline: deadlineFor(message.channel, now),
        correlation: message.correlation,
      });
      for (const record of message.records) {
        this.o.audit.exchange(record, { channel: message.channel, peer: message.peer, messageId, inReplyTo: null, occurredAt: now, payload: message.reply.payload });
      }
      message.persist?.(this.o.db, messageId);
    })();
    this.kick();
    return messageId;
  }

  /**
   * Several messages we originate as one unit (an officer's search to several States): every one
   * is sealed first, then all are queued and audited in one transaction with `persist`, so a
   * target that cannot be sealed or recorded leaves nothing queued — no half-sent search.
   */
  async originateAll(
    messages: readonly OriginMessage[],
    persist?: (db: Db) => void,
  ): Promise<string[]> {
    const sealed: Array<{ message: OriginMessage; messageId: string; s: Awaited<ReturnType<MessageSealer['seal']>> }> = [];
    for (const message of messages) {
      const messageId = this.newMessageId(message.channel);
      sealed.push({ message, messageId, s: await this.o.sealer.seal({ peer: message.peer, channel: message.channel, reply: message.reply, messageId, inReplyTo: null }) });
    }
    const now = this.clock();
    this.o.db.transaction(() => {
      persist?.(this.o.db);
      for (const { message, messageId, s } of sealed) {
        this.o.queue.enqueueOutbound({ messageId, channel: message.channel, peer: message.peer, mailFrom: s.mailFrom, rcptTo: s.rcptTo, raw: s.raw, deadline: deadlineFor(message.channel, now), correlation: message.correlation });
        for (const record of message.records) {
          this.o.audit.exchange(record, { channel: message.channel, peer: message.peer, messageId, inReplyTo: null, occurredAt: now, payload: message.reply.payload });
        }
        message.persist?.(this.o.db, messageId);
      }
    })();
    if (sealed.length) this.kick();
    return sealed.map((x) => x.messageId);
  }

  /**
   * Try every due outbound message once, as many at a time as the sender carries; returns how many
   * the relay accepted. Each message is marked in its own transaction as soon as its answer comes.
   */
  async sendDue(limit = 50): Promise<number> {
    const sender = this.o.sender;
    if (!sender) return 0;
    const due = this.o.queue.dueOutbound(limit);
    let next = 0;
    let accepted = 0;
    const lane = async () => {
      while (next < due.length) {
        if (await this.sendOne(due[next++]!)) accepted++;
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(sender.concurrency ?? 1, due.length)) }, lane));
    return accepted;
  }

  private async sendOne(item: OutboxItem): Promise<boolean> {
    const sender = this.o.sender;
    if (!sender) return false;
    let result: SendResult;
    try {
      result = await sender.send({ from: item.mailFrom, to: [item.rcptTo], raw: item.raw });
    } catch (error) {
      result = { ok: false, permanent: false, reason: error instanceof Error ? error.message : String(error) };
    }
    const channel = item.channel as MailChannel;
    if (result.ok) {
      this.o.db.transaction(() => {
        this.o.queue.markSent(item.id);
        this.o.links.success(item.peer, channel);
      })();
      return true;
    }
    this.o.db.transaction(() => {
      if (result.permanent) this.o.queue.markFailed(item.id, result.reason);
      else this.o.queue.markRetry(item.id, result.reason);
      this.o.links.failure(item.peer, channel, result.reason, result.permanent);
    })();
    this.log('outbound-failed', { id: item.id, peer: item.peer, permanent: result.permanent, reason: result.reason });
    return false;
  }

  private newMessageId(channel: MailChannel): string {
    return `${randomUUID()}@${this.o.messageIdDomain(channel)}`;
  }

  /** Wakes the loops (a message arrived or was queued). */
  kick(): void {
    const wakers = this.wakers;
    this.wakers = [];
    for (const wake of wakers) wake();
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.wakers = this.wakers.filter((w) => w !== wake);
        resolve();
      }, ms);
      this.wakers.push(wake);
    });
  }

  /**
   * Runs the inbound lanes and the outbound loop until stop(): handing answers to the relay (an
   * SMTP round trip each) does not hold up the next request, and a relay outage does not stop us
   * answering into the queue. Each polls at most every pollMs when idle.
   */
  start(pollMs = 1000): void {
    this.stopped = false;
    const loop = async (work: () => Promise<boolean>) => {
      while (!this.stopped) {
        let worked = false;
        try {
          worked = await work();
        } catch (error) {
          this.log('loop-error', { reason: error instanceof Error ? error.message : String(error) });
        }
        if (!worked && !this.stopped) await this.idle(pollMs);
      }
    };
    const lanes = Math.max(1, this.o.inboundConcurrency ?? 2);
    this.loops = [...Array.from({ length: lanes }, () => loop(() => this.processNextInbound())), loop(async () => (await this.sendDue()) > 0)];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.kick();
    await Promise.all(this.loops);
  }
}
