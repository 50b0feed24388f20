/**
 * Builds the match engine in a worker thread (index-worker.ts) and hands back its transferable state.
 *
 * Where the worker's code is: compiled, `index-worker.js` beside this file (dist/, `pruem run`); from the
 * sources under tsx (tests, benchmarks) only `index-worker.ts` exists, and a worker does not inherit tsx's
 * loader on Node 20 — so it is started from a two-line bootstrap that loads it through tsx's API.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { EngineBuildOptions, EngineState } from './engine.js';

export interface IndexWorkerData {
  readonly path: string;
  readonly options: EngineBuildOptions;
}

/** What the worker posts: the engine (its buffers in the transfer list) or why there is none. */
export type IndexWorkerMessage =
  | { readonly ok: true; readonly state: EngineState; readonly generation: number; readonly buildMs: number }
  | { readonly ok: false; readonly error: string };

export interface WorkerBuild {
  /** Settles once, never rejects: the engine state, or the reason there is none (worker error, exit, cancel). */
  readonly done: Promise<IndexWorkerMessage>;
  /**
   * Keeps the process alive until the build ends. By default a running build does not (a CLI command or a
   * daemon that stops does not wait up to a minute for an index nobody will use); whoever awaits it calls this.
   */
  hold(): void;
  /** Stops the worker; `done` settles with a failure. */
  cancel(): Promise<void>;
}

/** How to start one of this folder's worker entries (`index-worker`, `search-worker`), compiled or under tsx. */
export function workerSource(name = 'index-worker'): { readonly entry: URL | string; readonly eval: boolean; readonly execArgv?: string[] } {
  const compiled = new URL(`./${name}.js`, import.meta.url);
  if (existsSync(fileURLToPath(compiled))) return { entry: compiled, eval: false };
  const source = new URL(`./${name}.ts`, import.meta.url);
  if (!existsSync(fileURLToPath(source))) throw new Error(`index worker not found beside ${fileURLToPath(import.meta.url)}`);
  const api = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(api)}).then(({ tsImport }) => tsImport(${JSON.stringify(source.href)}, ${JSON.stringify(import.meta.url)}))`;
  // The bootstrap loads tsx itself; the parent's own loader flags (--import tsx, --require …) would only repeat it.
  return { entry: bootstrap, eval: true, execArgv: [] };
}

export function startWorkerBuild(path: string, options: EngineBuildOptions = {}): WorkerBuild {
  const where = workerSource();
  const workerData: IndexWorkerData = { path, options: { ...options } };
  const worker = new Worker(where.entry, { eval: where.eval, workerData, ...(where.execArgv ? { execArgv: where.execArgv } : {}) });
  worker.unref();
  let settle!: (m: IndexWorkerMessage) => void;
  let settled = false;
  const done = new Promise<IndexWorkerMessage>((resolve) => {
    settle = (m) => {
      if (settled) return;
      settled = true;
      resolve(m);
    };
  });
  worker.once('message', (m: unknown) => settle(isWorkerMessage(m) ? m : { ok: false, error: 'index worker sent something that is not an index' }));
  worker.once('error', (e: Error) => settle({ ok: false, error: `index worker failed: ${e.message}` }));
  worker.once('exit', (code) => settle({ ok: false, error: `index worker stopped (exit code ${code}) before sending an index` }));
  return {
    done,
    hold: () => {
      if (!settled) worker.ref();
    },
    async cancel() {
      settle({ ok: false, error: 'index build cancelled' });
      await worker.terminate();
    },
  };
}

function isWorkerMessage(m: unknown): m is IndexWorkerMessage {
  if (typeof m !== 'object' || m === null) return false;
  const r = m as Record<string, unknown>;
  if (r.ok === false) return typeof r.error === 'string';
  return r.ok === true && typeof r.generation === 'number' && typeof r.buildMs === 'number' && typeof r.state === 'object' && r.state !== null;
}
