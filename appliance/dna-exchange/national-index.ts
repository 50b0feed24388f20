/**
 * The in-memory index over the national DNA store, as the daemon uses it. Built in a worker thread (44 s at
 * 10 M profiles: on the main thread that froze the SMTP receiver, the console and the APIs) and handed over
 * without a copy; built again the same way when `pruem dna import` changed the store (its generation counter
 * moved). While a rebuild runs, searches use the previous index; the new one replaces it in one assignment
 * when it is ready, and a failed build leaves the previous one in place.
 *
 * Once an index is in use, an import's changes reach it as a delta (`applyDelta`): the profiles the import
 * published (store.ts stamps each change with its generation) are added, replaced or removed in the index in
 * use, a page at a time with the event loop turning between pages, so a delta of 10 000 profiles is
 * searchable within seconds at 10 M without a second index in memory. A delta larger than `deltaLimit` (a
 * first load, a re-import of everything) is a full rebuild in the worker as before; start-up always is.
 *
 * Before the first index exists nothing can be searched: `current()` throws `IndexNotReadyError`, which the
 * exchange pipeline treats as a temporary failure (the message stays queued and is retried), so no peer gets
 * a wrong "no hit" or an E answer because we were starting. Built on first use or on `refresh()`, so commands
 * that only queue a link test or export the audit log never pay for it.
 */
import { MatchEngine, type EngineBuildOptions, type Hit } from '../dna/engine.js';
import type { DnaLoci, NormalisedProfile } from '../dna/profile.js';
import { SearchPool, type ReadRequest } from '../dna/search-pool.js';
import { FIRST_CHANGE, type ChangeCursor, type ProfileStore } from '../dna/store.js';
import { startWorkerBuild, type WorkerBuild } from '../dna/worker-build.js';

/** No index to search yet: a temporary condition (the pipeline keeps the message and tries again). */
export class IndexNotReadyError extends Error {
  override readonly name = 'IndexNotReadyError';
  readonly code = 'DNA_INDEX_NOT_READY';
}

export type IndexBuildOutcome =
  | {
      readonly kind: 'build';
      readonly ok: true;
      /** The first index of this process (nothing could be searched before). */
      readonly first: boolean;
      readonly profiles: number;
      readonly generation: number;
      /** Building in the worker (reading the store and indexing). */
      readonly buildMs: number;
      /** From the start of the build to the index in use (worker start-up and hand-over included). */
      readonly totalMs: number;
    }
  | { readonly kind: 'build'; readonly ok: false; readonly first: boolean; readonly error: string; readonly totalMs: number };

/** A delta applied to the index in use. */
export interface IndexDeltaOutcome {
  readonly kind: 'delta';
  readonly ok: boolean;
  readonly fromGeneration: number;
  readonly generation: number;
  readonly added: number;
  readonly removed: number;
  readonly profiles: number;
  readonly totalMs: number;
  /** The longest time one page held the thread (read, decode, index): what a search may wait behind. */
  readonly longestPageMs: number;
  readonly error?: string;
}

/** For status pages: no personal data. Times are ISO-8601, null when it never happened. */
export interface NationalIndexStatus {
  readonly ready: boolean;
  readonly profiles: number | null;
  /** The store generation the index in use was built from. */
  readonly generation: number | null;
  readonly builtAt: string | null;
  /** Seconds from the start of the last successful build to its index being in use. */
  readonly buildSeconds: number | null;
  /** Set while a build runs (the first, or a rebuild while the previous index answers). */
  readonly buildingSince: string | null;
  /** The last build's failure; cleared by the next successful build. */
  readonly lastError: { readonly at: string; readonly reason: string } | null;
}

export interface NationalIndexOptions {
  /** The store's file: the worker opens it read-only next to the daemon's own connection. */
  readonly path: string;
  /** Told about every finished build, successful or not (the daemon logs them). */
  readonly onBuild?: (outcome: IndexBuildOutcome) => void;
  /** Index layout (tests); the defaults are the daemon's. */
  readonly engine?: EngineBuildOptions;
  readonly clock?: () => Date;
  /** Told about every delta applied to the index in use (the daemon logs them). */
  readonly onDelta?: (outcome: IndexDeltaOutcome) => void;
  /** Changes above which a full rebuild is cheaper than a delta; default 200 000. */
  readonly deltaLimit?: number;
  /** Changes applied per turn of the event loop; default 500. */
  readonly deltaPage?: number;
  /**
   * Worker threads searching the index for Art. 4 batches and bulk runs (search-pool.ts), started on the first
   * batch; default one per core; 0 = batches on the daemon's thread.
   */
  readonly searchThreads?: number;
}

/** After a failed first build, `current()` starts another one no more often than this (refresh() always may). */
const LAZY_RETRY_MS = 10_000;
/** Above this many changes a rebuild in the worker is cheaper than applying them on the daemon's thread. */
const DELTA_LIMIT = 200_000;
/** Changes applied per turn of the event loop: ~10 µs each (read, decode, index), so a few ms a turn. */
const DELTA_PAGE = 500;

interface Snapshot {
  readonly engine: MatchEngine;
  /** Moves forward in place as deltas are applied: the engine holds every change up to it. */
  generation: number;
  readonly builtAt: Date;
  readonly totalMs: number;
}

interface Running {
  readonly since: Date;
  readonly worker: WorkerBuild;
  readonly outcome: Promise<IndexBuildOutcome>;
}

/** The daemon's index over the national DNA store (see the top of this file). */
export class NationalIndex {
  private snapshot: Snapshot | null = null;
  private running: Running | null = null;
  private applying: Promise<IndexDeltaOutcome> | null = null;
  private lastError: { at: Date; reason: string } | null = null;
  private closed = false;
  private searchPool: SearchPool | null = null;
  private readonly clock: () => Date;

  constructor(
    readonly store: ProfileStore,
    private readonly options: NationalIndexOptions,
  ) {
    if (options.path === '' || options.path === ':memory:') {
      throw new Error('the national index is built from the store file by a worker thread: an in-memory store cannot be used');
    }
    this.clock = options.clock ?? (() => new Date());
  }

  /**
   * The index to search now. Throws `IndexNotReadyError` before the first index exists (and starts building
   * it if nothing is running): the caller's message is to be kept and tried again, not answered.
   */
  current(): MatchEngine {
    if (this.snapshot) return this.snapshot.engine;
    if (!this.running && !this.closed && !(this.lastError && this.clock().getTime() - this.lastError.at.getTime() < LAZY_RETRY_MS)) {
      void this.start();
    }
    if (this.running) throw new IndexNotReadyError('national DNA index is being built');
    throw new IndexNotReadyError(`national DNA index is not available (last build failed: ${this.lastError?.reason ?? 'closed'}); it will be built again`);
  }

  /** The index once it exists: waits for the running build, starting one if needed; rejects if that build fails. */
  async ready(): Promise<MatchEngine> {
    if (this.snapshot) return this.snapshot.engine;
    if (this.closed) throw new IndexNotReadyError('national DNA index is closed');
    if (!this.running) void this.start();
    const running = this.running as Running | null;
    if (running) {
      // The worker does not hold the process open by itself (see WorkerBuild.hold); someone now waits for it.
      running.worker.hold();
      await running.outcome;
    }
    const built = this.snapshot as Snapshot | null; // set by the build awaited above, if it succeeded
    if (built) return built.engine;
    throw new IndexNotReadyError(`national DNA index could not be built: ${this.lastError?.reason ?? 'closed'}`);
  }

  /**
   * Starts a build in the worker when there is no index yet or the store changed since the index in use was
   * built, and nothing is being built; returns at once. The promise gives that build's outcome (null when none
   * was started) and never rejects, so a timer can call this and forget it.
   */
  async refresh(): Promise<IndexBuildOutcome | IndexDeltaOutcome | null> {
    if (this.running || this.applying || this.closed) return null;
    if (this.snapshot) {
      let generation: number;
      try {
        generation = this.store.generation();
      } catch (e) {
        const reason = `cannot read the store generation: ${e instanceof Error ? e.message : String(e)}`;
        this.lastError = { at: this.clock(), reason };
        const outcome: IndexBuildOutcome = { kind: 'build', ok: false, first: false, error: reason, totalMs: 0 };
        this.tell(outcome);
        return outcome;
      }
      if (generation === this.snapshot.generation) return null;
      const from = this.snapshot.generation;
      if (this.store.countChangesBetween(from, generation) <= (this.options.deltaLimit ?? DELTA_LIMIT)) {
        const snapshot = this.snapshot;
        // With search workers, a delta waits for the batches running and holds new ones until it is applied
        // whole (search-pool.ts): a batch never sees half of it. Single searches here see it page by page.
        const applying = this.searchPool ? this.searchPool.exclusive(() => this.applyDelta(snapshot, from, generation)) : this.applyDelta(snapshot, from, generation);
        this.applying = applying;
        try {
          return await applying;
        } finally {
          this.applying = null;
        }
      }
    }
    return this.start();
  }

  /**
   * Applies the changes published in (from, upTo] to the engine in use, a page per turn of the event loop.
   * Searches between pages see some of the changes and not yet others, each profile whole: what a search
   * during an import always saw. Hits are checked against the stored record anyway (see search callers).
   */
  private async applyDelta(snapshot: Snapshot, from: number, upTo: number): Promise<IndexDeltaOutcome> {
    const t0 = performance.now();
    const page = this.options.deltaPage ?? DELTA_PAGE;
    let added = 0;
    let removed = 0;
    let cursor: ChangeCursor | null = FIRST_CHANGE;
    let longestPageMs = 0;
    try {
      while (cursor) {
        const pageStart = performance.now();
        if (this.closed || this.snapshot !== snapshot) throw new Error('the index was replaced or closed during the delta');
        const r: { changes: ReadonlyArray<{ slot: number; profile: NormalisedProfile | null }>; next: ChangeCursor | null } =
          this.store.changesPage(from, upTo, cursor, page);
        for (const c of r.changes) {
          if (c.profile) {
            snapshot.engine.add(c.slot, c.profile);
            added++;
          } else if (snapshot.engine.remove(c.slot)) removed++;
        }
        cursor = r.next;
        longestPageMs = Math.max(longestPageMs, performance.now() - pageStart);
        if (cursor) await new Promise<void>((resolve) => setImmediate(resolve));
      }
      snapshot.generation = upTo;
      const done: IndexDeltaOutcome = { kind: 'delta', ok: true, fromGeneration: from, generation: upTo, added, removed, profiles: snapshot.engine.size, totalMs: performance.now() - t0, longestPageMs };
      this.tellDelta(done);
      return done;
    } catch (e) {
      // The engine holds part of the delta: the next refresh re-applies it whole (add replaces, remove is idempotent).
      const error = e instanceof Error ? e.message : String(e);
      this.lastError = { at: this.clock(), reason: `delta ${from}→${upTo}: ${error}` };
      const failed: IndexDeltaOutcome = { kind: 'delta', ok: false, fromGeneration: from, generation: upTo, added, removed, profiles: snapshot.engine.size, totalMs: performance.now() - t0, longestPageMs, error };
      this.tellDelta(failed);
      return failed;
    }
  }

  private tellDelta(outcome: IndexDeltaOutcome): void {
    try {
      this.options.onDelta?.(outcome);
    } catch {
      // As for builds: a logging callback that throws must not cost us the index.
    }
  }

  /**
   * A full rebuild in the worker whatever the store's generation (an operator's "rebuild", or to give back the
   * memory of many removed profiles); null when a build or a delta is already running.
   */
  async rebuild(): Promise<IndexBuildOutcome | null> {
    if (this.running || this.applying || this.closed) return null;
    return this.start();
  }

  status(): NationalIndexStatus {
    const s = this.snapshot;
    return {
      ready: s !== null,
      profiles: s ? s.engine.size : null,
      generation: s ? s.generation : null,
      builtAt: s ? s.builtAt.toISOString() : null,
      buildSeconds: s ? s.totalMs / 1000 : null,
      buildingSince: this.running ? this.running.since.toISOString() : null,
      lastError: this.lastError ? { at: this.lastError.at.toISOString(), reason: this.lastError.reason } : null,
    };
  }

  /**
   * Art. 4 batches and bulk runs: the hits of many profiles, searched by the worker threads over the index in
   * use (both cores), each list as `MatchEngine.search` gives it. Throws `IndexNotReadyError` before the first
   * index; searches on this thread when there are no workers or they fail.
   */
  async searchBatch(profiles: ReadonlyArray<NormalisedProfile | DnaLoci>): Promise<Hit[][]> {
    const engine = this.current();
    const loci = profiles.map((p) => (isNormalised(p) ? p.loci : p));
    const pool = this.pool();
    if (!pool || loci.length < 2) return loci.map((l) => engine.search(l));
    let slots;
    try {
      slots = await pool.searchSlots(loci);
    } catch {
      // A worker lost mid-batch (it is replaced): this batch is answered here instead.
      return loci.map((l) => this.current().search(l));
    }
    // Records are read from the store whichever index found the slots (a swap meanwhile changes nothing here).
    const now = this.current();
    return loci.map((l, i) => now.resolveHits(l, slots[i]!));
  }

  /**
   * Reads an inbound PRUEMDNA message (parse, XSD check, normalisation of its profiles) in a worker thread, so
   * a batch of 500 does not hold the daemon's thread; null when there are no workers (read it here).
   */
  async readRequest(payload: Uint8Array): Promise<ReadRequest | null> {
    const pool = this.pool(true);
    if (!pool) return null;
    try {
      return await pool.readRequest(payload);
    } catch {
      return null;
    }
  }

  /** The search workers, started on first use once an index exists (or at once for reading messages). */
  private pool(withoutIndex = false): SearchPool | null {
    if (this.closed || (this.options.searchThreads ?? 1) === 0) return null;
    if (!this.searchPool && (this.snapshot || withoutIndex)) {
      this.searchPool = new SearchPool(this.options.searchThreads !== undefined ? { size: this.options.searchThreads } : {});
      if (this.snapshot) this.searchPool.use(this.snapshot.engine);
    }
    return this.searchPool;
  }

  /** Stops a running build (its outcome is a failure) and the search workers; the index in use, if any, stays usable. */
  async close(): Promise<void> {
    this.closed = true;
    await this.running?.worker.cancel();
    await this.searchPool?.close();
    this.searchPool = null;
  }

  private start(): Promise<IndexBuildOutcome> {
    const since = this.clock();
    const t0 = performance.now();
    const first = this.snapshot === null;
    let worker: WorkerBuild;
    try {
      worker = startWorkerBuild(this.options.path, this.options.engine ?? {});
    } catch (e) {
      return Promise.resolve(this.failed(first, `cannot start the index worker: ${e instanceof Error ? e.message : String(e)}`, t0));
    }
    const outcome = worker.done.then((m): IndexBuildOutcome => {
      this.running = null;
      if (!m.ok) return this.failed(first, `${this.options.path}: ${m.error}`, t0);
      if (this.closed) return this.failed(first, 'index closed during the build', t0);
      let engine: MatchEngine;
      try {
        engine = MatchEngine.fromTransfer(m.state, this.store);
      } catch (e) {
        return this.failed(first, e instanceof Error ? e.message : String(e), t0);
      }
      const totalMs = performance.now() - t0;
      // The swap: one assignment on this thread, so a search sees the old index or the new one, never a mix.
      this.snapshot = { engine, generation: m.generation, builtAt: this.clock(), totalMs };
      this.searchPool?.use(engine);
      this.lastError = null;
      const done: IndexBuildOutcome = { kind: 'build', ok: true, first, profiles: engine.size, generation: m.generation, buildMs: m.buildMs, totalMs };
      this.tell(done);
      return done;
    });
    this.running = { since, worker, outcome };
    return outcome;
  }

  private failed(first: boolean, error: string, t0: number): IndexBuildOutcome {
    this.lastError = { at: this.clock(), reason: error };
    const outcome: IndexBuildOutcome = { kind: 'build', ok: false, first, error, totalMs: performance.now() - t0 };
    this.tell(outcome);
    return outcome;
  }

  private tell(outcome: IndexBuildOutcome): void {
    try {
      this.options.onBuild?.(outcome);
    } catch {
      // A logging callback that throws must not cost us the index.
    }
  }
}

function isNormalised(p: NormalisedProfile | DnaLoci): p is NormalisedProfile {
  return typeof (p as NormalisedProfile).type === 'string' && typeof (p as NormalisedProfile).loci === 'object';
}
