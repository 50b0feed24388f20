/**
 * The fuzz campaign supervisor: makes the seeds (real messages, real token), then runs each
 * parser's campaign in a watched worker thread (worker.ts), one parser at a time. A worker whose
 * current input does not finish within `hangMs` is a hang: it is stopped, the input recorded, and
 * the campaign goes on from the next input; a worker that exceeds its heap limit (unbounded
 * allocation) or dies is recorded the same way.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { makeSeeds, PARSERS, type ParserName, type SeedSet } from './seeds.js';
import type { Snapshot, WorkerInput } from './worker.js';

export interface CampaignOptions {
  readonly count: number;
  readonly seed: number;
  readonly parsers?: readonly ParserName[];
  /** Per-input time budget: inputs over it are counted (reported, not a failure). */
  readonly budgetMs?: number;
  /** No progress on one input for this long: a hang. */
  readonly hangMs?: number;
  /** The worker's old-generation heap limit: above it, the input is an unbounded allocation. */
  readonly heapLimitMb?: number;
  readonly onProgress?: (line: string) => void;
  /** Called with each parser's report as soon as it is done (a long run keeps what it measured). */
  readonly onReport?: (report: ParserReport) => void;
}

/** One parser's campaign, merged over its workers (a hang or a death starts a new one). */
export interface ParserReport
  extends Pick<Snapshot, 'outcomes' | 'seedOutcomes' | 'crashes' | 'crashCount' | 'maxMs' | 'maxIndex' | 'overBudget' | 'medianUs' | 'p99Us' | 'heapStartMb' | 'heapEndMb' | 'heapPeakMb' | 'largestInput'> {
  readonly parser: ParserName;
  readonly inputs: number;
  /** Inputs whose time and outcome were recorded (all but those lost with a stopped worker). */
  readonly measured: number;
  readonly hangs: number[];
  readonly deaths: Array<{ index: number; reason: string }>;
  readonly wallMs: number;
  readonly parseMs: number;
}

export interface CampaignResult {
  readonly seedsMs: number;
  readonly seedCounts: Record<ParserName, number>;
  readonly reports: ParserReport[];
}

function startWorker(input: WorkerInput, heapLimitMb: number): Worker {
  const source = new URL('./worker.ts', import.meta.url).href;
  const api = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(api)}).then(({ tsImport }) => tsImport(${JSON.stringify(source)}, ${JSON.stringify(import.meta.url)}))`;
  return new Worker(boot, { eval: true, execArgv: [], workerData: input, resourceLimits: { maxOldGenerationSizeMb: heapLimitMb } });
}

async function runParser(parser: ParserName, set: SeedSet, opts: Required<Omit<CampaignOptions, 'parsers' | 'onProgress' | 'onReport'>> & Pick<CampaignOptions, 'onProgress'>): Promise<ParserReport> {
  const started = performance.now();
  const segments: Snapshot[] = [];
  const hangs: number[] = [];
  const deaths: Array<{ index: number; reason: string }> = [];
  let from = 0;
  while (from < opts.count) {
    const progress = new SharedArrayBuffer(8);
    const view = new Int32Array(progress);
    Atomics.store(view, 0, from);
    const worker = startWorker({ parser, set, seed: opts.seed, from, count: opts.count, budgetMs: opts.budgetMs, progress }, opts.heapLimitMb);
    let last: Snapshot | null = null;
    const ended = await new Promise<{ kind: 'done' } | { kind: 'hang'; index: number } | { kind: 'died'; index: number; reason: string }>((resolve) => {
      let seenIndex = -1;
      let seenAt = performance.now();
      let settled = false;
      const finish = (r: { kind: 'done' } | { kind: 'hang'; index: number } | { kind: 'died'; index: number; reason: string }) => {
        if (settled) return;
        settled = true;
        clearInterval(watch);
        resolve(r);
      };
      const watch = setInterval(() => {
        const index = Atomics.load(view, 0);
        if (index !== seenIndex) {
          seenIndex = index;
          seenAt = performance.now();
        } else if (performance.now() - seenAt > opts.hangMs && Atomics.load(view, 1) === 0) {
          void worker.terminate();
          finish({ kind: 'hang', index });
        }
      }, 250);
      worker.on('message', (m: Snapshot) => {
        last = m;
        if (m.final) finish({ kind: 'done' });
        else if (opts.onProgress && m.done % 10000 === 0) opts.onProgress(`  ${parser}: ${m.from + m.done} inputs`);
      });
      worker.on('error', (e) => finish({ kind: 'died', index: Atomics.load(view, 0), reason: `${(e as NodeJS.ErrnoException).code ?? e.name}: ${e.message}`.slice(0, 300) }));
      worker.on('exit', (code) => finish({ kind: 'died', index: Atomics.load(view, 0), reason: `worker exited with ${code}` }));
    });
    if (last) segments.push(last);
    if (ended.kind === 'done') break;
    await worker.terminate();
    if (ended.kind === 'hang') hangs.push(ended.index);
    else deaths.push({ index: ended.index, reason: ended.reason });
    from = ended.index + 1;
  }
  const sum = (f: (s: Snapshot) => number) => segments.reduce((a, s) => a + f(s), 0);
  const max = (f: (s: Snapshot) => number) => segments.reduce((a, s) => Math.max(a, f(s)), 0);
  const outcomes: Record<string, number> = {};
  for (const s of segments) for (const [k, v] of Object.entries(s.outcomes)) outcomes[k] = (outcomes[k] ?? 0) + v;
  const biggest = [...segments].sort((a, b) => b.done - a.done)[0];
  const slowest = [...segments].sort((a, b) => b.maxMs - a.maxMs)[0];
  return {
    parser,
    inputs: opts.count,
    measured: sum((s) => s.done),
    outcomes,
    seedOutcomes: segments[0]?.seedOutcomes ?? [],
    crashes: segments.flatMap((s) => s.crashes).slice(0, 20),
    crashCount: sum((s) => s.crashCount),
    hangs,
    deaths,
    wallMs: performance.now() - started,
    parseMs: sum((s) => s.totalMs),
    medianUs: biggest?.medianUs ?? 0,
    p99Us: biggest?.p99Us ?? 0,
    maxMs: slowest?.maxMs ?? 0,
    maxIndex: slowest?.maxIndex ?? -1,
    overBudget: sum((s) => s.overBudget),
    heapStartMb: segments[0]?.heapStartMb ?? 0,
    heapEndMb: segments.at(-1)?.heapEndMb ?? 0,
    heapPeakMb: max((s) => s.heapPeakMb),
    largestInput: max((s) => s.largestInput),
  };
}

export async function runCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const opts = { budgetMs: 250, hangMs: 60_000, heapLimitMb: 512, ...options };
  const dir = mkdtempSync(join(tmpdir(), 'pruem-fuzz-'));
  const t0 = performance.now();
  let seeds: Awaited<ReturnType<typeof makeSeeds>>;
  try {
    seeds = await makeSeeds(join(dir, 'seeds'));
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const { set, tt } = seeds;
  const seedsMs = performance.now() - t0;
  // The token's PKCS#11 module reads SOFTHSM2_CONF from the process environment, which a worker cannot change.
  const savedConf = process.env.SOFTHSM2_CONF;
  process.env.SOFTHSM2_CONF = set.token.conf;
  try {
    const reports: ParserReport[] = [];
    for (const parser of opts.parsers ?? PARSERS) {
      opts.onProgress?.(`${parser}: ${opts.count} inputs…`);
      const report = await runParser(parser, set, opts);
      reports.push(report);
      opts.onReport?.(report);
    }
    const seedCounts = Object.fromEntries(PARSERS.map((p) => [p, set.files[p].length])) as Record<ParserName, number>;
    return { seedsMs, seedCounts, reports };
  } finally {
    if (savedConf === undefined) delete process.env.SOFTHSM2_CONF;
    else process.env.SOFTHSM2_CONF = savedConf;
    tt.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The campaign's figures as a table, one row per parser. */
export function formatCampaign(r: CampaignResult): string {
  return [FUZZ_TABLE_HEAD, ...r.reports.map(formatParserRow), ...r.reports.flatMap(parserDetails)].join('\n');
}

export function formatParserRow(p: ParserReport): string {
  const ranked = Object.entries(p.outcomes).sort((a, b) => b[1] - a[1]);
  // A catch-all refusal is a parser leak behind openMessage: always shown, however rare.
  const shown = [...ranked.slice(0, 4), ...ranked.slice(4).filter(([k]) => k === 'CATCH_ALL' || k === 'ok')];
  const top = shown.map(([k, v]) => `${k} ${v}`).join(', ');
  return [
    p.parser.padEnd(13),
    String(p.inputs).padStart(8),
    `${(p.wallMs / 1000).toFixed(1)} s`.padStart(9),
    `${Math.round(p.inputs / (p.wallMs / 1000))}/s`.padStart(8),
    `${((p.parseMs * 1000) / Math.max(p.measured, 1)).toFixed(0)} µs`.padStart(9),
    `${p.medianUs.toFixed(0)} µs`.padStart(9),
    `${p.p99Us.toFixed(0)} µs`.padStart(10),
    `${p.maxMs.toFixed(1)} ms #${p.maxIndex}`.padStart(18),
    String(p.overBudget).padStart(5),
    `${p.heapStartMb.toFixed(0)}→${p.heapEndMb.toFixed(0)} (peak ${p.heapPeakMb.toFixed(0)}) MB`.padStart(22),
    String(p.crashCount).padStart(6),
    String(p.hangs.length).padStart(5),
    String(p.deaths.length).padStart(5),
    `  ${top}`,
  ].join(' ');
}

export const FUZZ_TABLE_HEAD = ['parser'.padEnd(13), 'inputs'.padStart(8), 'time'.padStart(9), 'rate'.padStart(8), 'mean'.padStart(9), 'median'.padStart(9), 'p99'.padStart(10), 'slowest input'.padStart(18), '>bud'.padStart(5), 'heap after GC'.padStart(22), 'crash'.padStart(6), 'hang'.padStart(5), 'died'.padStart(5), '  outcomes (top 4)'].join(' ');

/** Each crash, hang and death of one parser's campaign, with the input's index (reproducible from the seed). */
export function parserDetails(p: ParserReport): string[] {
  return [
    ...p.crashes.map((c) => `CRASH ${p.parser} input #${c.index}: ${c.message}`),
    ...p.hangs.map((i) => `HANG ${p.parser} input #${i}`),
    ...p.deaths.map((d) => `DIED ${p.parser} input #${d.index}: ${d.reason}`),
  ];
}
