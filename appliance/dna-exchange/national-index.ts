/**
 * The in-memory index over the national DNA store, as the daemon uses it. Built in a worker thread (44 s at
 * 10 M profiles: on the main thread that froze the SMTP receiver, the console and the APIs) and handed over
 * without a copy; built again the same way when `pruem dna import` changed the store (its generation counter
 * moved). While a rebuild runs, searches use the previous index; the new one replaces it in one assignment
 * when it is ready, and a failed build leaves the previous one in place.
 *
 * Before the first index exists nothing can be searched: `current()` throws `IndexNotReadyError`, which the
 * exchange pipeline treats as a temporary failure (the message stays queued and is retried), so no peer gets
 * a wrong "no hit" or an E answer because we were starting. Built on first use or on `refresh()`, so commands
 * that only queue a link test or export the audit log never pay for it.
 */
import { MatchEngine, type EngineBuildOptions } from '../dna/engine.js';
import type { ProfileStore } from '../dna/store.js';
import { startWorkerBuild, type WorkerBuild } from '../dna/worker-build.js';

/** No index to search yet: a temporary condition (the pipeline keeps the message and tries again). */
export class IndexNotReadyError extends Error {
  override readonly name = 'IndexNotReadyError';
  readonly code = 'DNA_INDEX_NOT_READY';
}

export type IndexBuildOutcome =
  | {
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
  | { readonly ok: false; readonly first: boolean; readonly error: string; readonly totalMs: number };

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
}

/** After a failed first build, `current()` starts another one no more often than this (refresh() always may). */
const LAZY_RETRY_MS = 10_000;

interface Snapshot {
  readonly engine: MatchEngine;
  readonly generation: number;
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
  private lastError: { at: Date; reason: string } | null = null;
  private closed = false;
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
  async refresh(): Promise<IndexBuildOutcome | null> {
    if (this.running || this.closed) return null;
    if (this.snapshot) {
      let generation: number;
      try {
        generation = this.store.generation();
      } catch (e) {
        const reason = `cannot read the store generation: ${e instanceof Error ? e.message : String(e)}`;
        this.lastError = { at: this.clock(), reason };
        const outcome: IndexBuildOutcome = { ok: false, first: false, error: reason, totalMs: 0 };
        this.tell(outcome);
        return outcome;
      }
      if (generation === this.snapshot.generation) return null;
    }
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

  /** Stops a running build (its outcome is a failure); the index in use, if any, stays usable. */
  async close(): Promise<void> {
    this.closed = true;
    await this.running?.worker.cancel();
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
      this.lastError = null;
      const done: IndexBuildOutcome = { ok: true, first, profiles: engine.size, generation: m.generation, buildMs: m.buildMs, totalMs };
      this.tell(done);
      return done;
    });
    this.running = { since, worker, outcome };
    return outcome;
  }

  private failed(first: boolean, error: string, t0: number): IndexBuildOutcome {
    this.lastError = { at: this.clock(), reason: error };
    const outcome: IndexBuildOutcome = { ok: false, first, error, totalMs: performance.now() - t0 };
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
