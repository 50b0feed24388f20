/**
 * Search worker thread (started by search-pool.ts): searches the daemon's match engine through its shared
 * arrays (SharedArrayBuffer, no copy) and reads PRUEMDNA batches (parse, XSD check, normalisation) off the
 * daemon's thread. It only ever reads the index; the daemon changes it only while no job runs here and then
 * sends the changed engine's state again (see search-pool.ts), so a job sees one whole state of the index.
 *
 * Runs at a lower CPU priority than the daemon's thread (on Linux the nice value is per thread): single Art. 3
 * searches, answered on the daemon's thread, keep the cores first.
 */
import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { parsePruemDna } from './codec.js';
import { MatchEngine, type EngineHit } from './engine.js';
import { normaliseRequestProfiles } from './handler.js';
import type { DnaLoci } from './profile.js';
import type { SearchWorkerData, SearchWorkerReply, SearchWorkerRequest } from './search-pool.js';

const port = parentPort;
if (!port) throw new Error('search-worker runs in a worker thread (see search-pool.ts)');
const { nice } = workerData as SearchWorkerData;
if (nice > 0) {
  try {
    // pid 0: this thread only, on Linux (a new thread starts with its creator's value: the daemon's).
    setPriority(Math.min(19, getPriority() + nice));
  } catch {
    // Not allowed here (a container without CAP_SYS_NICE can still lower priority, so this is rare): run as is.
  }
}

let engine: MatchEngine | null = null;
const noRecords = { get: () => undefined };

/** Hits packed for the trip back: per profile its hit count, then (slot, quality, hitcount) triples. */
function pack(all: readonly EngineHit[][]): { counts: Uint32Array; flat: Uint32Array } {
  const counts = new Uint32Array(all.length);
  let total = 0;
  all.forEach((h, i) => {
    counts[i] = h.length;
    total += h.length;
  });
  const flat = new Uint32Array(total * 3);
  let k = 0;
  for (const hits of all) {
    for (const h of hits) {
      flat[k++] = h.slot;
      flat[k++] = h.quality;
      flat[k++] = h.hitcount;
    }
  }
  return { counts, flat };
}

function searchAll(loci: readonly DnaLoci[]): { counts: Uint32Array; flat: Uint32Array } {
  if (!engine) throw new Error('search worker has no index yet');
  const e = engine;
  return pack(loci.map((l) => e.searchSlots(l)));
}

port.on('message', (m: SearchWorkerRequest) => {
  let reply: SearchWorkerReply;
  let transfer: ArrayBuffer[] = [];
  if (m.t === 'use') {
    try {
      engine = MatchEngine.fromTransfer(m.state, noRecords);
    } catch {
      // A state that does not restore leaves no index here: jobs fail (the daemon then searches on its own
      // thread) rather than search an older state.
      engine = null;
    }
    return;
  }
  try {
    if (m.t === 'slots') {
      const r = searchAll(m.loci);
      reply = { id: m.id, ok: true, counts: r.counts, flat: r.flat };
      transfer = [r.counts.buffer as ArrayBuffer, r.flat.buffer as ArrayBuffer];
    } else {
      // A request read here: the daemon's thread gets the parsed message and the profiles to search, already
      // normalised as the answer will read them (handler.ts), so it never parses or validates 500 profiles.
      const parsed = parsePruemDna(m.payload);
      const loci = parsed.ok && parsed.message.header.direction === 'R'
        ? normaliseRequestProfiles(parsed.message).flatMap((n) => (n.ok ? [n.profile.loci] : []))
        : [];
      reply = { id: m.id, ok: true, parsed, loci };
    }
  } catch (error) {
    reply = { id: m.id, ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(reply, transfer);
});
