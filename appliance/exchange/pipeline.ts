import { randomUUID } from 'node:crypto';
import { statement, type Db } from '../db/database.js';
import type { MailChannel, MemberStateCode } from '../peers/member-states.js';
import { MessageQueue, type InboxItem, type OutboxItem } from '../queue/queue.js';
import { deadlineFor } from '../queue/deadlines.js';
import type { ChannelHandler, ExchangeRecord, HandlerOutcome, HandlerResult, InboundMessage, Reply } from './handler.js';
import { classify, type RequestClass } from './priority.js';
import { messageOf, type Failure } from '../util/result.js';
import type { LinkTracker } from './links.js';

/** A received mail opened: verified against the peer directory, then decrypted. */
export interface OpenedInbound {
  readonly ok: true;
  readonly sender: MemberStateCode;
  readonly payload: Buffer;
  readonly payloadContentType: string;
  readonly subject: string;
  /**
   * SHA-256 (hex) of the content the sender signed: with the sender, the key that makes a replay under a
   * new Message-ID recognisable. The real opener always sets it; without it no replay check is made.
   */
  readonly signedDigest?: string;
  /** The CMS signing time (a signed attribute); null or absent when the signature has none. */
  readonly signingTime?: Date | null;
}

/**
 * Result of opening a received mail. A failure is the message's fault (rejected, recorded), unless
 * `transient`: ours (the token is locked), and the message waits.
 */
export type OpenResult = OpenedInbound | (Failure<string> & { readonly transient?: boolean });

export interface MessageOpener {
  open(raw: Buffer): Promise<OpenResult>;
}

/** Encrypts for the peer, signs with the token and wraps the result in an RFC 5322 mail. May throw: the pipeline defers then. */
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
  /** A message refused (bad signature, unknown signer, replay, …): a security event, no personal data. */
  rejected(entry: { channel: MailChannel; messageId: string; mailFrom: string; code: string; reason: string; occurredAt: Date; sender?: MemberStateCode | null }): void;
  /** A message given up on after repeated failures of the same kind; its raw data was purged. */
  deadLettered?(entry: { channel: MailChannel; messageId: string; mailFrom: string; sender: MemberStateCode | null; code: string; reason: string; failures: number; occurredAt: Date }): void;
  /**
   * An outbound message given up on: the relay refused it for good (RELAY_REFUSED) or kept refusing it for
   * `exchange.outboundGiveUpHours` (UNDELIVERABLE). Its Art. 30 "sent" record was written when it was queued;
   * this one says it never left.
   */
  undeliverable?(entry: { channel: MailChannel; messageId: string; peer: MemberStateCode; code: 'RELAY_REFUSED' | 'UNDELIVERABLE'; reason: string; attempts: number; correlation: string | null; occurredAt: Date }): void;
}

/** The window a CMS signing time must lie in, around our clock. */
export interface ReplayWindow {
  readonly pastMs: number;
  readonly futureMs: number;
}

export const DEFAULT_REPLAY_WINDOW: ReplayWindow = { pastMs: 24 * 3_600_000, futureMs: 5 * 60_000 };

/** A message we originate (an officer's search, a link test). */
export interface OriginMessage {
  readonly peer: MemberStateCode;
  readonly channel: MailChannel;
  readonly reply: Reply;
  readonly correlation: string | null;
  readonly records: readonly ExchangeRecord[];
  readonly persist?: (db: Db, messageId: string) => void;
  /**
   * When it must have left: for an answer sent later (a fingerprint SRE from the AFIS), the deadline of the
   * request it answers; by default the channel's answer time from now.
   */
  readonly deadline?: Date;
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
  /** Consecutive failures of the same kind after which a message becomes a dead letter (config exchange.maxFailures; default 5). */
  readonly maxFailures?: number;
  /** How long an outbound message the relay keeps refusing is retried (config exchange.outboundGiveUpHours; default 72 h). */
  readonly outboundGiveUpMs?: number;
  /** Where a signing time must lie (config exchange.replayWindow; default 24 h back, 5 min ahead). */
  readonly replayWindow?: ReplayWindow;
  /**
   * Heavy messages opened ahead to be weighed are kept opened (in memory only, until answered) up to this
   * many bytes of content, so a batch is not verified and decrypted twice; past it they are opened again
   * when their turn comes. Default 32 MiB (some 30 Art. 4 batches of 500 profiles); 0: always again.
   */
  readonly openAheadBytes?: number;
}

/**
 * What working on one inbox message came to; every step returns one of these instead of throwing, and
 * the commit (in the order of sending) acts on it.
 */
type Step =
  | {
      readonly kind: 'answer';
      readonly opened: OpenedInbound;
      readonly outcome: HandlerOutcome;
      readonly sealed: ReadonlyArray<{ messageId: string; raw: Buffer; mailFrom: string; rcptTo: string; payload: Buffer }>;
    }
  | { readonly kind: 'reject'; readonly code: string; readonly reason: string; readonly opened: OpenedInbound | null }
  | { readonly kind: 'defer'; readonly code: string; readonly reason: string; readonly counted: boolean; readonly sender: MemberStateCode | null };

type Deferral = Extract<Step, { kind: 'defer' }>;
const defer = (code: string, reason: string, counted: boolean, sender: MemberStateCode | null = null): Deferral => ({ kind: 'defer', code, reason, counted, sender });

/** A place in a class's commit order: `wait` resolves once every message of the class taken before has committed or given up; `done` lets the next go. */
interface CommitTurn {
  readonly wait: () => Promise<void>;
  readonly done: () => void;
}

/** A code an exception carries (SmimeError, TokenError, …), else the given one. */
function codeOf(error: unknown, fallback: string): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(code) ? code : fallback;
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
  /** Per class: settles when the message of that class taken last has committed (or given up). */
  private readonly lastCommit: Record<RequestClass, Promise<void>> = { light: Promise.resolve(), heavy: Promise.resolve() };
  /**
   * The class of each pending message opened ahead (exchange/priority.ts). Kept in memory only: it is a
   * scheduling hint derived from the message itself, found again by opening after a restart.
   */
  private readonly classes = new Map<string, RequestClass>();
  /** Settles when the message being classified last has its class (and, if light, its commit turn). */
  private lastClassified: Promise<void> = Promise.resolve();
  private classifying = 0;
  /** Heavy messages opened ahead, kept for their turn within `openAheadBytes` (see there). */
  private readonly openedAhead = new Map<string, OpenedInbound>();
  private openedAheadBytes = 0;
  private loops: Promise<void>[] = [];

  constructor(private readonly o: PipelineOptions) {
    this.clock = o.clock ?? (() => new Date());
    this.log = o.log ?? (() => undefined);
  }

  /**
   * Process one inbox message; false when there was none due. Several calls may run at once (the
   * inbound lanes). Light requests go first (exchange/priority.ts): a lane takes the oldest message that
   * is light or not yet classified — the latter it opens ahead and asks its handler how heavy it is; a
   * heavy one is put back and the lane looks again — and only when none is left the oldest heavy one.
   * Within each class the commits happen in the order the messages were sent (DNA-TIME per class).
   */
  async processNextInbound(): Promise<boolean> {
    for (;;) {
      const item = this.o.queue.nextInbound(this.inFlight, (id) => this.classes.get(id) !== 'heavy');
      if (item) {
        const known = this.classes.get(item.id);
        if (known) return this.process(item, this.commitTurn(known));
        const ahead = await this.classifyAhead(item);
        if (ahead.cls === 'light') return this.process(item, ahead.turn!, ahead.opened);
        continue;
      }
      // A message being classified may be an earlier heavy one: its turn comes first.
      if (this.classifying > 0) {
        await this.lastClassified;
        continue;
      }
      const heavy = this.o.queue.nextInbound(this.inFlight);
      if (!heavy) return false;
      return this.process(heavy, this.commitTurn(this.classes.get(heavy.id) ?? 'heavy'), this.takeOpenedAhead(heavy.id));
    }
  }

  /**
   * Opens a message not yet classified and records its class. Classifications hand out commit turns in
   * the order the messages were taken (oldest first), whichever open finishes first. A light message
   * comes back with its opened content and its turn (it is processed at once, not opened twice); a heavy
   * one is left for later, its opened content kept for then within `openAheadBytes` (else opened again).
   */
  private async classifyAhead(item: InboxItem): Promise<{ cls: RequestClass; opened: OpenResult | Error; turn?: CommitTurn }> {
    this.inFlight.add(item.id);
    let cls: RequestClass = 'heavy';
    this.classifying++;
    const before = this.lastClassified;
    let classified!: () => void;
    this.lastClassified = new Promise<void>((resolve) => (classified = resolve));
    try {
      let opened: OpenResult | Error;
      try {
        opened = await this.o.opener.open(item.raw);
      } catch (error) {
        opened = error instanceof Error ? error : new Error(messageOf(error));
      }
      // A message that cannot be opened, or that no handler takes, is refused or deferred fast: light.
      try {
        cls = opened instanceof Error || !opened.ok ? 'light' : classify(this.handlerFor(item, opened), this.inboundOf(item, opened));
      } catch {
        cls = 'light';
      }
      await before;
      // Only a message that opened is classified for good: one our token could not open yet is weighed again next time.
      if (!(opened instanceof Error) && opened.ok) this.classes.set(item.id, cls);
      if (cls === 'heavy' && !(opened instanceof Error) && opened.ok && this.openedAheadBytes + opened.payload.length <= (this.o.openAheadBytes ?? 32 * 1024 * 1024)) {
        this.openedAhead.set(item.id, opened);
        this.openedAheadBytes += opened.payload.length;
      }
      return { cls, opened, ...(cls === 'light' ? { turn: this.commitTurn('light') } : {}) };
    } finally {
      this.classifying--;
      // A light one stays taken (process() goes on with it); a heavy one is free for whichever lane's turn it is.
      if (cls === 'heavy') this.inFlight.delete(item.id);
      classified();
    }
  }

  /** A heavy message's content kept from opening it ahead, handed over once (undefined: open it again). */
  private takeOpenedAhead(id: string): OpenedInbound | undefined {
    const opened = this.openedAhead.get(id);
    if (opened) {
      this.openedAhead.delete(id);
      this.openedAheadBytes -= opened.payload.length;
    }
    return opened;
  }

  /** Works on one message taken with its commit turn, commits in turn; always gives the turn back. */
  private async process(item: InboxItem, turn: CommitTurn, opened?: OpenResult | Error): Promise<boolean> {
    this.inFlight.add(item.id);
    try {
      let step: Step;
      try {
        step = await this.work(item, opened);
      } catch (error) {
        // work() catches what its steps throw; this is the last net, still a counted attempt, never a loop.
        step = defer('PIPELINE_FAILED', messageOf(error), true);
      }
      await turn.wait();
      try {
        this.commit(item, step);
      } catch (error) {
        // The commit failed (a handler's persist threw, the audit log refused a record, the disk): nothing
        // of it was written; a counted attempt, so a message that always fails here ends as a dead letter.
        this.deferOrBury(item, defer(codeOf(error, 'COMMIT_FAILED'), messageOf(error), true, step.kind === 'answer' ? step.opened.sender : null));
      }
      if (!this.o.queue.isPending(item.id)) this.classes.delete(item.id);
    } catch (error) {
      // Even recording the failure failed (database gone): the message stays pending as it was, and this lane
      // idles before the next try instead of spinning on it.
      this.log('inbound-error', { id: item.id, reason: messageOf(error) });
      return false;
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
  private commitTurn(cls: RequestClass): CommitTurn {
    const before = this.lastCommit[cls];
    let done!: () => void;
    this.lastCommit[cls] = new Promise<void>((resolve) => (done = resolve));
    return { wait: () => before, done };
  }

  private handlerFor(item: InboxItem, opened: OpenedInbound): ChannelHandler | undefined {
    return this.o.handlers.find((h) => h.channel === item.channel && h.accepts(opened.payloadContentType));
  }

  private inboundOf(item: InboxItem, opened: OpenedInbound): InboundMessage {
    return {
      inboxId: item.id,
      messageId: item.messageId,
      channel: item.channel as MailChannel,
      sender: opened.sender,
      payload: opened.payload,
      payloadContentType: opened.payloadContentType,
      subject: opened.subject,
      receivedAt: item.receivedAt,
      sentAt: item.sentAt,
      signingTime: opened.signingTime ?? null,
    };
  }

  /**
   * Open (unless opened ahead: `preopened`, the result or what opening threw), check for replay, hand to
   * the channel, seal: each step's failure is a typed outcome.
   */
  private async work(item: InboxItem, preopened?: OpenResult | Error): Promise<Step> {
    const now = this.clock();
    const channel = item.channel as MailChannel;
    let opened: OpenResult;
    try {
      if (preopened instanceof Error) throw preopened;
      opened = preopened ?? (await this.o.opener.open(item.raw));
    } catch (error) {
      return defer(codeOf(error, 'OPEN_FAILED'), messageOf(error), true);
    }
    if (!opened.ok) {
      // Our token being absent or locked says nothing about the message: it waits, uncounted.
      if (opened.transient) return defer(opened.error.code, opened.error.message, false);
      return { kind: 'reject', code: opened.error.code, reason: opened.error.message, opened: null };
    }
    // The inbox was ordered by the signing time read, unverified, at receipt: it must be the one now verified,
    // or a planted copy of the attribute (outside the signed attributes) could have bought a place in the order.
    const verifiedSecond = opened.signingTime ? Math.floor(opened.signingTime.getTime() / 1000) : null;
    if (item.signedAt && Math.floor(item.signedAt.getTime() / 1000) !== verifiedSecond) {
      return { kind: 'reject', code: 'SIGNING_TIME_MISMATCH', reason: `ordered by a signing time of ${item.signedAt.toISOString()}, but the verified one is ${opened.signingTime?.toISOString() ?? 'absent'}`, opened };
    }
    const stale = this.outsideWindow(opened.signingTime ?? null, now);
    if (stale) return { kind: 'reject', code: 'SIGNING_TIME_OUTSIDE_WINDOW', reason: stale, opened };
    const replayOf = this.replayOf(item, opened);
    if (replayOf) return { kind: 'reject', code: 'REPLAY', reason: `the same signed content from ${opened.sender} was already processed as ${replayOf}`, opened };

    const handler = this.handlerFor(item, opened);
    if (!handler) return { kind: 'reject', code: 'UNSUPPORTED_CONTENT', reason: `no handler for ${opened.payloadContentType} on ${channel}`, opened };
    let result: HandlerResult;
    try {
      result = await handler.handle(this.inboundOf(item, opened));
    } catch (error) {
      return defer('HANDLER_FAILED', messageOf(error), true, opened.sender);
    }
    if (result.kind === 'defer') return defer(result.code, result.reason, result.waiting !== true, opened.sender);
    if (result.kind === 'reject') return { kind: 'reject', code: result.code, reason: result.reason, opened };

    const sealed: Array<{ messageId: string; raw: Buffer; mailFrom: string; rcptTo: string; payload: Buffer }> = [];
    for (const reply of result.replies) {
      const messageId = this.newMessageId(channel);
      try {
        const s = await this.o.sealer.seal({ peer: opened.sender, channel, reply, messageId, inReplyTo: item.messageId });
        sealed.push({ messageId, ...s, payload: reply.payload });
      } catch (error) {
        const code = codeOf(error, 'SEAL_FAILED');
        return defer(code, messageOf(error), code !== 'TOKEN_UNAVAILABLE', opened.sender);
      }
    }
    return { kind: 'answer', opened, outcome: result, sealed };
  }

  /** Why a signing time is unacceptable, or null. A signature without one is judged by its digest alone. */
  private outsideWindow(signingTime: Date | null, now: Date): string | null {
    if (!signingTime) return null;
    const w = this.o.replayWindow ?? DEFAULT_REPLAY_WINDOW;
    if (signingTime.getTime() < now.getTime() - w.pastMs) return `signed at ${signingTime.toISOString()}, more than ${Math.round(w.pastMs / 60_000)} min ago`;
    if (signingTime.getTime() > now.getTime() + w.futureMs) return `signed at ${signingTime.toISOString()}, more than ${Math.round(w.futureMs / 60_000)} min ahead of our clock`;
    return null;
  }

  /** The message id of an earlier inbox message with the same signed content from the same sender, or null. */
  private replayOf(item: InboxItem, opened: OpenedInbound): string | null {
    if (!opened.signedDigest) return null;
    const row = statement(this.o.db, 'SELECT inbox_id, message_id FROM exchange_signed_seen WHERE sender = ? AND digest = ?').get(opened.sender, opened.signedDigest) as
      | { inbox_id: string; message_id: string }
      | undefined;
    return row && row.inbox_id !== item.id ? row.message_id : null;
  }

  /** Remembers what the sender signed; false when another message got there first (a replay). Inside the commit. */
  private markSeen(item: InboxItem, opened: OpenedInbound, now: Date): boolean {
    if (!opened.signedDigest) return true;
    statement(
      this.o.db,
      `INSERT OR IGNORE INTO exchange_signed_seen (sender, digest, signed_at, inbox_id, message_id, seen_at) VALUES (?, ?, ?, ?, ?, ?)`,
    ).run(opened.sender, opened.signedDigest, opened.signingTime?.getTime() ?? null, item.id, item.messageId, now.getTime());
    return this.replayOf(item, opened) === null;
  }

  /** Remembers a channel's request key; false when the sender already sent a request with this key. Inside the commit. */
  private markRequest(item: InboxItem, sender: MemberStateCode, key: string, now: Date): boolean {
    statement(this.o.db, `INSERT OR IGNORE INTO exchange_requests_seen (channel, sender, request_key, inbox_id, seen_at) VALUES (?, ?, ?, ?, ?)`)
      .run(item.channel, sender, key, item.id, now.getTime());
    const row = statement(this.o.db, 'SELECT inbox_id FROM exchange_requests_seen WHERE channel = ? AND sender = ? AND request_key = ?').get(item.channel, sender, key) as
      | { inbox_id: string }
      | undefined;
    return row?.inbox_id === item.id;
  }

  /** Acts on a step in one transaction, in the order of sending. Throws only when the database or a handler's persist does. */
  private commit(item: InboxItem, step: Step): void {
    const now = this.clock();
    const channel = item.channel as MailChannel;
    if (step.kind === 'defer') {
      this.deferOrBury(item, step);
      return;
    }
    const reject = (code: string, reason: string, opened: OpenedInbound | null) => {
      this.o.queue.finishInbound(item.id, 'rejected', `${code}: ${reason}`, opened?.sender ?? null);
      this.o.audit.rejected({ channel, messageId: item.messageId, mailFrom: item.mailFrom, code, reason, occurredAt: now, sender: opened?.sender ?? null });
    };
    if (step.kind === 'reject') {
      this.o.db.transaction(() => {
        // A refused message's signed content counts as seen too: re-sending it is no second chance.
        if (step.opened && step.code !== 'REPLAY') this.markSeen(item, step.opened, now);
        reject(step.code, step.reason, step.opened);
      })();
      this.log('inbound-rejected', { id: item.id, code: step.code });
      return;
    }
    const { opened, outcome, sealed } = step;
    let replay: string | null = null;
    this.o.db.transaction(() => {
      // Checked again here, where commits are serialised: two lanes may have opened a message and its replay at once.
      if (!this.markSeen(item, opened, now)) replay = 'the same signed content was processed meanwhile';
      else if (outcome.requestKey !== undefined && !this.markRequest(item, opened.sender, outcome.requestKey, now)) {
        replay = `request ${outcome.requestKey} from ${opened.sender} was already received`;
      }
      if (replay) {
        reject('REPLAY', replay, opened);
        return;
      }
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
    if (replay) {
      this.log('inbound-rejected', { id: item.id, code: 'REPLAY' });
      return;
    }
    if (sealed.length) this.kick();
    this.log('inbound-done', { id: item.id, sender: opened.sender, answers: sealed.length });
    // Answered after its deadline (a flood larger than the deadline allows): still answered, in its order, and said so.
    // Until then the status API counts it at risk and the console shows its queue row late.
    if (now.getTime() > item.deadline.getTime()) this.log('inbound-late', { id: item.id, sender: opened.sender, lateSeconds: Math.round((now.getTime() - item.deadline.getTime()) / 1000) });
  }

  /** A deferral, or the dead letter it turns into at the limit, recorded with its audit entry in one transaction. */
  private deferOrBury(item: InboxItem, step: Deferral): void {
    const now = this.clock();
    const bury = (withAudit: boolean) =>
      this.o.db.transaction(() => {
        const r = this.o.queue.deferInbound(item.id, { code: step.code, reason: step.reason, counted: step.counted, maxFailures: this.o.maxFailures });
        if (r.dead && withAudit) {
          this.o.audit.deadLettered?.({
            channel: item.channel as MailChannel,
            messageId: item.messageId,
            mailFrom: item.mailFrom,
            sender: step.sender,
            code: step.code,
            reason: step.reason,
            failures: r.failures,
            occurredAt: now,
          });
        }
        return r;
      })();
    let result: ReturnType<typeof bury>;
    try {
      result = bury(true);
    } catch (error) {
      // The audit log refused the dead-letter record: the message still ends (no endless retry); the log says why.
      this.log('audit-failed', { id: item.id, code: step.code, reason: messageOf(error) });
      result = bury(false);
    }
    this.log(result.dead ? 'inbound-dead-letter' : 'inbound-deferred', { id: item.id, code: step.code, reason: step.reason, attempts: result.attempts, failures: result.failures });
  }

  /**
   * Sends a message we originate (an officer's search, a link test): sealed, queued and
   * audited in one transaction. Returns the message id for correlation.
   */
  async originate(message: OriginMessage): Promise<string> {
    const [messageId] = await this.originateAll([message]);
    return messageId!;
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
        this.o.queue.enqueueOutbound({ messageId, channel: message.channel, peer: message.peer, mailFrom: s.mailFrom, rcptTo: s.rcptTo, raw: s.raw, deadline: message.deadline ?? deadlineFor(message.channel, now), correlation: message.correlation });
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
    const failed = result;
    const now = this.clock();
    const settle = (withAudit: boolean) =>
      this.o.db.transaction(() => {
        let dead = failed.permanent;
        if (failed.permanent) this.o.queue.markFailed(item.id, failed.reason);
        else dead = this.o.queue.markRetry(item.id, failed.reason, this.o.outboundGiveUpMs).dead;
        this.o.links.failure(item.peer, channel, failed.reason, failed.permanent);
        const row = dead ? this.o.queue.outboxRecord(item.id) : null;
        if (row && withAudit) {
          this.o.audit.undeliverable?.({
            channel,
            messageId: item.messageId,
            peer: item.peer,
            code: failed.permanent ? 'RELAY_REFUSED' : 'UNDELIVERABLE',
            reason: row.lastError ?? failed.reason,
            attempts: row.attempts,
            correlation: row.correlation,
            occurredAt: now,
          });
        }
        return dead;
      })();
    let dead: boolean;
    try {
      dead = settle(true);
    } catch (error) {
      // The audit log refused the record: the message still ends (no endless retry); the log says why.
      this.log('audit-failed', { id: item.id, reason: messageOf(error) });
      dead = settle(false);
    }
    this.log(dead ? 'outbound-dead-letter' : 'outbound-failed', { id: item.id, peer: item.peer, permanent: failed.permanent, reason: failed.reason });
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
