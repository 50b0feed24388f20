/**
 * `pruem dna …`: operator commands over the DNA database and PRUEMDNA files.
 *   import  — load the national JSON Lines export into the store (refused lines reported, the rest applied)
 *   search  — answer a PRUEMDNA request file against a store or a JSON Lines file, print the answer
 *   validate — check a PRUEMDNA file against the schema and the Annex rules
 *   stats   — build the index from a store and print its size
 * Exit codes: 0 done, 1 done but something was refused/invalid, 2 usage or I/O error.
 */
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { isMemberStateCode, type MemberStateCode } from '../peers/member-states.js';
import { parsePruemDna, writePruemDna } from './codec.js';
import { MatchEngine } from './engine.js';
import { answerDnaRequest, xmlDate } from './handler.js';
import { ProfileStore, type ImportReport } from './store.js';

type Io = { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };

const HELP = `usage: pruem dna <command> [options]

commands:
  import   --db STORE.sqlite FILE.jsonl   load national profiles (JSON Lines) into the store
  search   --db PROFILES.jsonl|STORE.sqlite --request REQUEST.xml
                                          print the PRUEMDNA answer to a request
  validate FILE.xml                       check a PRUEMDNA file (schema and Annex rules)
  stats    --db STORE.sqlite              build the index and print its size
  compare  --config FILE --partner CC --type S|P [--changes]
                                          start an Art. 4 comparison run with a partner
  comparisons --config FILE [--run ID]    each agreement's last run and pending profiles

Run "pruem dna <command> --help" for the options of a command.
`;

const IMPORT_HELP = `usage: pruem dna import --db STORE.sqlite [--today YYYY-MM-DD] [--show N] FILE.jsonl

Loads the national DNA export, one JSON object per line:
  {"id": "RO-000123", "type": "P" | "S", "agency": "...", "loci": {"vwa": ["14", "17"], ...}}
  {"id": "RO-000123", "op": "delete"}
Locus names as in PRUEMDNA (vwa, th01, d21s11, …, penta_d, se33, amelogenin), values as the national
database holds them; they are normalised for export (non-numeric, 0, 1, 99 → *; three alleles → first, *)
and profiles below the inclusion minimum (6 fully designated loci; 6 of the 7 ESS loci for P) or mixed
are refused. A line with a known id replaces that profile. Refused lines are listed with their line
number and reason (the first N, default 50); all others are applied. The store file is created if needed.
Exit status 1 if any line was refused.`;

const SEARCH_HELP = `usage: pruem dna search --db PROFILES.jsonl|STORE.sqlite --request REQUEST.xml
                       [--state CC] [--from CC] [--now ISO-DATE-TIME] [--generator NAME]

Answers the PRUEMDNA request in REQUEST.xml against the profiles of a store (.sqlite) or of a JSON Lines
export (.jsonl, loaded in memory) and prints the answer: direction A, each requesting profile with quality 0
and rescount, followed by its hits (profile_ident = our id, match_id = the requesting id, quality, hitcount).
--state is the answering State (default: the request's destination), --from the requesting State
(default: the request's source). A request that does not parse is answered with result E (exit status 1).
If the answer needs more than 500 datas, the messages are printed one after another.`;

const VALIDATE_HELP = `usage: pruem dna validate FILE.xml

Checks FILE.xml against the PRUEMDNA schema (xmllint) and the rules the schema cannot express
(result U only in requests, one profile per Art. 3 request, known Member State codes, …).
Prints a one-line summary, or the error code and message (exit status 1).`;

const STATS_HELP = `usage: pruem dna stats --db STORE.sqlite

Builds the in-memory match index from the store, as the daemon does at start, and prints the number of
profiles, build time and index memory per profile.`;

function parse(argv: string[], options: ParseArgsConfig['options']): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  const r = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  return { values: r.values as Record<string, string | boolean | undefined>, positionals: r.positionals };
}

function wantsHelp(argv: string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

class Usage extends Error {}

function printReport(io: Io, report: ImportReport, shown: number): void {
  io.stdout.write(
    `${report.lines} lines: ${report.inserted} inserted, ${report.updated} updated, ${report.unchanged} unchanged, ` +
      `${report.deleted} deleted, ${report.refused} refused\n`,
  );
  for (const r of report.refusals.slice(0, shown)) {
    io.stderr.write(`line ${r.line}${r.id !== undefined ? ` (${r.id})` : ''}: ${r.code}: ${r.reason}\n`);
  }
  if (report.refused > shown) io.stderr.write(`… and ${report.refused - shown} more refused lines\n`);
}

async function importCommand(argv: string[], io: Io): Promise<number> {
  if (wantsHelp(argv)) return io.stdout.write(`${IMPORT_HELP}\n`), 0;
  const { values, positionals } = parse(argv, { db: { type: 'string' }, today: { type: 'string' }, show: { type: 'string' } });
  const file = positionals[0];
  if (typeof values.db !== 'string' || !file || positionals.length > 1) throw new Usage('usage: pruem dna import --db STORE.sqlite FILE.jsonl');
  const today = typeof values.today === 'string' ? values.today : xmlDate(new Date());
  if (!/^\d{4}-\d{2}-\d{2}$/.test(today)) throw new Usage('--today must be YYYY-MM-DD');
  const shown = typeof values.show === 'string' ? Number(values.show) : 50;
  if (!Number.isInteger(shown) || shown < 0) throw new Usage('--show must be a whole number');
  const store = ProfileStore.open(values.db);
  try {
    const report = await store.importFile(file, { today, maxListedRefusals: shown });
    printReport(io, report, shown);
    return report.refused > 0 ? 1 : 0;
  } finally {
    store.close();
  }
}

async function openDb(db: string, io: Io): Promise<ProfileStore> {
  if (/\.jsonl$|\.json$|\.ndjson$/i.test(db)) {
    const store = ProfileStore.open(':memory:');
    const report = await store.importFile(db, { today: xmlDate(new Date()), maxListedRefusals: 20 });
    if (report.refused > 0) {
      io.stderr.write(`${db}: ${report.refused} lines refused and left out of the search\n`);
      for (const r of report.refusals) io.stderr.write(`line ${r.line}: ${r.code}: ${r.reason}\n`);
    }
    return store;
  }
  return ProfileStore.open(db);
}

function state(value: string | boolean | undefined, fallback: string, what: string): MemberStateCode {
  const code = typeof value === 'string' ? value.toUpperCase() : fallback;
  if (!isMemberStateCode(code)) throw new Usage(`${what} "${code}" is not a Prüm Member State code`);
  return code;
}

async function searchCommand(argv: string[], io: Io): Promise<number> {
  if (wantsHelp(argv)) return io.stdout.write(`${SEARCH_HELP}\n`), 0;
  const { values, positionals } = parse(argv, {
    db: { type: 'string' },
    request: { type: 'string' },
    state: { type: 'string' },
    from: { type: 'string' },
    now: { type: 'string' },
    generator: { type: 'string' },
  });
  if (typeof values.db !== 'string' || typeof values.request !== 'string' || positionals.length > 0) {
    throw new Usage('usage: pruem dna search --db PROFILES.jsonl|STORE.sqlite --request REQUEST.xml');
  }
  const now = typeof values.now === 'string' ? new Date(values.now) : new Date();
  if (Number.isNaN(now.getTime())) throw new Usage('--now must be an ISO date-time');
  const parsed = parsePruemDna(readFileSync(values.request));
  const header = parsed.ok ? parsed.message.header.requesting : undefined;
  const ourState = state(values.state, header?.destinationIsocode ?? '', '--state');
  const requestingState = state(values.from, header?.sourceIsocode ?? '', '--from');
  const store = await openDb(values.db, io);
  try {
    const engine = MatchEngine.build(store);
    const generator = typeof values.generator === 'string' ? values.generator : 'pruem-gateway dna search';
    const { answers, outcomes } = answerDnaRequest(parsed.ok ? parsed.message : parsed.error, { engine, ourState, requestingState, now, generator });
    io.stdout.write(answers.map(writePruemDna).join('\n'));
    if (!parsed.ok) io.stderr.write(`request refused: ${parsed.error.code}: ${parsed.error.message}\n`);
    const hits = outcomes.reduce((n, o) => n + o.hits.length, 0);
    io.stderr.write(`${outcomes.length} requesting profiles, ${hits} hits, ${answers.length} answer message(s)\n`);
    return parsed.ok ? 0 : 1;
  } finally {
    store.close();
  }
}

function validateCommand(argv: string[], io: Io): number {
  if (wantsHelp(argv)) return io.stdout.write(`${VALIDATE_HELP}\n`), 0;
  const { positionals } = parse(argv, {});
  if (positionals.length !== 1) throw new Usage('usage: pruem dna validate FILE.xml');
  const r = parsePruemDna(readFileSync(positionals[0]!));
  if (!r.ok) {
    io.stdout.write(`${positionals[0]}: invalid: ${r.error.code}: ${r.error.message}\n`);
    return 1;
  }
  const h = r.message.header;
  const kind = h.direction === 'R' ? `request (Art. ${r.message.datas[0]?.reqtype ?? 3})` : 'answer';
  io.stdout.write(
    `${positionals[0]}: valid PRUEMDNA ${kind} from ${h.requesting.sourceIsocode} to ${h.requesting.destinationIsocode}, ` +
      `request ${h.requesting.requestId}, ${r.message.datas.length} datas\n`,
  );
  return 0;
}

function statsCommand(argv: string[], io: Io): number {
  if (wantsHelp(argv)) return io.stdout.write(`${STATS_HELP}\n`), 0;
  const { values } = parse(argv, { db: { type: 'string' } });
  if (typeof values.db !== 'string') throw new Usage('usage: pruem dna stats --db STORE.sqlite');
  const store = ProfileStore.open(values.db);
  try {
    const t = performance.now();
    const engine = MatchEngine.build(store);
    const ms = performance.now() - t;
    const s = engine.stats();
    io.stdout.write(
      `${s.profiles} profiles, index built in ${(ms / 1000).toFixed(1)} s, ${s.blocks} blocks, ` +
        `${(s.indexBytes / 1048576).toFixed(1)} MiB (${s.bytesPerProfile.toFixed(1)} bytes/profile)\n`,
    );
    return 0;
  } finally {
    store.close();
  }
}

export async function dnaCommand(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'import':
        return await importCommand(rest, io);
      case 'search':
        return await searchCommand(rest, io);
      case 'validate':
        return validateCommand(rest, io);
      case 'stats':
        return statsCommand(rest, io);
      // Comparison runs live with the exchange (they need the gateway's database and configuration).
      case 'compare':
        return (await import('../dna-exchange/comparison-cli.js')).compareCommand(rest, io);
      case 'comparisons':
        return (await import('../dna-exchange/comparison-cli.js')).comparisonsCommand(rest, io);
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        io.stdout.write(HELP);
        return command === undefined ? 2 : 0;
      default:
        io.stderr.write(`pruem dna: unknown command "${command}"\n\n${HELP}`);
        return 2;
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (e instanceof Usage || err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' || err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      io.stderr.write(`pruem dna ${command}: ${err.message}\n`);
      return 2;
    }
    if (typeof err.code === 'string' && (err.code === 'ENOENT' || err.code === 'EACCES' || err.code === 'EISDIR' || err.code.startsWith('SQLITE'))) {
      io.stderr.write(`pruem dna ${command}: ${err.message}\n`);
      return 2;
    }
    throw e;
  }
}
