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

/** A body by its code: the Member State and the agency inside it (Art. 30(2)(b)(iii)). */
export interface BodyRef {
  readonly state: MemberStateCode;
  readonly agency: string;
}

/**
 * One Art. 30 exchange record as a handler sees it; the pipeline adds the channel, peer, message
 * id, time and the digest of the payload exactly as exchanged, and writes it to the audit log in
 * the same transaction as the queue change.
 */
export interface ExchangeRecord {
  readonly direction: 'sent' | 'received';
  readonly role: 'request' | 'response';
  /** The Annex's message type ("DNA Art. 3 search request", "CPS", …). */
  readonly messageType: string;
  readonly result: 'hit' | 'no-hit' | 'error' | 'n/a';
  readonly referenceNumbers: readonly string[];
  /** Identifiers of the data supplied (profile reference numbers, TCN), never the data themselves. */
  readonly data: {
    readonly categories: ReadonlyArray<'dna-profile' | 'dactyloscopic-data' | 'vehicle-search-key' | 'vehicle-registration-data' | 'none'>;
    readonly recordIds: readonly string[];
    readonly count: number;
  };
  readonly searchingBody: BodyRef;
  readonly fileManagingBody: BodyRef;
  /** Our outgoing searches only: Art. 30(2) reason and officers. */
  readonly search?: { readonly reason: string; readonly officerId: string; readonly orderingOfficerId: string };
}

export interface HandlerOutcome {
  /** What to send back to the sender: none, one, or several (a DNA answer over 500 datas is split). */
  readonly replies: readonly Reply[];
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
  handle(message: InboundMessage): HandlerOutcome | Promise<HandlerOutcome>;
}
