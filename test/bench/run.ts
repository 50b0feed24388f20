/**
 * `make bench`: every benchmark once, with its default size, one after the other (they measure the
 * machine, so never side by side). Each prints its own figures and the baseline it compares against;
 * the sizes used for the figures in the docs are given there (docs/bench.md, docs/dna.md, docs/audit.md).
 * Exits non-zero if one of them fails.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BENCHES = ['smime', 'dna-match', 'dna-index', 'audit', 'pipeline', 'console-bundle', 'console-render', 'nist', 'afis-match'];

let failed = 0;
for (const name of BENCHES) {
  const script = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
  process.stdout.write(`\n==== ${name} (node --import tsx test/bench/${name}.ts) ====\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', script], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    process.stdout.write(`==== ${name} FAILED (exit ${r.status ?? r.signal})\n`);
  }
}
process.exitCode = failed ? 1 : 0;
