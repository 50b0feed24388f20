import { randomUUID } from 'node:crypto';
import { statement, type Db } from '../db/database.js';
import { migrateSchema } from '../db/schema.js';
import type { MemberStateCode } from '../peers/member-states.js';
import { ANSWER_DEADLINE_MS } from '../queue/deadlines.js';
import type { PruemDnaMessage } from '../dna/message.js';

/**
 * Our officers' DNA searches abroad and the answers that come back, correlated by request id
 * (the `requesting.request_id` we put in the header comes back unchanged in the answer).
 */
export type RequestState = 'pending' | 'answered' | 'overdue';

export interface SearchRecord {
  readonly id: string;
  readonly createdAt: string;
  readonly reqtype: 3 | 4;
  readonly officerId: string;
  readonly orderingOfficerId: string;
  readonly reason: string;
  readonly profileIds: readonly string[];
}

export interface SearchResultRow {
  /**
   * 'echo': the requested State's echo of our profile (quality 0), carrying its overall result for
   * it (H: it found matches, listed in the 'match' rows; N: none; E: refused, with the message).
   * 'match': one candidate profile of that State (quality 1–4). An 'echo' with result H is not a hit.
   */
  readonly kind: 'echo' | 'match';
  readonly state: MemberStateCode;
  /** Our requesting profile's reference number. */
  readonly profileRef: string;
  readonly result: 'H' | 'N' | 'E';
  /** For hits: the requested State's profile reference, quality and matched alleles. */
  readonly hit: { readonly profileIdent: string; readonly quality: number; readonly hitcount: number | null } | null;
  readonly message: string | null;
}

export interface SearchView extends SearchRecord {
  readonly requests: ReadonlyArray<{ state: MemberStateCode; requestId: string; messageId: string; deadline: string; status: RequestState; answeredAt: string | null }>;
  readonly results: readonly SearchResultRow[];
  /** Every request answered. */
  readonly complete: boolean;
}

export class DnaSearches {
  constructor(
    private readonly db: Db,
    private readonly clock: () => Date = () => new Date(),
  ) {
    migrateSchema(db);
  }

  create(search: Omit<SearchRecord, 'id' | 'createdAt'>): SearchRecord {
    const record = this.prepare(search);
    this.insert(record);
    return record;
  }

  /** A new search's id and time, not yet written: the caller inserts it in the transaction that queues its messages. */
  prepare(search: Omit<SearchRecord, 'id' | 'createdAt'>): SearchRecord {
    return { ...search, id: randomUUID(), createdAt: this.clock().toISOString() };
  }

  insert(search: SearchRecord): void {
    statement(this.db, 'INSERT INTO dna_searches VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(search.id, Date.parse(search.createdAt), search.reqtype, search.officerId, search.orderingOfficerId, search.reason, JSON.stringify(search.profileIds));
  }

  /** Called in the transaction that queues the request message. */
  requestSent(searchId: string, state: MemberStateCode, requestId: string, messageId: string): void {
    statement(this.db, 'INSERT INTO dna_search_requests (request_id, search_id, state, message_id, deadline) VALUES (?, ?, ?, ?, ?)')
      .run(requestId, searchId, state, messageId, this.clock().getTime() + ANSWER_DEADLINE_MS.dna);
  }

  /**
   * Records an answer; returns the search it belongs to, or null for an answer we never asked for
   * (it is still audited by the caller). Called in the pipeline transaction.
   */
  answerReceived(answer: PruemDnaMessage, sender: MemberStateCode): string | null {
    const requestId = answer.header.requesting.requestId;
    const row = statement(this.db, 'SELECT search_id, state FROM dna_search_requests WHERE request_id = ?').get(requestId) as
      | { search_id: string; state: string }
      | undefined;
    if (!row || row.state !== sender) return null;
    statement(this.db, 'UPDATE dna_search_requests SET answered_at = ? WHERE request_id = ?').run(this.clock().getTime(), requestId);
    const insert = statement(this.db, 'INSERT INTO dna_search_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    for (const d of answer.datas) {
      if (d.quality === 0 || d.quality === undefined) {
        // The echo of our profile: its overall result (H, N or E with a message).
        insert.run(row.search_id, requestId, sender, d.profileIdent, d.result, null, null, null, d.message ?? null);
      } else {
        insert.run(row.search_id, requestId, sender, d.matchId ?? '', 'H', d.profileIdent, d.quality, d.hitcount ?? null, null);
      }
    }
    return row.search_id;
  }

  get(id: string): SearchView | null {
    const s = statement(this.db, 'SELECT * FROM dna_searches WHERE id = ?').get(id) as
      | { id: string; created_at: number; reqtype: 3 | 4; officer_id: string; ordering_officer_id: string; reason: string; profile_ids: string }
      | undefined;
    if (!s) return null;
    const now = this.clock().getTime();
    const requests = (
      statement(this.db, 'SELECT * FROM dna_search_requests WHERE search_id = ? ORDER BY state, request_id').all(id) as Array<{
        request_id: string;
        state: MemberStateCode;
        message_id: string;
        deadline: number;
        answered_at: number | null;
      }>
    ).map((r) => ({
      state: r.state,
      requestId: r.request_id,
      messageId: r.message_id,
      deadline: new Date(r.deadline).toISOString(),
      status: (r.answered_at !== null ? 'answered' : r.deadline < now ? 'overdue' : 'pending') as RequestState,
      answeredAt: r.answered_at === null ? null : new Date(r.answered_at).toISOString(),
    }));
    const results = (
      statement(this.db, 'SELECT * FROM dna_search_results WHERE search_id = ? ORDER BY state, profile_ref, quality').all(id) as Array<{
        state: MemberStateCode;
        profile_ref: string;
        result: 'H' | 'N' | 'E';
        hit_profile_ident: string | null;
        quality: number | null;
        hitcount: number | null;
        message: string | null;
      }>
    ).map(
      (r): SearchResultRow => ({
        kind: r.hit_profile_ident !== null ? 'match' : 'echo',
        state: r.state,
        profileRef: r.profile_ref,
        result: r.result,
        hit: r.hit_profile_ident !== null ? { profileIdent: r.hit_profile_ident, quality: r.quality ?? 0, hitcount: r.hitcount } : null,
        message: r.message,
      }),
    );
    return {
      id: s.id,
      createdAt: new Date(s.created_at).toISOString(),
      reqtype: s.reqtype,
      officerId: s.officer_id,
      orderingOfficerId: s.ordering_officer_id,
      reason: s.reason,
      profileIds: JSON.parse(s.profile_ids) as string[],
      requests,
      results,
      complete: requests.length > 0 && requests.every((r) => r.status === 'answered'),
    };
  }
}
