/**
 * `buildTransaction(spec)`: a transaction from a JSON description, for tests and technicians
 * (`pruem nist build SPEC.json`). The description lists the records in file order:
 *
 *   { "records": [
 *       { "type": 1, "fields": { "1.002": "0300", "1.004": "CPS", "1.013": [["INT-I", "4.22"]], … } },
 *       { "type": 2, "idc": 0, "fields": { "2.003": "0422", "2.064": [["CPS"], ["I"], ["001/001"], ["999999"]] } },
 *       { "type": 4, "idc": 1, "imp": 1, "fgp": [1], "hll": 804, "vll": 752, "gca": 1, "image": { "file": "fp-1.wsq" } },
 *       { "type": 13, "idc": 2, "fields": { "13.003": 4, …, "13.999": { "base64": "…" } } } ] }
 *
 * A field value is a string or number (one item), an array of subfields each a value or an array of
 * items, or binary data `{ "file": PATH }` (relative to the spec's directory) / `{ "base64": … }`.
 * `fields` as an object is written in field-number order; as an array of `[tag, value]` pairs it is
 * written exactly in that order with the tags as spelled (to test leading zeros or disorder).
 * LEN is always computed; IDC (T.002) is added from `idc` unless given; CNT (1.003) is computed
 * unless given. Type 4 `fgp` is padded with 255 to six bytes.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { fieldId } from './errors.js';
import { joinSubfields, type TaggedField, type TaggedRecord } from './TaggedRecord.js';
import { FGP_UNUSED, isImageRecordType, type Type4Record } from './Type4Record.js';
import { withContents, type NistRecord, type Transaction } from './transaction.js';

export class BuildError extends Error {}

const binary = z.union([z.object({ file: z.string() }).strict(), z.object({ base64: z.string() }).strict()]);
const scalar = z.union([z.string(), z.number()]);
const value = z.union([scalar, z.array(z.union([scalar, z.array(scalar)])), binary]);
const tagged = z.object({
  type: z.number().int().min(1).max(99).refine((t) => !isImageRecordType(t) && t !== 7 && t !== 8, 'binary record types 3–8 take imp/fgp/…/image, not fields'),
  idc: z.number().int().min(0).max(255).optional(),
  fields: z.union([z.record(z.string(), value), z.array(z.tuple([z.string(), value]))]),
}).strict();
const image = z.object({
  type: z.literal(4).or(z.literal(3)).or(z.literal(5)).or(z.literal(6)),
  idc: z.number().int().min(0).max(255),
  imp: z.number().int().min(0).max(255),
  fgp: z.array(z.number().int().min(0).max(255)).min(1).max(6),
  isr: z.number().int().min(0).max(255).default(0),
  hll: z.number().int().min(0).max(65535),
  vll: z.number().int().min(0).max(65535),
  gca: z.number().int().min(0).max(255).default(1),
  image: binary,
}).strict();
const specSchema = z.object({ records: z.array(z.unknown()).min(1) }).strict();

export type TransactionSpec = { records: (z.input<typeof image> | z.input<typeof tagged>)[] };

function issues(error: z.ZodError, prefix: string): string {
  return error.issues.map((i) => `${[prefix, ...i.path.map(String)].filter(Boolean).join('.') || '(spec)'}: ${i.message}`).join('; ');
}

/** Each record is read with the schema its shape asks for (an image record has `image`), so that an
 *  error names the field at fault rather than "no union member matched". */
function records(input: unknown): (z.infer<typeof image> | z.infer<typeof tagged>)[] {
  const top = specSchema.safeParse(input);
  if (!top.success) throw new BuildError(issues(top.error, ''));
  return top.data.records.map((r, i) => {
    const schema = typeof r === 'object' && r !== null && 'image' in r ? image : tagged;
    const one = schema.safeParse(r);
    if (!one.success) throw new BuildError(issues(one.error, `records.${i}`));
    return one.data;
  });
}

function binaryData(v: z.infer<typeof binary>, baseDir: string): Buffer {
  if ('base64' in v) return Buffer.from(v.base64, 'base64');
  const path = isAbsolute(v.file) ? v.file : resolve(baseDir, v.file);
  try {
    return readFileSync(path);
  } catch (e) {
    throw new BuildError(`cannot read image file ${path}: ${(e as Error).message}`);
  }
}

function fieldValue(v: z.infer<typeof value>, baseDir: string): string | Buffer {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return joinSubfields(v.map((s) => (Array.isArray(s) ? s.map(String) : [String(s)])));
  return binaryData(v, baseDir);
}

function parseTag(type: number, key: string): { tag: string; number: number } {
  const m = /^(\d+)\.(\d+)$/.exec(key) ?? /^()(\d+)$/.exec(key);
  if (!m) throw new BuildError(`record type ${type}: field key "${key}" is not T.FFF`);
  if (m[1] !== '' && Number(m[1]) !== type) throw new BuildError(`record type ${type}: field "${key}" belongs to type ${m[1]}`);
  const number = Number(m[2]);
  return { tag: m[1] === '' ? fieldId(type, number) : key, number };
}

export function buildTransaction(input: unknown, options: { baseDir?: string } = {}): Transaction {
  const specs = records(input);
  const baseDir = options.baseDir ?? process.cwd();
  const built: NistRecord[] = specs.map((r, i): NistRecord => {
    if ('image' in r) {
      const rec: Type4Record = {
        kind: 'image', type: r.type, idc: r.idc, imp: r.imp,
        fgp: [...r.fgp, ...Array<number>(6 - r.fgp.length).fill(FGP_UNUSED)],
        isr: r.isr, hll: r.hll, vll: r.vll, gca: r.gca, image: binaryData(r.image, baseDir),
      };
      return rec;
    }
    if (i === 0 && r.type !== 1) throw new BuildError('the first record must be Type 1');
    const pairs = Array.isArray(r.fields) ? r.fields : Object.entries(r.fields);
    let fields: TaggedField[] = pairs.map(([k, v]) => ({ ...parseTag(r.type, k), value: fieldValue(v, baseDir) }));
    if (!Array.isArray(r.fields)) fields.sort((a, b) => a.number - b.number);
    const has = (n: number) => fields.some((f) => f.number === n);
    const front: TaggedField[] = [];
    if (!has(1)) front.push({ tag: fieldId(r.type, 1), number: 1, value: '0' });
    if (r.type !== 1 && !has(2)) front.push({ tag: fieldId(r.type, 2), number: 2, value: String(r.idc ?? 0).padStart(2, '0') });
    if (r.type === 1 && !has(3)) front.push({ tag: fieldId(1, 3), number: 3, value: '' });
    fields = [...front, ...fields];
    const rec: TaggedRecord = { kind: 'tagged', type: r.type, fields };
    return rec;
  });
  if (built[0]?.type !== 1) throw new BuildError('the first record must be Type 1');
  const t: Transaction = { records: built };
  const header = built[0] as TaggedRecord;
  const cntGiven = header.fields.find((f) => f.number === 3);
  return cntGiven && cntGiven.value !== '' ? t : withContents(t);
}
