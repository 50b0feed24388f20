import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { openDatabase } from '../../appliance/db/database.js';
import { wsqFrame } from '../../appliance/fingerprint/wsq.js';
import { demoImageMinutiae, demoWsqImage, plainWsqImage } from '../../appliance/fingerprint/afis/demo-image.js';
import { DemoAfis } from '../../appliance/fingerprint/afis/demo.js';
import { DEMO_SUBJECT_REFERENCE, demoSearchTransaction, demoSubjectProbe, seedDemoAfis } from '../../appliance/fingerprint/afis/demo-seed.js';
import { randomFinger, seededRandom } from '../../appliance/fingerprint/afis/synthetic.js';
import { makeTcn } from '../../appliance/fingerprint/index.js';
import { FIXTURES } from '../fingerprint/samples.js';

test('a demo image carries its minutiae in a WSQ comment, framed so the codec reads its size; real WSQ gives none', () => {
  const finger = randomFinger(seededRandom(9), 3);
  const image = demoWsqImage(finger, 400, 500);
  assert.deepEqual(wsqFrame(image), { width: 400, height: 500 });
  const read = demoImageMinutiae(image)!;
  assert.equal(read.length, finger.minutiae.length);
  // Angles travel in units of two degrees, as in 9.137.
  read.forEach((m, i) => {
    const o = finger.minutiae[i]!;
    assert.deepEqual([m.x, m.y, m.kind, m.quality], [Math.round(o.x), Math.round(o.y), o.kind, o.quality]);
    assert.ok(Math.abs(m.theta - o.theta) <= 2);
  });
  assert.equal(demoImageMinutiae(plainWsqImage(400, 500)), null);
  assert.equal(demoImageMinutiae(readFileSync(`${FIXTURES}wsq/fp-1.wsq`)), null);
  // A comment that lies about its length is not read past the data.
  const cut = image.subarray(0, 40);
  assert.equal(demoImageMinutiae(cut), null);
});

test('each State\'s demo AFIS holds its own population; the demo subject is found where the demo says', () => {
  const at = new DemoAfis(openDatabase(':memory:'));
  const de = new DemoAfis(openDatabase(':memory:'));
  seedDemoAfis(at, 'AT', { persons: 30, latents: 10 });
  seedDemoAfis(de, 'DE', { persons: 30, latents: 10 });
  assert.equal(de.count('tenprint'), 31);
  assert.equal(at.count('latent'), 11);
  const search = (afis: DemoAfis, tot: 'CPS' | 'MPS' | 'PMS', fingers = demoSubjectProbe(tot === 'MPS' ? 'latent' : 'tenprint')) =>
    afis.searchTransaction({ id: makeTcn(2026, 1), tcn: makeTcn(2026, 2), tot, priority: 4, maxCandidates: 10, transaction: demoSearchTransaction({ tot, from: 'RO', agency: 'AFIS', destination: 'DE/NCP', tcn: makeTcn(2026, 2), now: new Date(), reference: 'X', fingers }) });
  const refs = (r: ReturnType<typeof search>) => (r.outcome === 'candidates' ? r.candidates.map((c) => c.reference) : [`error ${r.code}`]);
  assert.deepEqual(refs(search(de, 'CPS')), [DEMO_SUBJECT_REFERENCE.DE]);
  assert.deepEqual(refs(search(de, 'MPS')), [DEMO_SUBJECT_REFERENCE.DE]);
  assert.deepEqual(refs(search(at, 'CPS')), []);
  assert.deepEqual(refs(search(at, 'PMS')), [DEMO_SUBJECT_REFERENCE.AT]);
  assert.deepEqual(refs(search(de, 'PMS')), []);
});
