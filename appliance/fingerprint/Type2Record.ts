/**
 * Type 2, descriptive text (Annex ch.2 §4, FP-T2): the INT-I user-defined fields. `readType2` gives the
 * typed view (RLS 2.064 as its parts); `makeType2` builds one for our own transactions.
 */
import { fieldId } from './errors.js';
import { fieldText, subfields, joinSubfields, type TaggedRecord, type TaggedField } from './TaggedRecord.js';

export const TYPE2_FIELDS = {
  LEN: 1, IDC: 2, SYS: 3, CNO: 7, SQN: 8, MID: 9, CRN: 10, MN1: 12, MN2: 13, MN3: 14, MN4: 15, INF: 63, RLS: 64, ERM: 74, ENC: 320,
} as const;

export const INT_I_SYSTEM = '0422';

/** 2.064 RLS: search type, `I` hit / `N` no hit, then (for a hit) `NNN/TTT` candidate of total and the score. */
export interface RespondentsList {
  readonly tot: string;
  readonly result: string;
  /** `001/003`: this candidate of how many. */
  readonly candidate?: string;
  /** up to six digits; `999999` for a verified hit. */
  readonly score?: string;
}

export interface Type2 {
  readonly idc?: string;
  readonly system?: string;
  readonly caseNumber?: string;
  readonly sequenceNumber?: string;
  readonly latentId?: string;
  readonly criminalReference?: string;
  readonly mn1?: string;
  readonly mn2?: string;
  readonly mn3?: string;
  readonly mn4?: string;
  readonly info?: string;
  readonly respondents?: RespondentsList;
  readonly errorMessage?: string;
  readonly expectedCandidates?: number;
}

export function readType2(r: TaggedRecord): Type2 {
  const t = (n: number) => fieldText(r, n);
  const rls = t(64);
  const parts = rls === undefined ? undefined : subfields(rls).map((s) => s.join('\x1f'));
  const enc = t(320);
  return {
    idc: t(2),
    system: t(3),
    caseNumber: t(7),
    sequenceNumber: t(8),
    latentId: t(9),
    criminalReference: t(10),
    mn1: t(12),
    mn2: t(13),
    mn3: t(14),
    mn4: t(15),
    info: t(63),
    respondents: parts ? { tot: parts[0] ?? '', result: parts[1] ?? '', candidate: parts[2], score: parts[3] } : undefined,
    errorMessage: t(74),
    expectedCandidates: enc !== undefined && /^\d{1,9}$/.test(enc) ? Number(enc) : undefined,
  };
}

/** What `makeType2` writes: the typed fields of Type 2 (SYS is always 0422, IDC a number). */
export type Type2Spec = Omit<Type2, 'idc' | 'system'> & { readonly idc?: number };

/** A Type 2 record in field order (LEN computed by the writer). */
export function makeType2(spec: Type2Spec): TaggedRecord {
  const entries: [number, string | undefined][] = [
    [1, '0'],
    [2, String(spec.idc ?? 0).padStart(2, '0')],
    [3, INT_I_SYSTEM],
    [7, spec.caseNumber],
    [8, spec.sequenceNumber],
    [9, spec.latentId],
    [10, spec.criminalReference],
    [12, spec.mn1],
    [13, spec.mn2],
    [14, spec.mn3],
    [15, spec.mn4],
    [63, spec.info],
    [64, spec.respondents && joinSubfields([[spec.respondents.tot], [spec.respondents.result], ...(spec.respondents.candidate !== undefined ? [[spec.respondents.candidate]] : []), ...(spec.respondents.score !== undefined ? [[spec.respondents.score]] : [])])],
    [74, spec.errorMessage],
    [320, spec.expectedCandidates === undefined ? undefined : String(spec.expectedCandidates)],
  ];
  const fields: TaggedField[] = entries.filter((e): e is [number, string] => e[1] !== undefined).map(([n, v]) => ({ tag: fieldId(2, n), number: n, value: v }));
  return { kind: 'tagged', type: 2, fields };
}
