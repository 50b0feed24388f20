/**
 * A small pool of worker threads (one per core by default) searching the match engine's shared index, for
 * Art. 4 batches and bulk runs; single Art. 3 searches stay on the daemon's thread (no hop, no queue).
 *
 * Shared, not copied: the engine's arrays are on SharedArrayBuffers (engine.ts), so `use(engine)` posts only
 * their handles and a little metadata; every worker searches the very memory the daemon's thread does.
 *
 * Consistency with live updates: the daemon changes the index (deltas: engine add/remove) only inside
 * `exclusive(change)`, which holds back batches not yet started, waits for the batches running to finish, runs
 * the change and posts the changed engine's state to every worker before any held batch goes out. A batch (one
 * Art. 4 message's profiles, or each `chunk` of a bulk run, split over the workers) therefore searches one whole
 * state of the index — never half a delta, never an array the delta replaced (a grown dictionary, a sealed tail
 * block) — and the search loop needs no locks or atomics. The cost is latency on the delta's side: it waits for
 * the batches already running (a few hundred ms each at 10 M profiles), never for a whole bulk run.
 *
 * The workers run at a lower CPU priority (nice, per thread on Linux) than the daemon's thread, so an Art. 3
 * search answered there keeps the cores while batches run.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ParseResult } from './codec.js';
import type { EngineHit, EngineState, MatchEngine } from './engine.js';
import type { DnaLoci } from './profile.js';
import { workerSource } from './worker-build.js';

export interface SearchWorkerData {
  readonly nice: number;
}

export type SearchWorkerRequest =
  | { readonly t: 'use'; readonly state: EngineState }
  | { readonly t: 'slots'; readonly id: number; readonly loci: readonly DnaLoci[] }
  | { readonly t: 'request'; readonly id: number; readonly payload: Uint8Array };

export type SearchWorkerReply =
  | { readonly id: number; readonly ok: true; readonly counts: Uint32Array; readonly flat: Uint32Array }
  | { readonly id: number; readonly ok: true; readonly parsed: ParseResult; readonly loci: readonly DnaLoci[] }
  | { readonly id: number; readonly ok: false; readonly error: string };

export interface SearchPoolOptions {
  /** Worker threads; default the machine's cores (at least 1). */
  readonly size?: number;
  /** How much nicer than the daemon's thread the workers run (0 = the same priority); default 10. */
  readonly nice?: number;
  /** Profiles per job of a bulk search; default 500. */
  readonly chunk?: number;
}

/** What a PRUEMDNA request read in a worker gives: the parse result and the loci of its searchable profiles. */
export interface ReadRequest {
  readonly parsed: ParseResult;
  readonly loci: readonly DnaLoci[];
}

interface Job {
  readonly id: number;
  /** The batch the job is part of: its jobs all search the same state of the index. */
  readonly unit: Unit;
  readonly message: SearchWorkerRequest;
  readonly resolve: (reply: SearchWorkerReply) => void;
  readonly reject: (error: Error) => void;
}

interface Unit {
  /** Jobs not finished yet; a started unit's jobs go out even while a change is waiting. */
  remaining: number;
  started: boolean;
}

interface Slot {
  worker: Worker;
  job: Job | null;
}

export class SearchPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private engine: MatchEngine | null = null;
  private held = 0;
  private idleWaiters: Array<() => void> = [];
  private nextId = 1;
  private closed = false;
  private readonly chunk: number;
  private readonly nice: number;

  constructor(options: SearchPoolOptions = {}) {
    const size = Math.max(1, Math.floor(options.size ?? availableParallelism()));
    this.chunk = Math.max(1, options.chunk ?? 500);
    this.nice = options.nice ?? 10;
    for (let i = 0; i < size; i++) this.slots.push({ worker: this.spawn(), job: null });
  }

  get size(): number {
    return this.slots.length;
  }

  /** The engine the workers search from now on (after a build's swap). Jobs already running finish on the old one. */
  use(engine: MatchEngine): void {
    this.engine = engine;
    this.share();
  }

  /** True once an engine was given: the pool can search. */
  get ready(): boolean {
    return this.engine !== null && !this.closed;
  }

  /**
   * Runs `change` (which may modify the engine in use, over several turns of the event loop) while no job
   * runs, then hands the changed engine to the workers before the jobs held meanwhile go out.
   */
  async exclusive<T>(change: () => Promise<T> | T): Promise<T> {
    this.held++;
    try {
      await this.idle();
      return await change();
    } finally {
      this.held--;
      if (this.engine && !this.closed) this.share();
      this.pump();
    }
  }

  /**
   * Searches many profiles across the workers, results in the order given. Cut into batches of `chunk`
   * profiles (each searching one state of the index), each batch cut into parts for the workers to take as
   * they come free (four per worker: a worker slowed by other load does not hold the batch for a whole half).
   */
  async searchSlots(loci: readonly DnaLoci[]): Promise<EngineHit[][]> {
    if (loci.length === 0) return [];
    const parts: Promise<EngineHit[][]>[] = [];
    for (let b = 0; b < loci.length; b += this.chunk) {
      const batch = loci.slice(b, b + this.chunk);
      const per = Math.max(8, Math.ceil(batch.length / (this.slots.length * 4)));
      const unit: Unit = { remaining: Math.ceil(batch.length / per), started: false };
      for (let i = 0; i < batch.length; i += per) {
        const part = batch.slice(i, i + per);
        parts.push(this.run({ t: 'slots', id: this.nextId++, loci: part }, unit).then((r) => unpack(r, part.length)));
      }
    }
    return (await Promise.all(parts)).flat();
  }

  /** Reads (parse, XSD check, normalise) a PRUEMDNA message in a worker. */
  async readRequest(payload: Uint8Array): Promise<ReadRequest> {
    const r = await this.run({ t: 'request', id: this.nextId++, payload }, { remaining: 1, started: false });
    if (!('parsed' in r)) throw new Error('search worker answered a read with something else');
    return { parsed: r.parsed, loci: r.loci };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('search pool closed'));
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  // ---- internals -------------------------------------------------------------------------------------------

  private spawn(): Worker {
    const where = workerSource('search-worker');
    const data: SearchWorkerData = { nice: this.nice };
    const worker = new Worker(where.entry, { eval: where.eval, workerData: data, ...(where.execArgv ? { execArgv: where.execArgv } : {}) });
    // Idle workers do not keep the process alive; one with a job does (whoever waits for it needs it).
    worker.unref();
    worker.on('message', (reply: SearchWorkerReply) => {
      const slot = this.slots.find((s) => s.worker === worker);
      const job = slot?.job;
      if (!slot || !job || job.id !== reply.id) return;
      slot.job = null;
      job.unit.remaining--;
      worker.unref();
      if (reply.ok) job.resolve(reply);
      else job.reject(new Error(reply.error));
      this.settle();
    });
    const lost = (why: string) => {
      const i = this.slots.findIndex((s) => s.worker === worker);
      if (i < 0) return;
      const slot = this.slots[i]!;
      if (slot.job) {
        slot.job.unit.remaining--;
        slot.job.reject(new Error(`search worker ${why}`));
      }
      slot.job = null;
      if (this.closed) return;
      // A replacement, with the index in use, so the pool keeps its size.
      slot.worker = this.spawn();
      if (this.engine) slot.worker.postMessage({ t: 'use', state: this.engine.toTransfer().state } satisfies SearchWorkerRequest);
      this.settle();
    };
    worker.on('error', (e) => lost(`failed: ${e.message}`));
    worker.on('exit', (code) => lost(`stopped (exit code ${code})`));
    return worker;
  }

  /** Posts the engine's state to every worker: its shared arrays as handles, the few ordinary ones copied. */
  private share(): void {
    const engine = this.engine;
    if (!engine) return;
    const state = engine.toTransfer().state;
    for (const s of this.slots) s.worker.postMessage({ t: 'use', state } satisfies SearchWorkerRequest);
  }

  private run(message: SearchWorkerRequest & { id: number }, unit: Unit): Promise<SearchWorkerReply> {
    if (this.closed) return Promise.reject(new Error('search pool closed'));
    if (message.t !== 'request' && !this.engine) return Promise.reject(new Error('search pool has no index yet'));
    return new Promise<SearchWorkerReply>((resolve, reject) => {
      this.queue.push({ id: message.id, unit, message, resolve, reject });
      this.pump();
    });
  }

  /** Jobs to idle workers, oldest first; while a change waits, only jobs of batches already started. */
  private pump(): void {
    if (this.closed) return;
    for (const slot of this.slots) {
      if (slot.job) continue;
      const i = this.held > 0 ? this.queue.findIndex((j) => j.unit.started) : 0;
      if (i < 0 || i >= this.queue.length) return;
      const job = this.queue.splice(i, 1)[0]!;
      job.unit.started = true;
      slot.job = job;
      slot.worker.ref();
      slot.worker.postMessage(job.message);
    }
  }

  /** No batch started and unfinished: a change may go ahead. */
  private quiet(): boolean {
    return this.slots.every((s) => s.job === null) && !this.queue.some((j) => j.unit.started);
  }

  private settle(): void {
    if (this.quiet()) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
    this.pump();
  }

  private idle(): Promise<void> {
    if (this.quiet()) return Promise.resolve();
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }
}

function unpack(reply: SearchWorkerReply, n: number): EngineHit[][] {
  if (!reply.ok || !('counts' in reply) || reply.counts.length !== n) throw new Error('search worker answered with something else');
  const out: EngineHit[][] = [];
  let k = 0;
  for (let i = 0; i < n; i++) {
    const hits: EngineHit[] = [];
    for (let c = 0; c < reply.counts[i]!; c++) {
      hits.push({ slot: reply.flat[k]!, quality: reply.flat[k + 1]! as EngineHit['quality'], hitcount: reply.flat[k + 2]! });
      k += 3;
    }
    out.push(hits);
  }
  return out;
}
