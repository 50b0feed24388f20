import { statement, type Db } from '../db/database.js';
import { migrateSchema } from '../db/schema.js';
import type { MemberStateCode } from '../peers/member-states.js';
import type { RequestTot } from '../fingerprint/tot.js';
import type { RequestFacts } from './answers.js';

/**
 * Other States' fingerprint searches between arrival and answer. A valid request is stored here in
 * the pipeline's transaction and handed to the national AFIS in order — priority 1 first, then by
 * arrival (FP-TIME) — and answered within 24 h of arrival. The file itself is kept only until the
 * answer is queued (DP-PURPOSE: the AFIS may ask for it again after a restart until then).
 */
export type RequestStatus = 'queued' | 'submitted' | 'answered';

export interface IncomingRequest {
  /** The inbox id of the request's mail. */
  readonly id: string;
  /** Our own TCN for this search at the AFIS: the AFIS reports its result under it (TCNs of different States may collide). */
  readonly afisTcn: string;
  readonly peer: MemberStateCode;
  readonly tot: RequestTot;
  readonly tcn: string;
  readonly priority: number;
  readonly receivedAt: Date;
  readonly deadline: Date;
  readonly maxCandidates: number;
  readonly facts: RequestFacts;
  readonly transaction: Buffer | null;
  readonly status: RequestStatus;
  /** SRE transactions already queued for this request (one per candidate). */
  readonly answersSent: number;
}

interface Row {
  id: string;
  afis_tcn: string;
  peer: MemberStateCode;
  tot: RequestTot;
  tcn: string;
  priority: number;
  received_at: number;
  deadline: number;
  max_candidates: number;
  facts: string;
  payload: Buffer | null;
  status: RequestStatus;
  answers_sent: number;
}

const toRequest = (r: Row): IncomingRequest => ({
  id: r.id,
  afisTcn: r.afis_tcn,
  peer: r.peer,
  tot: r.tot,
  tcn: r.tcn,
  priority: r.priority,
  receivedAt: new Date(r.received_at),
  deadline: new Date(r.deadline),
  maxCandidates: r.max_candidates,
  facts: JSON.parse(r.facts) as RequestFacts,
  transaction: r.payload,
  status: r.status,
  answersSent: r.answers_sent,
});

export class IncomingRequests {
  constructor(private readonly db: Db) {
    migrateSchema(db);
  }

  /** In the pipeline's transaction. */
  add(r: Omit<IncomingRequest, 'status' | 'answersSent' | 'transaction'> & { transaction: Buffer }): void {
    statement(
      this.db,
      `INSERT OR IGNORE INTO fp_requests (id, afis_tcn, peer, tot, tcn, priority, received_at, deadline, max_candidates, facts, payload)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(r.id, r.afisTcn, r.peer, r.tot, r.tcn, r.priority, r.receivedAt.getTime(), r.deadline.getTime(), r.maxCandidates, JSON.stringify(r.facts), r.transaction);
  }

  /** The next requests for the AFIS: priority 1 first, then in order of arrival. */
  queued(limit: number): IncomingRequest[] {
    return (statement(this.db, `SELECT * FROM fp_requests WHERE status = 'queued' ORDER BY priority, received_at, rowid LIMIT ?`).all(limit) as Row[]).map(toRequest);
  }

  /** Handed to the AFIS but not answered yet (after a restart they are handed over again). */
  submitted(): IncomingRequest[] {
    return (statement(this.db, `SELECT * FROM fp_requests WHERE status = 'submitted' ORDER BY priority, received_at, rowid`).all() as Row[]).map(toRequest);
  }

  get(id: string): IncomingRequest | null {
    const row = statement(this.db, 'SELECT * FROM fp_requests WHERE id = ?').get(id) as Row | undefined;
    return row ? toRequest(row) : null;
  }

  /** The request the AFIS reports on, by the TCN we gave it. */
  byAfisTcn(afisTcn: string): IncomingRequest | null {
    const row = statement(this.db, 'SELECT * FROM fp_requests WHERE afis_tcn = ?').get(afisTcn) as Row | undefined;
    return row ? toRequest(row) : null;
  }

  /** Past their deadline and not answered. */
  overdue(now: Date): IncomingRequest[] {
    return (statement(this.db, `SELECT * FROM fp_requests WHERE status != 'answered' AND deadline < ? ORDER BY deadline`).all(now.getTime()) as Row[]).map(toRequest);
  }

  /** Back in the queue (its answer could not be queued): handed to the AFIS again. */
  requeue(id: string): void {
    statement(this.db, `UPDATE fp_requests SET status = 'queued' WHERE id = ? AND status = 'submitted'`).run(id);
  }

  markSubmitted(id: string, now: Date): void {
    statement(this.db, `UPDATE fp_requests SET status = 'submitted', submitted_at = ? WHERE id = ? AND status = 'queued'`).run(now.getTime(), id);
  }

  /** One more answer transaction queued (in the transaction that queues it). */
  answerQueued(id: string): void {
    statement(this.db, 'UPDATE fp_requests SET answers_sent = answers_sent + 1 WHERE id = ?').run(id);
  }

  /**
   * Every answer is queued: the supplied file and what was read from it (the requester's CRN or case
   * number) are dropped (2008/615 Art. 26); the Art. 30 record keeps the exchange by reference.
   */
  answered(id: string, outcome: string, now: Date): void {
    statement(this.db, `UPDATE fp_requests SET status = 'answered', payload = NULL, facts = '{"palm":false}', answered_at = ?, outcome = ? WHERE id = ?`).run(now.getTime(), outcome, id);
  }

  /** Answered requests finished before `before` (their file went when answered; the Art. 30 log keeps the exchange). */
  prune(before: Date): number {
    return statement(this.db, `DELETE FROM fp_requests WHERE status = 'answered' AND answered_at < ?`).run(before.getTime()).changes;
  }

  /** Depth and the nearest deadline of what the AFIS still owes, for the operator. */
  pending(): { count: number; nearestDeadline: Date | null } {
    const row = statement(this.db, `SELECT COUNT(*) AS n, MIN(deadline) AS d FROM fp_requests WHERE status != 'answered'`).get() as { n: number; d: number | null };
    return { count: row.n, nearestDeadline: row.d === null ? null : new Date(row.d) };
  }
}
