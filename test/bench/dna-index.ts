/**
 * DNA index build benchmark: the daemon's index built in a worker thread (NationalIndex) against the same build
 * on the main thread (MatchEngine.build, the baseline, measured in the same run), on a synthetic national
 * database of N profiles (default 1 000 000) imported through the real JSON Lines → SQLite path. For each it
 * prints the build time and the main thread's longest stall (a 10 ms timer's longest gap and
 * perf_hooks.monitorEventLoopDelay), then a rebuild after an import while this thread keeps searching, with the
 * search latency during the rebuild and the agreement of the two indexes on sample requests; last, a delta of
 * 10 000 changes applied to the index in use (issue 15), with the same stall and memory watch.
 *
 *   node --import tsx test/bench/dna-index.ts [N] [--dir DIR] [--reuse] [--seed S] [--requests R]
 *
 * --dir keeps the store (default: a temp dir, removed at the end); --reuse takes DIR's store-N.sqlite as it is
 * (the same file name test/bench/dna-match.ts writes, so one import serves both benchmarks).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { MatchEngine } from '../../appliance/dna/engine.js';
import { normaliseProfile } from '../../appliance/dna/normalise.js';
import type { DnaLoci } from '../../appliance/dna/profile.js';
import { ProfileStore } from '../../appliance/dna/store.js';
import { NationalIndex } from '../../appliance/dna-exchange/national-index.js';
import { nationalRecord, populationProfile, rng } from './dna/synthetic.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    dir: { type: 'string' },
    reuse: { type: 'boolean', default: false },
    seed: { type: 'string', default: '20240501' },
    requests: { type: 'string', default: '200' },
  },
});
const N = Number((positionals[0] ?? '1000000').replace(/_/g, ''));
const SEED = Number(values.seed);
const REQUESTS = Number(values.requests);
const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'pruem-dna-index-bench-'));
mkdirSync(dir, { recursive: true });
const storePath = join(dir, `store-${N}.sqlite`);
const log = (s: string) => process.stderr.write(`${s}\n`);
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

interface Stalls {
  ms: number;
  longestStallMs: number;
  loopDelayMaxMs: number;
  loopDelayP99Ms: number;
}

/** Runs `work` with a 10 ms timer and the loop-delay histogram watching this thread. */
async function watched(work: () => Promise<unknown> | unknown): Promise<Stalls> {
  const t0 = performance.now();
  let last = t0;
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 10);
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  await work();
  longest = Math.max(longest, performance.now() - last);
  const ms = performance.now() - t0;
  clearInterval(timer);
  delay.disable();
  return { ms, longestStallMs: longest, loopDelayMaxMs: delay.max / 1e6, loopDelayP99Ms: delay.percentile(99) / 1e6 };
}

async function ensureStore(): Promise<void> {
  if (values.reuse && existsSync(storePath)) {
    log(`reusing ${storePath}`);
    return;
  }
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${storePath}${suffix}`, { force: true });
  const store = ProfileStore.open(storePath);
  const t0 = performance.now();
  const lines = function* () {
    for (let i = 0; i < N; i++) yield JSON.stringify(nationalRecord(SEED, i));
  };
  const report = await store.importLines(lines(), { today: '2024-05-01', maxListedRefusals: 0 });
  store.close();
  log(`imported ${report.inserted} profiles (${report.refused} refused by the inclusion rules) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/** Requests: half copies of our own profiles (hits), half strangers. */
function requests(store: ProfileStore, count: number): DnaLoci[] {
  const r = rng(SEED ^ 0x1dec);
  const out: DnaLoci[] = [];
  while (out.length < count) {
    if (r() < 0.5) {
      const rec = store.getById(`RO-${String(Math.floor(r() * N)).padStart(9, '0')}`);
      if (rec) out.push(rec.profile.loci);
    } else {
      const n = normaliseProfile({ type: 'S', loci: populationProfile(r) });
      if (n.ok) out.push(n.profile.loci);
    }
  }
  return out;
}

const key = (hits: ReadonlyArray<{ slot: number; quality: number; hitcount: number }>) => hits.map((h) => `${h.slot}:${h.quality}:${h.hitcount}`).sort().join(',');

async function main(): Promise<void> {
  log(`DNA index build benchmark, ${N.toLocaleString('en')} profiles, working in ${dir}`);
  await ensureStore();
  const store = ProfileStore.open(storePath);
  const sample = requests(store, REQUESTS);

  // Baseline: the build on this thread, as the daemon did before.
  let inProcess: MatchEngine | null = null;
  const baseline = await watched(() => {
    inProcess = MatchEngine.build(store);
  });
  const baselineEngine = inProcess as unknown as MatchEngine;
  log(`in process: ${(baseline.ms / 1000).toFixed(2)} s, this thread stalled ${baseline.longestStallMs.toFixed(0)} ms`);

  // The daemon's way: the first build in the worker.
  const index = new NationalIndex(store, { path: storePath });
  let firstBuildMs = NaN;
  const first = await watched(async () => {
    const outcome = await index.refresh();
    if (!outcome?.ok || outcome.kind !== 'build') throw new Error(`worker build failed: ${JSON.stringify(outcome)}`);
    firstBuildMs = outcome.buildMs;
  });
  log(`worker, first build: ${(first.ms / 1000).toFixed(2)} s to the index in use (${(firstBuildMs / 1000).toFixed(2)} s building in the worker), longest stall ${first.longestStallMs.toFixed(1)} ms`);
  let disagreements = 0;
  for (const q of sample) if (key(baselineEngine.searchSlots(q)) !== key(index.current().searchSlots(q))) disagreements++;
  log(`in-process and worker indexes on ${sample.length} requests: ${disagreements} disagreements`);

  // A rebuild after an import, with this thread searching all along (one search per turn of the loop).
  await store.importLines([JSON.stringify({ ...nationalRecord(SEED + 1, 0), id: 'BENCH-NEW-1' })], { today: '2024-05-02' });
  const idle: number[] = [];
  for (const q of sample) {
    const t = performance.now();
    index.current().search(q);
    idle.push(performance.now() - t);
  }
  const during: number[] = [];
  let rebuildBuildMs = NaN;
  const rebuild = await watched(async () => {
    const building = index.rebuild();
    let done = false;
    void building.then(() => (done = true));
    let i = 0;
    while (!done) {
      const t = performance.now();
      index.current().search(sample[i++ % sample.length]!);
      during.push(performance.now() - t);
      await new Promise((r) => setImmediate(r));
    }
    const outcome = await building;
    if (!outcome?.ok || outcome.kind !== 'build') throw new Error(`worker rebuild failed: ${JSON.stringify(outcome)}`);
    rebuildBuildMs = outcome.buildMs;
  });
  log(
    `worker, rebuild: ${(rebuild.ms / 1000).toFixed(2)} s (${(rebuildBuildMs / 1000).toFixed(2)} s building), ${during.length} searches meanwhile, ` +
      `longest stall ${rebuild.longestStallMs.toFixed(1)} ms; search p50/p99 ${percentile(during, 50).toFixed(2)}/${percentile(during, 99).toFixed(2)} ms during vs ${percentile(idle, 50).toFixed(2)}/${percentile(idle, 99).toFixed(2)} ms idle`,
  );

  // A delta import (issue 15): 10 000 changes — new profiles, replacements, deletions — reach the index in use in
  // place, while this thread keeps searching; the rebuild above is its baseline.
  const DELTA = 10_000;
  const deltaLines: string[] = [];
  const added: string[] = [];
  const deleted: string[] = [];
  for (let i = 0; i < DELTA * 0.8; i++) {
    const rec = { ...nationalRecord(SEED + 2, i), id: `DELTA-${String(i).padStart(6, '0')}` };
    added.push(rec.id);
    deltaLines.push(JSON.stringify(rec));
  }
  for (let i = 0; i < DELTA * 0.1; i++) deltaLines.push(JSON.stringify({ ...nationalRecord(SEED + 3, i), id: `RO-${String(1000 + i * 7).padStart(9, '0')}` }));
  for (let i = 0; i < DELTA * 0.1; i++) {
    const id = `RO-${String(500_000 % N + i * 11).padStart(9, '0')}`;
    if (store.getById(id)) {
      deleted.push(id);
      deltaLines.push(JSON.stringify({ id, op: 'delete' }));
    }
  }
  const tImport = performance.now();
  const deltaReport = await store.importLines(deltaLines, { today: '2024-05-03', maxListedRefusals: 0 });
  const importMs = performance.now() - tImport;
  const memBefore = process.memoryUsage();
  const duringDelta: number[] = [];
  let deltaOutcome: Awaited<ReturnType<NationalIndex['refresh']>> = null;
  const delta = await watched(async () => {
    const applying = index.refresh();
    let done = false;
    void applying.then(() => (done = true));
    let i = 0;
    while (!done) {
      const t = performance.now();
      index.current().search(sample[i++ % sample.length]!);
      duringDelta.push(performance.now() - t);
      await new Promise((r) => setImmediate(r));
    }
    deltaOutcome = await applying;
  });
  const memAfter = process.memoryUsage();
  const appliedOutcome = deltaOutcome as Awaited<ReturnType<NationalIndex['refresh']>>;
  if (!appliedOutcome?.ok || appliedOutcome.kind !== 'delta') throw new Error(`delta not applied: ${JSON.stringify(appliedOutcome)}`);
  let deltaMisses = 0;
  for (const id of added.slice(0, 200)) {
    const rec = store.getById(id);
    if (rec && !index.current().search(rec.profile.loci).some((h) => h.nationalProfileId === id)) deltaMisses++;
  }
  log(
    `delta of ${deltaLines.length} changes (${deltaReport.inserted} new, ${deltaReport.updated} replaced, ${deltaReport.deleted} deleted; import ${(importMs / 1000).toFixed(2)} s): ` +
      `applied in ${(delta.ms / 1000).toFixed(2)} s (longest page ${appliedOutcome.longestPageMs.toFixed(1)} ms), longest stall ${delta.longestStallMs.toFixed(1)} ms, ${duringDelta.length} searches meanwhile, ` +
      `memory +${((memAfter.arrayBuffers - memBefore.arrayBuffers) / 1048576).toFixed(1)} MiB array buffers, +${((memAfter.heapUsed - memBefore.heapUsed) / 1048576).toFixed(1)} MiB heap; ${deltaMisses} of 200 new profiles not found`,
  );

  const figures = {
    profiles: N,
    indexed: index.current().size,
    inProcessBuildSeconds: baseline.ms / 1000,
    inProcessLongestStallMs: baseline.longestStallMs,
    workerFirstBuildSeconds: first.ms / 1000,
    workerBuildOnlySeconds: firstBuildMs / 1000,
    workerFirstBuildLongestStallMs: first.longestStallMs,
    workerFirstBuildLoopDelayMaxMs: first.loopDelayMaxMs,
    workerRebuildSeconds: rebuild.ms / 1000,
    workerRebuildLongestStallMs: rebuild.longestStallMs,
    workerRebuildLoopDelayP99Ms: rebuild.loopDelayP99Ms,
    searchesDuringRebuild: during.length,
    searchP50DuringRebuildMs: percentile(during, 50),
    searchP99DuringRebuildMs: percentile(during, 99),
    searchP50IdleMs: percentile(idle, 50),
    searchP99IdleMs: percentile(idle, 99),
    disagreements,
    deltaChanges: deltaLines.length,
    deltaImportSeconds: importMs / 1000,
    deltaApplySeconds: delta.ms / 1000,
    deltaLongestStallMs: delta.longestStallMs,
    deltaLongestPageMs: (deltaOutcome as { longestPageMs?: number } | null)?.longestPageMs ?? NaN,
    deltaSearches: duringDelta.length,
    deltaSearchP99Ms: percentile(duringDelta, 99),
    deltaArrayBufferGrowthMiB: (memAfter.arrayBuffers - memBefore.arrayBuffers) / 1048576,
    deltaHeapGrowthMiB: (memAfter.heapUsed - memBefore.heapUsed) / 1048576,
    deltaMisses,
    rssMiB: process.memoryUsage().rss / 1048576,
  };
  console.log(
    [
      `| ${N.toLocaleString('en')} profiles (${figures.indexed.toLocaleString('en')} indexed) | build | main thread's longest stall |`,
      '| --- | --- | --- |',
      `| in process (baseline) | ${figures.inProcessBuildSeconds.toFixed(2)} s | ${figures.inProcessLongestStallMs.toFixed(0)} ms |`,
      `| worker, first build | ${figures.workerFirstBuildSeconds.toFixed(2)} s (${figures.workerBuildOnlySeconds.toFixed(2)} s in the worker) | ${figures.workerFirstBuildLongestStallMs.toFixed(1)} ms |`,
      `| worker, rebuild while searching | ${figures.workerRebuildSeconds.toFixed(2)} s | ${figures.workerRebuildLongestStallMs.toFixed(1)} ms (${during.length} searches, p99 ${figures.searchP99DuringRebuildMs.toFixed(2)} ms) |`,
      `| delta of ${figures.deltaChanges.toLocaleString('en')} changes applied in place while searching | ${figures.deltaApplySeconds.toFixed(2)} s | ${figures.deltaLongestStallMs.toFixed(1)} ms (${figures.deltaSearches} searches, p99 ${figures.deltaSearchP99Ms.toFixed(2)} ms) |`,
    ].join('\n'),
  );
  console.log(JSON.stringify(figures));
  await index.close();
  store.close();
  if (!values.dir) rmSync(dir, { recursive: true, force: true });
  if (disagreements > 0 || deltaMisses > 0) process.exitCode = 1;
}

await main();
