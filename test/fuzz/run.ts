/**
 * The fuzz campaign, full size, one command:
 *
 *   node --import tsx test/fuzz/run.ts [--count 100000] [--seed 1] [--parsers mime,cms-signed,cms-enveloped,pruemdna,config,open-message,nist]
 *                                      [--budget-ms 250] [--hang-seconds 60] [--heap-mb 512]
 *
 * Prints, per parser: inputs, time, median/p99/slowest input, inputs over the per-input budget,
 * heap after GC at start and end (and the peak), crashes, hangs, workers that died (heap limit),
 * and the outcome counts. Any input is reproducible from (seed, parser, index). Exit 1 on a crash,
 * hang or death.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { FUZZ_TABLE_HEAD, formatCampaign, formatParserRow, parserDetails, runCampaign } from './campaign.js';
import { PARSERS, type ParserName } from './seeds.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '100000' },
    seed: { type: 'string', default: '1' },
    parsers: { type: 'string', default: PARSERS.join(',') },
    'budget-ms': { type: 'string', default: '250' },
    'hang-seconds': { type: 'string', default: '60' },
    'heap-mb': { type: 'string', default: '512' },
  },
});
const parsers = String(values.parsers).split(',') as ParserName[];
for (const p of parsers) if (!PARSERS.includes(p)) throw new Error(`unknown parser ${p} (one of ${PARSERS.join(', ')})`);
const count = Number(values.count);
const started = performance.now();
const result = await runCampaign({
  count,
  seed: Number(values.seed),
  parsers,
  budgetMs: Number(values['budget-ms']),
  hangMs: Number(values['hang-seconds']) * 1000,
  heapLimitMb: Number(values['heap-mb']),
  onProgress: (line) => process.stdout.write(`${line}\n`),
  // Each row as soon as its parser is done, so a run cut short keeps what it measured.
  onReport: (r) => process.stdout.write(`${FUZZ_TABLE_HEAD}\n${formatParserRow(r)}\n${parserDetails(r).map((l) => `${l}\n`).join('')}`),
});
process.stdout.write(`\nfuzz campaign: ${count} inputs per parser, seed ${values.seed}, on ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores), Node ${process.version}\n`);
process.stdout.write(`seeds made in ${(result.seedsMs / 1000).toFixed(1)} s (SoftHSM2 token + openssl): ${Object.entries(result.seedCounts).map(([k, v]) => `${k} ${v}`).join(', ')}\n\n`);
process.stdout.write(`${formatCampaign(result)}\n`);
process.stdout.write(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
const bad = result.reports.reduce((a, r) => a + r.crashCount + r.hangs.length + r.deaths.length, 0);
process.exitCode = bad > 0 ? 1 : 0;
