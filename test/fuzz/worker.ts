/**
 * One parser's campaign, in a worker thread so the supervisor (campaign.ts) can watch it: the index
 * of the input being parsed is kept in shared memory, and a worker whose index stops moving is a
 * hang; a worker that dies (out of its heap limit, or a native crash) is reported at that index.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { getHeapStatistics } from 'node:v8';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Token } from '../../appliance/token/token.js';
import { inputRng, mutate } from './mutate.js';
import { loadSeeds, SEED_KIND, type ParserName, type SeedSet } from './seeds.js';
import { makeTarget } from './targets.js';

export interface WorkerInput {
  readonly parser: ParserName;
  readonly set: SeedSet;
  readonly seed: number;
  readonly from: number;
  readonly count: number;
  readonly budgetMs: number;
  /** [0]: index of the input being parsed; [1]: 1 once done. */
  readonly progress: SharedArrayBuffer;
}

export interface Snapshot {
  readonly parser: ParserName;
  readonly from: number;
  /** Inputs parsed so far (from `from`). */
  readonly done: number;
  readonly outcomes: Record<string, number>;
  readonly seedOutcomes: string[];
  readonly crashes: Array<{ index: number; message: string }>;
  readonly crashCount: number;
  readonly totalMs: number;
  readonly maxMs: number;
  readonly maxIndex: number;
  readonly overBudget: number;
  /** Sorted per-input times are summarised here: median and 99th percentile. */
  readonly medianUs: number;
  readonly p99Us: number;
  readonly heapStartMb: number;
  readonly heapEndMb: number;
  readonly heapPeakMb: number;
  readonly largestInput: number;
  readonly final: boolean;
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapMb = () => getHeapStatistics().used_heap_size / 1048576;

const d = workerData as WorkerInput;
const progress = new Int32Array(d.progress);
const seeds = loadSeeds(d.set, d.parser);
let token: Token | null = null;
if (d.parser === 'cms-enveloped' || d.parser === 'open-message') {
  token = await Token.open({ module: d.set.token.module, label: d.set.token.label, pin: d.set.token.pin, softhsmConf: d.set.token.conf });
}
const target = makeTarget(d.parser, d.set, token);

const outcomes: Record<string, number> = {};
const crashes: Array<{ index: number; message: string }> = [];
let crashCount = 0;
const times = new Float64Array(Math.max(0, d.count - d.from));
let totalMs = 0;
let maxMs = 0;
let maxIndex = -1;
let overBudget = 0;
let largestInput = 0;

const seedOutcomes: string[] = [];
if (d.from === 0) {
  for (const s of seeds) {
    try {
      seedOutcomes.push(await target(s));
    } catch (e) {
      seedOutcomes.push(`CRASH: ${(e as Error).message}`);
    }
  }
}
gc();
const heapStartMb = heapMb();
let heapPeakMb = heapStartMb;

function snapshot(done: number, final: boolean): Snapshot {
  // Percentiles on the final snapshot only: sorting every 500 inputs would cost more than the parsing.
  const sorted = final ? times.slice(0, done).sort() : null;
  const at = (q: number) => (sorted && done ? (sorted[Math.min(done - 1, Math.floor(q * done))] as number) * 1000 : 0);
  let heapEndMb = heapMb();
  if (final) {
    gc();
    heapEndMb = heapMb();
  }
  return {
    parser: d.parser, from: d.from, done, outcomes: { ...outcomes }, seedOutcomes, crashes: crashes.slice(0, 20), crashCount, totalMs, maxMs, maxIndex, overBudget,
    medianUs: at(0.5), p99Us: at(0.99), heapStartMb, heapEndMb, heapPeakMb, largestInput, final,
  };
}

for (let i = d.from; i < d.count; i++) {
  Atomics.store(progress, 0, i);
  const input = mutate(inputRng(d.seed, d.parser, i), seeds, SEED_KIND[d.parser]);
  if (input.length > largestInput) largestInput = input.length;
  const t0 = performance.now();
  let outcome: string;
  try {
    outcome = await target(input);
  } catch (e) {
    outcome = 'CRASH';
    crashCount++;
    if (crashes.length < 20) crashes.push({ index: i, message: (e instanceof Error ? `${e.name}: ${e.message}\n${(e.stack ?? '').split('\n').slice(1, 4).join('\n')}` : String(e)).slice(0, 600) });
  }
  const ms = performance.now() - t0;
  times[i - d.from] = ms;
  totalMs += ms;
  if (ms > maxMs) {
    maxMs = ms;
    maxIndex = i;
  }
  if (ms > d.budgetMs) overBudget++;
  outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  if ((i - d.from) % 500 === 499) {
    const h = heapMb();
    if (h > heapPeakMb) heapPeakMb = h;
    parentPort?.postMessage(snapshot(i - d.from + 1, false));
  }
}
await token?.close();
Atomics.store(progress, 1, 1);
parentPort?.postMessage(snapshot(d.count - d.from, true));
