/**
 * The vehicle journal's committer thread: its own connection to the gateway's SQLite file, its own
 * AuditLog and Statistics over it, committing the exchanges the main thread sends in batches (one
 * transaction per batch). With synchronous=FULL each commit waits for the disk (~1–7 ms here); in this
 * thread that wait no longer stops the event loop that verifies, searches and signs.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../db/database.js';
import { AuditLog } from '../audit/log.js';
import { Statistics } from '../exchange/statistics.js';
import { VehicleJournal, type VehicleExchange } from './journal.js';
import type { VehicleSettings } from '../config/config.js';

export interface JournalWorkerData {
  readonly dbPath: string;
  readonly origin: string;
  readonly logging: VehicleSettings['logging'];
}

export type JournalWorkerRequest = { readonly id: number; readonly x: VehicleExchange };
/** `batch`: which commit the exchange was in (counted from 1); `commitMs`: how long that commit took, fsync included. */
export type JournalWorkerReply = { readonly id: number; readonly error: string | null; readonly batch: number; readonly commitMs: number };

const data = workerData as JournalWorkerData;
const db = openDatabase(data.dbPath);
const journal = new VehicleJournal(db, new AuditLog(db, { origin: data.origin }), new Statistics(db), data.logging);
let pending: JournalWorkerRequest[] = [];
let scheduled = false;
let batches = 0;

function flush(): void {
  scheduled = false;
  const batch = pending;
  pending = [];
  let errors: unknown[];
  const started = performance.now();
  try {
    errors = journal.recordBatch(batch.map((b) => b.x));
  } catch (e) {
    errors = batch.map(() => e);
  }
  const commitMs = performance.now() - started;
  const n = ++batches;
  batch.forEach((b, i) => {
    const e = errors[i];
    parentPort?.postMessage({ id: b.id, error: e ? (e instanceof Error ? e.message : String(e)) : null, batch: n, commitMs } satisfies JournalWorkerReply);
  });
}

parentPort?.on('message', (m: JournalWorkerRequest | 'close') => {
  if (m === 'close') {
    if (pending.length) flush();
    db.close();
    parentPort?.close();
    return;
  }
  pending.push(m);
  // Everything that arrived while the last commit waited for the disk goes into the next one.
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
});
