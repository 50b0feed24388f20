/**
 * A transaction (one ANSI/NIST file): the Type 1 header followed by the records its CNT (1.003) lists,
 * in that order. Binary records carry no type of their own, so CNT is what tells the reader how to
 * read each one; a tagged record must also say its type in its tags.
 */
import { fieldId, nistError, type NistError, type Result } from './errors.js';
import { parseOpaqueRecord, writeOpaqueRecord, type OpaqueRecord } from './OpaqueRecord.js';
import { fieldText, parseTaggedRecord, subfields, taggedIdc, withField, writeTaggedRecord, joinSubfields, type TaggedRecord } from './TaggedRecord.js';
import { isImageRecordType, parseType4Record, writeType4Record, type Type4Record } from './Type4Record.js';

export type NistRecord = TaggedRecord | Type4Record | OpaqueRecord;

export interface Transaction {
  /** records[0] is the Type 1 record. */
  readonly records: readonly NistRecord[];
}

export interface ContentEntry {
  readonly type: number;
  /** IDC as written in CNT (e.g. `00`, `01`). */
  readonly idc: string;
}

export function recordIdc(r: NistRecord): number {
  return r.kind === 'tagged' ? taggedIdc(r) : r.idc;
}

export function type1(t: Transaction): TaggedRecord {
  const r = t.records[0];
  if (!r || r.kind !== 'tagged' || r.type !== 1) throw new Error('transaction without Type 1 record');
  return r;
}

/** The records CNT announces after Type 1 (first subfield `1{US}n` left out), as written. */
export function contents(header: TaggedRecord): ContentEntry[] | undefined {
  const cnt = fieldText(header, 3);
  if (cnt === undefined) return undefined;
  return subfields(cnt)
    .slice(1)
    .map((s) => ({ type: /^\d{1,3}$/.test(s[0] ?? '') ? Number(s[0]) : -1, idc: s[1] ?? '' }));
}

export function parseTransaction(bytes: Buffer): Result<Transaction, NistError[]> {
  const first = parseTaggedRecord(bytes, 0, 1, -1);
  if (!first.ok) return first;
  const header = first.value.record;
  const entries = contents(header);
  if (!entries) return { ok: false, errors: [nistError('101', -1, '1.003', 'CNT MISSING: RECORDS CANNOT BE LOCATED')] };
  const records: NistRecord[] = [header];
  let pos = first.value.end;
  for (const [i, entry] of entries.entries()) {
    const idc = /^\d{1,9}$/.test(entry.idc) ? Number(entry.idc) : -1;
    if (entry.type < 0) return { ok: false, errors: [nistError('108', -1, '1.003', `SUBFIELD ${i + 2} RECORD TYPE IS NOT A NUMBER`)] };
    if (entry.type === 1) return { ok: false, errors: [nistError('102', -1, '1.003', `SUBFIELD ${i + 2} ANNOUNCES A SECOND TYPE 1 RECORD`)] };
    if (pos >= bytes.length) {
      return { ok: false, errors: [nistError('117', -1, '1.003', `CNT ANNOUNCES ${entries.length} RECORDS AFTER TYPE 1, THE FILE ENDS AFTER ${i}`)] };
    }
    const type = entry.type;
    const parsed = isImageRecordType(type)
      ? parseType4Record(bytes, pos, type, idc)
      : type === 7 || type === 8
        ? parseOpaqueRecord(bytes, pos, type, idc)
        : parseTaggedRecord(bytes, pos, type, idc);
    if (!parsed.ok) return parsed;
    records.push(parsed.value.record);
    pos = parsed.value.end;
  }
  if (pos !== bytes.length) {
    return { ok: false, errors: [nistError('117', -1, '1.003', `${bytes.length - pos} BYTES AFTER THE LAST RECORD CNT ANNOUNCES`)] };
  }
  return { ok: true, value: { records } };
}

export function writeRecord(r: NistRecord): Buffer {
  switch (r.kind) {
    case 'tagged': return writeTaggedRecord(r);
    case 'image': return writeType4Record(r);
    case 'opaque': return writeOpaqueRecord(r);
  }
}

/**
 * Writes the file. Each LEN is the record's real length (a stated LEN that is already right keeps its
 * spelling), so `writeTransaction(parseTransaction(x)) == x` for every well-formed file. CNT is written
 * as held: use `withContents` after adding or removing records.
 */
export function writeTransaction(t: Transaction): Buffer {
  return Buffer.concat(t.records.map(writeRecord));
}

/** The transaction with CNT (1.003) listing its records: `1{US}n`, then type and two-digit IDC of each. */
export function withContents(t: Transaction): Transaction {
  const [header, ...rest] = t.records;
  if (!header || header.kind !== 'tagged' || header.type !== 1) throw new Error('transaction without Type 1 record');
  const cnt = joinSubfields([
    ['1', String(rest.length)],
    ...rest.map((r) => [String(r.type), String(Math.max(0, recordIdc(r))).padStart(2, '0')]),
  ]);
  return { records: [withField(header, 3, cnt), ...rest] };
}

export { fieldId };
