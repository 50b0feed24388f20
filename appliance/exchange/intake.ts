import type { Db } from '../db/database.js';
import type { PeerDirectory } from '../peers/directory.js';
import type { MessageQueue } from '../queue/queue.js';
import type { MailRefusal, StoreMessage } from '../transport/mail/types.js';
import type { ExchangeAudit, ExchangePipeline } from './pipeline.js';

export interface IntakeLog {
  error(fields: object, message: string): void;
}

/**
 * Where the mail edges (SMTP receiver, POP3 fetcher) hand what they receive: the durable inbox, by the
 * channel the recipient address names, then a nudge to the pipeline; and what they refuse before the
 * inbox (too large), recorded as a security event so the attempt is in the Art. 30 log.
 */
export function mailIntake(deps: { db: Db; queue: MessageQueue; directory: PeerDirectory; pipeline: ExchangePipeline; audit: ExchangeAudit; log: IntakeLog }) {
  const { db, queue, directory, pipeline, audit, log } = deps;
  const channelOf = (rcptTo: readonly string[]) => rcptTo.map((r) => directory.channelForAddress(r)).find((c) => c !== null) ?? null;
  /** SMTP: a message for no Prüm mailbox is refused (554) — the relay only routes our sub-domains here. */
  const smtp: StoreMessage = async (raw, envelope) => {
    const channel = channelOf(envelope.rcptTo);
    if (!channel) return { ok: false, reason: 'not a Prüm mailbox', permanent: true };
    const { id } = queue.receive(raw, channel, envelope.mailFrom);
    pipeline.kick();
    return { ok: true, id };
  };
  /** POP3: the envelope is recovered from trace headers and may be missing; the DNA mailbox is the default. */
  const pop3: StoreMessage = async (raw, envelope) => {
    const { id } = queue.receive(raw, channelOf(envelope.rcptTo) ?? 'dna', envelope.mailFrom);
    return { ok: true, id };
  };
  const refused = (r: MailRefusal): void => {
    try {
      db.transaction(() => audit.rejected({ channel: channelOf(r.rcptTo) ?? 'dna', messageId: r.ref, mailFrom: r.mailFrom, code: r.code, reason: r.reason, occurredAt: r.at }))();
    } catch (e) {
      log.error({ ref: r.ref, reason: e instanceof Error ? e.message : String(e) }, 'recording a refused message in the audit log failed');
    }
  };
  return { smtp, pop3, refused };
}
