/**
 * INT-I 4.22 validation of a parsed transaction (Annex ch.2): which records each TOT may carry
 * (Table 2), which fields each record must/may have (Appendix 4, Appendix 5, Appendix 6 A.6.1–A.6.4,
 * Tables 7 and 8, §6 for Type 9), field sizes and character sets, dates, LEN/CNT consistency, IDC
 * cross-references and TCN/TCR check characters. Every violation is one NistError with its Table 3
 * code; all of them are returned, in file order (Type 1 first, then each record, field by field).
 *
 * Choices where the Annex is silent or contradicts itself are marked CHOICE beside the rule; each has
 * a test in test/fingerprint/validate.test.ts.
 *
 * Code usage (Table 3):
 *   003 DAI is not us / ORI is not the sending State (only when the caller says who they are)
 *   101 mandatory field or record missing     102 record type not allowed for the TOT (Table 2)
 *   103 field not defined for the record/TOT  104 field repeated, or more subfields/records than allowed
 *   105 wrong number of items/subfields       106/107 value shorter/longer than its field size
 *   108 not a number                          109/110 number below/above its range
 *   111 character outside the field's set     112 invalid date / GMT
 *   115 value not one of those allowed        116 TOT unknown
 *   117 LEN/CNT/IDC inconsistent, image data not matching its header
 *   201 TCN/TCR format or check character     501 image compressed beyond 15:1, latent without minutiae
 *   502 request without its finger/latent images   503 the same finger position twice
 */
import { ERM_MAX_LINE, ERM_MAX_LINES, fieldId, nistError, type NistError } from './errors.js';
import { checkTcn } from './tcn.js';
import { CANDIDATE_LIMITS, isPalmPosition, isRequestTot, isTot, searchType, TOT_RULES, type SearchType, type Tot } from './tot.js';
import { fieldText, subfields, taggedIdc, type TaggedField, type TaggedRecord } from './TaggedRecord.js';
import { FGP_UNUSED, type Type4Record } from './Type4Record.js';
import { readMinutiae } from './Type9Record.js';
import { contents, recordIdc, type NistRecord, type Transaction } from './transaction.js';
import { jpeg2000Frame } from './jpeg2000.js';
import { wsqFrame } from './wsq.js';

export interface ValidateOptions {
  /** Our ISO country code: DAI (1.007) must name it, else 003. */
  readonly self?: string;
  /** The State the transaction came from (its S/MIME signer): ORI (1.008) must name it, else 003. */
  readonly peer?: string;
}

type Chars = 'N' | 'A' | 'AN' | 'AGENCY' | 'INF' | 'TEXT';
interface FieldSpec {
  readonly name: string;
  readonly chars: Chars;
  /** Characters per item (the Annex's "field size per occurrence" minus its separator). */
  readonly size: readonly [number, number];
  /** Subfields ("occurrences"), default exactly 1. */
  readonly occ?: readonly [number, number];
  /** Items per subfield, default exactly 1. */
  readonly items?: readonly [number, number];
  /** Numeric range of each item (N fields). */
  readonly range?: readonly [number, number];
}

// Each set also admits RS and US, the separators between subfields and items.
const CHARSETS: Record<Chars, RegExp> = {
  N: /^[0-9\x1e\x1f]*$/,
  A: /^[A-Za-z\x1e\x1f]*$/,
  // CHOICE: "AN" in the Annex's tables covers values such as `DE/E999999999` and `19.68`, so it is read
  // as printable 7-bit ASCII, not letters and digits only.
  AN: /^[\x1e\x1f\x20-\x7e]*$/,
  // Appendix 5 note 1*: agency names [0-9 A-Z a-z _ . space -]; the `CC/` prefix is checked apart.
  AGENCY: /^[\x1e\x1f\x20-\x7e]*$/,
  // Appendix 6 note 1*: as for agencies plus the comma.
  INF: /^[0-9A-Za-z_. \-,\x1e\x1f]*$/,
  // ERM (2.074) and COM: printable ASCII and LF (ERM lines are LF-separated).
  TEXT: /^[\x1e\x1f\x20-\x7e\n]*$/,
};

// Type 1 (Appendix 5; sizes from §3.1).
const TYPE1: Record<number, FieldSpec> = {
  1: { name: 'LEN', chars: 'N', size: [1, 10] },
  2: { name: 'VER', chars: 'N', size: [4, 4] },
  3: { name: 'CNT', chars: 'N', size: [1, 3], occ: [1, 1000], items: [2, 2] },
  4: { name: 'TOT', chars: 'A', size: [3, 3] },
  5: { name: 'DAT', chars: 'N', size: [8, 8] },
  6: { name: 'PRY', chars: 'N', size: [1, 1], range: [1, 9] },
  7: { name: 'DAI', chars: 'AGENCY', size: [4, 35] },
  8: { name: 'ORI', chars: 'AGENCY', size: [4, 35] },
  9: { name: 'TCN', chars: 'AN', size: [1, 64] },
  10: { name: 'TCR', chars: 'AN', size: [1, 64] },
  11: { name: 'NSR', chars: 'AN', size: [5, 5] },
  12: { name: 'NTR', chars: 'AN', size: [5, 5] },
  13: { name: 'DOM', chars: 'AN', size: [1, 32], items: [2, 2] },
  14: { name: 'GMT', chars: 'AN', size: [15, 15] },
};

// Type 2 (§4.1, Appendix 6).
const TYPE2: Record<number, FieldSpec> = {
  1: { name: 'LEN', chars: 'N', size: [1, 10] },
  2: { name: 'IDC', chars: 'N', size: [1, 2] },
  3: { name: 'SYS', chars: 'N', size: [4, 4] },
  7: { name: 'CNO', chars: 'AN', size: [1, 35] },
  8: { name: 'SQN', chars: 'N', size: [1, 4] },
  9: { name: 'MID', chars: 'A', size: [1, 2] },
  10: { name: 'CRN', chars: 'AN', size: [4, 35] },
  12: { name: 'MN1', chars: 'AN', size: [1, 32] },
  13: { name: 'MN2', chars: 'AN', size: [1, 32] },
  14: { name: 'MN3', chars: 'N', size: [1, 4] },
  15: { name: 'MN4', chars: 'A', size: [1, 2] },
  63: { name: 'INF', chars: 'INF', size: [1, 32] },
  64: { name: 'RLS', chars: 'AN', size: [1, 7], occ: [2, 4] },
  // CHOICE: Table 3 gives ERM messages of 5–128 characters each; the field holds several LF-separated
  // lines: at most ERM_MAX_LINES (100) lines of 5–128 characters (checked in validateType2).
  74: { name: 'ERM', chars: 'TEXT', size: [5, ERM_MAX_LINES * (ERM_MAX_LINE + 1)] },
  320: { name: 'ENC', chars: 'N', size: [1, 2], range: [1, 99] },
};

// Type 2 presence per TOT (Appendix 6): M mandatory, C conditional (allowed), O optional; others 103.
type Presence = Readonly<Record<number, 'M' | 'C' | 'O'>>;
const TYPE2_PRESENCE: Record<Tot, Presence> = {
  CPS: { 1: 'M', 2: 'M', 3: 'M', 10: 'M', 63: 'O', 320: 'M' },
  PMS: { 1: 'M', 2: 'M', 3: 'M', 10: 'M', 63: 'O', 320: 'M' },
  MPS: { 1: 'M', 2: 'M', 3: 'M', 7: 'M', 8: 'C', 9: 'C', 63: 'O', 320: 'M' },
  MMS: { 1: 'M', 2: 'M', 3: 'M', 7: 'M', 8: 'C', 9: 'C', 63: 'O', 320: 'M' },
  SRE: { 1: 'M', 2: 'M', 3: 'M', 10: 'C', 12: 'C', 13: 'C', 14: 'C', 15: 'C', 63: 'O', 64: 'M' },
  // CHOICE: A.6.3 makes MN1 (the CRN of a CPS/PMS) mandatory in ERR, but an ERR answering an MPS/MMS
  // has no CRN to echo, only the case number (MN2). We require MN1 or MN2 (101 on 2.012 if neither).
  ERR: { 1: 'M', 2: 'M', 3: 'M', 12: 'C', 13: 'C', 14: 'C', 15: 'C', 63: 'O', 74: 'M' },
};

// Type 9 INCITS 378 fields (§6.2). CHOICE: the Annex marks none of 9.126/9.127/9.135/9.138–9.140
// mandatory in words; the INCITS 378 header (126) and the finger quality (135) are treated as
// optional along with ridge counts, cores and deltas; the others are mandatory.
const TYPE9: Record<number, FieldSpec & { readonly required: boolean }> = {
  1: { name: 'LEN', chars: 'N', size: [1, 10], required: true },
  2: { name: 'IDC', chars: 'N', size: [1, 2], required: true },
  3: { name: 'IMP', chars: 'N', size: [1, 2], range: [0, 15], required: true },
  4: { name: 'FMT', chars: 'A', size: [1, 1], required: true },
  126: { name: 'CBEFF', chars: 'AN', size: [0, 16], items: [2, 3], required: false },
  127: { name: 'CEI', chars: 'AN', size: [0, 16], items: [2, 2], required: false },
  128: { name: 'HLL', chars: 'N', size: [1, 5], range: [1, 65534], required: true },
  129: { name: 'VLL', chars: 'N', size: [1, 5], range: [1, 65534], required: true },
  130: { name: 'SLC', chars: 'N', size: [1, 1], range: [0, 2], required: true },
  131: { name: 'HPS', chars: 'N', size: [1, 5], required: true },
  132: { name: 'VPS', chars: 'N', size: [1, 5], required: true },
  133: { name: 'FVW', chars: 'N', size: [1, 2], range: [0, 15], required: true },
  134: { name: 'FGP', chars: 'N', size: [1, 2], required: true },
  135: { name: 'FQD', chars: 'AN', size: [1, 5], items: [1, 3], required: false },
  136: { name: 'NOM', chars: 'N', size: [1, 3], range: [0, 255], required: true },
  137: { name: 'MRC', chars: 'N', size: [1, 5], occ: [0, 255], items: [6, 6], required: true },
  138: { name: 'RCI', chars: 'N', size: [1, 5], occ: [1, 2000], items: [3, 3], required: false },
  139: { name: 'CIN', chars: 'N', size: [1, 5], occ: [1, 16], items: [3, 3], required: false },
  140: { name: 'DIN', chars: 'N', size: [1, 5], occ: [1, 16], items: [3, 3], required: false },
};

// Types 13 and 15 (Tables 7 and 8; sizes are the table's "field size per occurrence" minus the
// separator it counts). 14–19 and 21–199 are reserved ("if present, ignored", §7.1.14/7.1.16);
// 200–998 are user-defined and allowed.
const IMAGE_FIELDS: Record<number, FieldSpec> = {
  1: { name: 'LEN', chars: 'N', size: [3, 7] },
  2: { name: 'IDC', chars: 'N', size: [1, 4] },
  3: { name: 'IMP', chars: 'N', size: [1, 2] },
  4: { name: 'SRC', chars: 'AGENCY', size: [5, 34] },
  5: { name: 'LCD', chars: 'N', size: [8, 8] },
  6: { name: 'HLL', chars: 'N', size: [3, 4] },
  7: { name: 'VLL', chars: 'N', size: [3, 4] },
  8: { name: 'SLC', chars: 'N', size: [1, 1], range: [0, 2] },
  9: { name: 'HPS', chars: 'N', size: [1, 4] },
  10: { name: 'VPS', chars: 'N', size: [1, 4] },
  // CHOICE: Table 7 sizes CGA 4–6 characters, which would refuse the JPEG 2000 codes JP2 and J2K
  // that Appendix 7 allows; 3–6 admits them.
  11: { name: 'CGA', chars: 'AN', size: [3, 6] },
  // CHOICE: BPX "8" normal, more than 8 for extra precision: 8–16 accepted.
  12: { name: 'BPX', chars: 'N', size: [1, 2], range: [8, 16] },
  13: { name: 'FGP', chars: 'N', size: [1, 2], occ: [1, 6] },
  20: { name: 'COM', chars: 'TEXT', size: [1, 127] },
};
const IMAGE_MANDATORY = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 999];
// CHOICE: Appendix 7 names the algorithms "WSQ" and "JPEG 2000" without codes; we accept the base
// standard's codes for them (WSQ20, JP2, JP2L) and the Annex's own abbreviations (WSQ, J2K).
const COMPRESSION_CODES = ['WSQ20', 'WSQ', 'JP2', 'JP2L', 'J2K'];

const AGENCY = /^([A-Z]{2})\/([0-9A-Za-z_. -]{1,32})$/;
/** WSQ ratio limit (§1.3, FP-IMG). */
const MAX_COMPRESSION_RATIO = 15;

function isValidDate(s: string): boolean {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (y < 1900 || mo < 1 || mo > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, mo, 0)).getUTCDate();
}

function isValidGmt(s: string): boolean {
  const m = /^(\d{8})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  return !!m && isValidDate(m[1]!) && Number(m[2]) < 24 && Number(m[3]) < 60 && Number(m[4]) < 60;
}

class Collector {
  readonly errors: NistError[] = [];
  add(code: NistError['code'], idc: number, field: string, text: string): void {
    this.errors.push(nistError(code, idc, field, text));
  }
}

/**
 * Checks one field against its spec: characters, subfield/item counts, item sizes, numeric ranges.
 * Returns false if the value is unusable (so that semantic checks are skipped).
 */
function checkField(c: Collector, idc: number, type: number, f: TaggedField, spec: FieldSpec): boolean {
  const id = fieldId(type, f.number);
  if (typeof f.value !== 'string') {
    c.add('117', idc, id, `${spec.name} HOLDS BINARY DATA`);
    return false;
  }
  if (!CHARSETS[spec.chars].test(f.value)) {
    c.add('111', idc, id, `INVALID CHARACTER IN ${spec.name}`);
    return false;
  }
  const subs = spec.chars === 'TEXT' ? [[f.value]] : subfields(f.value);
  const [occMin, occMax] = spec.occ ?? [1, 1];
  if (subs.length > occMax) {
    c.add('104', idc, id, `${spec.name} HAS ${subs.length} SUBFIELDS, AT MOST ${occMax} ALLOWED`);
    return false;
  }
  if (subs.length < occMin) {
    c.add('105', idc, id, `${spec.name} HAS ${subs.length} SUBFIELDS, AT LEAST ${occMin} EXPECTED`);
    return false;
  }
  const [itemMin, itemMax] = spec.items ?? [1, 1];
  let ok = true;
  for (const [i, items] of subs.entries()) {
    const where = subs.length > 1 ? ` SUBFIELD ${i + 1}` : '';
    if (items.length < itemMin || items.length > itemMax) {
      c.add('105', idc, id, `${spec.name}${where} HAS ${items.length} ITEMS, ${itemMin === itemMax ? itemMin : `${itemMin}-${itemMax}`} EXPECTED`);
      ok = false;
      continue;
    }
    for (const item of items) {
      if (spec.items && item === '' && spec.size[0] === 0) continue;
      if (item.length < spec.size[0]) { c.add('106', idc, id, `${spec.name}${where} SHORTER THAN ${spec.size[0]} CHARACTER${spec.size[0] === 1 ? '' : 'S'}`); ok = false; continue; }
      if (item.length > spec.size[1]) { c.add('107', idc, id, `${spec.name}${where} LONGER THAN ${spec.size[1]} CHARACTERS`); ok = false; continue; }
      if (spec.range) {
        const n = Number(item);
        if (n < spec.range[0]) { c.add('109', idc, id, `${spec.name}${where} ${item} BELOW ${spec.range[0]}`); ok = false; }
        else if (n > spec.range[1]) { c.add('110', idc, id, `${spec.name}${where} ${item} ABOVE ${spec.range[1]}`); ok = false; }
      }
    }
  }
  return ok;
}

/** Generic pass over a tagged record: unknown fields, repetitions, per-field checks. Returns the usable values. */
function checkTaggedFields(
  c: Collector,
  r: TaggedRecord,
  idc: number,
  specFor: (n: number) => FieldSpec | 'ignore' | undefined,
): Map<number, string> {
  const seen = new Set<number>();
  const values = new Map<number, string>();
  for (const f of r.fields) {
    const id = fieldId(r.type, f.number);
    if (seen.has(f.number)) { c.add('104', idc, id, 'FIELD REPEATED'); continue; }
    seen.add(f.number);
    const spec = specFor(f.number);
    if (spec === 'ignore') continue;
    if (!spec) { c.add('103', idc, id, 'UNDEFINED FIELD'); continue; }
    if (checkField(c, idc, r.type, f, spec) && typeof f.value === 'string') values.set(f.number, f.value);
  }
  return values;
}

function checkAgency(c: Collector, idc: number, id: string, name: string, v: string): string | undefined {
  const m = AGENCY.exec(v);
  if (m) return m[1];
  const slash = v.indexOf('/');
  if (slash < 0) c.add('115', idc, id, `${name} IS NOT CC/AGENCY`);
  else if (!/^[A-Z]{2}$/.test(v.slice(0, slash))) c.add('115', idc, id, `${name} COUNTRY CODE IS NOT TWO LETTERS`);
  else if (v.length - slash - 1 > 32) c.add('107', idc, id, `${name} AGENCY LONGER THAN 32 CHARACTERS`);
  else if (v.length - slash - 1 === 0) c.add('106', idc, id, `${name} AGENCY EMPTY`);
  else c.add('111', idc, id, `INVALID CHARACTER IN ${name} AGENCY`);
  return undefined;
}

function checkTcnField(c: Collector, id: string, name: string, v: string): void {
  const r = checkTcn(v);
  if (!r.ok) c.add('201', -1, id, r.reason === 'FORMAT' ? `${name} IS NOT YYSSSSSSSSA` : `WRONG CONTROL CHARACTER IN ${name}`);
}

interface Context {
  readonly tot: Tot | undefined;
  readonly palm: boolean;
  readonly search: SearchType | undefined;
}

function validateType1(c: Collector, t: Transaction, r: TaggedRecord, options: ValidateOptions): Tot | undefined {
  const v = checkTaggedFields(c, r, -1, (n) => TYPE1[n]);
  const present = new Set(r.fields.map((f) => f.number));
  const totText = v.get(4);
  const tot = totText !== undefined && isTot(totText) ? totText : undefined;
  if (totText !== undefined && !tot) c.add('116', -1, '1.004', `UNKNOWN TYPE OF TRANSACTION ${totText}`);
  for (const n of Object.keys(TYPE1).map(Number)) {
    // Appendix 4: TCR is conditional in requests (present when answering) and mandatory in SRE/ERR.
    // CHOICE: PRY is "optional" in §3.1.6 but M in Appendix 4's summary; we follow Appendix 4.
    if (n === 10 && !(tot === 'SRE' || tot === 'ERR')) continue;
    if (!present.has(n)) c.add('101', -1, fieldId(1, n), `${TYPE1[n]!.name} MISSING`);
  }
  const ver = v.get(2);
  if (ver !== undefined && ver !== '0300') c.add('115', -1, '1.002', `VERSION ${ver} IS NOT 0300`);
  const cnt = v.get(3);
  if (cnt !== undefined) {
    const subs = subfields(cnt);
    const [first] = subs;
    if (first && (first[0] !== '1' || Number(first[1]) !== subs.length - 1)) {
      c.add('115', -1, '1.003', `FIRST SUBFIELD MUST BE 1 AND ${subs.length - 1} (RECORDS LISTED)`);
    }
    // That CNT lists exactly the records present is the reader's check (it reads them by CNT).
  }
  const dat = v.get(5);
  if (dat !== undefined && !isValidDate(dat)) c.add('112', -1, '1.005', `INVALID DATE ${dat}`);
  const dai = v.get(7);
  const daiCc = dai === undefined ? undefined : checkAgency(c, -1, '1.007', 'DAI', dai);
  const ori = v.get(8);
  const oriCc = ori === undefined ? undefined : checkAgency(c, -1, '1.008', 'ORI', ori);
  if (options.self && daiCc && daiCc !== options.self) c.add('003', -1, '1.007', `DESTINATION ${daiCc} IS NOT ${options.self}`);
  if (options.peer && oriCc && oriCc !== options.peer) c.add('003', -1, '1.008', `ORIGIN ${oriCc} IS NOT THE SENDER ${options.peer}`);
  const tcn = v.get(9);
  if (tcn !== undefined) checkTcnField(c, '1.009', 'TCN', tcn);
  const tcr = v.get(10);
  if (tcr !== undefined) checkTcnField(c, '1.010', 'TCR', tcr);
  for (const n of [11, 12]) {
    const x = v.get(n);
    // NSR/NTR: 500 ppi = 19.68 ppmm for every Prüm transaction (§3.1.11).
    if (x !== undefined && x !== '19.68') c.add('115', -1, fieldId(1, n), `${TYPE1[n]!.name} ${x} IS NOT 19.68`);
  }
  const dom = v.get(13);
  if (dom !== undefined && dom !== 'INT-I\x1f4.22') c.add('115', -1, '1.013', 'DOMAIN IS NOT INT-I 4.22');
  const gmt = v.get(14);
  if (gmt !== undefined && !isValidGmt(gmt)) c.add('112', -1, '1.014', `INVALID GMT ${gmt}`);
  return tot;
}

/** Table 2 and the record counts, reported against CNT (1.003) or the offending record. */
function validateRecordSet(c: Collector, t: Transaction, tot: Tot): void {
  const rule = TOT_RULES[tot];
  const rest = t.records.slice(1);
  const count = (type: number) => rest.filter((r) => r.type === type).length;
  if (count(2) === 0) c.add('101', -1, '1.003', 'TYPE 2 RECORD MISSING');
  if (count(2) > 1) c.add('104', -1, '1.003', `${count(2)} TYPE 2 RECORDS, ONE ALLOWED`);
  if (rest[0] && rest[0].type !== 2) c.add('117', -1, '1.003', 'TYPE 2 MUST FOLLOW TYPE 1');
  for (const r of rest) {
    if (r.type !== 2 && !rule.records.some((x) => x.type === r.type)) {
      c.add('102', recordIdc(r), fieldId(r.type, 1), `TYPE ${r.type} RECORD NOT ALLOWED IN ${tot}`);
    }
  }
  const images = new Set<number>([4, 13, 15]);
  if (rule.oneOf) {
    const kinds = rule.oneOf.filter((x) => count(x) > 0);
    if (kinds.length === 0) c.add('502', -1, '1.003', `${tot} WITHOUT TYPE ${rule.oneOf.join(' OR ')} RECORDS`);
    if (kinds.length > 1) c.add('102', -1, '1.003', `${tot} MAY CARRY TYPE ${rule.oneOf.join(' OR ')} RECORDS, NOT BOTH`);
  }
  for (const x of rule.records) {
    const n = count(x.type);
    if (n < x.min) {
      c.add(images.has(x.type) ? '502' : '101', -1, '1.003', `${tot} NEEDS ${x.min === x.max ? x.min : `AT LEAST ${x.min}`} TYPE ${x.type} RECORD${x.min > 1 ? 'S' : ''}, ${n} GIVEN`);
    } else if (n > x.max) {
      c.add('104', -1, '1.003', `${n} TYPE ${x.type} RECORDS, AT MOST ${x.max} IN ${tot}`);
    }
  }
}

/** IDC in each record equals its CNT entry; IDCs unique per record type; Type 9 refers to a Type 13. */
function validateIdcs(c: Collector, t: Transaction): void {
  const header = t.records[0] as TaggedRecord;
  const entries = contents(header) ?? [];
  const seen = new Map<string, number>();
  t.records.slice(1).forEach((r, i) => {
    const entry = entries[i];
    const idc = recordIdc(r);
    const field = fieldId(r.type, 2);
    if (entry && (!/^\d{1,9}$/.test(entry.idc) || Number(entry.idc) !== idc)) {
      c.add('117', idc, field, `IDC ${idc} DOES NOT MATCH CNT ${entry.idc}`);
    }
    const key = `${r.type}/${idc}`;
    if (seen.has(key)) c.add('117', idc, field, `IDC ${idc} USED BY TWO TYPE ${r.type} RECORDS`);
    seen.set(key, i);
  });
  {
    // Minutiae describe the latent image of the same IDC (MPS/MMS, and a latent hit in an SRE).
    const latents = new Map<number, TaggedRecord>();
    for (const r of t.records) if (r.kind === 'tagged' && r.type === 13) latents.set(recordIdc(r), r);
    for (const r of t.records) {
      if (r.kind !== 'tagged' || r.type !== 9) continue;
      const image = latents.get(recordIdc(r));
      if (!image) {
        c.add('117', recordIdc(r), '9.002', `NO TYPE 13 RECORD WITH IDC ${recordIdc(r)} FOR THESE MINUTIAE`);
        continue;
      }
      // The minutiae were found on that image: same size in pixels (as in NIST's own type-9-13 file).
      const size = (x: TaggedRecord, h: number, v: number) => [fieldText(x, h), fieldText(x, v)].map((n) => (n !== undefined && /^\d{1,5}$/.test(n) ? Number(n) : undefined));
      const [w9, h9] = size(r, 128, 129);
      const [w13, h13] = size(image, 6, 7);
      if (w9 !== undefined && h9 !== undefined && w13 !== undefined && h13 !== undefined && (w9 !== w13 || h9 !== h13)) {
        c.add('117', recordIdc(r), '9.128', `MINUTIAE OF A ${w9}X${h9} IMAGE, THE TYPE 13 IMAGE IS ${w13}X${h13}`);
      }
    }
  }
}

function validateType2(c: Collector, r: TaggedRecord, ctx: Context): void {
  const idc = taggedIdc(r);
  const presence = ctx.tot ? TYPE2_PRESENCE[ctx.tot] : undefined;
  const v = checkTaggedFields(c, r, idc, (n) => (presence && !(n in presence) && n in TYPE2 ? undefined : TYPE2[n]));
  if (presence) {
    for (const [n, p] of Object.entries(presence)) {
      if (p === 'M' && !r.fields.some((f) => f.number === Number(n))) c.add('101', idc, fieldId(2, Number(n)), `${TYPE2[Number(n)]!.name} MISSING`);
    }
    if (ctx.tot === 'ERR' && !r.fields.some((f) => f.number === 12 || f.number === 13)) c.add('101', idc, '2.012', 'MN1 (OR MN2) MISSING');
  }
  const sys = v.get(3);
  if (sys !== undefined && sys !== '0422') c.add('115', idc, '2.003', 'INVALID SYSTEM INFORMATION');
  const crn = v.get(10);
  if (crn !== undefined && !/^[A-Z]{2}\/[\x20-\x7e]{1,32}$/.test(crn)) c.add('115', idc, '2.010', 'CRN IS NOT CC/NUMBER');
  // CHOICE: §4.1.4 defines CNO as CC/number but A.6.4's example is `E999999999`; both are accepted.
  const cno = v.get(7);
  if (cno !== undefined && !/^([A-Z]{2}\/)?[^/]{1,32}$/.test(cno)) c.add('115', idc, '2.007', 'CNO IS NOT [CC/]NUMBER');
  const mid = v.get(9);
  if (mid !== undefined && !/^[A-Z]{1,2}$/.test(mid)) c.add('115', idc, '2.009', 'MID IS NOT A..ZZ');
  const mn4 = v.get(15);
  if (mn4 !== undefined && !/^[A-Z]{1,2}$/.test(mn4)) c.add('115', idc, '2.015', 'MN4 IS NOT A..ZZ');
  const erm = v.get(74);
  if (erm !== undefined) {
    const ermLines = erm.split('\n');
    if (ermLines.length > ERM_MAX_LINES) c.add('104', idc, '2.074', `ERM HAS ${ermLines.length} LINES, AT MOST ${ERM_MAX_LINES}`);
    else if (ermLines.some((l) => l.length > ERM_MAX_LINE)) c.add('107', idc, '2.074', `ERM LINE LONGER THAN ${ERM_MAX_LINE} CHARACTERS`);
    else if (ermLines.some((l) => l.length < 5)) c.add('106', idc, '2.074', 'ERM LINE SHORTER THAN 5 CHARACTERS');
  }
  const rls = v.get(64);
  if (rls !== undefined) {
    const parts = subfields(rls).map((s) => s.join('\x1f'));
    const [searched, result, candidate, score] = parts;
    if (!searched || !isRequestTot(searched)) c.add('115', idc, '2.064', `RLS SEARCH TYPE ${searched ?? ''} IS NOT CPS, PMS, MPS OR MMS`);
    if (result !== 'I' && result !== 'N') c.add('115', idc, '2.064', 'RLS RESULT IS NOT I OR N');
    if (result === 'I') {
      // CHOICE: a hit gives all four subfields (candidate NNN/NNN and a score of up to six digits).
      if (parts.length !== 4) c.add('105', idc, '2.064', `RLS HIT HAS ${parts.length} SUBFIELDS, 4 EXPECTED`);
      else if (!/^\d{3}\/\d{3}$/.test(candidate!) || Number(candidate!.slice(0, 3)) < 1 || Number(candidate!.slice(0, 3)) > Number(candidate!.slice(4))) {
        c.add('115', idc, '2.064', `RLS CANDIDATE ${candidate} IS NOT NNN/TTT`);
      } else if (!/^\d{1,6}$/.test(score!)) c.add('115', idc, '2.064', 'RLS SCORE IS NOT UP TO SIX DIGITS');
    }
    // §4.1.12: an SRE answering a PMS hit says in INF which finger (Table 5 code) made it.
    if (searched === 'PMS' && result === 'I') {
      const inf = v.get(63);
      if (inf === undefined) { if (!r.fields.some((f) => f.number === 63)) c.add('101', idc, '2.063', 'INF (FINGER OF THE HIT) MISSING FOR A PMS HIT'); }
      else if (!/^\d{2}$/.test(inf) || Number(inf) > 14) c.add('115', idc, '2.063', 'INF IS NOT A TABLE 5 FINGER CODE NN');
    }
  }
  const enc = v.get(320);
  if (enc !== undefined && ctx.search && Number(enc) > CANDIDATE_LIMITS[ctx.search]) {
    c.add('110', idc, '2.320', `ENC ${enc} ABOVE ${CANDIDATE_LIMITS[ctx.search]} (TABLE 11, ${ctx.search})`);
  }
}

function validateType4(c: Collector, r: Type4Record, ctx: Context): void {
  const id = (n: number) => fieldId(4, n);
  if (r.type !== 4) return; // Types 3, 5, 6 are reported by the record-set check (102).
  const tenprint = ctx.tot === 'CPS' || ctx.tot === 'PMS';
  // Table 4: ten-print requests carry live-scan/non-live-scan plain or rolled impressions (0–3).
  if (r.imp > 9) c.add('115', r.idc, id(3), `IMPRESSION TYPE ${r.imp} NOT IN TABLE 4`);
  else if (tenprint && r.imp > 3) c.add('115', r.idc, id(3), `IMPRESSION TYPE ${r.imp} IS NOT A TEN-PRINT IMPRESSION`);
  const [first, ...others] = r.fgp;
  if (first === undefined || first > 14) c.add('115', r.idc, id(4), `FINGER POSITION ${first ?? ''} NOT IN TABLE 5`);
  else if (others.some((p) => p !== FGP_UNUSED && p > 14)) c.add('115', r.idc, id(4), 'ALTERNATE FINGER POSITION NOT IN TABLE 5');
  if (r.isr > 1) c.add('115', r.idc, id(5), `ISR ${r.isr} IS NOT 0 OR 1`);
  if (r.hll === 0) c.add('109', r.idc, id(6), 'HLL IS 0');
  if (r.vll === 0) c.add('109', r.idc, id(7), 'VLL IS 0');
  if (r.gca !== 1) c.add('115', r.idc, id(8), `COMPRESSION ${r.gca} IS NOT WSQ (1)`);
  if (r.image.length === 0) { c.add('117', r.idc, id(9), 'NO IMAGE DATA'); return; }
  checkImageData(c, r.idc, id(9), r.gca === 1 ? 'WSQ' : undefined, r.image, r.hll, r.vll);
}

/**
 * WSQ and JPEG 2000 data must carry a frame header (WSQ SOF, J2K SIZ, JP2 ihdr) whose size is the
 * record's HLL×VLL (117 otherwise); WSQ must be compressed at most 15:1 (§1.3). CHOICE: a higher ratio is reported as 501 (insufficient quality), the closest
 * Table 3 code for an image degraded beyond the Annex's limit. Table 5's box sizes are not checked:
 * NIST's own 500 ppi rolled impressions (804×752) exceed the 40 mm boxes, so they describe the card.
 */
function checkImageData(c: Collector, idc: number, field: string, codec: 'WSQ' | 'JPEG 2000' | undefined, image: Buffer, hll: number, vll: number): void {
  if (codec === undefined) return;
  const frame = codec === 'WSQ' ? wsqFrame(image) : jpeg2000Frame(image);
  if (!frame) { c.add('117', idc, field, `IMAGE IS NOT ${codec} DATA`); return; }
  if (frame.width !== hll || frame.height !== vll) c.add('117', idc, field, `${codec} IMAGE IS ${frame.width}X${frame.height}, RECORD SAYS ${hll}X${vll}`);
  // The 15:1 limit is WSQ's (§1.3); JPEG 2000 is lossy or lossless "by agreement" with no ratio given.
  if (codec === 'WSQ' && hll * vll > MAX_COMPRESSION_RATIO * image.length) c.add('501', idc, field, `COMPRESSION RATIO ${(hll * vll / image.length).toFixed(1)}:1 ABOVE 15:1`);
}

function validateType9(c: Collector, r: TaggedRecord, ctx: Context): void {
  const idc = taggedIdc(r);
  const v = checkTaggedFields(c, r, idc, (n) => TYPE9[n]);
  for (const [n, spec] of Object.entries(TYPE9)) {
    // CHOICE: with no minutiae (9.136 = 0) there is nothing to write in 9.137, which may then be absent.
    if (Number(n) === 137 && v.get(136) === '0') continue;
    if (spec.required && !r.fields.some((f) => f.number === Number(n))) c.add('101', idc, fieldId(9, Number(n)), `${spec.name} MISSING`);
  }
  const imp = v.get(3);
  // Latent searches describe latent impressions (Table 4: 4–7; Table 9 latent palms 12–15).
  if (imp !== undefined && (ctx.tot === 'MPS' || ctx.tot === 'MMS') && ![4, 5, 6, 7, 12, 13, 14, 15].includes(Number(imp))) {
    c.add('115', idc, '9.003', `IMPRESSION TYPE ${imp} IS NOT A LATENT IMPRESSION`);
  }
  const fmt = v.get(4);
  if (fmt !== undefined && fmt !== 'U') c.add('115', idc, '9.004', `MINUTIAE FORMAT ${fmt} IS NOT U (INCITS 378)`);
  const cbeff = v.get(126);
  if (cbeff !== undefined) {
    const [owner, format] = cbeff.split('\x1f');
    if (owner !== '27' || format !== '513') c.add('115', idc, '9.126', 'CBEFF IS NOT 27/513');
  }
  const fgp = v.get(134);
  if (fgp !== undefined && !(Number(fgp) <= 10 || isPalmPosition(Number(fgp)))) c.add('115', idc, '9.134', `POSITION ${fgp} NOT IN TABLE 5 (0-10) OR TABLE 10`);
  const fqd = v.get(135);
  if (fqd !== undefined) {
    const q = fqd.split('\x1f')[0] ?? '';
    if (!/^\d{1,3}$/.test(q)) c.add('108', idc, '9.135', 'FINGER QUALITY IS NOT A NUMBER');
    else if (Number(q) > 100) c.add('110', idc, '9.135', `FINGER QUALITY ${q} ABOVE 100`);
  }
  // The minutiae themselves: item ranges, indexes, 9.136 against 9.137, positions inside the image.
  const { set, problems } = readMinutiae(r);
  for (const p of problems) {
    if (p.code === '101' || !v.has(Number(p.field.slice(2)))) continue; // already reported by the field pass
    c.add(p.code, idc, p.field, p.text);
  }
  const width = v.has(128) ? set.width : 0;
  const height = v.has(129) ? set.height : 0;
  for (const m of set.minutiae) {
    if ((width && m.x >= width) || (height && m.y >= height)) {
      c.add('110', idc, '9.137', `MINUTIA ${m.index} AT ${m.x},${m.y} OUTSIDE THE ${width}X${height} IMAGE`);
      break;
    }
  }
  // CHOICE: a latent search without a single minutia cannot be run: 501.
  if (v.get(136) === '0' && (ctx.tot === 'MPS' || ctx.tot === 'MMS')) c.add('501', idc, '9.136', 'NO MINUTIAE');
}

function validateImageRecord(c: Collector, r: TaggedRecord, ctx: Context): void {
  const idc = taggedIdc(r);
  const type = r.type;
  const v = checkTaggedFields(c, r, idc, (n) => {
    if (n === 999) return 'ignore';
    if (IMAGE_FIELDS[n]) return IMAGE_FIELDS[n];
    if ((n >= 14 && n <= 19) || (n >= 21 && n <= 199) || (n >= 200 && n <= 998)) return 'ignore';
    return undefined;
  });
  for (const n of IMAGE_MANDATORY) {
    if (!r.fields.some((f) => f.number === n)) c.add('101', idc, fieldId(type, n), `${n === 999 ? 'IMAGE DATA' : IMAGE_FIELDS[n]!.name} MISSING`);
  }
  const last = r.fields[r.fields.length - 1];
  const data = r.fields.find((f) => f.number === 999);
  if (data && last !== data) c.add('117', idc, fieldId(type, 999), 'IMAGE DATA IS NOT THE LAST FIELD');
  const imp = v.get(3);
  // Type 13: latent codes of Table 4 (4–7) or Table 9 (12–15); Type 15: Table 9 (10–15).
  const imps = type === 13 ? [4, 5, 6, 7, 12, 13, 14, 15] : [10, 11, 12, 13, 14, 15];
  if (imp !== undefined && !imps.includes(Number(imp))) c.add('115', idc, fieldId(type, 3), `IMPRESSION TYPE ${imp} NOT ALLOWED IN TYPE ${type}`);
  const src = v.get(4);
  if (src !== undefined) checkAgency(c, idc, fieldId(type, 4), 'SRC', src);
  const date = v.get(5);
  if (date !== undefined && !isValidDate(date)) c.add('112', idc, fieldId(type, 5), `INVALID DATE ${date}`);
  const cga = v.get(11);
  if (cga !== undefined && !COMPRESSION_CODES.includes(cga)) c.add('115', idc, fieldId(type, 11), `COMPRESSION ${cga} IS NOT WSQ OR JPEG 2000`);
  const fgp = v.get(13);
  if (fgp !== undefined) {
    for (const p of subfields(fgp).map((s) => Number(s[0]))) {
      // §5.1.4: latents use finger codes 0–10 only; palms Table 10.
      const ok = type === 15 ? isPalmPosition(p) : p <= 10 || isPalmPosition(p);
      if (!ok) { c.add('115', idc, fieldId(type, 13), `POSITION ${p} NOT ALLOWED`); break; }
    }
  }
  if (data && Buffer.isBuffer(data.value)) {
    if (data.value.length === 0) c.add('117', idc, fieldId(type, 999), 'NO IMAGE DATA');
    else if (cga !== undefined && COMPRESSION_CODES.includes(cga) && v.has(6) && v.has(7)) {
      checkImageData(c, idc, fieldId(type, 999), cga.startsWith('WSQ') ? 'WSQ' : 'JPEG 2000', data.value, Number(v.get(6)), Number(v.get(7)));
    }
  }
  void ctx;
}

/** Duplicate finger positions among the Type 4 records of a ten-print (503). */
function validateSequence(c: Collector, t: Transaction): void {
  const seen = new Set<number>();
  for (const r of t.records) {
    if (r.kind !== 'image' || r.type !== 4) continue;
    const p = r.fgp[0];
    if (p === undefined || p > 14) continue;
    if (seen.has(p)) c.add('503', r.idc, '4.004', `FINGER POSITION ${p} GIVEN TWICE`);
    seen.add(p);
  }
}

/** True when the request carries palms (Type 15) or its latent is a palm (Type 13 FGP in Table 10). */
export function isPalmTransaction(t: Transaction): boolean {
  return t.records.some(
    (r) => r.type === 15 || (r.kind === 'tagged' && r.type === 13 && subfields(String(r.fields.find((f) => f.number === 13)?.value ?? '')).some((s) => isPalmPosition(Number(s[0])))),
  );
}

/** Table 11 search type of a request transaction, undefined for SRE/ERR or an unknown TOT. */
export function searchTypeOf(t: Transaction): SearchType | undefined {
  const header = t.records[0];
  if (!header || header.kind !== 'tagged') return undefined;
  const tot = header.fields.find((f) => f.number === 4)?.value;
  if (typeof tot !== 'string' || !isRequestTot(tot)) return undefined;
  return searchType(tot, isPalmTransaction(t));
}

/** Every INT-I violation of a parsed transaction, in file order; [] when it conforms. */
export function validateIntI(t: Transaction, options: ValidateOptions = {}): NistError[] {
  const c = new Collector();
  const header = t.records[0];
  if (!header || header.kind !== 'tagged' || header.type !== 1) return [nistError('117', -1, '1.001', 'NO TYPE 1 RECORD')];
  const tot = validateType1(c, t, header, options);
  if (tot) validateRecordSet(c, t, tot);
  validateIdcs(c, t);
  const ctx: Context = { tot, palm: isPalmTransaction(t), search: searchTypeOf(t) };
  for (const r of t.records.slice(1)) validateRecord(c, r, ctx);
  if (tot === 'CPS' || tot === 'PMS' || tot === 'SRE') validateSequence(c, t);
  return sortByRecord(c.errors, t);
}

function validateRecord(c: Collector, r: NistRecord, ctx: Context): void {
  if (r.kind === 'image') validateType4(c, r, ctx);
  else if (r.kind === 'tagged') {
    if (r.type === 2) validateType2(c, r, ctx);
    else if (r.type === 9) validateType9(c, r, ctx);
    else if (r.type === 13 || r.type === 15) validateImageRecord(c, r, ctx);
  }
}

/** File order: Type 1 errors first, then by the position of the record they name, then by field number. */
function sortByRecord(errors: NistError[], t: Transaction): NistError[] {
  const position = new Map<string, number>();
  t.records.forEach((r, i) => {
    const key = `${r.type}/${recordIdc(r)}`;
    if (!position.has(key)) position.set(key, i);
  });
  const pos = (e: NistError) => (e.idc === -1 && e.field.startsWith('1.') ? 0 : position.get(`${e.field.split('.')[0]}/${e.idc}`) ?? 0);
  const field = (e: NistError) => Number(e.field.split('.')[1] ?? 0);
  return errors
    .map((e, i) => ({ e, i, p: pos(e), f: field(e) }))
    .sort((a, b) => a.p - b.p || a.f - b.f || a.i - b.i)
    .map((x) => x.e);
}
