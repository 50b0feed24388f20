/**
 * The indexed DNA database on disk (Annex ch.1 §5.5: "a physically exported database (indexed database)"):
 * the national profiles in export form, one SQLite row each, from which the match engine's in-memory index is
 * rebuilt at start. We keep the normalised form only — the national system stays the source of truth and
 * every line is normalised on import, so what we store is exactly what we may compare and send.
 *
 * Row slot = SQLite rowid (AUTOINCREMENT, never reused), which is also the engine's handle on the profile.
 *
 * Every change is stamped with the generation that publishes it (`seq` on the row; a tombstone in `removed`
 * for a deletion): an import's changes carry generation + 1 and become visible together when the import bumps
 * the generation at its end. A running daemon then applies exactly the rows with
 * `its generation < seq <= the store's generation` to its index (`changesPage`) instead of rebuilding it,
 * and the nightly comparisons take "new or changed since the last run" from the same stamps.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import Database from 'better-sqlite3';
import { preparePrivateDatabaseFile } from '../db/database.js';
import { blobToCodes, codesToBlob, decodeLoci, encodeLoci, MATCH_LOCUS_COUNT } from './encoding.js';
import type { EngineSource, StoredProfile } from './engine.js';
import { parseProfileLine, type LineRefusalCode } from './jsonl.js';
import { AMELOGENIN } from './loci.js';
import type { AllelePair, NormalisedProfile, ProfileType } from './profile.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS profiles (
  slot INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL CHECK (type IN ('P', 'S')),
  agency TEXT NOT NULL,
  stored_on TEXT NOT NULL,
  loci BLOB NOT NULL,
  amelogenin TEXT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS removed (slot INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS removed_seq ON removed (seq, slot);
`;
/** Added to stores written before changes were stamped (user_version 0): their rows count as generation 0. */
const ADD_SEQ = `
ALTER TABLE profiles ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS profiles_seq ON profiles (seq, slot);
`;
const STORE_VERSION = 1;

/** One change published between two generations: the profile now stored at `slot`, or none (deleted). */
export interface StoreChange {
  readonly slot: number;
  readonly profile: NormalisedProfile | null;
}

/** Where the next page of changes starts (after this generation and slot): changed profiles first, then deletions. */
export type ChangeCursor = { readonly phase: 'profiles' | 'removed'; readonly seq: number; readonly slot: number };
export const FIRST_CHANGE: ChangeCursor = { phase: 'profiles', seq: 0, slot: 0 };

/** How a profile change lands, for whoever keeps an engine in step. */
export interface ProfileChanges {
  add(slot: number, profile: NormalisedProfile): void;
  remove(slot: number): boolean;
}

export type PutResult =
  | { readonly kind: 'inserted'; readonly slot: number }
  | { readonly kind: 'updated'; readonly slot: number }
  | { readonly kind: 'unchanged'; readonly slot: number };

export interface LineRefusal {
  readonly line: number;
  readonly id?: string;
  readonly code: LineRefusalCode;
  readonly reason: string;
}

export interface ImportReport {
  lines: number;
  inserted: number;
  updated: number;
  unchanged: number;
  deleted: number;
  refused: number;
  /** The first `maxListedRefusals` refusals, in line order. */
  refusals: LineRefusal[];
}

export interface ImportOptions {
  /** Date stored with new or changed profiles (xs:date). */
  readonly today: string;
  /** Keep an engine in step with the changes as they are committed. */
  readonly changes?: ProfileChanges;
  readonly maxListedRefusals?: number;
  /** Lines per transaction. */
  readonly batch?: number;
}

type Row = { slot: number; id: string; type: ProfileType; agency: string; stored_on: string; loci: Buffer; amelogenin: string | null };

export class ProfileStore implements EngineSource {
  private readonly byId: Database.Statement<[string], Row>;
  private readonly bySlot: Database.Statement<[number], Row>;
  private readonly insertRow: Database.Statement<[string, string, string, string, Buffer, string | null, number]>;
  private readonly updateRow: Database.Statement<[string, string, string, Buffer, string | null, number, number]>;
  private readonly deleteRow: Database.Statement<[number]>;
  private readonly tombstone: Database.Statement<[number, number]>;
  private readonly codes = new Uint16Array(MATCH_LOCUS_COUNT * 2);

  private constructor(private readonly db: Database.Database) {
    this.byId = db.prepare('SELECT slot, id, type, agency, stored_on, loci, amelogenin FROM profiles WHERE id = ?');
    this.bySlot = db.prepare('SELECT slot, id, type, agency, stored_on, loci, amelogenin FROM profiles WHERE slot = ?');
    this.insertRow = db.prepare('INSERT INTO profiles (id, type, agency, stored_on, loci, amelogenin, seq) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.updateRow = db.prepare('UPDATE profiles SET type = ?, agency = ?, stored_on = ?, loci = ?, amelogenin = ?, seq = ? WHERE slot = ?');
    this.deleteRow = db.prepare('DELETE FROM profiles WHERE slot = ?');
    this.tombstone = db.prepare('INSERT OR REPLACE INTO removed (slot, seq) VALUES (?, ?)');
  }

  /** Opens (creating if needed) a store file; ':memory:' gives a throwaway store (CLI search over JSON Lines). */
  static open(path: string): ProfileStore {
    preparePrivateDatabaseFile(path); // the national DNA database: 0600, like the gateway's file
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(SCHEMA);
    if ((db.pragma('user_version', { simple: true }) as number) < STORE_VERSION) {
      db.transaction(() => {
        const columns = db.prepare('PRAGMA table_info(profiles)').all() as Array<{ name: string }>;
        if (!columns.some((c) => c.name === 'seq')) db.exec(ADD_SEQ);
        else db.exec('CREATE INDEX IF NOT EXISTS profiles_seq ON profiles (seq, slot)');
        db.pragma(`user_version = ${STORE_VERSION}`);
      })();
    }
    return new ProfileStore(db);
  }

  close(): void {
    this.db.close();
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM profiles').get() as { n: number }).n;
  }

  /** Bumped by every import that changed something; a running daemon rebuilds its index when it moves. */
  generation(): number {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'generation'").get() as { value: string } | undefined;
    return row ? Number(row.value) : 0;
  }

  /** The generation that the changes written now will carry: they are published by the next bump. */
  private nextGeneration(): number {
    return this.generation() + 1;
  }

  /**
   * A page of the changes published after generation `after` up to and including `upTo`, in (generation, slot)
   * order from the cursor, with the profile as stored now; then, once the profiles are exhausted, the
   * deletions. Each page walks the (seq, slot) index from where the last one stopped, so a page costs its own
   * size whatever the delta's, and a large delta never holds the daemon's thread. A change of an import still
   * running carries a later generation and is left for the next delta, as is a row changed again meanwhile.
   */
  changesPage(after: number, upTo: number, cursor: ChangeCursor, limit: number): { changes: StoreChange[]; next: ChangeCursor | null } {
    const changes: StoreChange[] = [];
    const from = cursor.seq > after ? cursor : { ...cursor, seq: after, slot: Number.MAX_SAFE_INTEGER };
    if (cursor.phase === 'profiles') {
      const rows = this.db
        .prepare('SELECT slot, id, type, agency, stored_on, loci, amelogenin, seq FROM profiles WHERE (seq, slot) > (?, ?) AND seq <= ? ORDER BY seq, slot LIMIT ?')
        .all(from.seq, from.slot, upTo, limit) as Array<Row & { seq: number }>;
      for (const row of rows) changes.push({ slot: row.slot, profile: this.toStored(row).profile });
      const last = rows[rows.length - 1];
      return { changes, next: rows.length === limit && last ? { phase: 'profiles', seq: last.seq, slot: last.slot } : { phase: 'removed', seq: 0, slot: 0 } };
    }
    const gone = this.db
      .prepare('SELECT slot, seq FROM removed WHERE (seq, slot) > (?, ?) AND seq <= ? ORDER BY seq, slot LIMIT ?')
      .all(from.seq, from.slot, upTo, limit) as Array<{ slot: number; seq: number }>;
    for (const g of gone) changes.push({ slot: g.slot, profile: null });
    const last = gone[gone.length - 1];
    return { changes, next: gone.length === limit && last ? { phase: 'removed', seq: last.seq, slot: last.slot } : null };
  }

  /** Profiles of a type published after generation `after` up to `upTo` (a comparison run's size). */
  countOfType(type: ProfileType, after: number, upTo: number): number {
    return this.db.prepare('SELECT count(*) FROM profiles WHERE type = ? AND seq > ? AND seq <= ?').pluck().get(type, after, upTo) as number;
  }

  /** The next page of those profiles in slot order after `afterSlot` (a comparison run's next batch). */
  pageOfType(type: ProfileType, after: number, upTo: number, afterSlot: number, limit: number): StoredProfile[] {
    const rows = this.db
      .prepare('SELECT slot, id, type, agency, stored_on, loci, amelogenin FROM profiles WHERE type = ? AND seq > ? AND seq <= ? AND slot > ? ORDER BY slot LIMIT ?')
      .all(type, after, upTo, afterSlot, limit) as Row[];
    return rows.map((r) => this.toStored(r));
  }

  /** How many changes were published after generation `after` up to `upTo` (a delta too large is a rebuild). */
  countChangesBetween(after: number, upTo: number): number {
    const a = this.db.prepare('SELECT count(*) FROM profiles WHERE seq > ? AND seq <= ?').pluck().get(after, upTo) as number;
    const b = this.db.prepare('SELECT count(*) FROM removed WHERE seq > ? AND seq <= ?').pluck().get(after, upTo) as number;
    return a + b;
  }

  private bumpGeneration(): void {
    this.db
      .prepare("INSERT INTO meta (key, value) VALUES ('generation', '1') ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1")
      .run();
  }

  forEachEncoded(visit: (slot: number, codes: Uint16Array) => void): void {
    const stmt = this.db.prepare('SELECT slot, loci FROM profiles').raw(true);
    for (const row of stmt.iterate() as IterableIterator<[number, Buffer]>) {
      // Rows are only written by this module; one that does not decode is skipped rather than guessed.
      if (blobToCodes(row[1], this.codes)) visit(row[0], this.codes);
    }
  }

  private toStored(row: Row): StoredProfile {
    const codes = new Uint16Array(MATCH_LOCUS_COUNT * 2);
    blobToCodes(row.loci, codes);
    const loci: Record<string, AllelePair> = decodeLoci(codes);
    if (row.amelogenin !== null) {
      const [a, b] = row.amelogenin.split(',');
      loci[AMELOGENIN] = [a ?? '', b ?? ''];
    }
    return { slot: row.slot, id: row.id, type: row.type, agency: row.agency, storedOn: row.stored_on, profile: { type: row.type, loci } };
  }

  get(slot: number): StoredProfile | undefined {
    const row = this.bySlot.get(slot);
    return row ? this.toStored(row) : undefined;
  }

  getById(id: string): StoredProfile | undefined {
    const row = this.byId.get(id);
    return row ? this.toStored(row) : undefined;
  }

  /** Inserts or replaces the profile with this national id; unchanged profiles keep their date. */
  put(id: string, agency: string, profile: NormalisedProfile, today: string, seq = this.nextGeneration()): PutResult {
    const blob = codesToBlob(encodeLoci(profile.loci, this.codes));
    const amel = profile.loci[AMELOGENIN];
    const amelogenin = amel ? `${amel[0]},${amel[1]}` : null;
    const existing = this.byId.get(id);
    if (!existing) {
      const r = this.insertRow.run(id, profile.type, agency, today, blob, amelogenin, seq);
      return { kind: 'inserted', slot: Number(r.lastInsertRowid) };
    }
    if (existing.type === profile.type && existing.agency === agency && existing.amelogenin === amelogenin && existing.loci.equals(blob)) {
      return { kind: 'unchanged', slot: existing.slot };
    }
    this.updateRow.run(profile.type, agency, today, blob, amelogenin, seq, existing.slot);
    return { kind: 'updated', slot: existing.slot };
  }

  /** Deletes by national id; the slot it had, or undefined when there was none. */
  delete(id: string, seq = this.nextGeneration()): number | undefined {
    const existing = this.byId.get(id);
    if (!existing) return undefined;
    this.deleteRow.run(existing.slot);
    this.tombstone.run(existing.slot, seq);
    return existing.slot;
  }

  /** Imports JSON Lines; refused lines are reported with their number and reason, the others applied. */
  async importLines(lines: AsyncIterable<string> | Iterable<string>, options: ImportOptions): Promise<ImportReport> {
    const report: ImportReport = { lines: 0, inserted: 0, updated: 0, unchanged: 0, deleted: 0, refused: 0, refusals: [] };
    const maxListed = options.maxListedRefusals ?? 1000;
    const batch = options.batch ?? 20000;
    const refuse = (r: LineRefusal) => {
      report.refused++;
      if (report.refusals.length < maxListed) report.refusals.push(r);
    };
    // Engine changes are applied after each commit so the engine never holds what the disk does not.
    let pending: Array<{ slot: number; profile?: NormalisedProfile }> = [];
    let inTx = 0;
    const commit = () => {
      if (inTx === 0) return;
      this.db.exec('COMMIT');
      inTx = 0;
      if (options.changes) {
        for (const c of pending) {
          if (c.profile) options.changes.add(c.slot, c.profile);
          else options.changes.remove(c.slot);
        }
      }
      pending = [];
    };
    let changed = false;
    // Every change of this import is published by the one bump at its end.
    const seq = this.nextGeneration();
    try {
      for await (const line of lines) {
        const n = ++report.lines;
        const parsed = parseProfileLine(line);
        if (parsed.kind === 'blank') continue;
        if (parsed.kind === 'refused') {
          refuse({ line: n, ...(parsed.id !== undefined ? { id: parsed.id } : {}), code: parsed.code, reason: parsed.reason });
          continue;
        }
        if (inTx === 0) this.db.exec('BEGIN');
        inTx++;
        if (parsed.kind === 'delete') {
          const slot = this.delete(parsed.id, seq);
          if (slot === undefined) refuse({ line: n, id: parsed.id, code: 'UNKNOWN_ID', reason: `no profile "${parsed.id}" to delete` });
          else {
            report.deleted++;
            changed = true;
            pending.push({ slot });
          }
        } else {
          const r = this.put(parsed.id, parsed.agency, parsed.profile, options.today, seq);
          report[r.kind]++;
          if (r.kind !== 'unchanged') {
            changed = true;
            if (options.changes) pending.push({ slot: r.slot, profile: parsed.profile });
          }
        }
        if (inTx >= batch) commit();
      }
      commit();
    } finally {
      if (inTx > 0) this.db.exec('ROLLBACK');
    }
    if (changed) this.bumpGeneration();
    return report;
  }

  async importFile(path: string, options: ImportOptions): Promise<ImportReport> {
    const input = createReadStream(path, { encoding: 'utf8' });
    const rl = createInterface({ input, crlfDelay: Infinity });
    try {
      return await this.importLines(rl, options);
    } finally {
      rl.close();
      input.destroy();
    }
  }
}
