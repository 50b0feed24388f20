/**
 * `pruem dna compare` and `pruem dna comparisons`: a technician starts a partner's first-connection (bulk) run or
 * sends the changes now, and reads each agreement's state. The run is written to the gateway's database; the
 * running daemon picks it up at its next step (every 5 s) and sends it batch by batch, resuming after a restart.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/config.js';
import { openDatabase } from '../db/database.js';
import { ProfileStore } from '../dna/store.js';
import { isMemberStateCode } from '../peers/member-states.js';
import { DnaComparisons } from './comparisons.js';

type Io = { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };

export const COMPARE_HELP = `usage: pruem dna compare --config FILE --partner CC --type S|P [--changes]

Starts an Art. 4 comparison run with a partner under its agreement (dnaComparisons in the configuration):
the whole set of profiles of that type (a first connection), or with --changes only what changed since the
last run (what the nightly run sends). The running gateway sends it in messages of at most the agreed size,
within the partner's daily limit, and resumes it after a restart. Prints the run as JSON.`;

export const COMPARISONS_HELP = `usage: pruem dna comparisons --config FILE [--run ID]

Prints each agreement's state (last run, profiles pending) as JSON, or one run's report with --run.`;

function open(configPath: string) {
  const config = loadConfig(configPath);
  const db = openDatabase(join(config.dataDir, 'gateway.sqlite'));
  const store = ProfileStore.open(join(config.dataDir, 'dna.sqlite'));
  return { comparisons: new DnaComparisons(db, store, config.dnaComparisons), close: () => (store.close(), db.close()) };
}

export function compareCommand(argv: string[], io: Io): number {
  if (argv.includes('--help') || argv.includes('-h')) return (io.stdout.write(`${COMPARE_HELP}\n`), 0);
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string' }, partner: { type: 'string' }, type: { type: 'string' }, changes: { type: 'boolean', default: false } }, strict: true });
  const partner = values.partner ?? '';
  if (!values.config || !isMemberStateCode(partner) || (values.type !== 'S' && values.type !== 'P')) {
    io.stderr.write(`${COMPARE_HELP}\n`);
    return 2;
  }
  const { comparisons, close } = open(values.config);
  try {
    const started = values.changes ? comparisons.startNightly(partner, values.type) : comparisons.startBulk(partner, values.type);
    if (!started.ok) {
      io.stderr.write(`pruem dna compare: ${started.error.code}: ${started.error.message}\n`);
      return 1;
    }
    io.stdout.write(`${JSON.stringify(started.value, null, 2)}\n`);
    return 0;
  } finally {
    close();
  }
}

export function comparisonsCommand(argv: string[], io: Io): number {
  if (argv.includes('--help') || argv.includes('-h')) return (io.stdout.write(`${COMPARISONS_HELP}\n`), 0);
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string' }, run: { type: 'string' } }, strict: true });
  if (!values.config) {
    io.stderr.write(`${COMPARISONS_HELP}\n`);
    return 2;
  }
  const { comparisons, close } = open(values.config);
  try {
    if (values.run) {
      const report = comparisons.report(values.run);
      if (!report) {
        io.stderr.write(`pruem dna comparisons: no run ${values.run}\n`);
        return 1;
      }
      io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    } else io.stdout.write(`${JSON.stringify({ agreements: comparisons.overview(), runs: comparisons.runs(20) }, null, 2)}\n`);
    return 0;
  } finally {
    close();
  }
}
