import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatNistError, makeType13, parseTransaction, validateIntI, withContents, writeTransaction } from '../../appliance/fingerprint/index.js';
import { jpeg2000Frame } from '../../appliance/fingerprint/jpeg2000.js';
import { wsqFrame } from '../../appliance/fingerprint/wsq.js';
import { latent, wsqImages } from './samples.js';

/** A J2K main header: SOC, SIZ (one 8-bit component), as an encoder writes it; then filler. */
function j2k(width: number, height: number, xo = 0, yo = 0): Buffer {
  const siz = Buffer.alloc(2 + 2 + 2 + 32 + 2 + 3);
  let p = 0;
  siz.writeUInt16BE(0xff51, p); p += 2;
  siz.writeUInt16BE(41, p); p += 2; // Lsiz: 38 + 3·components
  siz.writeUInt16BE(0, p); p += 2; // Rsiz
  for (const v of [width + xo, height + yo, xo, yo, width + xo, height + yo, 0, 0]) { siz.writeUInt32BE(v, p); p += 4; }
  siz.writeUInt16BE(1, p); p += 2; // Csiz
  siz.writeUInt8(7, p); siz.writeUInt8(1, p + 1); siz.writeUInt8(1, p + 2);
  return Buffer.concat([Buffer.from([0xff, 0x4f]), siz, Buffer.alloc(4000, 0x5a), Buffer.from([0xff, 0xd9])]);
}

function box(type: string, content: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + content.length, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, content]);
}

/** A JP2 file: signature, ftyp, jp2h (ihdr, colr), jp2c with the codestream. */
function jp2(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(14);
  ihdr.writeUInt32BE(height, 0);
  ihdr.writeUInt32BE(width, 4);
  ihdr.writeUInt16BE(1, 8);
  ihdr.writeUInt8(7, 10);
  ihdr.writeUInt8(7, 11);
  return Buffer.concat([
    Buffer.from([0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a]),
    box('ftyp', Buffer.from('jp2 \0\0\0\0jp2 ', 'latin1')),
    box('jp2h', Buffer.concat([box('ihdr', ihdr), box('colr', Buffer.from([1, 0, 0, 0, 0, 0, 17]))])),
    box('jp2c', j2k(width, height)),
  ]);
}

test('jpeg2000Frame reads J2K codestreams (SIZ minus offsets) and JP2 files (ihdr)', () => {
  assert.deepEqual(jpeg2000Frame(j2k(1000, 1200)), { width: 1000, height: 1200 });
  assert.deepEqual(jpeg2000Frame(j2k(1000, 1200, 16, 8)), { width: 1000, height: 1200 });
  assert.deepEqual(jpeg2000Frame(jp2(2048, 1536)), { width: 2048, height: 1536 });
  // Not JPEG 2000, cut short, or with a box longer than the data: no size.
  assert.equal(jpeg2000Frame(Buffer.from('not an image')), undefined);
  assert.equal(jpeg2000Frame(j2k(10, 10).subarray(0, 20)), undefined);
  assert.equal(jpeg2000Frame(jp2(10, 10).subarray(0, 40)), undefined);
  const long = jp2(10, 10);
  long.writeUInt32BE(0xfffffff0, 12 + 20); // the jp2h box claims more than there is
  assert.equal(jpeg2000Frame(long), undefined);
});

test('Type 13 with JPEG 2000: the image size must be the record\'s; no WSQ ratio applies', () => {
  const m = latent('MPS');
  const withImage = (cga: string, image: Buffer, width = 804, height = 752) => {
    const t13 = makeType13({ idc: 1, impression: 4, source: 'RO/IGPR', date: '20260301', width, height, compression: cga, positions: [2], image });
    const r = parseTransaction(writeTransaction(withContents({ records: [...m.records.slice(0, 3), t13] })));
    assert.ok(r.ok);
    return r.ok ? validateIntI(r.value).map(formatNistError) : [];
  };
  assert.deepEqual(withImage('JP2', jp2(804, 752)), []);
  assert.deepEqual(withImage('J2K', j2k(804, 752)), []);
  assert.deepEqual(withImage('JP2L', jp2(804, 700)), ['117: IDC 1 FIELD 13.999 JPEG 2000 IMAGE IS 804X700, RECORD SAYS 804X752']);
  assert.deepEqual(withImage('JP2', Buffer.from('GIF89a')), ['117: IDC 1 FIELD 13.999 IMAGE IS NOT JPEG 2000 DATA']);
  // ~4 KB for 0.6 Mpixel would be 150:1 in WSQ; JPEG 2000 has no ratio limit in the Annex.
  assert.equal(j2k(804, 752).length < 5000, true);
});

test('jpeg2000Frame and wsqFrame never throw on mutated headers', () => {
  let s = 12345;
  const next = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const seeds = [jp2(640, 480), j2k(640, 480), wsqImages()[0]!.data.subarray(0, 2000)];
  for (let i = 0; i < 20_000; i++) {
    const b = Buffer.from(seeds[i % 3]!.subarray(0, 1 + Math.floor(next() * 300)));
    for (let k = 0; k < 3; k++) b[Math.floor(next() * b.length)] = Math.floor(next() * 256);
    jpeg2000Frame(b);
    wsqFrame(b);
  }
});
