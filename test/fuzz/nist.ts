/**
 * `node --import tsx test/fuzz/nist.ts [CASES] [SEED]`: feeds CASES (default 100 000) mutated
 * ANSI/NIST transactions to the reader and the INT-I validator (see nist-fuzz.ts) and prints the
 * count, the time it took and any failure. Exit 1 on a failure.
 */
import { describe, runFuzz } from './nist-fuzz.js';

const cases = Number(process.argv[2] ?? 100_000);
const seed = Number(process.argv[3] ?? 1);
if (!Number.isInteger(cases) || cases < 1 || !Number.isInteger(seed)) {
  process.stderr.write('usage: node --import tsx test/fuzz/nist.ts [CASES] [SEED]\n');
  process.exit(2);
}
const report = runFuzz(cases, seed, (done) => {
  if (done % 20_000 === 0 && done > 0) process.stdout.write(`  ${done} …\n`);
});
process.stdout.write(`${describe(report)}\n`);
for (const f of report.failures) process.stdout.write(`FAIL ${f}\n`);
process.exitCode = report.failures.length ? 1 : 0;
