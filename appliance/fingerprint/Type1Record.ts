/**
 * Type 1, the transaction header (Annex ch.2 §3, FP-T1): fields 1.001–1.014. Tagged ASCII (7-bit).
 * `readType1` gives the typed view used for routing; `makeType1` builds a header for our own
 * transactions (LEN and CNT are filled in by the writer / `withContents`).
 */
import { fieldText, subfields, joinSubfields, type TaggedRecord, type TaggedField } from './TaggedRecord.js';
import { fieldId } from './errors.js';

export const TYPE1_FIELDS = {
  LEN: 1, VER: 2, CNT: 3, TOT: 4, DAT: 5, PRY: 6, DAI: 7, ORI: 8, TCN: 9, TCR: 10, NSR: 11, NTR: 12, DOM: 13, GMT: 14,
} as const;

/** INT-I values (FP-T1). */
export const INT_I_VERSION = '0300';
export const INT_I_DOMAIN = ['INT-I', '4.22'] as const;
export const INT_I_RESOLUTION = '19.68';
export const DEFAULT_PRIORITY = 4;

export interface Type1 {
  readonly version?: string;
  readonly tot?: string;
  readonly date?: string;
  readonly priority?: number;
  /** `CC/agency` */
  readonly destination?: string;
  readonly origin?: string;
  readonly tcn?: string;
  readonly tcr?: string;
  readonly nsr?: string;
  readonly ntr?: string;
  readonly domain?: readonly string[];
  readonly gmt?: string;
  /** CNT as (type, IDC) pairs after the first subfield. */
  readonly contents: readonly { readonly type: string; readonly idc: string }[];
}

export function readType1(r: TaggedRecord): Type1 {
  const t = (n: number) => fieldText(r, n);
  const pry = t(6);
  const cnt = t(3);
  return {
    version: t(2),
    tot: t(4),
    date: t(5),
    priority: pry !== undefined && /^\d$/.test(pry) ? Number(pry) : undefined,
    destination: t(7),
    origin: t(8),
    tcn: t(9),
    tcr: t(10),
    nsr: t(11),
    ntr: t(12),
    domain: t(13)?.split('\x1f'),
    gmt: t(14),
    contents: cnt === undefined ? [] : subfields(cnt).slice(1).map((s) => ({ type: s[0] ?? '', idc: s[1] ?? '' })),
  };
}

export interface Type1Spec {
  readonly tot: string;
  /** `CC/agency` of the destination and of us. */
  readonly destination: string;
  readonly origin: string;
  readonly tcn: string;
  readonly tcr?: string;
  /** 1 (highest) … 9; DEFAULT_PRIORITY (4) when not given. */
  readonly priority?: number;
  /** The moment the transaction is made; DAT and GMT are derived from it (UTC). */
  readonly now: Date;
}

function field(n: number, value: string): TaggedField {
  return { tag: fieldId(1, n), number: n, value };
}

/** A complete INT-I Type 1 (LEN and CNT placeholders: write with `withContents`, LEN is computed). */
export function makeType1(spec: Type1Spec): TaggedRecord {
  const iso = spec.now.toISOString();
  const date = iso.slice(0, 10).replace(/-/g, '');
  const gmt = `${date}${iso.slice(11, 19).replace(/:/g, '')}Z`;
  const fields: TaggedField[] = [
    field(1, '0'),
    field(2, INT_I_VERSION),
    field(3, joinSubfields([['1', '0']])),
    field(4, spec.tot),
    field(5, date),
  ];
  // PRY is mandatory (Appendix 4); without one given we write 4, the value of Appendix 5's example.
  fields.push(field(6, String(spec.priority ?? DEFAULT_PRIORITY)));
  fields.push(field(7, spec.destination), field(8, spec.origin), field(9, spec.tcn));
  if (spec.tcr !== undefined) fields.push(field(10, spec.tcr));
  fields.push(field(11, INT_I_RESOLUTION), field(12, INT_I_RESOLUTION), field(13, joinSubfields([[...INT_I_DOMAIN]])), field(14, gmt));
  return { kind: 'tagged', type: 1, fields };
}
