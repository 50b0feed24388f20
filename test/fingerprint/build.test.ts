import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  BuildError, buildTransaction, dumpTransaction, fieldText, getField, makeTcn, parseTransaction, validateIntI, writeTransaction,
  type TaggedRecord, type Type4Record,
} from '../../appliance/fingerprint/index.js';
import { FIXTURES, NIST_DIR } from './samples.js';

const TYPE1 = { '1.002': '0300', '1.004': 'MPS', '1.005': '20260304', '1.006': 2, '1.007': 'DE/BKA', '1.008': 'RO/IGPR', '1.009': makeTcn(2026, 9), '1.011': '19.68', '1.012': '19.68', '1.013': [['INT-I', '4.22']], '1.014': '20260304102030Z' };

test('buildTransaction: object fields in number order, LEN/IDC/CNT filled in, image from a file or base64', () => {
  const wsq = readFileSync(`${FIXTURES}wsq/fp-3.wsq`);
  const t = buildTransaction({
    records: [
      { type: 1, fields: TYPE1 },
      { type: 2, idc: 0, fields: { '2.320': 10, '2.003': '0422', '2.007': 'RO/C1', '2.008': '0001', '2.009': 'A' } },
      { type: 9, idc: 1, fields: { '9.003': 4, '9.004': 'U', '9.128': 804, '9.129': 752, '9.130': 1, '9.131': 500, '9.132': 500, '9.133': 0, '9.134': '02', '9.136': 2, '9.137': [[1, 10, 20, 30, 1, 50], [2, 100, 200, 90, 2, 60]] } },
      { type: 13, idc: 1, fields: { '13.003': 4, '13.004': 'RO/IGPR', '13.005': '20260301', '13.006': 804, '13.007': 752, '13.008': 1, '13.009': 500, '13.010': 500, '13.011': 'WSQ20', '13.012': 8, '13.013': [2, 7], '13.999': { base64: wsq.toString('base64') } } },
    ],
  });
  const two = t.records[1] as TaggedRecord;
  assert.deepEqual(two.fields.map((f) => f.number), [1, 2, 3, 7, 8, 9, 320]);
  assert.equal(fieldText(two, 2), '00');
  assert.equal(fieldText(t.records[0] as TaggedRecord, 3), '1\x1f3\x1e2\x1f00\x1e9\x1f01\x1e13\x1f01');
  assert.equal(fieldText(t.records[2] as TaggedRecord, 137), '1\x1f10\x1f20\x1f30\x1f1\x1f50\x1e2\x1f100\x1f200\x1f90\x1f2\x1f60');
  assert.equal(fieldText(t.records[3] as TaggedRecord, 13), '2\x1e7');
  const bytes = writeTransaction(t);
  const back = parseTransaction(bytes);
  assert.ok(back.ok);
  if (!back.ok) return;
  assert.deepEqual(validateIntI(back.value), []);
  assert.ok((getField(back.value.records[3] as TaggedRecord, 999)!.value as Buffer).equals(wsq));
});

test('buildTransaction: [tag, value] pairs are written in the order and spelling given', () => {
  const t = buildTransaction({
    records: [
      { type: 1, fields: [['1.004', 'ERR'], ['1.0002', '0300']] },
      { type: 2, fields: [['2.000000074', 'x'], ['2.003', '0422']] },
      { type: 4, idc: 1, imp: 1, fgp: [1, 6], hll: 804, vll: 752, image: { file: `${FIXTURES}wsq/fp-1.wsq` } },
    ],
  });
  const text = writeTransaction(t).toString('latin1');
  assert.match(text, /^1\.001:\d+\x1d1\.003:1\x1f2\x1e2\x1f00\x1e4\x1f01\x1d1\.004:ERR\x1d1\.0002:0300\x1c2\.001:\d+\x1d2\.002:00\x1d2\.000000074:x\x1d2\.003:0422\x1c/);
  const r4 = t.records[2] as Type4Record;
  assert.deepEqual(r4.fgp, [1, 6, 255, 255, 255, 255]);
  assert.equal(r4.gca, 1);
});

test('buildTransaction refuses what it cannot write, with the reason', () => {
  const bad: [unknown, RegExp][] = [
    [{}, /records/],
    [{ records: [] }, /records/],
    [{ records: [{ type: 2, fields: {} }] }, /first record must be Type 1/],
    [{ records: [{ type: 1, fields: { '2.004': 'x' } }] }, /belongs to type 2/],
    [{ records: [{ type: 1, fields: { abc: 'x' } }] }, /not T\.FFF/],
    [{ records: [{ type: 1, fields: {} }, { type: 4, fields: {} }] }, /records/],
    [{ records: [{ type: 1, fields: {} }, { type: 4, idc: 1, imp: 1, fgp: [1, 2, 3, 4, 5, 6, 7], hll: 1, vll: 1, image: { base64: '' } }] }, /fgp/],
    [{ records: [{ type: 1, fields: {} }, { type: 4, idc: 300, imp: 1, fgp: [1], hll: 1, vll: 1, image: { base64: '' } }] }, /idc/],
  ];
  for (const [spec, reason] of bad) assert.throws(() => buildTransaction(spec), (e: unknown) => e instanceof BuildError && reason.test(e.message), JSON.stringify(spec));
});

test('dumpTransaction: values, subfields, items; binary data as its length; repeated fields kept apart', () => {
  const r = parseTransaction(readFileSync(`${NIST_DIR}type-9-4-iafis.an2`));
  assert.ok(r.ok);
  if (!r.ok) return;
  const d = dumpTransaction(r.value);
  assert.deepEqual(d.records.map((x) => x.type), [1, 2, 9, 4]);
  assert.equal(d.records[0]!.fields['1.013'] as unknown as string[][] instanceof Array, true);
  assert.deepEqual(d.records[0]!.fields['1.013'], [['NORAM', '']]);
  assert.deepEqual(d.records[2]!.fields['9.016'], [['AFIS/FBI', 'A1', 'NMV']]);
  assert.deepEqual(d.records[3]!.fields['4.009'], { binary: true, bytes: (r.value.records[3] as Type4Record).image.length });
  const twice = buildTransaction({ records: [{ type: 1, fields: [['1.004', 'A'], ['1.004', 'B']] }] });
  assert.deepEqual([dumpTransaction(twice).records[0]!.fields['1.004'], dumpTransaction(twice).records[0]!.fields['1.004#2']], ['A', 'B']);
});
