/**
 * The match engine built from the store file opened read-only: what the index worker runs (index-worker.ts).
 * A connection of its own, so it can run in a worker thread next to the daemon's (SQLite WAL lets a reader
 * work while `pruem dna import` writes); one read transaction, so the profiles read and the generation the
 * index is tagged with belong to the same state of the store. Read-only and `fileMustExist`: a store file that
 * went missing is an error, never a new empty database (which would replace the index with nothing).
 *
 * The SQL mirrors ProfileStore's (store.ts) for the two things a build reads: the encoded profiles and the
 * generation counter.
 */
import Database from 'better-sqlite3';
import { blobToCodes, MATCH_LOCUS_COUNT } from './encoding.js';
import { MatchEngine, type EngineBuildOptions, type EngineSource } from './engine.js';

export interface SnapshotBuild {
  readonly engine: MatchEngine;
  /** The store's generation counter in the state the engine was built from. */
  readonly generation: number;
  /** Milliseconds spent building (reading the store and indexing). */
  readonly buildMs: number;
}

export function buildFromStoreFile(path: string, options: EngineBuildOptions = {}): SnapshotBuild {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const t0 = performance.now();
    db.exec('BEGIN');
    try {
      const row = db.prepare("SELECT value FROM meta WHERE key = 'generation'").get() as { value: string } | undefined;
      const generation = row ? Number(row.value) : 0;
      const codes = new Uint16Array(MATCH_LOCUS_COUNT * 2);
      const source: EngineSource = {
        count: () => (db.prepare('SELECT count(*) AS n FROM profiles').get() as { n: number }).n,
        forEachEncoded(visit) {
          for (const [slot, blob] of db.prepare('SELECT slot, loci FROM profiles').raw(true).iterate() as IterableIterator<[number, Buffer]>) {
            // As ProfileStore does: a row that does not decode is skipped rather than guessed.
            if (blobToCodes(blob, codes)) visit(slot, codes);
          }
        },
        // The engine built here only travels (toTransfer); the receiving side answers from its own store.
        get: () => undefined,
      };
      const engine = MatchEngine.build(source, options);
      return { engine, generation, buildMs: performance.now() - t0 };
    } finally {
      db.exec('COMMIT');
    }
  } finally {
    db.close();
  }
}
