/**
 * The ANSI/NIST reader and the INT-I validator as a fuzz campaign parser (`nist` in seeds.ts).
 * Seeds: the NIST reference files as they are and with their images cut short (most cases stay
 * small and fast), and valid INT-I transactions built by test/fingerprint/samples.ts. Mutations
 * (`nistMutation`): byte flips, inserted separators, deleted/duplicated ranges, hostile LEN values in
 * tagged and binary records, truncation, splicing two files, field values replaced through the codec.
 * The target (`nistTarget`) checks what the campaign's generic crash check cannot see:
 *   - a refusal is a non-empty list of Table 3 errors, each formatted as an Annex line;
 *   - a file that parses writes back to exactly the same bytes;
 *   - validateIntI and dumpTransaction never throw, and their errors are Table 3 errors too.
 * A broken rule throws, which the campaign counts as a crash.
 */
import { readFileSync } from 'node:fs';
import {
  NIST_ERROR_CODES, dumpTransaction, formatNistError, getField, parseTransaction, validateIntI, withField, writeTransaction,
  type NistError, type NistRecord, type TaggedRecord, type Transaction,
} from '../../appliance/fingerprint/index.js';
import { NIST_DIR, NIST_FILES, VALID } from '../fingerprint/samples.js';
import type { Rng } from './mutate.js';

/** The record with its image data cut to `keep` bytes (structure kept, file small). */
function shrinkRecord(r: NistRecord, keep: number): NistRecord {
  if (r.kind === 'image') return { ...r, image: r.image.subarray(0, keep) };
  if (r.kind === 'opaque') return { ...r, body: r.body.subarray(0, keep) };
  const data = getField(r, 999)?.value;
  return Buffer.isBuffer(data) ? withField(r, 999, data.subarray(0, keep)) : r;
}

/** Every seed by name: each reference file and built transaction full size and with images cut to 64 bytes. */
export function nistSeeds(): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  const add = (name: string, t: Transaction, full: Buffer) => {
    out.push([`${name}.an2`, full], [`${name}-small.an2`, writeTransaction({ records: t.records.map((r) => shrinkRecord(r, 64)) })]);
  };
  for (const f of NIST_FILES) {
    const bytes = readFileSync(`${NIST_DIR}${f}`);
    const t = parseTransaction(bytes);
    if (!t.ok) throw new Error(`seed ${f} does not parse`);
    add(f.replace(/\.an2$/, ''), t.value, bytes);
  }
  for (const [name, make] of Object.entries(VALID)) {
    const t = make();
    add(`int-i-${name.replace(/\W+/g, '-')}`, t, writeTransaction(t));
  }
  return out;
}

const SEPARATORS = [0x1c, 0x1d, 0x1e, 0x1f, 0x3a, 0x2e];
const JUNK = ['', '\x1e', '\x1f', '\x1f\x1e', '0', '00', '999999999999', '-1', 'INT-I\x1f4.22', '1\x1f2\x1e3', 'x'.repeat(300), '\xff\xfe', '20260230', 'CPS', 'SRE', '0200000004F', '1\x1f9\x1f10\x1f19\x1f1\x1f50'];

/** One mutation of an ANSI/NIST file: the campaign's `nist` seed kind (mutate.ts). */
export function nistMutation(rng: Rng, doc: Buffer, others: readonly Buffer[]): Buffer {
  const random = () => rng.next() / 0x100000000;
  const other = () => rng.pick(others);
  // A third of the mutations change fields through the codec only: files that still parse, so that
  // the validator sees deep changes rather than the reader refusing broken framing.
  const structural = random() < 0.33;
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

/** Throws (a crash for the campaign) unless every error carries a Table 3 code and formats as an Annex line. */
function checkErrors(errors: readonly NistError[]): void {
  for (const e of errors) {
    if (!(e.code in NIST_ERROR_CODES)) throw new Error(`unknown code ${e.code}`);
    const line = formatNistError(e);
    if (!LINE.test(line) || line.length > 400) throw new Error(`malformed error line ${JSON.stringify(line.slice(0, 200))}`);
  }
}

/** The campaign target: 'ok' for a valid INT-I file, else the first Table 3 code (reader's or validator's). */
export function nistTarget(input: Buffer): string {
  const r = parseTransaction(input);
  if (!r.ok) {
    if (r.errors.length === 0) throw new Error('refusal without an error');
    checkErrors(r.errors);
    return `read:${r.errors[0]!.code}`;
  }
  if (!writeTransaction(r.value).equals(input)) throw new Error('parsed file does not write back byte for byte');
  const errors = validateIntI(r.value);
  checkErrors(errors);
  JSON.stringify(dumpTransaction(r.value));
  return errors.length === 0 ? 'ok' : `int-i:${errors[0]!.code}`;
}
