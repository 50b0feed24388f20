import { statement, type Db } from '../db/database.js';
import { migrateSchema } from '../db/schema.js';
import type { MemberStateCode } from '../peers/member-states.js';
import type { RequestTot } from '../fingerprint/tot.js';

/**
 * Daily search capacities (2008/616 Art. 13): each State declares how many fingerprint searches a
 * day it answers; a requesting State must stay within the requested State's figure. We count both
 * sides per peer, type of search and UTC day ("a day" is not defined further; UTC is the one day
 * both sides agree on): searches we accepted from a peer ('in') and searches we sent it ('out').
 * Counted in the transaction that queues the request or the message, so a crash never counts twice.
 */
export type CapacityDirection = 'in' | 'out';

export function utcDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** Midnight UTC after `d`: when a day's capacity is back. */
export function nextUtcDay(d: Date): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1));
}

/** Handling one request takes milliseconds; a reservation this old was never committed. */
const RESERVATION_MS = 10 * 60_000;

/** A peer's declared figure: per type of search, or one figure for all fingerprint searches. */
export interface PeerLimit {
  readonly limit: number;
  readonly scope: 'type' | 'all';
}

export type CapacityCheck = { readonly ok: true } | { readonly ok: false; readonly used: number; readonly limit: number; readonly day: string };

export class CapacityLedger {
  /**
   * Places taken by requests being handled but not yet committed (two inbound lanes run at once). A
   * reservation whose commit never came (the pipeline refused the message as a replay, or failed) lapses
   * after RESERVATION_MS.
   */
  private readonly reserved = new Map<string, { peer: MemberStateCode; tot: RequestTot; day: string; at: number }>();

  constructor(private readonly db: Db) {
    migrateSchema(db);
  }

  used(direction: CapacityDirection, peer: MemberStateCode, tot: RequestTot, day: string): number {
    return (statement(this.db, 'SELECT COUNT(*) AS n FROM fp_capacity_use WHERE direction = ? AND day = ? AND peer = ? AND tot = ?').get(direction, day, peer, tot) as { n: number }).n;
  }

  /**
   * Takes a place for an incoming request (`ref`: its inbox id) if the day's limit allows; taking
   * it again for the same ref (a retried message) is no second place. null limit: unlimited.
   */
  reserveIncoming(ref: string, peer: MemberStateCode, tot: RequestTot, limit: number | null, now: Date): CapacityCheck {
    const day = utcDay(now);
    for (const [key, r] of this.reserved) if (r.at < now.getTime() - RESERVATION_MS) this.reserved.delete(key);
    const mine = this.reserved.get(ref);
    if (mine && mine.day === day) return { ok: true };
    if (limit === null) {
      this.reserved.set(ref, { peer, tot, day, at: now.getTime() });
      return { ok: true };
    }
    const pending = [...this.reserved.values()].filter((r) => r.peer === peer && r.tot === tot && r.day === day).length;
    const used = this.used('in', peer, tot, day) + pending;
    if (used >= limit) return { ok: false, used, limit, day };
    this.reserved.set(ref, { peer, tot, day, at: now.getTime() });
    return { ok: true };
  }

  /** Call in the transaction that queues the request. */
  commitIncoming(ref: string, now: Date): void {
    const r = this.reserved.get(ref);
    if (!r) return;
    statement(this.db, 'INSERT OR IGNORE INTO fp_capacity_use VALUES (?, ?, ?, ?, ?, ?)').run('in', ref, r.day, r.peer, r.tot, now.getTime());
    this.reserved.delete(ref);
  }

  /** A reservation that will not be committed (the request was refused after all). */
  release(ref: string): void {
    this.reserved.delete(ref);
  }

  /**
   * Whether one more search to `peer` fits its declared figure today: a figure for this type of search
   * counts that type; a single figure for the peer (`peers[].dailyCapacity`) counts every type.
   */
  allowsOutgoing(peer: MemberStateCode, tot: RequestTot, limit: PeerLimit | null, now: Date): boolean {
    if (limit === null) return true;
    const day = utcDay(now);
    const used =
      limit.scope === 'type'
        ? this.used('out', peer, tot, day)
        : (statement(this.db, 'SELECT COUNT(*) AS n FROM fp_capacity_use WHERE direction = ? AND day = ? AND peer = ?').get('out', day, peer) as { n: number }).n;
    return used < limit.limit;
  }

  /** Counts of days before `before` (only today's count matters; a day's margin for clocks). */
  prune(before: Date): number {
    return statement(this.db, 'DELETE FROM fp_capacity_use WHERE day < ?').run(utcDay(before)).changes;
  }

  /** Call in the transaction that queues the message to the peer. */
  recordOutgoing(ref: string, peer: MemberStateCode, tot: RequestTot, now: Date): void {
    statement(this.db, 'INSERT OR IGNORE INTO fp_capacity_use VALUES (?, ?, ?, ?, ?, ?)').run('out', ref, utcDay(now), peer, tot, now.getTime());
  }
}

/** Transaction control numbers we issue: `YYSSSSSSSSA`, the serial counted per year in SQLite. */
export class TcnIssuer {
  constructor(
    private readonly db: Db,
    private readonly make: (year: number, serial: number) => string,
  ) {
    migrateSchema(db);
  }

  next(now: Date): string {
    const year = now.getUTCFullYear();
    const serial = this.db.transaction(() => {
      statement(this.db, 'INSERT INTO fp_tcn_serial (year, last) VALUES (?, 1) ON CONFLICT (year) DO UPDATE SET last = last + 1').run(year);
      return (statement(this.db, 'SELECT last FROM fp_tcn_serial WHERE year = ?').get(year) as { last: number }).last;
    })();
    // Eight digits: 99,999,999 a year is far beyond any State's traffic; wrapping would reuse old numbers.
    if (serial > 99_999_999) throw new Error(`TCN serials for ${year} exhausted`);
    return this.make(year, serial);
  }
}
