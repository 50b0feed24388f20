/**
 * Mutation fuzzing of the ANSI/NIST reader and the INT-I validator. Seeds: the NIST reference files
 * (as they are, and with their images cut short so that most cases stay small and fast) and valid
 * INT-I transactions built by test/fingerprint/samples.ts. Each case mutates a seed (byte flips,
 * inserted separators, deleted/duplicated ranges, hostile LEN values in tagged and binary records,
 * truncation, splicing two files, field values replaced through the codec) and checks that:
 *   - parseTransaction returns a result and never throws; a refusal is a list of Table 3 errors;
 *   - a file that parses writes back to exactly the same bytes (byte-exact for every readable file);
 *   - validateIntI and dumpTransaction never throw; every error formats as an Annex line;
 *   - no case takes long (the slowest is reported) and memory stays bounded (RSS checked).
 */
import { readFileSync } from 'node:fs';
import {
  NIST_ERROR_CODES, dumpTransaction, formatNistError, getField, parseTransaction, validateIntI, withField, writeTransaction,
  type NistError, type NistRecord, type TaggedRecord, type Transaction,
} from '../../appliance/fingerprint/index.js';
import { NIST_DIR, NIST_FILES, VALID } from '../fingerprint/samples.js';
import { rng } from '../dna/random.js';

export interface FuzzReport {
  readonly cases: number;
  readonly parsed: number;
  readonly refused: number;
  readonly valid: number;
  readonly bytes: number;
  readonly ms: number;
  readonly slowestMs: number;
  readonly maxRssMb: number;
  readonly failures: string[];
}

/** The record with its image data cut to `keep` bytes (structure kept, file small). */
function shrinkRecord(r: NistRecord, keep: number): NistRecord {
  if (r.kind === 'image') return { ...r, image: r.image.subarray(0, keep) };
  if (r.kind === 'opaque') return { ...r, body: r.body.subarray(0, keep) };
  const data = getField(r, 999)?.value;
  return Buffer.isBuffer(data) ? withField(r, 999, data.subarray(0, keep)) : r;
}

export function seeds(): { small: Buffer[]; large: Buffer[] } {
  const large: Buffer[] = [];
  const small: Buffer[] = [];
  const add = (t: Transaction, full: Buffer) => {
    large.push(full);
    small.push(writeTransaction({ records: t.records.map((r) => shrinkRecord(r, 64)) }));
  };
  for (const f of NIST_FILES) {
    const bytes = readFileSync(`${NIST_DIR}${f}`);
    const t = parseTransaction(bytes);
    if (!t.ok) throw new Error(`seed ${f} does not parse`);
    add(t.value, bytes);
  }
  for (const make of Object.values(VALID)) {
    const t = make();
    add(t, writeTransaction(t));
  }
  return { small, large };
}

const SEPARATORS = [0x1c, 0x1d, 0x1e, 0x1f, 0x3a, 0x2e];
const JUNK = ['', '\x1e', '\x1f', '\x1f\x1e', '0', '00', '999999999999', '-1', 'INT-I\x1f4.22', '1\x1f2\x1e3', 'x'.repeat(300), '\xff\xfe', '20260230', 'CPS', 'SRE', '0200000004F', '1\x1f9\x1f10\x1f19\x1f1\x1f50'];

function mutateOnce(doc: Buffer, random: () => number, other: () => Buffer, structural: boolean): Buffer {
  const n = doc.length;
  const at = Math.floor(random() * Math.max(1, n));
  const len = 1 + Math.floor(random() * Math.min(64, Math.max(1, n - at)));
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  switch (structural ? 9 : Math.floor(random() * 10)) {
    case 0: { // flip a byte
      const out = Buffer.from(doc);
      if (n) out[at] = Math.floor(random() * 256);
      return out;
    }
    case 1: // insert a separator or tag character
      return Buffer.concat([doc.subarray(0, at), Buffer.of(pick(SEPARATORS)), doc.subarray(at)]);
    case 2: // delete a range
      return Buffer.concat([doc.subarray(0, at), doc.subarray(at + len)]);
    case 3: // duplicate a range
      return Buffer.concat([doc.subarray(0, at + len), doc.subarray(at, at + len), doc.subarray(at + len)]);
    case 4: { // hostile tagged LEN: replace the digits after some "T.001:"
      const tags: number[] = [];
      for (let i = doc.indexOf('.001:'); i >= 0 && tags.length < 40; i = doc.indexOf('.001:', i + 1)) tags.push(i + 5);
      if (!tags.length) return doc;
      const start = pick(tags);
      let end = start;
      while (end < n && doc[end]! >= 0x30 && doc[end]! <= 0x39) end++;
      const value = pick(['0', '1', '99999999999', '4294967295', String(n), String(Math.floor(random() * 2 * n)), '00000000000000000000012', '']);
      return Buffer.concat([doc.subarray(0, start), Buffer.from(value), doc.subarray(end)]);
    }
    case 5: { // hostile binary LEN: overwrite four bytes with a random or extreme uint32
      const out = Buffer.from(doc);
      if (n >= 4) out.writeUInt32BE(pick([0, 1, 17, 18, 0xffffffff, 0x7fffffff, Math.floor(random() * 2 ** 32)]), Math.min(at, n - 4));
      return out;
    }
    case 6: // truncate
      return doc.subarray(0, at);
    case 7: { // splice with another seed
      const o = other();
      return Buffer.concat([doc.subarray(0, at), o.subarray(Math.floor(random() * o.length))]);
    }
    default: { // through the codec: replace, add or remove a field of a record
      const t = parseTransaction(doc);
      if (!t.ok) return doc;
      const i = Math.floor(random() * t.value.records.length);
      const r = t.value.records[i]!;
      if (r.kind !== 'tagged' || r.fields.length === 0) return doc;
      const f = pick(r.fields);
      const number = random() < 0.2 ? Math.floor(random() * 1000) : f.number;
      const value = random() < 0.1 ? Buffer.from(pick(JUNK), 'latin1') : pick(JUNK);
      let changed: TaggedRecord = random() < 0.15 ? { ...r, fields: r.fields.filter((x) => x !== f) } : withField(r, number, value);
      if (random() < 0.05) changed = { ...changed, fields: [...changed.fields].reverse() };
      const records = t.value.records.map((x, j) => (j === i ? changed : x));
      try {
        return writeTransaction({ records });
      } catch {
        return doc; // e.g. a binary value written where the writer cannot: nothing to fuzz
      }
    }
  }
}

const LINE = /^\d{3}: IDC -?\d+ FIELD \d+\.\d+\S* [^\n\r]*$/;

function checkErrors(errors: readonly NistError[], where: string, failures: string[]): void {
  for (const e of errors) {
    if (!(e.code in NIST_ERROR_CODES)) failures.push(`${where}: unknown code ${e.code}`);
    const line = formatNistError(e);
    if (!LINE.test(line) || line.length > 400) failures.push(`${where}: malformed error line ${JSON.stringify(line.slice(0, 200))}`);
  }
}

export function runFuzz(cases: number, seed = 1, progress?: (done: number) => void): FuzzReport {
  const random = rng(seed);
  const { small, large } = seeds();
  const all = [...small, ...large];
  const failures: string[] = [];
  let parsed = 0;
  let refused = 0;
  let valid = 0;
  let bytes = 0;
  let slowest = 0;
  let maxRss = process.memoryUsage().rss;
  const start = performance.now();
  for (let i = 0; i < cases; i++) {
    // Mostly the small seeds (fast); one case in twenty on a full-size file.
    let doc = random() < 0.05 ? large[Math.floor(random() * large.length)]! : small[Math.floor(random() * small.length)]!;
    const rounds = 1 + Math.floor(random() * 3);
    // A third of the cases change fields through the codec only: files that still parse, so that the
    // validator sees deep changes rather than the reader refusing broken framing.
    const structural = random() < 0.33;
    for (let k = 0; k < rounds; k++) doc = mutateOnce(doc, random, () => all[Math.floor(random() * all.length)]!, structural);
    bytes += doc.length;
    const where = `case ${i} (seed ${seed})`;
    const t0 = performance.now();
    try {
      const r = parseTransaction(doc);
      if (r.ok) {
        parsed++;
        const again = writeTransaction(r.value);
        if (!again.equals(doc)) failures.push(`${where}: parsed file does not write back byte for byte`);
        const errors = validateIntI(r.value);
        if (errors.length === 0) valid++;
        checkErrors(errors, where, failures);
        JSON.stringify(dumpTransaction(r.value));
      } else {
        refused++;
        if (r.errors.length === 0) failures.push(`${where}: refusal without an error`);
        checkErrors(r.errors, where, failures);
      }
    } catch (e) {
      failures.push(`${where}: threw ${(e as Error).stack ?? String(e)}`);
    }
    slowest = Math.max(slowest, performance.now() - t0);
    if (i % 1000 === 0) {
      maxRss = Math.max(maxRss, process.memoryUsage().rss);
      progress?.(i);
    }
    if (failures.length > 20) break;
  }
  return { cases, parsed, refused, valid, bytes, ms: performance.now() - start, slowestMs: slowest, maxRssMb: maxRss / 2 ** 20, failures };
}

export function describe(r: FuzzReport): string {
  return (
    `${r.cases} mutated transactions (${(r.bytes / 2 ** 20).toFixed(1)} MiB) in ${(r.ms / 1000).toFixed(1)} s ` +
    `(${Math.round(r.cases / (r.ms / 1000))}/s): ${r.parsed} read (${r.valid} INT-I valid), ${r.refused} refused; ` +
    `slowest case ${r.slowestMs.toFixed(1)} ms; max RSS ${r.maxRssMb.toFixed(0)} MiB; ${r.failures.length} failures`
  );
}
