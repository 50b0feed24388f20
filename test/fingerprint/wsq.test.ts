import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wsqFrame } from '../../appliance/fingerprint/wsq.js';
import { wsqImages } from './samples.js';

test('wsqFrame reads the frame size of the NIST WSQ images', () => {
  for (const img of wsqImages()) assert.deepEqual(wsqFrame(img.data), { width: img.width, height: img.height });
});

test('wsqFrame gives up on anything that is not a WSQ stream it can walk, without reading past the data', () => {
  const data = wsqImages()[0]!.data;
  const sof = data.indexOf(Buffer.from([0xff, 0xa2]));
  assert.equal(wsqFrame(Buffer.alloc(0)), undefined);
  assert.equal(wsqFrame(Buffer.from([0xff, 0xd8, 0xff, 0xe0])), undefined, 'JPEG, not WSQ');
  assert.equal(wsqFrame(data.subarray(0, sof + 10)), undefined, 'frame header cut short');
  assert.equal(wsqFrame(data.subarray(0, sof)), undefined, 'no frame header');
  const hostile = Buffer.from(data.subarray(0, 64));
  hostile.writeUInt16BE(0xffff, 4); // first segment claims 65 535 bytes
  assert.equal(wsqFrame(hostile), undefined);
  const zero = Buffer.from(data.subarray(0, 64));
  zero.writeUInt16BE(0, 4); // a zero length would loop on the same marker
  assert.equal(wsqFrame(zero), undefined);
  const notMarker = Buffer.from(data);
  notMarker[2] = 0x00;
  assert.equal(wsqFrame(notMarker), undefined);
});
