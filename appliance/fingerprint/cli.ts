/**
 * `pruem nist …`: ANSI/NIST-ITL files for technicians and for checking.
 *   check FILE        INT-I 4.22 validation: nothing printed and exit 0 when valid, else the Annex
 *                     error lines (`<code>: IDC <idc> FIELD <t.fff> <text>`) and exit 1
 *   dump FILE         the records as JSON (binary data as its byte count, never the bytes)
 *   build SPEC.json   a transaction from a JSON description (see build.ts), to --out FILE or stdout
 * Exit codes: 0 done, 1 invalid file or spec, 2 usage or I/O error.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { BuildError, buildTransaction } from './build.js';
import { dumpTransaction } from './dump.js';
import { formatNistErrors } from './errors.js';
import { parseTransaction, writeTransaction } from './transaction.js';
import { validateIntI } from './validate.js';

type Io = { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream };

const HELP = `usage: pruem nist <command> [options]

commands:
  check FILE [--self CC] [--peer CC]   validate FILE against INT-I 4.22 (Annex ch.2); prints nothing
                                       when valid, else one Annex error line per violation (exit 1)
  dump FILE                            print the records as JSON {"records":[{"type","idc","fields"}]}
  build SPEC.json [--out FILE]         write the transaction SPEC.json describes (binary, to stdout
                                       unless --out)

Run "pruem nist <command> --help" for details.
`;

const CHECK_HELP = `usage: pruem nist check FILE [--self CC] [--peer CC]

Reads FILE (an ANSI/NIST-ITL transaction) and checks it against the INT-I 4.22 profile of the Prüm
Annex ch.2: record types per TOT (Table 2), mandatory fields (Appendices 4–6), sizes, character sets,
dates, LEN/CNT/IDC consistency, TCN/TCR check characters. Prints nothing and exits 0 when the file is
valid; otherwise prints every error as "<code>: IDC <idc> FIELD <t.fff> <text>" (Table 3 codes, IDC -1
for Type 1) and exits 1. --self CC: DAI must name CC; --peer CC: ORI must name CC (else 003).`;

const DUMP_HELP = `usage: pruem nist dump FILE

Prints the records of FILE as JSON: {"records":[{"type":N,"idc":N,"fields":{"T.FFF": value}}]}.
A value with subfields (RS) is an array, a subfield with items (US) an array of items; binary data
(Type 4 images, 13.999, 15.999, …) is {"binary":true,"bytes":N}. Exit 1 if FILE cannot be read as
ANSI/NIST (the reason printed as an Annex error line).`;

const BUILD_HELP = `usage: pruem nist build SPEC.json [--out FILE]

Writes the transaction described by SPEC.json:
  {"records":[
    {"type":1,"fields":{"1.002":"0300","1.004":"CPS","1.005":"20260101","1.006":"4","1.007":"DE/BKA",
                        "1.008":"RO/AFIS","1.009":"2600000001Z","1.011":"19.68","1.012":"19.68",
                        "1.013":[["INT-I","4.22"]],
                        "1.014":"20260101120000Z"}},
    {"type":2,"idc":0,"fields":{"2.003":"0422","2.010":"RO/123","2.320":1}},
    {"type":4,"idc":1,"imp":1,"fgp":[1],"hll":804,"vll":752,"gca":1,"image":{"file":"fp-1.wsq"}}]}
A field value is a string or number, an array of subfields (each a value or an array of items), or
binary data {"file":PATH} (relative to SPEC.json) or {"base64":"…"}. LEN is computed, CNT (1.003)
and IDC (T.002) are filled in when not given. "fields" may also be a list of ["T.FFF", value] pairs,
written in that order and spelling (for testing leading zeros).`;

function wantsHelp(argv: string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

class Usage extends Error {}

function readInput(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new Usage(`cannot read ${file}: ${(e as Error).message}`);
  }
}

function check(argv: string[], io: Io): number {
  if (wantsHelp(argv)) return io.stdout.write(`${CHECK_HELP}\n`), 0;
  const { values, positionals } = parseArgs({ args: argv, options: { self: { type: 'string' }, peer: { type: 'string' } }, allowPositionals: true, strict: true });
  const [file, extra] = positionals;
  if (!file || extra !== undefined) throw new Usage('usage: pruem nist check FILE');
  const parsed = parseTransaction(readInput(file));
  const errors = parsed.ok ? validateIntI(parsed.value, { self: values.self?.toUpperCase(), peer: values.peer?.toUpperCase() }) : parsed.errors;
  if (errors.length === 0) return 0;
  io.stdout.write(`${formatNistErrors(errors)}\n`);
  return 1;
}

function dump(argv: string[], io: Io): number {
  if (wantsHelp(argv)) return io.stdout.write(`${DUMP_HELP}\n`), 0;
  const { positionals } = parseArgs({ args: argv, options: {}, allowPositionals: true, strict: true });
  const [file, extra] = positionals;
  if (!file || extra !== undefined) throw new Usage('usage: pruem nist dump FILE');
  const parsed = parseTransaction(readInput(file));
  if (!parsed.ok) {
    io.stderr.write(`${formatNistErrors(parsed.errors)}\n`);
    return 1;
  }
  io.stdout.write(`${JSON.stringify(dumpTransaction(parsed.value), null, 2)}\n`);
  return 0;
}

function build(argv: string[], io: Io): number {
  if (wantsHelp(argv)) return io.stdout.write(`${BUILD_HELP}\n`), 0;
  const { values, positionals } = parseArgs({ args: argv, options: { out: { type: 'string', short: 'o' } }, allowPositionals: true, strict: true });
  const [file, extra] = positionals;
  if (!file || extra !== undefined) throw new Usage('usage: pruem nist build SPEC.json [--out FILE]');
  let spec: unknown;
  try {
    spec = JSON.parse(readInput(file).toString('utf8'));
  } catch (e) {
    if (e instanceof Usage) throw e;
    io.stderr.write(`${file}: not JSON: ${(e as Error).message}\n`);
    return 1;
  }
  let bytes: Buffer;
  try {
    bytes = writeTransaction(buildTransaction(spec, { baseDir: dirname(resolve(file)) }));
  } catch (e) {
    if (!(e instanceof BuildError) && !(e instanceof RangeError)) throw e;
    io.stderr.write(`${file}: ${e.message}\n`);
    return 1;
  }
  if (values.out) writeFileSync(values.out, bytes);
  else io.stdout.write(bytes);
  return 0;
}

export async function nistCommand(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case 'check': return check(rest, io);
      case 'dump': return dump(rest, io);
      case 'build': return build(rest, io);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout.write(HELP);
        return sub === undefined ? 2 : 0;
      default:
        io.stderr.write(`pruem nist: unknown command "${sub}"\n\n${HELP}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof Usage || (e instanceof TypeError && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))) {
      io.stderr.write(`pruem nist: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
