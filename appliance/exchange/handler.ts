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
  /** The CMS signing time (signed by the sender, within the replay window); null when the signature has none. */
  readonly signingTime?: Date | null;
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

/** An answer (possibly with no reply, e.g. a peer's answer filed against our search). */
export interface HandlerOutcome {
  readonly kind?: 'answer';
  /** What to send back to the sender: none, one, or several (a DNA answer over 500 datas is split). */
  readonly replies: readonly Reply[];
  /** Short text stored with the inbox entry (no personal data). */
  readonly summary: string;
  readonly records: readonly ExchangeRecord[];
  /** Domain state the handler keeps (notes, search results, counters), written in the pipeline's transaction. */
  readonly persist?: (db: Db) => void;
  /**
   * The request's own identifier when the channel can read one (a DNA request_id): a second request with
   * the same key from the same sender is refused as a replay even when it was re-encrypted (new bytes).
   */
  readonly requestKey?: string;
}

/**
 * The handler cannot answer now; the message stays queued and is tried again with back-off. Counted
 * toward the dead-letter limit (same code `exchange.maxFailures` times in a row) unless `waiting`: the
 * handler waits for something known to come back (the national index being built).
 */
export interface HandlerDefer {
  readonly kind: 'defer';
  /** A short code of the handler's own closed list, e.g. INDEX_NOT_READY. */
  readonly code: string;
  readonly reason: string;
  readonly waiting?: boolean;
}

/** The handler refuses the message without an answer (there is nothing it could answer to). Recorded as a rejection. */
export interface HandlerReject {
  readonly kind: 'reject';
  readonly code: string;
  readonly reason: string;
}

/**
 * What a handler returns: answer, reject or defer. A handler should not throw; if it does, the pipeline
 * treats it as a counted defer (HANDLER_FAILED), so a message that always throws ends as a dead letter.
 */
export type HandlerResult = HandlerOutcome | HandlerDefer | HandlerReject;

/**
 * A channel handler: pure with respect to transport — a parsed message in, an answer out.
 * It imports nothing from transport/; adding a channel means adding one of these.
 */
export interface ChannelHandler {
  readonly channel: MailChannel;
  /** Whether this handler takes a payload of this content type on this channel. */
  accepts(payloadContentType: string): boolean;
  handle(message: InboundMessage): HandlerResult | Promise<HandlerResult>;
  /**
   * Optional: how heavy answering this message is, in searches (a DNA Art. 4 batch: its profiles; an Art. 3
   * search, a ping, an answer to be filed: 1). Called on the opened message before `handle`, cheap (a scan,
   * not a parse), never throwing; a wrong figure only changes the order, never the answer. Absent: 1.
   * The pipeline answers light messages (weight ≤ 1) ahead of heavy ones; each class keeps its order of
   * sending (exchange/priority.ts).
   */
  weigh?(message: InboundMessage): number;
}
