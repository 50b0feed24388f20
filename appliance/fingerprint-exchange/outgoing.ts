import type { MemberStateCode } from '../peers/member-states.js';
import { makeType1, readType1 } from '../fingerprint/Type1Record.js';
import { parseTransaction, type1, writeTransaction } from '../fingerprint/transaction.js';
import { withField, withoutField, type TaggedRecord } from '../fingerprint/TaggedRecord.js';

/**
 * The Type 1 routing fields of one of our searches, set per requested State: DAI (1.007) the
 * peer's NCP, ORI (1.008) us, a TCN (1.009) of our own per State — the TCR of its answers is how we
 * file them — no TCR, and DAT/GMT the moment it leaves. Everything else is the AFIS's file as made.
 */
export function routeSearch(file: Buffer, r: { peer: MemberStateCode; origin: string; tcn: string; now: Date }): Buffer {
  const parsed = parseTransaction(file);
  if (!parsed.ok) throw new Error('the search file no longer parses');
  const header = type1(parsed.value);
  const current = readType1(header);
  // Fresh DAT (1.005) and GMT (1.014) as makeType1 writes them.
  const fresh = makeType1({ tot: current.tot ?? '', destination: '', origin: '', tcn: '', now: r.now });
  const pick = (n: number) => String(fresh.fields.find((f) => f.number === n)?.value ?? '');
  let h: TaggedRecord = header;
  // The AFIS may already address the peer's agency (`DE/BKA`); otherwise its NCP.
  h = withField(h, 7, current.destination?.startsWith(`${r.peer}/`) ? current.destination : `${r.peer}/NCP`);
  h = withField(h, 8, r.origin);
  h = withField(h, 9, r.tcn);
  h = withoutField(h, 10);
  h = withField(h, 5, pick(5));
  h = withField(h, 14, pick(14));
  return writeTransaction({ records: [h, ...parsed.value.records.slice(1)] });
}
