/**
 * Starts journal-worker.ts (compiled beside this module, or the TypeScript source through tsx as the DNA
 * index worker does) and gives the journal a committer that sends it exchanges and resolves when they are
 * on disk. Exchanges carry only plain data (strings, numbers), so they cross the thread boundary as they are.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { JournalCommitter, VehicleExchange } from './journal.js';
import type { JournalWorkerData, JournalWorkerReply } from './journal-worker.js';

function workerSource(): { readonly entry: URL | string; readonly eval: boolean; readonly execArgv?: string[] } {
  const compiled = new URL('./journal-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(compiled))) return { entry: compiled, eval: false };
  const source = new URL('./journal-worker.ts', import.meta.url);
  const api = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(api)}).then(({ tsImport }) => tsImport(${JSON.stringify(source.href)}, ${JSON.stringify(import.meta.url)}))`;
  return { entry: bootstrap, eval: true, execArgv: [] };
}

export function startJournalCommitter(data: JournalWorkerData): JournalCommitter {
  const where = workerSource();
  const worker = new Worker(where.entry, { eval: where.eval, workerData: data, ...(where.execArgv ? { execArgv: where.execArgv } : {}) });
  const waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  let next = 0;
  let failed: Error | null = null;
  // What the commits cost (answers wait for their records): for the benchmark and diagnosis. The last
  // RECENT commits' durations are kept (a ring), the counts since the start.
  const RECENT = 20_000;
  const commitMs: number[] = [];
  let commits = 0;
  let lastBatch = 0;
  let exchanges = 0;
  worker.on('message', (m: JournalWorkerReply) => {
    exchanges++;
    if (m.batch !== lastBatch) {
      lastBatch = m.batch;
      commitMs[commits++ % RECENT] = m.commitMs;
    }
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.error === null) w.resolve();
    else w.reject(new Error(m.error));
  });
  const fail = (e: Error) => {
    failed = e;
    for (const w of waiting.values()) w.reject(e);
    waiting.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`vehicle journal worker exited (${code})`)));
  return {
    stats() {
      const sorted = [...commitMs].sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
      return { exchanges, commits, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: sorted[sorted.length - 1] ?? 0 };
    },
    commit(x: VehicleExchange) {
      if (failed) return Promise.reject(failed);
      return new Promise<void>((resolve, reject) => {
        const id = ++next;
        waiting.set(id, { resolve, reject });
        worker.postMessage({ id, x });
      });
    },
    async close() {
      if (failed) return;
      const exited = new Promise<void>((r) => worker.once('exit', () => r()));
      worker.postMessage('close');
      await exited;
    },
  };
}
