import { createHash } from 'node:crypto';
import { statement, type Db } from '../db/database.js';
import { migrateSchema } from '../db/schema.js';
import type { ExchangeAudit } from '../exchange/pipeline.js';
import type { ExchangeRecord } from '../exchange/handler.js';
import type { AuditEvent } from './events.js';
import type { AuditLog } from './log.js';

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The domain of an envelope sender: which relay or State it claims, not a person. */
function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return (at >= 0 ? address.slice(at + 1) : address).toLowerCase().slice(0, 253) || '(none)';
}

/**
 * Art. 30 records of the exchange pipeline, appended in its transaction. A refused message (bad
 * signature, unknown signer, undecryptable, oversized, replay) is a security event in the same log
 * (admin action `message-rejected`, actor `system`): no personal data — it was never decrypted, or
 * its content is not copied — only the message id, channel, code, reason and the claimed sender's
 * domain, so an auditor sees attempted access in the export. The console's rejection list
 * (exchange_rejections) is kept alongside for operators.
 */
export function createExchangeAudit(db: Db, audit: AuditLog): ExchangeAudit {
  migrateSchema(db);
  return {
    exchange(record: ExchangeRecord, ctx) {
      const common = {
        kind: 'exchange' as const,
        channel: ctx.channel,
        messageType: record.messageType,
        automated: true,
        dataSupplied: {
          categories: [...record.data.categories],
          recordIds: [...record.data.recordIds],
          count: record.data.count,
          sha256: sha256(ctx.payload),
          byteLength: ctx.payload.length,
        },
        occurredAt: ctx.occurredAt.toISOString(),
        searchingBody: { ...record.searchingBody },
        fileManagingBody: { ...record.fileManagingBody },
        peerState: ctx.peer,
        messageId: ctx.messageId,
        referenceNumbers: [...record.referenceNumbers],
        result: record.result,
      };
      const inReplyTo = ctx.inReplyTo ? { inReplyTo: ctx.inReplyTo } : {};
      let event: AuditEvent;
      if (record.direction === 'sent' && record.role === 'request') {
        if (!record.search) throw new Error('an outgoing search needs its reason and officers (Art. 30(2))');
        event = { ...common, direction: 'sent', role: 'request', ...record.search };
      } else if (record.direction === 'sent') event = { ...common, direction: 'sent', role: 'response', ...inReplyTo };
      else if (record.role === 'request') event = { ...common, direction: 'received', role: 'request' };
      else event = { ...common, direction: 'received', role: 'response', ...inReplyTo };
      audit.append(event);
    },
    rejected(entry) {
      security('message-rejected', entry, entry.code, entry.reason, entry.reason, { code: entry.code, signer: entry.sender ?? null });
    },
    deadLettered(entry) {
      const reason = `${entry.failures} × ${entry.code}: ${entry.reason}`;
      security('message-dead-lettered', entry, 'DEAD_LETTER', reason, entry.reason, { code: entry.code, failures: entry.failures, signer: entry.sender, dataPurged: true });
    },
    undeliverable(entry) {
      // Not in the operators' rejection list (that lists what peers sent us); the dashboard shows it as an outbound dead letter.
      audit.append({
        kind: 'admin',
        action: 'message-dead-lettered',
        actor: 'system',
        occurredAt: entry.occurredAt.toISOString(),
        outcome: 'failure',
        target: entry.messageId.slice(0, 500),
        details: {
          direction: 'out', channel: entry.channel, peer: entry.peer, code: entry.code, attempts: entry.attempts,
          correlation: entry.correlation, dataPurged: true, reason: entry.reason.slice(0, 500),
        },
      });
    },
  };

  /** One row in the operators' rejection list and one security event in the Art. 30 log, in the caller's transaction. */
  function security(
    action: 'message-rejected' | 'message-dead-lettered',
    entry: { channel: string; messageId: string; mailFrom: string; occurredAt: Date },
    listCode: string,
    listReason: string,
    reason: string,
    details: Record<string, string | number | boolean | null>,
  ): void {
    statement(db, 'INSERT INTO exchange_rejections (at, channel, message_id, mail_from, code, reason) VALUES (?, ?, ?, ?, ?, ?)')
      .run(entry.occurredAt.getTime(), entry.channel, entry.messageId, entry.mailFrom, listCode, listReason.slice(0, 500));
    audit.append({
      kind: 'admin',
      action,
      actor: 'system',
      occurredAt: entry.occurredAt.toISOString(),
      outcome: 'failure',
      target: entry.messageId.slice(0, 500),
      details: { channel: entry.channel, ...details, senderDomain: domainOf(entry.mailFrom), reason: reason.slice(0, 500) },
    });
  }
}

/** Rejections older than `olderThan` leave the operators' list (the audit log keeps its own two years). */
export function pruneRejections(db: Db, olderThan: Date): number {
  migrateSchema(db);
  return statement(db, 'DELETE FROM exchange_rejections WHERE at < ?').run(olderThan.getTime()).changes;
}
