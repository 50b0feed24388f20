import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  ermText, formatNistError, makeTcn, makeType9, nistError, parseTransaction, searchTypeOf, validateIntI, withContents, withField, withoutField, writeTransaction,
  type NistRecord, type TaggedRecord, type Transaction, type Type4Record, type ValidateOptions,
} from '../../appliance/fingerprint/index.js';
import { NIST_DIR, NIST_FILES, VALID, cps, err, latent, pms, pmsPalms, sreHit, sreNoHit, tenPrint, wsqImages } from './samples.js';

/** Errors of a transaction as the CLI prints them, after a real write and read. */
function lines(t: Transaction, options?: ValidateOptions): string[] {
  const r = parseTransaction(writeTransaction(t));
  if (!r.ok) return r.errors.map(formatNistError);
  return validateIntI(r.value, options).map(formatNistError);
}

/** The transaction with record i changed (CNT kept as it was unless `recount`). */
function edit(t: Transaction, i: number, f: (r: NistRecord) => NistRecord, recount = false): Transaction {
  const records = t.records.map((r, j) => (j === i ? f(r) : r));
  return recount ? withContents({ records }) : { records };
}
const set = (i: number, n: number, v: string | Buffer) => (t: Transaction) => edit(t, i, (r) => withField(r as TaggedRecord, n, v));
const drop = (i: number, n: number) => (t: Transaction) => edit(t, i, (r) => withoutField(r as TaggedRecord, n));

for (const [name, make] of Object.entries(VALID)) {
  test(`a well-formed ${name} is valid`, () => assert.deepEqual(lines(make()), []));
}

test('TCN/TCR: wrong check character and wrong format are 201 (the Annex example 0200000004F is wrong)', () => {
  assert.deepEqual(lines(set(0, 9, '0200000004F')(cps())), ['201: IDC -1 FIELD 1.009 WRONG CONTROL CHARACTER IN TCN']);
  assert.deepEqual(lines(set(0, 9, '0200000004H')(cps())), []);
  assert.deepEqual(lines(set(0, 10, '26000000771')(sreNoHit())), ['201: IDC -1 FIELD 1.010 TCR IS NOT YYSSSSSSSSA']);
});

// One case per Table 3 code a file can trigger: [code, description, mutation, expected line].
const CASES: [string, string, (t: Transaction) => Transaction, string, ValidateOptions?][] = [
  ['003', 'DAI names another State', (t) => t, '003: IDC -1 FIELD 1.007 DESTINATION DE IS NOT AT', { self: 'AT' }],
  ['003', 'ORI is not the sender', (t) => t, '003: IDC -1 FIELD 1.008 ORIGIN RO IS NOT THE SENDER HU', { peer: 'HU' }],
  ['101', 'Type 1 field missing', drop(0, 14), '101: IDC -1 FIELD 1.014 GMT MISSING'],
  ['101', 'Type 2 field mandatory for the TOT', drop(1, 10), '101: IDC 0 FIELD 2.010 CRN MISSING'],
  ['102', 'record type the TOT does not allow', (t) => edit(t, 14, () => latent('MPS').records[3]!, true), '102: IDC 1 FIELD 13.001 TYPE 13 RECORD NOT ALLOWED IN CPS'],
  ['103', 'field undefined for the TOT', set(1, 7, 'RO/C1'), '103: IDC 0 FIELD 2.007 UNDEFINED FIELD'],
  ['103', 'field undefined in Type 1', set(0, 15, 'X'), '103: IDC -1 FIELD 1.015 UNDEFINED FIELD'],
  ['104', 'more subfields than allowed', set(1, 10, 'RO/1\x1eRO/2'), '104: IDC 0 FIELD 2.010 CRN HAS 2 SUBFIELDS, AT MOST 1 ALLOWED'],
  ['105', 'wrong number of items', set(0, 13, 'INT-I'), '105: IDC -1 FIELD 1.013 DOM HAS 1 ITEMS, 2 EXPECTED'],
  ['106', 'field too short', set(0, 2, '030'), '106: IDC -1 FIELD 1.002 VER SHORTER THAN 4 CHARACTERS'],
  ['107', 'field too long', set(1, 63, 'x'.repeat(33)), '107: IDC 0 FIELD 2.063 INF LONGER THAN 32 CHARACTERS'],
  ['108', 'not a number (Type 9)', (t) => t, ''],
  ['109', 'number too small', set(0, 6, '0'), '109: IDC -1 FIELD 1.006 PRY 0 BELOW 1'],
  ['110', 'ENC above Table 11 for CPS (TP/TP: 1)', set(1, 320, '2'), '110: IDC 0 FIELD 2.320 ENC 2 ABOVE 1 (TABLE 11, TP/TP)'],
  ['111', 'invalid character', set(0, 7, 'DE/BKA#1'), '111: IDC -1 FIELD 1.007 INVALID CHARACTER IN DAI AGENCY'],
  ['111', 'non-ASCII in Type 1', set(0, 8, 'RO/IGPR\xe9'), '111: IDC -1 FIELD 1.008 INVALID CHARACTER IN ORI'],
  ['112', 'invalid date', set(0, 5, '20260230'), '112: IDC -1 FIELD 1.005 INVALID DATE 20260230'],
  ['112', 'invalid GMT', set(0, 14, '20260304246030Z'), '112: IDC -1 FIELD 1.014 INVALID GMT 20260304246030Z'],
  ['115', 'invalid item value', set(1, 3, '0421'), '115: IDC 0 FIELD 2.003 INVALID SYSTEM INFORMATION'],
  ['116', 'unknown TOT', set(0, 4, 'XYZ'), '116: IDC -1 FIELD 1.004 UNKNOWN TYPE OF TRANSACTION XYZ'],
  ['117', 'Type 4 IDC not the one CNT gives', (t) => edit(t, 3, (r) => ({ ...(r as Type4Record), idc: 20 })), '117: IDC 20 FIELD 4.002 IDC 20 DOES NOT MATCH CNT 02'],
  ['117', 'WSQ header size differs from HLL/VLL', (t) => edit(t, 2, (r) => ({ ...(r as Type4Record), hll: 800 })), '117: IDC 1 FIELD 4.009 WSQ IMAGE IS 804X752, RECORD SAYS 800X752'],
  ['201', 'TCN check character', set(0, 9, makeTcn(2026, 1234).slice(0, 10) + 'A'), '201: IDC -1 FIELD 1.009 WRONG CONTROL CHARACTER IN TCN'],
  ['501', 'image compressed beyond 15:1', (t) => edit(t, 2, (r) => ({ ...(r as Type4Record), image: (r as Type4Record).image.subarray(0, 30_000) })), '501: IDC 1 FIELD 4.009 COMPRESSION RATIO 20.2:1 ABOVE 15:1'],
  ['502', 'CPS without fingerprints', (t) => withContents({ records: t.records.slice(0, 2) }), '502: IDC -1 FIELD 1.003 CPS NEEDS AT LEAST 1 TYPE 4 RECORD, 0 GIVEN'],
  ['503', 'the same finger twice', (t) => edit(t, 3, (r) => ({ ...(r as Type4Record), fgp: [1, 255, 255, 255, 255, 255] })), '503: IDC 2 FIELD 4.004 FINGER POSITION 1 GIVEN TWICE'],
];

for (const [code, what, mutate, expected, options] of CASES) {
  if (code === '108') continue;
  test(`${code}: ${what}`, () => assert.deepEqual(lines(mutate(cps()), options), [expected]));
}

test('108: not a number (and the minutiae fields read by the typed reader)', () => {
  // In a numeric (N) field a letter is first of all a character outside the set: 111.
  assert.deepEqual(lines(set(2, 128, '80x')(latent('MPS'))), ['111: IDC 1 FIELD 9.128 INVALID CHARACTER IN HLL']);
  // NOM not matching the minutiae given is 115.
  assert.deepEqual(lines(set(2, 136, '25')(latent('MPS'))), ['115: IDC 1 FIELD 9.136 25 MINUTIAE ANNOUNCED, 24 GIVEN']);
  // 9.135 finger quality: the first item must be a number.
  assert.deepEqual(lines(set(2, 135, 'AB\x1f000F\x1f1')(latent('MPS'))), ['108: IDC 1 FIELD 9.135 FINGER QUALITY IS NOT A NUMBER']);
});

test('MPS/MMS: Type 9 minutiae, latent impression and IDC cross-reference', () => {
  const m = latent('MPS');
  assert.deepEqual(lines(set(2, 4, 'S')(m)), ['115: IDC 1 FIELD 9.004 MINUTIAE FORMAT S IS NOT U (INCITS 378)']);
  assert.deepEqual(lines(set(2, 3, '1')(m)), ['115: IDC 1 FIELD 9.003 IMPRESSION TYPE 1 IS NOT A LATENT IMPRESSION']);
  assert.deepEqual(lines(set(2, 137, '1\x1f900\x1f10\x1f45\x1f1\x1f50')(set(2, 136, '1')(m))), ['110: IDC 1 FIELD 9.137 MINUTIA 1 AT 900,10 OUTSIDE THE 804X752 IMAGE']);
  assert.deepEqual(lines(set(2, 137, '1\x1f9\x1f10\x1f190\x1f1\x1f50')(set(2, 136, '1')(m))), ['110: IDC 1 FIELD 9.137 SUBFIELD 1 ANGLE 190 ABOVE 179']);
  assert.deepEqual(lines(set(2, 137, '1\x1f9\x1f10\x1f19\x1f3\x1f50')(set(2, 136, '1')(m))), ['115: IDC 1 FIELD 9.137 SUBFIELD 1 MINUTIA TYPE 3 NOT 0, 1 OR 2']);
  assert.deepEqual(lines(set(2, 137, '1\x1f9\x1f10\x1f19\x1f1')(set(2, 136, '1')(m))), ['105: IDC 1 FIELD 9.137 MRC HAS 5 ITEMS, 6 EXPECTED']);
  assert.deepEqual(lines(drop(2, 137)(set(2, 136, '0')(m))), ['501: IDC 1 FIELD 9.136 NO MINUTIAE']);
  assert.deepEqual(lines(drop(2, 137)(m)), ['101: IDC 1 FIELD 9.137 MRC MISSING']);
  const moved = edit(m, 2, (r) => withField(r as TaggedRecord, 2, '05'), true);
  assert.deepEqual(lines(moved), ['117: IDC 5 FIELD 9.002 NO TYPE 13 RECORD WITH IDC 5 FOR THESE MINUTIAE']);
  assert.deepEqual(lines(set(2, 129, '768')(m)), ['117: IDC 1 FIELD 9.128 MINUTIAE OF A 804X768 IMAGE, THE TYPE 13 IMAGE IS 804X752']);
  assert.deepEqual(lines(withContents({ records: m.records.slice(0, 3) })), ['502: IDC -1 FIELD 1.003 MPS NEEDS 1 TYPE 13 RECORD, 0 GIVEN', '117: IDC 1 FIELD 9.002 NO TYPE 13 RECORD WITH IDC 1 FOR THESE MINUTIAE']);
  assert.deepEqual(lines(withContents({ records: [...m.records.slice(0, 2), m.records[3]!] })), ['101: IDC -1 FIELD 1.003 MPS NEEDS 1 TYPE 9 RECORD, 0 GIVEN']);
  assert.deepEqual(lines(set(3, 11, 'PNG')(m)), ['115: IDC 1 FIELD 13.011 COMPRESSION PNG IS NOT WSQ OR JPEG 2000']);
  assert.deepEqual(lines(set(3, 13, '2\x1e14')(m)), ['115: IDC 1 FIELD 13.013 POSITION 14 NOT ALLOWED']);
  assert.deepEqual(lines(set(3, 5, '20261301')(m)), ['112: IDC 1 FIELD 13.005 INVALID DATE 20261301']);
  // ENC above Table 11 LT/TP (10); MMS LT/UL (5).
  assert.deepEqual(lines(set(1, 320, '11')(m)), ['110: IDC 0 FIELD 2.320 ENC 11 ABOVE 10 (TABLE 11, LT/TP)']);
  assert.deepEqual(lines(set(1, 320, '6')(latent('MMS'))), ['110: IDC 0 FIELD 2.320 ENC 6 ABOVE 5 (TABLE 11, LT/UL)']);
});

test('CHOICE: reserved Type 13 fields (14–19, 21–199) are ignored and user-defined ones (200–998) allowed; others are 103', () => {
  const m = latent('MPS');
  assert.deepEqual(lines(set(3, 15, 'anything')(set(3, 250, 'user')(m))), []);
  const insert = (extra: { tag: string; number: number; value: string }, last: boolean) => edit(m, 3, (r) => {
    const fields = (r as TaggedRecord).fields;
    return { ...(r as TaggedRecord), fields: last ? [...fields, extra] : [...fields.slice(0, -1), extra, fields[fields.length - 1]!] };
  });
  assert.deepEqual(lines(insert({ tag: '13.1000', number: 1000, value: 'x' }, false)), ['103: IDC 1 FIELD 13.1000 UNDEFINED FIELD']);
  // After 13.999 nothing can follow: its data runs to the FS that LEN gives, so a field written after
  // it is read as image bytes (and the WSQ data no longer ends where it should) — never as a field.
  const file = writeTransaction(m);
  const start13 = file.length - writeTransaction({ records: [m.records[3]!] }).length;
  const rec13 = file.subarray(start13).toString('latin1');
  const len = Number(/^13\.001:(\d+)/.exec(rec13)![1]);
  const extended = `${rec13.slice(0, -1).replace(`13.001:${len}`, `13.001:${len + 9}`)}\x1d13.250:x\x1c`;
  const after = parseTransaction(Buffer.concat([file.subarray(0, start13), Buffer.from(extended, 'latin1')]));
  assert.ok(after.ok);
  if (after.ok) assert.equal((after.value.records[3] as TaggedRecord).fields.at(-1)!.number, 999);
});

test('CHOICE: CNO with or without the CC/ prefix (§4.1.4 vs the A.6.4 example)', () => {
  assert.deepEqual(lines(set(1, 7, 'E999999999')(latent('MPS'))), []);
  assert.deepEqual(lines(set(1, 7, 'RO/E999999999')(latent('MPS'))), []);
  assert.deepEqual(lines(set(1, 7, 'R/O/E9')(latent('MPS'))), ['115: IDC 0 FIELD 2.007 CNO IS NOT [CC/]NUMBER']);
});

test('CHOICE: ERR needs MN1 or MN2 (A.6.3 says MN1; an MPS has no CRN to echo)', () => {
  assert.deepEqual(lines(err()), []);
  assert.deepEqual(lines(drop(1, 12)(err())), ['101: IDC 0 FIELD 2.012 MN1 (OR MN2) MISSING']);
  assert.deepEqual(lines(set(1, 13, 'C2026-0042')(drop(1, 12)(err()))), []);
  assert.deepEqual(lines(drop(1, 74)(err())), ['101: IDC 0 FIELD 2.074 ERM MISSING']);
});

test('CHOICE: PRY is mandatory (Appendix 4) though §3.1.6 calls it optional; TCR is mandatory only in SRE/ERR', () => {
  assert.deepEqual(lines(drop(0, 6)(cps())), ['101: IDC -1 FIELD 1.006 PRY MISSING']);
  assert.deepEqual(lines(drop(0, 10)(sreNoHit())), ['101: IDC -1 FIELD 1.010 TCR MISSING']);
  assert.deepEqual(lines(set(0, 10, makeTcn(2026, 5))(cps())), []);
});

test('SRE: RLS format, one candidate per SRE, PMS hits name the finger in INF', () => {
  assert.deepEqual(lines(sreHit('002/003', '4711')), []);
  assert.deepEqual(lines(sreHit('004/003')), ['115: IDC 0 FIELD 2.064 RLS CANDIDATE 004/003 IS NOT NNN/TTT']);
  assert.deepEqual(lines(set(1, 64, 'CPS\x1eI\x1e001/001')(sreHit())), ['105: IDC 0 FIELD 2.064 RLS HIT HAS 3 SUBFIELDS, 4 EXPECTED']);
  assert.deepEqual(lines(set(1, 64, 'XPS\x1eY')(sreNoHit())), ['115: IDC 0 FIELD 2.064 RLS SEARCH TYPE XPS IS NOT CPS, PMS, MPS OR MMS', '115: IDC 0 FIELD 2.064 RLS RESULT IS NOT I OR N']);
  assert.deepEqual(lines(set(1, 64, 'PMS\x1eI\x1e001/002\x1e120')(sreHit())), ['101: IDC 0 FIELD 2.063 INF (FINGER OF THE HIT) MISSING FOR A PMS HIT']);
  assert.deepEqual(lines(set(1, 63, '07')(set(1, 64, 'PMS\x1eI\x1e001/002\x1e120')(sreHit()))), []);
  assert.deepEqual(lines(set(1, 74, 'not in SRE')(sreNoHit())), ['103: IDC 0 FIELD 2.074 UNDEFINED FIELD']);
});

test('Table 2 and record counts: PMS carries Type 4 or Type 15, not both; at most 14 fingers', () => {
  assert.deepEqual(lines(pmsPalms()), []);
  const both = withContents({ records: [...pms().records, pmsPalms().records[2]!] });
  assert.deepEqual(lines(both), ['102: IDC -1 FIELD 1.003 PMS MAY CARRY TYPE 4 OR 15 RECORDS, NOT BOTH']);
  const fifteen = withContents({ records: [...cps().records, { ...tenPrint()[0]!, idc: 15, fgp: [0, 255, 255, 255, 255, 255] }] });
  assert.deepEqual(lines(fifteen), ['104: IDC -1 FIELD 1.003 15 TYPE 4 RECORDS, AT MOST 14 IN CPS']);
  assert.deepEqual(lines(withContents({ records: pms().records.slice(0, 2) })), ['502: IDC -1 FIELD 1.003 PMS WITHOUT TYPE 4 OR 15 RECORDS']);
  assert.equal(searchTypeOf(pmsPalms()), 'PP/ULP');
  assert.equal(searchTypeOf(pms()), 'TP/UL');
  assert.equal(searchTypeOf(latent('MMS')), 'LT/UL');
});

test('CNT consistency: count in the first subfield, IDCs, Type 2 first', () => {
  const c = cps();
  const wrongCount = set(0, 3, String((c.records[0] as TaggedRecord).fields[2]!.value).replace(/^1\x1f15/, '1\x1f16'))(c);
  assert.deepEqual(lines(wrongCount), ['115: IDC -1 FIELD 1.003 FIRST SUBFIELD MUST BE 1 AND 15 (RECORDS LISTED)']);
  const twice = edit(c, 3, (r) => ({ ...(r as Type4Record), idc: 1 }), true);
  assert.deepEqual(lines(twice), ['117: IDC 1 FIELD 4.002 IDC 1 USED BY TWO TYPE 4 RECORDS']);
});

test('several errors in one file are all reported, in file order', () => {
  let t = cps();
  t = set(0, 9, '2600000123X')(t);
  t = set(0, 5, '20261332')(t);
  t = drop(0, 14)(t);
  t = set(1, 3, '0400')(t);
  t = edit(t, 5, (r) => ({ ...(r as Type4Record), gca: 0 }));
  t = edit(t, 7, (r) => ({ ...(r as Type4Record), fgp: [3, 255, 255, 255, 255, 255] }));
  assert.deepEqual(lines(t), [
    '112: IDC -1 FIELD 1.005 INVALID DATE 20261332',
    '201: IDC -1 FIELD 1.009 WRONG CONTROL CHARACTER IN TCN',
    '101: IDC -1 FIELD 1.014 GMT MISSING',
    '115: IDC 0 FIELD 2.003 INVALID SYSTEM INFORMATION',
    '115: IDC 4 FIELD 4.008 COMPRESSION 0 IS NOT WSQ (1)',
    '503: IDC 6 FIELD 4.004 FINGER POSITION 3 GIVEN TWICE',
  ]);
});

test('the NIST reference files are read but are not INT-I: each gets specific errors', () => {
  for (const file of NIST_FILES) {
    const r = parseTransaction(readFileSync(`${NIST_DIR}${file}`));
    assert.ok(r.ok, file);
    if (!r.ok) continue;
    const errors = validateIntI(r.value).map(formatNistError);
    assert.ok(errors.length > 3, file);
    assert.ok(errors.some((e) => e.startsWith('116: IDC -1 FIELD 1.004')), `${file}: TOT AMN/ABC is not an INT-I TOT`);
  }
  const m1 = parseTransaction(readFileSync(`${NIST_DIR}type-9-13-m1.an2`));
  assert.ok(m1.ok);
  if (m1.ok) assert.ok(validateIntI(m1.value).map(formatNistError).includes('115: IDC -1 FIELD 1.002 VERSION 0400 IS NOT 0300'));
});

test('a Type 9 built with makeType9 needs no other fields; a wrong image size is caught on Type 13 too', () => {
  const m = latent('MPS');
  const nine = makeType9({ idc: 1, impression: 4, width: 804, height: 752, position: 2, minutiae: [{ x: 1, y: 2, theta: 3, type: 1, quality: 0 }] });
  assert.deepEqual(lines(edit(m, 2, () => nine)), []);
  assert.deepEqual(lines(set(3, 6, '800')(m)), ['117: IDC 1 FIELD 9.128 MINUTIAE OF A 804X752 IMAGE, THE TYPE 13 IMAGE IS 800X752', '117: IDC 1 FIELD 13.999 WSQ IMAGE IS 804X752, RECORD SAYS 800X752']);
  assert.equal(wsqImages().length, 5);
});

test('CHOICE: an SRE for a latent hit may carry its Type 9 beside its Type 13 (Table 2, SRE row)', () => {
  const m = latent('MPS');
  const hit = withContents({ records: [...sreNoHit().records.slice(0, 1), ...sreHit().records.slice(1, 2), m.records[2]!, m.records[3]!] });
  const withRls = set(1, 64, 'MMS\x1eI\x1e001/001\x1e999999')(hit);
  assert.deepEqual(lines(withRls), []);
  assert.deepEqual(lines(withContents({ records: withRls.records.slice(0, 3) })), ['117: IDC 1 FIELD 9.002 NO TYPE 13 RECORD WITH IDC 1 FOR THESE MINUTIAE']);
});

test('CHOICE: ERM holds at most 100 lines of 5–128 characters; ermText writes within those bounds', () => {
  const many = Array.from({ length: 250 }, (_, i) => nistError('115', i, '4.004', `FINGER POSITION ${i} ${'X'.repeat(200)}`));
  const text = ermText(many);
  assert.equal(text.split('\n').length, 100);
  assert.ok(text.split('\n').every((l) => l.length <= 128));
  assert.deepEqual(lines(err(text)), []);
  assert.deepEqual(lines(err(Array<string>(150).fill('201: IDC -1 FIELD 1.009 X').join('\n'))), ['104: IDC 0 FIELD 2.074 ERM HAS 150 LINES, AT MOST 100']);
  assert.deepEqual(lines(err(`${text}\n${text}`)), ['107: IDC 0 FIELD 2.074 ERM LONGER THAN 12900 CHARACTERS']);
  assert.deepEqual(lines(err(`201: IDC -1 FIELD 1.009 ${'X'.repeat(120)}`)), ['107: IDC 0 FIELD 2.074 ERM LINE LONGER THAN 128 CHARACTERS']);
  assert.deepEqual(lines(err('201: IDC -1 FIELD 1.009 X\n1')), ['106: IDC 0 FIELD 2.074 ERM LINE SHORTER THAN 5 CHARACTERS']);
});

test('CHOICE: an MPS/MMS carries one latent: a second Type 9 + Type 13 pair is 104', () => {
  const m = latent('MMS');
  const second = latent('MMS', 12, 99);
  const renumber = (r: NistRecord) => withField(r as TaggedRecord, 2, '02');
  const two = withContents({ records: [...m.records, renumber(second.records[2]!), renumber(second.records[3]!)] });
  assert.deepEqual(lines(two), ['104: IDC -1 FIELD 1.003 2 TYPE 9 RECORDS, AT MOST 1 IN MMS', '104: IDC -1 FIELD 1.003 2 TYPE 13 RECORDS, AT MOST 1 IN MMS']);
});
