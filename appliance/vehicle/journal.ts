/**
 * What the vehicle channel records, in one transaction per exchange:
 *  - the Art. 30 record (audit/log.ts): every request received or sent and every answer, by reference
 *    (plate or VIN searched, VINs answered, SHA-256 of the message), never the owner data themselves;
 *  - the annual statistics per partner and direction (exchange/statistics.ts);
 *  - the message itself, at the logging level configured for its service and message type (Annex ch.3
 *    §2.3.3: full = kept and available to the log-extraction service, private = kept for national audit
 *    and problem solving only, none = not kept). The level never switches the Art. 30 record off: the
 *    Decision requires it for every supply.
 * Refusals of messages whose sender could not be established (no or bad signature, unknown
 * certificate) are not exchanges with a State: they go to the security table the DNA channel uses
 * (exchange_rejections), with the reason.
 */
import { createHash } from 'node:crypto';
import { statement, type Db } from '../db/database.js';
import type { AuditLog } from '../audit/log.js';
import type { AuditEvent, ExchangeResult } from '../audit/events.js';
import type { Statistics } from '../exchange/statistics.js';
import type { MemberStateCode } from '../peers/member-states.js';
import type { VehicleSettings } from '../config/config.js';

export type VehicleService = 'vin-search' | 'plate-search';
export type VehicleMessageType =
  | 'client-request'
  | 'request-to-peer'
  | 'response-from-peer'
  | 'response-to-client'
  | 'request-from-peer'
  | 'request-to-register'
  | 'response-from-register'
  | 'response-to-peer';
export type LogLevel = 'full' | 'private' | 'none';

/**
 * Unlisted types: requests are kept privately, answers (which carry holders' and owners' data) are not
 * kept at all — the Art. 30 record already proves what was supplied, by its digest.
 */
export function defaultLogLevel(type: VehicleMessageType): LogLevel {
  return type.startsWith('response') ? 'none' : 'private';
}

export function logLevelFor(settings: VehicleSettings['logging'], service: VehicleService, type: VehicleMessageType): LogLevel {
  return settings?.[service]?.[type] ?? defaultLogLevel(type);
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface ExchangeSide {
  readonly direction: 'sent' | 'received';
  readonly role: 'request' | 'response';
  readonly messageId: string;
  readonly inReplyTo?: string;
  readonly xml: string;
  readonly result: ExchangeResult;
  readonly recordIds: readonly string[];
  readonly count: number;
  readonly categories: ReadonlyArray<'vehicle-search-key' | 'vehicle-registration-data' | 'none'>;
  readonly logType: VehicleMessageType;
}

export interface VehicleExchange {
  readonly peer: MemberStateCode;
  readonly service: VehicleService;
  readonly searchingBody: { readonly state: MemberStateCode; readonly agency: string };
  readonly fileManagingBody: { readonly state: MemberStateCode; readonly agency: string };
  readonly referenceNumbers: readonly string[];
  /** Our outgoing searches: Art. 30(2) reason and officers. */
  readonly search?: { readonly reason: string; readonly officerId: string; readonly orderingOfficerId: string };
  readonly sides: readonly ExchangeSide[];
  /** Statistics: the request's direction ('in': a partner asked us) and its outcome. */
  readonly statistics?: { readonly direction: 'in' | 'out'; readonly outcome: 'hit' | 'no-hit' | 'error' };
  /** Other messages of the exchange to keep at their logging level (to and from the register). */
  readonly alsoKeep?: ReadonlyArray<{ readonly type: VehicleMessageType; readonly messageId: string; readonly xml: string }>;
  /** The partner's message id, remembered against replays in the same transaction. */
  readonly replay?: { readonly state: MemberStateCode; readonly messageId: string; readonly forgetAfterMs: number };
}

const MESSAGE_TYPE: Record<VehicleService, string> = { 'vin-search': 'VRD vehicle search by VIN', 'plate-search': 'VRD vehicle search by licence number' };

/** Where record() sends exchanges to be committed, when not in this thread (journal-worker.ts). */
export interface JournalCommitter {
  commit(x: VehicleExchange): Promise<void>;
  close(): Promise<void>;
  /** Exchanges committed, commits made, and how long a commit took (ms; over the recent ones). */
  stats?(): JournalCommitStats;
}

export interface JournalCommitStats {
  readonly exchanges: number;
  readonly commits: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export class VehicleJournal {
  private committer: JournalCommitter | null = null;
  private readonly recordTx: (x: VehicleExchange) => void;

  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
    private readonly statistics: Statistics,
    private readonly logging: VehicleSettings['logging'],
    private readonly clock: () => Date = () => new Date(),
  ) {
    // Made once: better-sqlite3 builds its BEGIN/SAVEPOINT wrapper on every transaction() call.
    this.recordTx = db.transaction((x: VehicleExchange) => this.recordInTransaction(x));
    db.exec(`CREATE TABLE IF NOT EXISTS vehicle_messages (
      id INTEGER PRIMARY KEY, at INTEGER NOT NULL, service TEXT NOT NULL, message_type TEXT NOT NULL, peer TEXT NOT NULL,
      message_id TEXT NOT NULL, level TEXT NOT NULL CHECK (level IN ('full', 'private')), xml TEXT NOT NULL)`);
    db.exec(`CREATE TABLE IF NOT EXISTS exchange_rejections (
      at INTEGER NOT NULL, channel TEXT NOT NULL, message_id TEXT NOT NULL, mail_from TEXT NOT NULL, code TEXT NOT NULL, reason TEXT NOT NULL)`);
  }

  private pending: Array<{ x: VehicleExchange; resolve: () => void; reject: (e: unknown) => void }> = [];
  private flushScheduled = false;

  /**
   * Records one exchange and resolves once it is committed — the answer leaves only after its record is
   * on disk. Exchanges recorded in the same turn of the event loop share one transaction (group commit):
   * with synchronous=FULL every commit is an fsync (~5 ms here), and one per request would cap the
   * service far below 200 requests/s. Each exchange is its own savepoint, so one failing does not
   * undo the others.
   */
  record(x: VehicleExchange): Promise<void> {
    if (this.committer) return this.committer.commit(x);
    return new Promise((resolve, reject) => {
      this.pending.push({ x, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // A millisecond's wait gathers the records of answers finishing together into one commit.
        setTimeout(() => this.flush(), 1);
      }
    });
  }

  /** The committer thread's figures (null when records are committed in this thread). */
  commitStats(): JournalCommitStats | null {
    return this.committer?.stats?.() ?? null;
  }

  /** From now on, record() commits through `committer` (a worker thread with its own connection). */
  useCommitter(committer: JournalCommitter | null): void {
    this.committer = committer;
  }

  /** Records several exchanges in one transaction, each in its own savepoint; the error of each, or null. */
  recordBatch(xs: readonly VehicleExchange[]): unknown[] {
    const errors: unknown[] = [];
    this.db.transaction(() => {
      for (const x of xs) {
        try {
          this.recordNow(x);
          errors.push(null);
        } catch (e) {
          errors.push(e);
        }
      }
    })();
    return errors;
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.pending.splice(0);
    const errors: unknown[] = [];
    try {
      this.db.transaction(() => {
        for (const b of batch) {
          try {
            this.recordNow(b.x);
            errors.push(null);
          } catch (e) {
            errors.push(e);
          }
        }
      })();
    } catch (e) {
      for (const b of batch) b.reject(e);
      return;
    }
    batch.forEach((b, i) => (errors[i] ? b.reject(errors[i]) : b.resolve()));
  }

  /** Records one exchange atomically, inside the caller's transaction if there is one. Throws what the audit log throws (an unauthorised officer). */
  recordNow(x: VehicleExchange): void {
    this.recordTx(x);
  }

  /** The body of recordNow(), inside its savepoint: a throw rolls back everything of this exchange, records included. */
  private recordInTransaction(x: VehicleExchange): void {
    const now = this.clock();
    if (x.replay) rememberReplay(this.db, x.replay.state, x.replay.messageId, x.replay.forgetAfterMs);
    for (const k of x.alsoKeep ?? []) this.keep(x.service, k.type, x.peer, k.messageId, k.xml, now);
    for (const side of x.sides) {
      const common = {
        kind: 'exchange' as const,
        channel: 'vrd' as const,
        messageType: `${MESSAGE_TYPE[x.service]} ${side.role}`,
        automated: true,
        dataSupplied: {
          categories: [...side.categories],
          recordIds: side.recordIds.slice(0, 1000).map((r) => r.slice(0, 128)),
          count: side.count,
          sha256: sha256Hex(side.xml),
          byteLength: Buffer.byteLength(side.xml),
        },
        occurredAt: now.toISOString(),
        searchingBody: { ...x.searchingBody },
        fileManagingBody: { ...x.fileManagingBody },
        peerState: x.peer,
        messageId: side.messageId.slice(0, 256),
        referenceNumbers: x.referenceNumbers.slice(0, 100).map((r) => r.slice(0, 128)),
        result: side.result,
      };
      let event: AuditEvent;
      if (side.direction === 'sent' && side.role === 'request') {
        if (!x.search) throw new Error('an outgoing search needs its reason and officers (Art. 30(2))');
        event = { ...common, direction: 'sent', role: 'request', ...x.search };
      } else if (side.direction === 'sent') event = { ...common, direction: 'sent', role: 'response', ...(side.inReplyTo ? { inReplyTo: side.inReplyTo } : {}) };
      else if (side.role === 'request') event = { ...common, direction: 'received', role: 'request' };
      else event = { ...common, direction: 'received', role: 'response', ...(side.inReplyTo ? { inReplyTo: side.inReplyTo } : {}) };
      // Inside this exchange's savepoint, which a throw rolls back: the record needs no savepoint of its own.
      this.audit.appendInTransaction(event);
      this.keep(x.service, side.logType, x.peer, side.messageId, side.xml, now);
    }
    if (x.statistics) {
      const o = x.statistics.outcome;
      this.statistics.add({
        year: now.getUTCFullYear(),
        state: x.peer,
        channel: 'vrd',
        direction: x.statistics.direction,
        requests: 1,
        ...(o === 'hit' ? { hits: { 1: 1 } } : o === 'no-hit' ? { noHits: 1 } : { errors: 1 }),
      });
    }
  }

  /** A message between our core and the register or an officers' client: logged by level only (no partner involved). */
  keep(service: VehicleService, type: VehicleMessageType, peer: MemberStateCode, messageId: string, xml: string, at = this.clock()): void {
    const level = logLevelFor(this.logging, service, type);
    if (level === 'none') return;
    statement(this.db, 'INSERT INTO vehicle_messages (at, service, message_type, peer, message_id, level, xml) VALUES (?, ?, ?, ?, ?, ?, ?)').run(at.getTime(), service, type, peer, messageId, level, xml);
  }

  /** A message refused before its sender was established: the security table, not the Art. 30 log. */
  rejected(entry: { messageId: string; from: string; code: string; reason: string }): void {
    statement(this.db, 'INSERT INTO exchange_rejections VALUES (?, ?, ?, ?, ?, ?)').run(this.clock().getTime(), 'vrd', entry.messageId.slice(0, 256), entry.from.slice(0, 200), entry.code, entry.reason.slice(0, 500));
  }

  /** Messages kept at level full: what a log-extraction service may be given. */
  extractable(limit = 1000): Array<{ at: string; service: string; messageType: string; peer: string; messageId: string }> {
    return (statement(this.db, "SELECT at, service, message_type, peer, message_id FROM vehicle_messages WHERE level = 'full' ORDER BY id DESC LIMIT ?").all(limit) as Array<{ at: number; service: string; message_type: string; peer: string; message_id: string }>).map((r) => ({
      at: new Date(r.at).toISOString(),
      service: r.service,
      messageType: r.message_type,
      peer: r.peer,
      messageId: r.message_id,
    }));
  }
}

/**
 * Remembers the message ids a partner used until their timestamp has expired: a second use is a replay.
 * claim() answers at once (ids in flight are held in memory, so two copies arriving together cannot both
 * pass); the id is written with the exchange's record (VehicleExchange.replay), in its transaction.
 */
export class ReplayMemory {
  private readonly inFlight = new Set<string>();
  constructor(private readonly db: Db) {
    db.exec(REPLAY_TABLE);
  }

  /** True the first time (state, messageId) is seen; false for a replay. Call release() once its record is written (or not). */
  claim(state: MemberStateCode, messageId: string, now: Date): boolean {
    const key = `${state}\u0000${messageId}`;
    if (this.inFlight.has(key)) return false;
    const known = statement(this.db, 'SELECT 1 FROM vehicle_replay WHERE state = ? AND message_id = ? AND forget_after >= ?').get(state, messageId, now.getTime());
    if (known) return false;
    this.inFlight.add(key);
    return true;
  }

  release(state: MemberStateCode, messageId: string): void {
    this.inFlight.delete(`${state}\u0000${messageId}`);
  }

}

let replayInserts = 0;
const replayReady = new WeakSet<Db>();
/** Inside the exchange's transaction (on whichever connection commits it). */
export function rememberReplay(db: Db, state: MemberStateCode, messageId: string, forgetAfterMs: number): void {
  if (!replayReady.has(db)) {
    db.exec(REPLAY_TABLE);
    replayReady.add(db);
  }
  if (++replayInserts % 500 === 0) statement(db, 'DELETE FROM vehicle_replay WHERE forget_after < ?').run(Date.now());
  statement(db, 'INSERT INTO vehicle_replay (state, message_id, forget_after) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET forget_after = excluded.forget_after').run(state, messageId, forgetAfterMs);
}

const REPLAY_TABLE = `CREATE TABLE IF NOT EXISTS vehicle_replay (state TEXT NOT NULL, message_id TEXT NOT NULL, forget_after INTEGER NOT NULL, PRIMARY KEY (state, message_id)) WITHOUT ROWID`;
