import { randomUUID } from 'node:crypto';
import { statement, type Db } from '../db/database.js';
import { migrateSchema } from '../db/schema.js';
import type { MemberStateCode } from '../peers/member-states.js';
import type { RequestTot } from '../fingerprint/tot.js';
import { ANSWER_DEADLINE_MS } from '../queue/deadlines.js';

/**
 * Our officers' fingerprint searches abroad. One search goes to several States, each as its own
 * transaction with its own TCN; the answers (SRE per candidate, or ERR) come back with that TCN as
 * TCR and are filed here. A transaction that would exceed the peer's declared daily capacity waits
 * ('waiting') and is sent the next UTC day.
 */
export type TargetStatus = 'waiting' | 'sent' | 'answered' | 'overdue';

export interface FpSearchView {
  readonly id: string;
  readonly createdAt: string;
  readonly tot: RequestTot;
  readonly officerId: string;
  readonly orderingOfficerId: string;
  readonly reason: string;
  readonly targets: ReadonlyArray<{
    state: MemberStateCode;
    tcn: string;
    status: TargetStatus;
    sentAt: string | null;
    deadline: string | null;
    answeredAt: string | null;
    /** Why it waits (the peer's daily capacity), when it does. */
    waitingFor: string | null;
  }>;
  readonly results: ReadonlyArray<{
    state: MemberStateCode;
    tcn: string;
    result: 'hit' | 'no-hit' | 'error';
    /** `001/003` from 2.064. */
    candidate: string | null;
    /** The requested State's reference of the matched record (2.010 CRN). */
    reference: string | null;
    score: string | null;
    info: string | null;
    /** ERR: the 2.074 lines. */
    errors: readonly string[];
    receivedAt: string;
  }>;
  /** Every target answered: a no-hit, an ERR, or all the candidates its RLS announced. */
  readonly complete: boolean;
}

export interface WaitingTarget {
  readonly searchId: string;
  readonly tcn: string;
  readonly state: MemberStateCode;
  readonly tot: RequestTot;
  readonly priority: number | null;
}

export class FpSearches {
  constructor(
    private readonly db: Db,
    private readonly clock: () => Date = () => new Date(),
  ) {
    migrateSchema(db);
  }

  /**
   * A new search; `payload` is the officer's file, kept until every target has been sent (a target
   * may wait for the next day), then dropped.
   */
  create(s: { tot: RequestTot; officerId: string; orderingOfficerId: string; reason: string; payload: Buffer }): string {
    const id = randomUUID();
    statement(this.db, 'INSERT INTO fp_searches VALUES (?, ?, ?, ?, ?, ?, ?)').run(id, this.clock().getTime(), s.tot, s.officerId, s.orderingOfficerId, s.reason, s.payload);
    return id;
  }

  addTarget(searchId: string, state: MemberStateCode, tcn: string, waitingFor: string | null): void {
    statement(this.db, 'INSERT INTO fp_search_targets (tcn, search_id, state, status, created_at, waiting_for) VALUES (?, ?, ?, ?, ?, ?)')
      .run(tcn, searchId, state, waitingFor ? 'waiting' : 'sent', this.clock().getTime(), waitingFor);
  }

  /** In the transaction that queues the message. */
  sent(tcn: string, messageId: string, at: Date): void {
    statement(this.db, `UPDATE fp_search_targets SET status = 'sent', message_id = ?, sent_at = ?, deadline = ?, waiting_for = NULL WHERE tcn = ?`)
      .run(messageId, at.getTime(), at.getTime() + ANSWER_DEADLINE_MS.fp, tcn);
    const search = statement(this.db, 'SELECT search_id FROM fp_search_targets WHERE tcn = ?').get(tcn) as { search_id: string } | undefined;
    if (!search) return;
    const left = statement(this.db, `SELECT COUNT(*) AS n FROM fp_search_targets WHERE search_id = ? AND status = 'waiting'`).get(search.search_id) as { n: number };
    // The officer's file is not kept once every State has it (DP-PURPOSE).
    if (left.n === 0) statement(this.db, 'UPDATE fp_searches SET payload = NULL WHERE id = ?').run(search.search_id);
  }

  isWaiting(tcn: string): boolean {
    return (statement(this.db, 'SELECT status FROM fp_search_targets WHERE tcn = ?').get(tcn) as { status: string } | undefined)?.status === 'waiting';
  }

  waitingFor(tcn: string, reason: string): void {
    statement(this.db, 'UPDATE fp_search_targets SET waiting_for = ? WHERE tcn = ?').run(reason, tcn);
  }

  /** Targets waiting for a peer's capacity, oldest first. */
  waiting(): WaitingTarget[] {
    return (
      statement(this.db, `SELECT t.search_id, t.tcn, t.state, s.tot FROM fp_search_targets t JOIN fp_searches s ON s.id = t.search_id WHERE t.status = 'waiting' ORDER BY t.created_at, t.rowid`).all() as Array<{
        search_id: string;
        tcn: string;
        state: MemberStateCode;
        tot: RequestTot;
      }>
    ).map((r) => ({ searchId: r.search_id, tcn: r.tcn, state: r.state, tot: r.tot, priority: null }));
  }

  payload(searchId: string): Buffer | null {
    const row = statement(this.db, 'SELECT payload FROM fp_searches WHERE id = ?').get(searchId) as { payload: Buffer | null } | undefined;
    return row?.payload ?? null;
  }

  searchMeta(searchId: string): { officerId: string; orderingOfficerId: string; reason: string; tot: RequestTot } | null {
    const row = statement(this.db, 'SELECT officer_id, ordering_officer_id, reason, tot FROM fp_searches WHERE id = ?').get(searchId) as
      | { officer_id: string; ordering_officer_id: string; reason: string; tot: RequestTot }
      | undefined;
    return row ? { officerId: row.officer_id, orderingOfficerId: row.ordering_officer_id, reason: row.reason, tot: row.tot } : null;
  }

  /**
   * Files a peer's SRE or ERR by its TCR; null when it answers nothing we sent to that State (it is
   * still audited by the caller). In the pipeline's transaction.
   */
  answerReceived(
    tcr: string,
    sender: MemberStateCode,
    answer: { result: 'hit' | 'no-hit' | 'error'; candidate?: string; reference?: string; score?: string; info?: string; errors?: readonly string[] },
  ): string | null {
    const row = statement(this.db, 'SELECT search_id, state FROM fp_search_targets WHERE tcn = ?').get(tcr) as { search_id: string; state: string } | undefined;
    if (!row || row.state !== sender) return null;
    const now = this.clock().getTime();
    statement(this.db, 'INSERT INTO fp_search_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
      row.search_id,
      tcr,
      sender,
      answer.result,
      answer.candidate ?? null,
      answer.reference ?? null,
      answer.score ?? null,
      answer.info ?? null,
      JSON.stringify(answer.errors ?? []),
      now,
    );
    const total = /^\d{1,3}\/(\d{1,3})$/.exec(answer.candidate ?? '')?.[1];
    const expected = answer.result === 'hit' && total ? Number(total) : 1;
    statement(this.db, `UPDATE fp_search_targets SET status = 'answered', answered_at = COALESCE(answered_at, ?), expected = MAX(COALESCE(expected, 0), ?) WHERE tcn = ?`).run(now, expected, tcr);
    return row.search_id;
  }

  get(id: string): FpSearchView | null {
    const s = statement(this.db, 'SELECT * FROM fp_searches WHERE id = ?').get(id) as
      | { id: string; created_at: number; tot: RequestTot; officer_id: string; ordering_officer_id: string; reason: string }
      | undefined;
    if (!s) return null;
    const now = this.clock().getTime();
    const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
    const targetRows = statement(this.db, 'SELECT * FROM fp_search_targets WHERE search_id = ? ORDER BY state').all(id) as Array<{
      tcn: string;
      state: MemberStateCode;
      status: 'waiting' | 'sent' | 'answered';
      sent_at: number | null;
      deadline: number | null;
      answered_at: number | null;
      expected: number | null;
      waiting_for: string | null;
    }>;
    const resultRows = statement(this.db, 'SELECT * FROM fp_search_results WHERE search_id = ? ORDER BY state, candidate, received_at').all(id) as Array<{
      tcn: string;
      state: MemberStateCode;
      result: 'hit' | 'no-hit' | 'error';
      candidate: string | null;
      reference: string | null;
      score: string | null;
      info: string | null;
      errors: string;
      received_at: number;
    }>;
    const targets = targetRows.map((t) => ({
      state: t.state,
      tcn: t.tcn,
      status: (t.status === 'sent' && t.deadline !== null && t.deadline < now ? 'overdue' : t.status) as TargetStatus,
      sentAt: iso(t.sent_at),
      deadline: iso(t.deadline),
      answeredAt: iso(t.answered_at),
      waitingFor: t.waiting_for,
    }));
    const complete =
      targetRows.length > 0 &&
      targetRows.every((t) => t.status === 'answered' && resultRows.filter((r) => r.tcn === t.tcn).length >= (t.expected ?? 1));
    return {
      id: s.id,
      createdAt: new Date(s.created_at).toISOString(),
      tot: s.tot,
      officerId: s.officer_id,
      orderingOfficerId: s.ordering_officer_id,
      reason: s.reason,
      targets,
      results: resultRows.map((r) => ({
        state: r.state,
        tcn: r.tcn,
        result: r.result,
        candidate: r.candidate,
        reference: r.reference,
        score: r.score,
        info: r.info,
        errors: JSON.parse(r.errors) as string[],
        receivedAt: new Date(r.received_at).toISOString(),
      })),
      complete,
    };
  }

  /** Targets waiting for a peer's capacity, per State, for the operator. */
  waitingCounts(): Array<{ state: MemberStateCode; tot: RequestTot; count: number }> {
    return statement(this.db, `SELECT t.state AS state, s.tot AS tot, COUNT(*) AS count FROM fp_search_targets t JOIN fp_searches s ON s.id = t.search_id WHERE t.status = 'waiting' GROUP BY t.state, s.tot ORDER BY t.state, s.tot`).all() as Array<{
      state: MemberStateCode;
      tot: RequestTot;
      count: number;
    }>;
  }
}
