import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareFingers, compareRecord, isCandidate, DEFAULT_MATCH_PARAMETERS } from '../../appliance/fingerprint/afis/match.js';
import { distort, latentOf, randomFinger, randomTenPrint, secondImpression, seededRandom } from '../../appliance/fingerprint/afis/synthetic.js';

test('a finger matches itself with every minutia paired', () => {
  const f = randomFinger(seededRandom(1), 1);
  const c = compareFingers(f.minutiae, f.minutiae);
  assert.equal(c.paired, f.minutiae.length);
  assert.equal(c.score, 100);
});

test('genuine mates (rotated, shifted, jittered, missing and spurious minutiae) score above the threshold; non-mates below', () => {
  const random = seededRandom(42);
  const mateScores: number[] = [];
  const nonMateScores: number[] = [];
  for (let i = 0; i < 40; i++) {
    const finger = randomFinger(random, 1);
    const other = randomFinger(random, 1);
    const impression = secondImpression(finger, random);
    const mate = compareRecord([impression], [finger]);
    const nonMate = compareRecord([impression], [other]);
    mateScores.push(mate.score);
    nonMateScores.push(nonMate.score);
    assert.ok(isCandidate(mate), `mate ${i}: ${mate.paired} paired, score ${mate.score}`);
    assert.ok(!isCandidate(nonMate), `non-mate ${i}: ${nonMate.paired} paired, score ${nonMate.score}`);
  }
  assert.ok(Math.min(...mateScores) >= DEFAULT_MATCH_PARAMETERS.threshold);
  assert.ok(Math.max(...nonMateScores) < DEFAULT_MATCH_PARAMETERS.threshold);
});

test('partial latents (a third of the finger, any rotation, finger unknown) find their finger among ten; other persons do not match', () => {
  const random = seededRandom(7);
  let found = 0;
  const trials = 30;
  for (let i = 0; i < trials; i++) {
    const person = randomTenPrint(random);
    const stranger = randomTenPrint(random);
    const finger = person[Math.floor(random() * 10)]!;
    const latent = latentOf(finger, random);
    const mate = compareRecord([latent], person);
    const nonMate = compareRecord([latent], stranger);
    if (isCandidate(mate)) {
      found++;
      assert.ok(mate.score > nonMate.score, `latent ${i}: mate ${mate.score} ≤ non-mate ${nonMate.score}`);
    }
    assert.ok(!isCandidate(nonMate), `latent ${i} (${latent.minutiae.length} minutiae) against a stranger: ${nonMate.paired} paired, score ${nonMate.score}`);
  }
  // Latents are hard: one with few minutiae in its part of the finger may pair too few; most must be found.
  assert.ok(found >= Math.ceil(trials * 0.85), `${found}/${trials} latents found their mate`);
});

test('a ten-print search compares finger by finger and pools the pairs', () => {
  const random = seededRandom(99);
  const person = randomTenPrint(random);
  const again = person.map((f) => secondImpression(f, random));
  const stranger = randomTenPrint(random);
  const mate = compareRecord(again, person);
  const nonMate = compareRecord(again, stranger);
  assert.ok(isCandidate(mate), `mate score ${mate.score}`);
  assert.ok(!isCandidate(nonMate), `non-mate score ${nonMate.score}`);
  // Swapping the finger positions breaks the mate: positions are compared like with like.
  const shuffled = again.map((f, i) => ({ ...f, position: ((i + 1) % 10) + 1 }));
  assert.ok(!isCandidate(compareRecord(shuffled, person)));
});

test('heavy distortion beyond the tolerances is not a match (the matcher can fail)', () => {
  const random = seededRandom(5);
  const finger = randomFinger(random, 2);
  const smeared = distort(finger, { rotation: 10, dx: 5, dy: 5, jitter: 40, angleJitter: 90, missed: 0.2, spurious: 0 }, random);
  assert.ok(!isCandidate(compareRecord([smeared], [finger])));
});
