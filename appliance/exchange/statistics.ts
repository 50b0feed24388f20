import { statement, type Db } from '../db/database.js';
import { migrateSchema } from '../db/schema.js';
import type { Channel, MemberStateCode } from '../peers/member-states.js';

/**
 * Counters for the annual statistics each State compiles for the Council (Annex ch.4 §2.1):
 * requests, hits by quality, no-hits and errors, per partner State, channel and direction.
 * Kept apart from the audit log because they outlive its two-year retention and hold no
 * personal data. Written in the pipeline's transaction, so a crash never counts twice.
 */
export type StatisticsDirection = 'in' | 'out';

export interface StatisticsDelta {
  readonly year: number;
  readonly state: MemberStateCode;
  readonly channel: Channel;
  /** 'in': requests other States sent us; 'out': our requests to them. */
  readonly direction: StatisticsDirection;
  readonly requests?: number;
  readonly noHits?: number;
  readonly errors?: number;
  /** Hits by quality (DNA 1–4; fingerprints and vehicles count quality 1). */
  readonly hits?: Readonly<Partial<Record<1 | 2 | 3 | 4, number>>>;
  /** The message type as the Annex names it (fingerprints: the TOT, CPS/PMS/MPS/MMS), also counted on its own. */
  readonly messageType?: string;
}

/** The same counters per message type (fingerprints: per TOT), for the annual statistics by category. */
export interface StatisticsByTypeRow {
  readonly year: number;
  readonly state: MemberStateCode;
  readonly channel: Channel;
  readonly direction: StatisticsDirection;
  readonly messageType: string;
  readonly requests: number;
  readonly hits: number;
  readonly noHits: number;
  readonly errors: number;
}

export interface StatisticsRow {
  readonly year: number;
  readonly state: MemberStateCode;
  readonly channel: Channel;
  readonly direction: StatisticsDirection;
  readonly requests: number;
  readonly hits: number;
  readonly hitsByQuality: Readonly<Record<1 | 2 | 3 | 4, number>>;
  readonly noHits: number;
  readonly errors: number;
}

export class Statistics {
  constructor(private readonly db: Db) {
    migrateSchema(db);
  }

  /** Adds to the counters; call inside the transaction that records the exchange. */
  add(d: StatisticsDelta): void {
    statement(
      this.db,
      `INSERT INTO exchange_statistics (year, state, channel, direction, requests, no_hits, errors, hits_q1, hits_q2, hits_q3, hits_q4)
       VALUES (@year, @state, @channel, @direction, @requests, @noHits, @errors, @q1, @q2, @q3, @q4)
       ON CONFLICT (year, state, channel, direction) DO UPDATE SET
         requests = requests + excluded.requests, no_hits = no_hits + excluded.no_hits, errors = errors + excluded.errors,
         hits_q1 = hits_q1 + excluded.hits_q1, hits_q2 = hits_q2 + excluded.hits_q2,
         hits_q3 = hits_q3 + excluded.hits_q3, hits_q4 = hits_q4 + excluded.hits_q4`,
    )
      .run({
        year: d.year,
        state: d.state,
        channel: d.channel,
        direction: d.direction,
        requests: d.requests ?? 0,
        noHits: d.noHits ?? 0,
        errors: d.errors ?? 0,
        q1: d.hits?.[1] ?? 0,
        q2: d.hits?.[2] ?? 0,
        q3: d.hits?.[3] ?? 0,
        q4: d.hits?.[4] ?? 0,
      });
    if (d.messageType !== undefined) {
      const hits = (d.hits?.[1] ?? 0) + (d.hits?.[2] ?? 0) + (d.hits?.[3] ?? 0) + (d.hits?.[4] ?? 0);
      statement(
        this.db,
        `INSERT INTO exchange_statistics_by_type (year, state, channel, direction, message_type, requests, hits, no_hits, errors)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (year, state, channel, direction, message_type) DO UPDATE SET
           requests = requests + excluded.requests, hits = hits + excluded.hits, no_hits = no_hits + excluded.no_hits, errors = errors + excluded.errors`,
      ).run(d.year, d.state, d.channel, d.direction, d.messageType, d.requests ?? 0, hits, d.noHits ?? 0, d.errors ?? 0);
    }
  }

  /** The counters per message type (fingerprints: per TOT), partner and direction. */
  annualByType(year: number): StatisticsByTypeRow[] {
    return (
      statement(this.db, 'SELECT * FROM exchange_statistics_by_type WHERE year = ? ORDER BY state, channel, direction, message_type').all(year) as Array<{
        year: number;
        state: MemberStateCode;
        channel: Channel;
        direction: StatisticsDirection;
        message_type: string;
        requests: number;
        hits: number;
        no_hits: number;
        errors: number;
      }>
    ).map((r) => ({ year: r.year, state: r.state, channel: r.channel, direction: r.direction, messageType: r.message_type, requests: r.requests, hits: r.hits, noHits: r.no_hits, errors: r.errors }));
  }

  annual(year: number): StatisticsRow[] {
    const rows = statement(this.db, 'SELECT * FROM exchange_statistics WHERE year = ? ORDER BY state, channel, direction')
      .all(year) as Array<{
      year: number;
      state: MemberStateCode;
      channel: Channel;
      direction: StatisticsDirection;
      requests: number;
      no_hits: number;
      errors: number;
      hits_q1: number;
      hits_q2: number;
      hits_q3: number;
      hits_q4: number;
    }>;
    return rows.map((r) => ({
      year: r.year,
      state: r.state,
      channel: r.channel,
      direction: r.direction,
      requests: r.requests,
      hits: r.hits_q1 + r.hits_q2 + r.hits_q3 + r.hits_q4,
      hitsByQuality: { 1: r.hits_q1, 2: r.hits_q2, 3: r.hits_q3, 4: r.hits_q4 },
      noHits: r.no_hits,
      errors: r.errors,
    }));
  }
}
