import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  FS, GS, RS, US, fieldText, getField, parseTransaction, readMinutiae, readType1, readType2, readLatentImage, readPalmImage,
  writeTransaction, withContents, withField, makeType1, makeType9, subfields, type TaggedRecord, type Transaction, type Type4Record,
} from '../../appliance/fingerprint/index.js';
import { NIST_DIR, NIST_FILES, VALID, cps, latent, minutiae, pmsPalms, wsqImages, header } from './samples.js';

function parsed(bytes: Buffer): Transaction {
  const r = parseTransaction(bytes);
  if (!r.ok) assert.fail(r.errors.map((e) => `${e.code} ${e.field} ${e.text}`).join('\n'));
  return r.value;
}

const tagged = (t: Transaction, i: number) => t.records[i] as TaggedRecord;

for (const file of NIST_FILES) {
  test(`NIST reference file ${file} is read and written back byte for byte`, () => {
    const bytes = readFileSync(`${NIST_DIR}${file}`);
    const t = parsed(bytes);
    assert.ok(t.records.length >= 3);
    assert.ok(writeTransaction(t).equals(bytes));
  });
}

test('NIST reference files: records, typed views and binary fields are where the file says', () => {
  const tp = parsed(readFileSync(`${NIST_DIR}type-4-tpcard.an2`));
  assert.deepEqual(tp.records.map((r) => r.type), [1, 2, ...Array<number>(14).fill(4)]);
  const first = tp.records[2] as Type4Record;
  assert.equal(first.kind, 'image');
  assert.equal(first.idc, 1);
  assert.equal(first.fgp[0], 1);
  assert.equal(first.gca, 1);
  assert.equal(first.image.readUInt16BE(0), 0xffa0, 'WSQ SOI at the start of the image');
  assert.equal(readType1(tagged(tp, 0)).tot, 'AMN');

  const palms = parsed(readFileSync(`${NIST_DIR}type-15-palms.an2`));
  const palm = readPalmImage(tagged(palms, 2));
  assert.equal(palm.type, 15);
  assert.ok(palm.image && palm.image.length > 100_000);
  // 15.999 is the last field and ends one byte before the record's FS.
  const p = tagged(palms, 2);
  assert.equal(p.fields[p.fields.length - 1]!.number, 999);

  const latentFile = parsed(readFileSync(`${NIST_DIR}type-13-tip-eji-wsq.an2`));
  assert.equal(latentFile.records.length, 7);
  const img = readLatentImage(tagged(latentFile, 2));
  assert.equal(img.compression, 'WSQ20');
  assert.ok(img.image?.includes(Buffer.of(FS)) || img.image?.includes(Buffer.of(GS)) || img.image?.includes(Buffer.of(RS)) || img.image?.includes(Buffer.of(US)), 'the image holds separator bytes, read as data');

  const m1 = parsed(readFileSync(`${NIST_DIR}type-9-13-m1.an2`));
  const { set } = readMinutiae(tagged(m1, 2));
  assert.equal(set.format, 'U');
  assert.equal(set.minutiae.length, Number(fieldText(tagged(m1, 2), 136)));
  assert.ok(set.minutiae.length > 10);
  assert.deepEqual(set.minutiae.map((m) => m.index), set.minutiae.map((_, i) => i + 1));
});

for (const [name, make] of Object.entries(VALID)) {
  test(`built ${name} transaction round-trips (write → parse → write)`, () => {
    const bytes = writeTransaction(make());
    const again = parsed(bytes);
    assert.ok(writeTransaction(again).equals(bytes));
  });
}

test('every record type round-trips with its typed values: 1, 2, 4, 9, 13, 15', () => {
  const c = parsed(writeTransaction(cps()));
  const h = readType1(tagged(c, 0));
  assert.equal(h.tot, 'CPS');
  assert.equal(h.version, '0300');
  assert.deepEqual(h.domain, ['INT-I', '4.22']);
  assert.equal(h.gmt, '20260304102030Z');
  assert.equal(h.contents.length, 15);
  assert.equal(readType2(tagged(c, 1)).criminalReference, 'RO/P0012345');
  const r4 = c.records[14] as Type4Record;
  assert.deepEqual([r4.idc, r4.imp, r4.fgp[0], r4.hll, r4.vll, r4.gca], [13, 0, 13, wsqImages()[2]!.width, 752, 1]);
  assert.ok(r4.image.equals(wsqImages()[2]!.data));

  const m = parsed(writeTransaction(latent('MPS', 30, 3)));
  const { set, problems } = readMinutiae(tagged(m, 2));
  assert.deepEqual(problems, []);
  assert.deepEqual(set.minutiae.map(({ index: _i, ...rest }) => rest), minutiae(30, 3, 804, 752));
  assert.deepEqual(set.cores, [{ x: 400, y: 350, theta: 45 }]);
  const latentImage = readLatentImage(tagged(m, 3));
  assert.deepEqual(latentImage.positions, [2, 7]);
  assert.ok(latentImage.image?.equals(wsqImages()[1]!.data));

  const p = parsed(writeTransaction(pmsPalms()));
  assert.deepEqual(readPalmImage(tagged(p, 3)).positions, [24]);
});

test('LEN is computed on writing, including when its own digits change the length', () => {
  const t = latent('MPS', 0);
  // LEN placeholders are '0': the writer must produce the real lengths.
  const bytes = writeTransaction(t);
  const back = parsed(bytes);
  for (const r of back.records) {
    if (r.kind !== 'tagged') continue;
    assert.equal(Number(fieldText(r, 1)), writeTransaction({ records: [r] }).length);
  }
  // A Type 2 whose length crosses 99 → 100 when LEN's digits are counted.
  const h = header('ERR');
  const probe = (n: number) => writeTransaction({ records: [withField(h, 63, 'x'.repeat(n))] }).length;
  let n = 0;
  while (probe(n) < 1000) n++;
  const rec = writeTransaction({ records: [withField(h, 63, 'x'.repeat(n))] });
  assert.equal(rec.toString('latin1').match(/^1\.001:(\d+)\x1d/)![1], String(rec.length));
});

test('field numbers with leading zeros are read as their number and written as they were spelt', () => {
  const t = cps();
  const h = tagged(t, 1);
  const odd: TaggedRecord = { ...h, fields: h.fields.map((f) => (f.number === 10 ? { ...f, tag: '2.000000010' } : f.number === 3 ? { ...f, tag: '02.0003' } : f)) };
  const bytes = writeTransaction({ records: [t.records[0]!, odd, ...t.records.slice(2)] });
  assert.ok(bytes.includes(Buffer.from('\x1d2.000000010:RO/P0012345\x1d')));
  const back = parsed(bytes);
  assert.equal(fieldText(tagged(back, 1), 10), 'RO/P0012345');
  assert.equal(getField(tagged(back, 1), 3)?.tag, '02.0003');
  assert.ok(writeTransaction(back).equals(bytes));
});

test('subfields and items split losslessly, empty items included', () => {
  assert.deepEqual(subfields('a\x1fb\x1e\x1ec\x1f'), [['a', 'b'], [''], ['c', '']]);
  const t = withContents({ records: [withField(header('CPS'), 63, 'x'), ...cps().records.slice(1)] });
  assert.ok(writeTransaction(parsed(writeTransaction(t))).equals(writeTransaction(t)));
});

test('binary image data full of separator bytes is never read as separators', () => {
  const nasty = Buffer.from([FS, GS, RS, US, 0x31, 0x2e, 0x30, 0x30, 0x31, 0x3a, FS, FS]);
  const t = withContents({ records: [header('MPS'), ...latent('MPS').records.slice(1, 3), makeType9({ idc: 2, impression: 4, width: 10, height: 10, position: 1, minutiae: [] })] });
  const l = latent('MPS').records[3] as TaggedRecord;
  const withNasty: TaggedRecord = withField(l, 999, nasty);
  const t2 = withContents({ records: [...t.records, withNasty] });
  const back = parsed(writeTransaction(t2));
  const data = getField(tagged(back, 4), 999)?.value;
  assert.ok(Buffer.isBuffer(data) && data.equals(nasty));
  // Type 4 images: same.
  const c = cps();
  const r4: Type4Record = { ...(c.records[2] as Type4Record), image: nasty };
  const back4 = parsed(writeTransaction({ records: [c.records[0]!, c.records[1]!, r4, ...c.records.slice(3)] }));
  assert.ok((back4.records[2] as Type4Record).image.equals(nasty));
});

test('hostile or broken framing is refused with an Annex error, never a throw', () => {
  const good = writeTransaction(latent('MPS'));
  const cases: [string, Buffer, string][] = [
    ['empty file', Buffer.alloc(0), '117'],
    ['no LEN first', Buffer.from('1.002:0300\x1c'), '117'],
    ['LEN beyond the file', Buffer.concat([Buffer.from('1.001:99999999\x1d'), good.subarray(15)]), '110'],
    ['LEN of 10 digits', Buffer.from('1.001:9999999999\x1d1.002:0300\x1c'), '110'],
    ['LEN of 11 digits', Buffer.from('1.001:99999999999\x1d1.002:0300\x1c'), '110'],
    ['LEN not a number', Buffer.from('1.001:12a\x1d1.002:0300\x1c'), '108'],
    ['LEN shorter than its field', Buffer.from('1.001:3\x1d1.002:0300\x1c'), '109'],
    ['truncated file', good.subarray(0, good.length - 100), '110'],
    ['trailing bytes', Buffer.concat([good, Buffer.from('xx')]), '117'],
  ];
  for (const [name, bytes, code] of cases) {
    const r = parseTransaction(bytes);
    assert.equal(r.ok, false, name);
    if (!r.ok) assert.equal(r.errors[0]!.code, code, `${name}: ${r.errors[0]!.text}`);
  }
  // A Type 4 LEN of 0xFFFFFFFF: refused before anything is allocated or read.
  const c = writeTransaction(cps());
  const at = c.indexOf(Buffer.from([0x00, 0x00]), parsed(c).records.slice(0, 2).reduce((n, r) => n + writeTransaction({ records: [r] }).length, 0));
  const hostile = Buffer.from(c);
  hostile.writeUInt32BE(0xffffffff, at);
  const r = parseTransaction(hostile);
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.errors[0]!.text, /LEN 4294967295 BEYOND/);
  // A CNT announcing a million records in a small file stops at the end of the bytes.
  const h = withField(header('CPS'), 3, `1\x1f1000000${'\x1e2\x1f00'.repeat(3)}`);
  const many = parseTransaction(Buffer.concat([writeTransaction({ records: [h] }), writeTransaction({ records: [cps().records[1]!] })]));
  assert.equal(many.ok, false);
  if (!many.ok) assert.match(many.errors[0]!.text, /CNT ANNOUNCES 3 RECORDS AFTER TYPE 1, THE FILE ENDS AFTER 1/);
});

test('a tagged record of another type than CNT announces is refused (102)', () => {
  const t = latent('MPS');
  const [h, t2, t9, t13] = t.records as [TaggedRecord, TaggedRecord, TaggedRecord, TaggedRecord];
  const swapped = Buffer.concat([writeTransaction({ records: [h, t2, t13, t9] })]);
  const r = parseTransaction(swapped);
  assert.equal(r.ok, false);
  if (!r.ok) assert.deepEqual([r.errors[0]!.code, r.errors[0]!.field], ['102', '9.001']);
});

test('the writer refuses what could not be read back as written', () => {
  const t = cps();
  const h = t.records[0] as TaggedRecord;
  assert.throws(() => writeTransaction({ records: [withField(h, 63, 'a\x1db')] }), /FS or GS/);
  assert.throws(() => writeTransaction({ records: [withField(h, 63, Buffer.from('x'))] }), /binary data only/);
  assert.throws(() => writeTransaction({ records: [{ ...h, fields: [...h.fields, { tag: '1.x', number: 1, value: 'y' }] }] }), /not T\.NNN/);
  const r4 = t.records[2] as Type4Record;
  assert.throws(() => writeTransaction({ records: [{ ...r4, hll: 70_000 }] }), RangeError);
});

test('makeType1 always writes the mandatory PRY (4 unless given)', () => {
  const h = makeType1({ tot: 'ERR', destination: 'DE/NCP', origin: 'RO/IGPR', tcn: '2600000001A', now: new Date('2026-01-01T00:00:00Z') });
  assert.equal(fieldText(h, 6), '4');
  assert.equal(readType1(makeType1({ tot: 'ERR', destination: 'DE/NCP', origin: 'RO/IGPR', tcn: '2600000001A', priority: 1, now: new Date() })).priority, 1);
});
