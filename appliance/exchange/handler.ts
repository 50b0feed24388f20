import type { Db } from '../db/database.js';
import type { MailChannel, MemberStateCode } from '../peers/member-states.js';

/** What the pipeline hands a channel handler: an opened (verified, decrypted) message. */
export interface InboundMessage {
  readonly inboxId: string;
  readonly messageId: string;
  readonly channel: MailChannel;
  readonly sender: MemberStateCode;
  readonly payload: Buffer;
  readonly payloadContentType: string;
  readonly subject: string;
  readonly receivedAt: Date;
  readonly sentAt: Date;
}

export interface Reply {
  readonly payload: Buffer;
  readonly payloadContentType: string;
  readonly subject: string;
}

/** One Art. 30 exchange record the pipeline writes to the audit log with the rest of the transaction. */
export interface ExchangeRecord {
  readonly direction: 'sent' | 'received';
  readonly messageType: string;
  readonly result: 'hit' | 'no-hit' | 'error' | 'n/a';
  readonly referenceNumbers: readonly string[];
  /** Identifiers of the data supplied (profile or TCN references), never the data themselves. */
  readonly dataSupplied: readonly string[];
  readonly searchingBody: string;
  readonly fileManagingBody: string;
}

export interface HandlerOutcome {
  readonly reply: Reply | null;
  /** Short text stored with the inbox entry (no personal data). */
  readonly summary: string;
  readonly records: readonly ExchangeRecord[];
  /** Domain state the handler keeps (notes, search results, counters), written in the pipeline's transaction. */
  readonly persist?: (db: Db) => void;
}

/**
 * A channel handler: pure with respect to transport — a parsed message in, an answer out.
 * It imports nothing from transport/; adding a channel means adding one of these.
 */
export interface ChannelHandler {
  readonly channel: MailChannel;
  /** Whether this handler takes a payload of this content type on this channel. */
  accepts(payloadContentType: string): boolean;
  handle(message: InboundMessage): HandlerOutcome;
}
