/**
 * `pruem nist dump`: a transaction as JSON `{"records":[{"type":N,"idc":N,"fields":{"T.FFF": value}}]}`.
 * A value is a string when it has no RS/US, else an array of subfields (a string, or an array of items
 * when the subfield has several). Binary data appears as `{"binary": true, "bytes": N}`, never the bytes.
 * Type 4 fields are given as 4.001–4.009 in the same way. Keys use the canonical `T.FFF` spelling; a
 * repeated field keeps its first value and the repetition is listed under `"T.FFF#2"`.
 */
import { fieldId } from './errors.js';
import { FGP_UNUSED, TYPE4_HEADER_BYTES } from './Type4Record.js';
import { recordIdc, type NistRecord, type Transaction } from './transaction.js';

export type DumpValue = string | number | { readonly binary: true; readonly bytes: number } | (string | string[])[] | number[];
export interface DumpedRecord { readonly type: number; readonly idc: number; readonly fields: Record<string, DumpValue> }

function textValue(v: string): DumpValue {
  if (!/[\x1e\x1f]/.test(v)) return v;
  return v.split('\x1e').map((s) => (s.includes('\x1f') ? s.split('\x1f') : s));
}

export function dumpRecord(r: NistRecord): DumpedRecord {
  const fields: Record<string, DumpValue> = {};
  const bin = (b: Buffer) => ({ binary: true as const, bytes: b.length });
  if (r.kind === 'tagged') {
    for (const f of r.fields) {
      let key = fieldId(r.type, f.number);
      for (let n = 2; key in fields; n++) key = `${fieldId(r.type, f.number)}#${n}`;
      fields[key] = typeof f.value === 'string' ? textValue(f.value) : bin(f.value);
    }
  } else if (r.kind === 'image') {
    const f = (n: number) => fieldId(r.type, n);
    fields[f(1)] = TYPE4_HEADER_BYTES + r.image.length;
    fields[f(2)] = r.idc;
    fields[f(3)] = r.imp;
    fields[f(4)] = r.fgp.filter((p) => p !== FGP_UNUSED);
    fields[f(5)] = r.isr;
    fields[f(6)] = r.hll;
    fields[f(7)] = r.vll;
    fields[f(8)] = r.gca;
    fields[f(9)] = bin(r.image);
  } else {
    fields[fieldId(r.type, 1)] = 5 + r.body.length;
    fields[fieldId(r.type, 2)] = r.idc;
    fields[fieldId(r.type, 3)] = bin(r.body);
  }
  return { type: r.type, idc: recordIdc(r), fields };
}

export function dumpTransaction(t: Transaction): { records: DumpedRecord[] } {
  return { records: t.records.map(dumpRecord) };
}
