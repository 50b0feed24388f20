import { createHash } from 'node:crypto';
import type BetterSqlite3 from 'better-sqlite3';
import { Mutex } from '../util/mutex.js';
import { AuditError, fail, ok, type Outcome } from './errors.js';
import { canonicalJson, isOutgoingSearch, parseAuditEvent, type AuditEvent, type DataSupplied, type OutgoingSearchEvent } from './events.js';
import {
  PackedNodes,
  consistencyPath,
  inclusionPath,
  nodesForAppend,
  rootHash,
  type NodeSource,
} from './merkle.js';
import { migrateSchema } from '../db/schema.js';
import { certificateFingerprint, verifyWithCertificate, type AuditSigner } from './signer.js';

type Database = BetterSqlite3.Database;

export const CHECKPOINT_HEADER = 'pruem-audit-checkpoint/1';
/** Art. 30(4): kept two years, then deleted. */
export const RETENTION_YEARS = 2;

export interface AuditLogOptions {
  /** The log's clock (recording time, checkpoint time). Tests pass one they can move. */
  clock?: () => Date;
  /** Names this log in every checkpoint, e.g. "RO/pruem-gateway". [A-Za-z0-9._/-], at most 100. */
  origin?: string;
}

/** A stored entry as exported: `leaf` is the exact canonical JSON that was hashed. */
export interface StoredEntry {
  index: number;
  period: string;
  leafIndex: number;
  leaf: string;
  blockedAt: string | null;
  blockReason: string | null;
}

/** The leaf's structure (what `leaf` parses to). */
export interface AuditLeaf {
  v: 1;
  index: number;
  period: string;
  leafIndex: number;
  recordedAt: string;
  event: AuditEvent;
}

export interface PeriodInfo {
  id: string;
  previous: string | null;
  firstIndex: number;
  size: number;
  openedAt: string;
  endedAt: string | null;
  finalCheckpointId: number | null;
  deletedAt: string | null;
}

export interface SignedCheckpoint {
  id: number;
  period: string;
  size: number;
  /** Lower-case hex. */
  root: string;
  time: string;
  final: boolean;
  previousPeriod: string | null;
  previousFinalHead: string | null;
  /** SHA-256 of the signing certificate. */
  signer: string;
  /** The exact signed bytes, as text. */
  body: string;
  /** RSASSA-PKCS1-v1_5 SHA-256 over `body`. */
  signature: Buffer;
  /** SHA-256 of `body`: what the next period's checkpoints reference. */
  hash: string;
}

export interface DeletionRecord {
  period: string;
  deletedAt: string;
  entriesDeleted: number;
  /** Leaf indices kept because they are blocked (Art. 28(3)). */
  blockedRetained: number[];
  finalHead: SignedCheckpoint;
}

export interface RetentionReport {
  deleted: { period: string; entriesDeleted: number; blockedRetained: number }[];
  /** Expired periods that could not be deleted yet, and why. */
  skipped: { period: string; code: 'FINAL_HEAD_UNSIGNED'; message: string }[];
  /** Blocked entries of already deleted periods whose block was lifted and which are now deleted. */
  releasedEntriesDeleted: number;
}

export interface SignerRecord {
  fingerprint: string;
  certificatePem: string;
  chainPem: string[];
}

/** Filters of an export; `to` is exclusive. */
export interface EntryQuery {
  from: Date;
  to: Date;
  state?: string;
  channel?: string;
  officerId?: string;
  referenceNumber?: string;
}

export interface ExportRecord {
  id: string;
  createdAt: string;
  actor: string;
  filters: string;
  entryCount: number;
  destination: string;
  anchorBody: string;
  anchorSignature: Buffer;
  sumsSha256: string;
}

interface PeriodRow {
  id: string;
  seq: number;
  prev_id: string | null;
  first_index: number;
  size: number;
  opened_at: string;
  ended_at: string | null;
  final_checkpoint_id: number | null;
  deleted_at: string | null;
}

interface CheckpointRow {
  id: number;
  period: string;
  size: number;
  root: Buffer;
  time: string;
  final: number;
  body: string;
  signature: Buffer;
  signer: string;
}

interface EntryRow {
  idx: number;
  period: string;
  leaf_index: number;
  leaf: string;
  blocked_at: string | null;
  block_reason: string | null;
}

const ORIGIN_RE = /^[A-Za-z0-9._/-]{1,100}$/;

/** 'YYYY-MM' of an instant, in UTC. */
export function periodOf(at: Date): string {
  return at.toISOString().slice(0, 7);
}

/** The first instant after the period (start of the next month, UTC). */
export function periodEnd(period: string): Date {
  const year = Number(period.slice(0, 4));
  const month = Number(period.slice(5, 7));
  return new Date(Date.UTC(year, month, 1));
}

/** When a period's entries must be gone: its end plus two years. */
export function retentionDeadline(period: string): Date {
  const end = periodEnd(period);
  return new Date(Date.UTC(end.getUTCFullYear() + RETENTION_YEARS, end.getUTCMonth(), 1));
}

export function formatCheckpointBody(h: {
  origin: string;
  period: string;
  size: number;
  root: string;
  time: string;
  previousPeriod: string | null;
  previousFinalHead: string | null;
  final: boolean;
  signer: string;
}): string {
  return [
    CHECKPOINT_HEADER,
    `origin ${h.origin}`,
    `period ${h.period}`,
    `size ${h.size}`,
    `root ${h.root}`,
    `time ${h.time}`,
    `previous-period ${h.previousPeriod ?? '-'}`,
    `previous-final-head ${h.previousFinalHead ?? '-'}`,
    `final ${h.final ? 'yes' : 'no'}`,
    `signer ${h.signer}`,
    '',
  ].join('\n');
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * The Art. 30 audit log: an append-only RFC 9162 Merkle tree per calendar month, with signed
 * checkpoints, chained periods, two-year retention with deletion records, and Art. 28 blocking.
 *
 * `append` is synchronous and runs inside the caller's `db.transaction(...)` when there is one
 * (better-sqlite3 nests it as a savepoint), so an exchange and its record commit or roll back
 * together. No mutable state is cached in memory: a rolled-back append leaves nothing behind.
 */
export class AuditLog {
  readonly origin: string;
  private readonly clock: () => Date;
  private readonly mutex = new Mutex();
  private readonly q;
  /** Made once: better-sqlite3 builds its BEGIN/SAVEPOINT wrapper on each transaction() call. */
  private readonly appendTx: (event: AuditEvent) => { index: number; leafHash: string };
  private searchGuard: ((event: OutgoingSearchEvent) => AuditError | null) | null = null;

  static migrate(db: Database): void {
    migrateSchema(db);
  }

  constructor(
    readonly db: Database,
    options: AuditLogOptions = {},
  ) {
    const origin = options.origin ?? 'pruem-gateway';
    if (!ORIGIN_RE.test(origin)) throw new AuditError('EVENT_INVALID', `origin ${JSON.stringify(origin)} must match ${ORIGIN_RE}`);
    this.origin = origin;
    this.clock = options.clock ?? (() => new Date());
    // Deleted or moved content must not linger in free space of the file (Art. 30(4) "deleted",
    // and DP-PURPOSE for the queue sharing this connection): SQLite zeroes it when this is on.
    // It must be on from the start: B-tree rebalancing leaves stale copies of rows behind.
    db.pragma('secure_delete = ON');
    AuditLog.migrate(db);
    // IMMEDIATE when standalone: a deferred transaction that reads then writes can fail with
    // SQLITE_BUSY at once if another process writes in between; inside the caller's transaction
    // better-sqlite3 uses a savepoint whatever the variant.
    const tx = db.transaction((e: AuditEvent) => this.appendParsed(e));
    this.appendTx = (e) => tx.immediate(e);
    this.q = {
      openPeriod: db.prepare<[], PeriodRow>(`SELECT * FROM audit_periods WHERE ended_at IS NULL`),
      lastPeriod: db.prepare<[], PeriodRow>(`SELECT * FROM audit_periods ORDER BY seq DESC LIMIT 1`),
      period: db.prepare<[string], PeriodRow>(`SELECT * FROM audit_periods WHERE id = ?`),
      periods: db.prepare<[], PeriodRow>(`SELECT * FROM audit_periods ORDER BY seq`),
      endPeriod: db.prepare<[string, string]>(`UPDATE audit_periods SET ended_at = ? WHERE id = ?`),
      insertPeriod: db.prepare<[string, number, string | null, number, string]>(
        `INSERT INTO audit_periods (id, seq, prev_id, first_index, size, opened_at) VALUES (?, ?, ?, ?, 0, ?)`,
      ),
      setSize: db.prepare<[number, string]>(`UPDATE audit_periods SET size = ? WHERE id = ?`),
      insertEntry: db.prepare<
        [number, string, number, string, string, string, string, string | null, string | null, string | null, string | null]
      >(
        `INSERT INTO audit_entries (idx, period, leaf_index, leaf, recorded_at, occurred_at, kind, channel, peer_state, officer_id, ordering_officer_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      insertRef: db.prepare<[string, number]>(`INSERT OR IGNORE INTO audit_entry_refs (ref, idx) VALUES (?, ?)`),
      insertNode: db.prepare<[string, number, number, Buffer]>(`INSERT INTO audit_nodes (period, level, pos, hash) VALUES (?, ?, ?, ?)`),
      node: db.prepare<[string, number, number], { hash: Buffer }>(`SELECT hash FROM audit_nodes WHERE period = ? AND level = ? AND pos = ?`),
      levelNodes: db.prepare<[string, number, number], { pos: number; hash: Buffer }>(
        `SELECT pos, hash FROM audit_nodes WHERE period = ? AND level = ? AND pos < ? ORDER BY pos`,
      ),
      entry: db.prepare<[number], EntryRow>(`SELECT idx, period, leaf_index, leaf, blocked_at, block_reason FROM audit_entries WHERE idx = ?`),
      block: db.prepare<[string, string, number]>(`UPDATE audit_entries SET blocked_at = ?, block_reason = ? WHERE idx = ?`),
      unblock: db.prepare<[number]>(`UPDATE audit_entries SET blocked_at = NULL, block_reason = NULL WHERE idx = ?`),
      signer: db.prepare<[string], { fingerprint: string; certificate_pem: string; chain_pem: string }>(
        `SELECT fingerprint, certificate_pem, chain_pem FROM audit_signers WHERE fingerprint = ?`,
      ),
      insertSigner: db.prepare<[string, string, string, string]>(
        `INSERT OR IGNORE INTO audit_signers (fingerprint, certificate_pem, chain_pem, first_used_at) VALUES (?, ?, ?, ?)`,
      ),
      insertCheckpoint: db.prepare<[string, number, Buffer, string, number, string, Buffer, string]>(
        `INSERT INTO audit_checkpoints (period, size, root, time, final, body, signature, signer) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      checkpoint: db.prepare<[number], CheckpointRow>(`SELECT * FROM audit_checkpoints WHERE id = ?`),
      latestCheckpoint: db.prepare<[string], CheckpointRow>(
        `SELECT * FROM audit_checkpoints WHERE period = ? ORDER BY size DESC, id DESC LIMIT 1`,
      ),
      setFinal: db.prepare<[number, string]>(`UPDATE audit_periods SET final_checkpoint_id = ? WHERE id = ? AND final_checkpoint_id IS NULL`),
      pendingFinals: db.prepare<[], PeriodRow>(
        `SELECT * FROM audit_periods WHERE ended_at IS NOT NULL AND final_checkpoint_id IS NULL AND deleted_at IS NULL ORDER BY seq`,
      ),
      deletions: db.prepare<[], { period: string; deleted_at: string; final_checkpoint_id: number; entries_deleted: number; blocked_retained: string }>(
        `SELECT * FROM audit_deletions ORDER BY period`,
      ),
      lastExport: db.prepare<[], {
        id: string; created_at: string; actor: string; filters: string; entry_count: number; destination: string;
        anchor_body: string; anchor_signature: Buffer; sums_sha256: string;
      }>(`SELECT * FROM audit_exports ORDER BY created_at DESC, rowid DESC LIMIT 1`),
      insertExport: db.prepare<[string, string, string, string, number, string, string, Buffer, string]>(
        `INSERT INTO audit_exports (id, created_at, actor, filters, entry_count, destination, anchor_body, anchor_signature, sums_sha256)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Appending
  // -------------------------------------------------------------------------------------------

  /**
   * Records one event. Synchronous; joins the caller's transaction if one is open.
   * @throws AuditError EVENT_INVALID when the event lacks a required field or has a malformed one,
   *   or OFFICER_* when a search guard is set and refuses the officer — inside a caller's
   *   transaction this rolls the whole exchange back, which is the point: an exchange that cannot
   *   be recorded, or that an unauthorised officer started, must not happen.
   */
  append(event: AuditEvent): { index: number; leafHash: string } {
    return this.appendTx(this.checked(event));
  }

  /**
   * append() for a caller that has a transaction or savepoint of its own open and rolls it back when
   * this throws (better-sqlite3's db.transaction() does): its savepoint already makes the append atomic,
   * so none of our own is opened: one SAVEPOINT/RELEASE pair less per record, which an exchange channel
   * writing two records per message pays for at every message.
   * @throws AuditError EVENT_INVALID / OFFICER_* as append(); Error when no transaction is open (a bug).
   */
  appendInTransaction(event: AuditEvent): { index: number; leafHash: string } {
    if (!this.db.inTransaction) throw new Error('AuditLog.appendInTransaction() called outside a transaction');
    return this.appendParsed(this.checked(event));
  }

  private checked(event: AuditEvent): AuditEvent {
    const parsed = parseAuditEvent(event);
    if (!parsed.ok) {
      throw new AuditError('EVENT_INVALID', `audit event rejected: ${parsed.issues.map((i) => `${i.path || '(event)'}: ${i.message}`).join('; ')}`, {
        issues: parsed.issues,
      });
    }
    const e = parsed.event;
    if (this.searchGuard && isOutgoingSearch(e) && e.automated) {
      const refused = this.searchGuard(e);
      if (refused) throw refused;
    }
    return e;
  }

  /**
   * Checks every automated outgoing search as it is recorded (Art. 30(2)(a)); see
   * OfficerRegistry.searchGuard(). A refusal is thrown as the guard's AuditError (OFFICER_*),
   * which rolls back the caller's transaction, so the search is not sent.
   */
  useSearchGuard(guard: ((event: OutgoingSearchEvent) => AuditError | null) | null): void {
    this.searchGuard = guard;
  }


  private appendParsed(event: AuditEvent): { index: number; leafHash: string } {
    const now = this.clock();
    const p = this.ensurePeriod(now);
    const leafIndex = p.size;
    const index = p.first_index + leafIndex;
    const leaf = canonicalJson({ v: 1, index, period: p.id, leafIndex, recordedAt: now.toISOString(), event });
    const hash = createHash('sha256').update(Buffer.from([0])).update(leaf, 'utf8').digest();

    let channel: string | null = null;
    let peerState: string | null = null;
    let officer: string | null = null;
    let ordering: string | null = null;
    let refs: string[] = [];
    let data: DataSupplied | undefined;
    switch (event.kind) {
      case 'exchange':
        channel = event.channel;
        peerState = event.peerState;
        refs = event.referenceNumbers;
        data = event.dataSupplied;
        if (event.direction === 'sent' && event.role === 'request') {
          officer = event.officerId;
          ordering = event.orderingOfficerId;
        }
        break;
      case 'non-automated':
        channel = event.channel;
        peerState = event.peerState;
        officer = event.officerId;
        refs = event.referenceNumbers;
        data = event.dataSupplied;
        break;
      case 'admin':
        officer = event.actor;
        break;
    }
    this.q.insertEntry.run(index, p.id, leafIndex, leaf, now.toISOString(), event.occurredAt, event.kind, channel, peerState, officer, ordering);
    for (const ref of new Set([...refs, ...(data?.recordIds ?? [])])) this.q.insertRef.run(ref, index);
    for (const n of nodesForAppend(this.nodes(p.id), leafIndex, hash)) this.q.insertNode.run(p.id, n.level, n.index, n.hash);
    this.q.setSize.run(leafIndex + 1, p.id);
    return { index, leafHash: hash.toString('hex') };
  }

  /** The open period for `now`, ending the previous one when the month has changed. */
  private ensurePeriod(now: Date): PeriodRow {
    const month = periodOf(now);
    const open = this.q.openPeriod.get();
    // A clock that steps back never reopens a closed month: late entries go to the open period.
    if (open && open.id >= month) return open;
    const last = open ?? this.q.lastPeriod.get();
    if (open) this.q.endPeriod.run(now.toISOString(), open.id);
    const row: PeriodRow = {
      id: month,
      seq: (last?.seq ?? 0) + 1,
      prev_id: last?.id ?? null,
      first_index: last ? last.first_index + last.size : 0,
      size: 0,
      opened_at: now.toISOString(),
      ended_at: null,
      final_checkpoint_id: null,
      deleted_at: null,
    };
    this.q.insertPeriod.run(row.id, row.seq, row.prev_id, row.first_index, row.opened_at);
    return row;
  }

  private readonly rollover = (now: Date): void => {
    this.db.transaction(() => {
      this.ensurePeriod(now);
    })();
  };

  // -------------------------------------------------------------------------------------------
  // Tree access
  // -------------------------------------------------------------------------------------------

  /** Perfect subtree hashes of a period, read from the database on demand. */
  nodes(period: string): NodeSource {
    const stmt = this.q.node;
    return {
      node(level: number, index: number): Buffer {
        const row = stmt.get(period, level, index);
        if (!row) throw new AuditError('TREE_CORRUPT', `period ${period}: node ${level}/${index} is missing`);
        return row.hash;
      },
    };
  }

  /** All nodes of a period's first `size` leaves, in memory: for exports with many proofs. */
  loadNodes(period: string, size: number): PackedNodes {
    const mem = new PackedNodes(size);
    for (let level = 0, width = 1; width <= size; level++, width *= 2) {
      const count = Math.floor(size / width);
      for (const row of this.q.levelNodes.iterate(period, level, count)) mem.set(level, row.pos, row.hash);
    }
    if (!mem.complete()) throw new AuditError('TREE_CORRUPT', `period ${period}: stored nodes are missing`);
    return mem;
  }

  /** Current size and root of a period's tree. */
  head(period: string): { size: number; root: string } | undefined {
    const p = this.q.period.get(period);
    if (!p) return undefined;
    return { size: p.size, root: rootHash(this.nodes(period), p.size).toString('hex') };
  }

  /** RFC 9162 inclusion proof (hex hashes) for a leaf of a period, in the tree of `treeSize` leaves. */
  inclusionProof(period: string, leafIndex: number, treeSize: number, source?: NodeSource): string[] {
    return inclusionPath(source ?? this.nodes(period), leafIndex, treeSize).map((h) => h.toString('hex'));
  }

  /** RFC 9162 consistency proof (hex hashes) between two sizes of a period's tree. */
  consistencyProof(period: string, first: number, second: number): string[] {
    return consistencyPath(this.nodes(period), first, second).map((h) => h.toString('hex'));
  }

  // -------------------------------------------------------------------------------------------
  // Checkpoints
  // -------------------------------------------------------------------------------------------

  /**
   * Signs the current tree head. Periods that have ended since the last call get their final head
   * signed first, so the new checkpoint can reference its predecessor's final head.
   */
  checkpoint(signer: AuditSigner): Promise<SignedCheckpoint> {
    return this.mutex.run(() => this.checkpointUnlocked(signer));
  }

  private async signPendingFinals(signer: AuditSigner): Promise<void> {
    for (const p of this.q.pendingFinals.all()) {
      const cp = await this.signHead(p, true, signer);
      // Another process sharing the database (a CLI next to the daemon) may have signed it
      // meanwhile: the first final head stays the one, the duplicate is dropped.
      if (this.q.setFinal.run(cp.id, p.id).changes === 0) this.db.prepare<[number]>(`DELETE FROM audit_checkpoints WHERE id = ?`).run(cp.id);
    }
  }

  private async signHead(p: PeriodRow, final: boolean, signer: AuditSigner): Promise<SignedCheckpoint> {
    const size = final ? p.size : (this.q.period.get(p.id)?.size ?? p.size);
    const root = rootHash(this.nodes(p.id), size).toString('hex');
    let previousFinalHead: string | null = null;
    if (p.prev_id !== null) {
      const prev = this.q.period.get(p.prev_id);
      const prevFinal = prev?.final_checkpoint_id != null ? this.q.checkpoint.get(prev.final_checkpoint_id) : undefined;
      if (!prevFinal) throw new AuditError('CHAIN_BROKEN', `period ${p.prev_id} has no signed final head`);
      previousFinalHead = sha256Hex(prevFinal.body);
    }
    const fingerprint = this.registerSigner(signer);
    const body = formatCheckpointBody({
      origin: this.origin,
      period: p.id,
      size,
      root,
      time: this.clock().toISOString(),
      previousPeriod: p.prev_id,
      previousFinalHead,
      final,
      signer: fingerprint,
    });
    let signature: Buffer;
    try {
      signature = Buffer.from(await signer.signRaw(Buffer.from(body, 'utf8')));
    } catch (e) {
      throw new AuditError('SIGNER_FAILED', `the audit key could not sign: ${e instanceof Error ? e.message : String(e)}`);
    }
    // A token holding another key than the certificate says would make every checkpoint worthless.
    if (!verifyWithCertificate(signer.certificatePem, Buffer.from(body, 'utf8'), signature)) {
      throw new AuditError('SIGNER_INVALID', 'the audit signature does not verify with the audit certificate');
    }
    const row = this.q.insertCheckpoint.run(p.id, size, Buffer.from(root, 'hex'), this.timeOf(body), final ? 1 : 0, body, signature, fingerprint);
    const cp = this.q.checkpoint.get(Number(row.lastInsertRowid));
    if (!cp) throw new AuditError('TREE_CORRUPT', 'checkpoint vanished after insert');
    return toCheckpoint(cp);
  }

  private timeOf(body: string): string {
    return /\ntime (\S+)\n/.exec(body)?.[1] ?? '';
  }

  private registerSigner(signer: AuditSigner): string {
    const fingerprint = certificateFingerprint(signer.certificatePem);
    this.q.insertSigner.run(fingerprint, signer.certificatePem, JSON.stringify(signer.chainPem), this.clock().toISOString());
    return fingerprint;
  }

  latestCheckpoint(period?: string): SignedCheckpoint | undefined {
    const id = period ?? this.q.lastPeriod.get()?.id;
    if (id === undefined) return undefined;
    const row = this.q.latestCheckpoint.get(id);
    return row ? toCheckpoint(row) : undefined;
  }

  getCheckpoint(id: number): SignedCheckpoint | undefined {
    const row = this.q.checkpoint.get(id);
    return row ? toCheckpoint(row) : undefined;
  }

  /** The final head of a period, if signed. */
  finalCheckpoint(period: string): SignedCheckpoint | undefined {
    const p = this.q.period.get(period);
    return p?.final_checkpoint_id != null ? this.getCheckpoint(p.final_checkpoint_id) : undefined;
  }

  signerRecord(fingerprint: string): SignerRecord | undefined {
    const row = this.q.signer.get(fingerprint);
    if (!row) return undefined;
    const chain: unknown = JSON.parse(row.chain_pem);
    return {
      fingerprint: row.fingerprint,
      certificatePem: row.certificate_pem,
      chainPem: Array.isArray(chain) ? chain.filter((c): c is string => typeof c === 'string') : [],
    };
  }

  // -------------------------------------------------------------------------------------------
  // Reading
  // -------------------------------------------------------------------------------------------

  periods(): PeriodInfo[] {
    return this.q.periods.all().map(toPeriod);
  }

  period(id: string): PeriodInfo | undefined {
    const row = this.q.period.get(id);
    return row ? toPeriod(row) : undefined;
  }

  entry(index: number): StoredEntry | undefined {
    const row = this.q.entry.get(index);
    return row ? toEntry(row) : undefined;
  }

  /**
   * Entries matching `query`, in log order, with index > `afterIndex` and < `beforeIndex`, at most
   * `limit`. Paged (no open cursor is kept), so a long export never blocks the pipeline's writes
   * on the shared connection.
   */
  queryEntries(query: EntryQuery, afterIndex: number, beforeIndex: number, limit: number): StoredEntry[] {
    const { where, params } = whereClause(query, afterIndex, beforeIndex);
    return this.db
      .prepare<(string | number)[], EntryRow>(
        `SELECT e.idx, e.period, e.leaf_index, e.leaf, e.blocked_at, e.block_reason FROM audit_entries e
         WHERE ${where} ORDER BY e.idx LIMIT ?`,
      )
      .all(...params, limit)
      .map(toEntry);
  }

  /** For the console: entries matching `query`, newest first, a page at a time, with the total. */
  search(query: EntryQuery, page: { offset: number; limit: number }): { total: number; entries: (StoredEntry & { record: AuditLeaf })[] } {
    const { where, params } = whereClause(query, -1, Number.MAX_SAFE_INTEGER);
    const limit = Math.max(0, Math.min(Math.floor(page.limit), 1000));
    const offset = Math.max(0, Math.floor(page.offset));
    const total = this.db.prepare<(string | number)[], { n: number }>(`SELECT COUNT(*) AS n FROM audit_entries e WHERE ${where}`).get(...params)?.n ?? 0;
    const entries = this.db
      .prepare<(string | number)[], EntryRow>(
        `SELECT e.idx, e.period, e.leaf_index, e.leaf, e.blocked_at, e.block_reason FROM audit_entries e WHERE ${where} ORDER BY e.idx DESC LIMIT ? OFFSET ?`,
      )
      .all(...params, limit, offset)
      .map((row) => ({ ...toEntry(row), record: JSON.parse(row.leaf) as AuditLeaf }));
    return { total, entries };
  }

  /** How many entries match `query` in each period (index < beforeIndex). */
  countEntriesByPeriod(query: EntryQuery, beforeIndex: number): Map<string, number> {
    const { where, params } = whereClause(query, -1, beforeIndex);
    const rows = this.db
      .prepare<(string | number)[], { period: string; n: number }>(`SELECT e.period, COUNT(*) AS n FROM audit_entries e WHERE ${where} GROUP BY e.period`)
      .all(...params);
    return new Map(rows.map((r) => [r.period, r.n]));
  }

  deletionRecords(): DeletionRecord[] {
    return this.q.deletions.all().map((d) => {
      const head = this.getCheckpoint(d.final_checkpoint_id);
      if (!head) throw new AuditError('TREE_CORRUPT', `deletion record of ${d.period} lost its final head`);
      const retained: unknown = JSON.parse(d.blocked_retained);
      return {
        period: d.period,
        deletedAt: d.deleted_at,
        entriesDeleted: d.entries_deleted,
        blockedRetained: Array.isArray(retained) ? retained.filter((n): n is number => typeof n === 'number') : [],
        finalHead: head,
      };
    });
  }

  lastExport(): ExportRecord | undefined {
    const row = this.q.lastExport.get();
    if (!row) return undefined;
    return {
      id: row.id,
      createdAt: row.created_at,
      actor: row.actor,
      filters: row.filters,
      entryCount: row.entry_count,
      destination: row.destination,
      anchorBody: row.anchor_body,
      anchorSignature: row.anchor_signature,
      sumsSha256: row.sums_sha256,
    };
  }

  recordExport(r: ExportRecord): void {
    this.q.insertExport.run(r.id, r.createdAt, r.actor, r.filters, r.entryCount, r.destination, r.anchorBody, r.anchorSignature, r.sumsSha256);
  }

  now(): Date {
    return this.clock();
  }

  /** Serialises work with checkpointing and retention (the export uses it). */
  exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.mutex.run(work);
  }

  /** checkpoint() for callers already inside exclusive(). */
  checkpointUnlocked(signer: AuditSigner): Promise<SignedCheckpoint> {
    return (async () => {
      this.rollover(this.clock());
      await this.signPendingFinals(signer);
      const open = this.q.openPeriod.get();
      if (!open) throw new AuditError('TREE_CORRUPT', 'no open period after rollover');
      return this.signHead(open, false, signer);
    })();
  }

  // -------------------------------------------------------------------------------------------
  // Blocking (Art. 28(3)) and retention (Art. 30(4))
  // -------------------------------------------------------------------------------------------

  /** Marks an entry as blocked: it survives retention until unblocked. The marking is audited. */
  block(index: number, reason: string, actor = 'system'): Outcome<{ blockedAt: string }> {
    const r = reason.trim();
    if (r.length === 0 || r.length > 1000) return fail('EVENT_INVALID', 'a blocking reason of 1 to 1000 characters is required');
    return this.db.transaction((): Outcome<{ blockedAt: string }> => {
      const row = this.q.entry.get(index);
      if (!row) return fail('ENTRY_NOT_FOUND', `no audit entry ${index} (never written, or deleted under the retention rule)`);
      if (row.blocked_at !== null) return fail('ENTRY_ALREADY_BLOCKED', `audit entry ${index} is already blocked`);
      const at = this.clock().toISOString();
      this.q.block.run(at, r, index);
      this.appendParsed({
        kind: 'admin',
        action: 'entry-blocked',
        actor,
        target: `entry ${index}`,
        occurredAt: at,
        outcome: 'success',
        details: { period: row.period, leafIndex: row.leaf_index, reason: r },
      });
      return ok({ blockedAt: at });
    })();
  }

  unblock(index: number, reason: string, actor = 'system'): Outcome<{ unblockedAt: string }> {
    const r = reason.trim();
    if (r.length === 0 || r.length > 1000) return fail('EVENT_INVALID', 'a reason of 1 to 1000 characters is required');
    return this.db.transaction((): Outcome<{ unblockedAt: string }> => {
      const row = this.q.entry.get(index);
      if (!row) return fail('ENTRY_NOT_FOUND', `no audit entry ${index}`);
      if (row.blocked_at === null) return fail('ENTRY_NOT_BLOCKED', `audit entry ${index} is not blocked`);
      const at = this.clock().toISOString();
      this.q.unblock.run(index);
      this.appendParsed({
        kind: 'admin',
        action: 'entry-unblocked',
        actor,
        target: `entry ${index}`,
        occurredAt: at,
        outcome: 'success',
        details: { period: row.period, leafIndex: row.leaf_index, reason: r },
      });
      return ok({ unblockedAt: at });
    })();
  }

  /**
   * Deletes every period whose end lies more than two years before `now` (Art. 30(4)), keeping
   * blocked entries (Art. 28(3)) and the hashes needed to prove them, and writes a deletion record
   * (period, signed final head, time, counts — no personal data) which is itself audited.
   * With `signer`, final heads still unsigned are signed first; without, such periods are skipped
   * and reported, because deleting an unsigned period would leave the chain unverifiable.
   */
  applyRetention(now: Date, signer?: AuditSigner): Promise<RetentionReport> {
    return this.mutex.run(async () => {
      this.rollover(now);
      if (signer) await this.signPendingFinals(signer);
      const report: RetentionReport = { deleted: [], skipped: [], releasedEntriesDeleted: 0 };
      for (const p of this.q.periods.all()) {
        if (p.ended_at === null || retentionDeadline(p.id).getTime() >= now.getTime()) continue;
        if (p.deleted_at !== null) {
          report.releasedEntriesDeleted += this.deleteReleased(p, now);
          continue;
        }
        if (p.final_checkpoint_id === null) {
          report.skipped.push({ period: p.id, code: 'FINAL_HEAD_UNSIGNED', message: `period ${p.id} expired but its final head is not signed yet; run a checkpoint with the audit key` });
          continue;
        }
        report.deleted.push(this.deletePeriod(p, p.final_checkpoint_id, now));
      }
      if (report.deleted.length > 0 || report.releasedEntriesDeleted > 0) {
        // Old page images of deleted rows live on in the WAL until it is checkpointed.
        if (String(this.db.pragma('journal_mode', { simple: true })) === 'wal') this.db.pragma('wal_checkpoint(TRUNCATE)');
      }
      return report;
    });
  }

  private deletePeriod(p: PeriodRow, finalId: number, now: Date): RetentionReport['deleted'][number] {
    return this.db.transaction(() => {
      const range = [p.first_index, p.first_index + p.size] as const;
      const blocked = this.db
        .prepare<[number, number], { leaf_index: number }>(`SELECT leaf_index FROM audit_entries WHERE idx >= ? AND idx < ? AND blocked_at IS NOT NULL ORDER BY idx`)
        .all(...range)
        .map((r) => r.leaf_index);
      this.deleteUnblocked(...range);
      const deleted = p.size - blocked.length;
      if (blocked.length === 0) this.db.prepare<[string]>(`DELETE FROM audit_nodes WHERE period = ?`).run(p.id);
      this.db.prepare<[string, number]>(`DELETE FROM audit_checkpoints WHERE period = ? AND id <> ?`).run(p.id, finalId);
      const at = now.toISOString();
      this.db.prepare<[string, string]>(`UPDATE audit_periods SET deleted_at = ? WHERE id = ?`).run(at, p.id);
      this.db
        .prepare<[string, string, number, number, string]>(
          `INSERT INTO audit_deletions (period, deleted_at, final_checkpoint_id, entries_deleted, blocked_retained) VALUES (?, ?, ?, ?, ?)`,
        )
        .run(p.id, at, finalId, deleted, JSON.stringify(blocked));
      const head = this.q.checkpoint.get(finalId);
      this.appendParsed({
        kind: 'admin',
        action: 'retention-deletion',
        actor: 'system',
        target: `period ${p.id}`,
        occurredAt: at,
        outcome: 'success',
        details: {
          entriesDeleted: deleted,
          blockedRetained: blocked.length,
          finalSize: head?.size ?? null,
          finalRoot: head ? head.root.toString('hex') : null,
          finalHeadSha256: head ? sha256Hex(head.body) : null,
        },
      });
      return { period: p.id, entriesDeleted: deleted, blockedRetained: blocked.length };
    })();
  }

  /** Deletes the unblocked entries with index in [from, to) and their reference rows; returns how many. */
  private deleteUnblocked(from: number, to: number): number {
    // One pass over the reference table (no index on idx: it would cost every append, this runs monthly).
    this.db
      .prepare<[number, number]>(`DELETE FROM audit_entry_refs WHERE idx IN (SELECT idx FROM audit_entries WHERE idx >= ? AND idx < ? AND blocked_at IS NULL)`)
      .run(from, to);
    return this.db.prepare<[number, number]>(`DELETE FROM audit_entries WHERE idx >= ? AND idx < ? AND blocked_at IS NULL`).run(from, to).changes;
  }

  /** Entries of a deleted period whose block was lifted: delete them now, and the hashes once none is left. */
  private deleteReleased(p: PeriodRow, now: Date): number {
    return this.db.transaction(() => {
      const range = [p.first_index, p.first_index + p.size] as const;
      const n = this.deleteUnblocked(...range);
      const left = this.db.prepare<[number, number], { n: number }>(`SELECT COUNT(*) AS n FROM audit_entries WHERE idx >= ? AND idx < ?`).get(...range)?.n ?? 0;
      if (left === 0) this.db.prepare<[string]>(`DELETE FROM audit_nodes WHERE period = ?`).run(p.id);
      if (n > 0) {
        this.appendParsed({
          kind: 'admin',
          action: 'retention-deletion',
          actor: 'system',
          target: `period ${p.id}`,
          occurredAt: now.toISOString(),
          outcome: 'success',
          details: { entriesDeleted: n, releasedFromBlock: true, blockedRetained: left },
        });
      }
      return n;
    })();
  }
}

function whereClause(query: EntryQuery, afterIndex: number, beforeIndex: number): { where: string; params: (string | number)[] } {
  const where = ['e.occurred_at >= ?', 'e.occurred_at < ?', 'e.idx > ?', 'e.idx < ?'];
  const params: (string | number)[] = [query.from.toISOString(), query.to.toISOString(), afterIndex, beforeIndex];
  if (query.state !== undefined) {
    where.push('e.peer_state = ?');
    params.push(query.state);
  }
  if (query.channel !== undefined) {
    where.push('e.channel = ?');
    params.push(query.channel);
  }
  if (query.officerId !== undefined) {
    where.push('(e.officer_id = ? OR e.ordering_officer_id = ?)');
    params.push(query.officerId, query.officerId);
  }
  if (query.referenceNumber !== undefined) {
    where.push('EXISTS (SELECT 1 FROM audit_entry_refs r WHERE r.ref = ? AND r.idx = e.idx)');
    params.push(query.referenceNumber);
  }
  return { where: where.join(' AND '), params };
}

function toPeriod(row: PeriodRow): PeriodInfo {
  return {
    id: row.id,
    previous: row.prev_id,
    firstIndex: row.first_index,
    size: row.size,
    openedAt: row.opened_at,
    endedAt: row.ended_at,
    finalCheckpointId: row.final_checkpoint_id,
    deletedAt: row.deleted_at,
  };
}

function toEntry(row: EntryRow): StoredEntry {
  return {
    index: row.idx,
    period: row.period,
    leafIndex: row.leaf_index,
    leaf: row.leaf,
    blockedAt: row.blocked_at,
    blockReason: row.block_reason,
  };
}

function toCheckpoint(row: CheckpointRow): SignedCheckpoint {
  const field = (key: string): string | null => {
    const v = new RegExp(`\\n${key} (\\S+)\\n`).exec(row.body)?.[1];
    return v === undefined || v === '-' ? null : v;
  };
  return {
    id: row.id,
    period: row.period,
    size: row.size,
    root: row.root.toString('hex'),
    time: row.time,
    final: row.final === 1,
    previousPeriod: field('previous-period'),
    previousFinalHead: field('previous-final-head'),
    signer: row.signer,
    body: row.body,
    signature: row.signature,
    hash: sha256Hex(row.body),
  };
}
