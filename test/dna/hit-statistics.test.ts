/** The figures beside a hit on the validation list: per-locus verdicts and the random-match estimate (NRC II 4.10). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { genotypeFrequency, hitStatistics, MIN_ALLELE_FREQUENCY, THETA } from '../../appliance/dna/hit-statistics.js';
import type { FrequencyTable } from '../../appliance/dna/frequencies.js';
import type { DnaLoci } from '../../appliance/dna/profile.js';

// A table with round numbers, so every expected figure can be written down by hand.
const TABLE: FrequencyTable = {
  vwa: [['14', 0.1], ['17', 0.2], ['18', 0.7]],
  th01: [['6', 0.5], ['9.3', 0.5]],
  d21s11: [['29', 0.25], ['30', 0.25], ['30.1', 0.1], ['30.2', 0.4]],
  fga: [['21', 0.1], ['22', 0.9]],
  d8s1179: [['13', 0.4], ['14', 0.6]],
  d3s1358: [['15', 0.3], ['16', 0.7]],
  d18s51: [['14', 0.5], ['15', 0.5]],
};
const OURS: DnaLoci = { vwa: ['14', '17'], th01: ['6', '9.3'], d21s11: ['29', '30'], fga: ['21', '22'], d8s1179: ['13', '13'], d3s1358: ['15', '16'], d18s51: ['14', '15'], tpox: ['8', '11'] };

test('an identical hit: every shared locus matched, the product of 2pq and the θ-corrected homozygote', () => {
  const theirs: DnaLoci = { ...OURS, tpox: undefined as never, penta_d: ['9', '12'] };
  delete (theirs as Record<string, unknown>).tpox;
  const s = hitStatistics(OURS, theirs, TABLE);
  assert.equal(s.comparedLoci, 7);
  assert.equal(s.matchedLoci, 7);
  assert.deepEqual(s.differingLoci, []);
  assert.deepEqual(s.onlyOurs, ['tpox']);
  assert.deepEqual(s.onlyTheirs, ['penta_d']);
  const expected = (2 * 0.1 * 0.2) * (2 * 0.5 * 0.5) * (2 * 0.25 * 0.25) * (2 * 0.1 * 0.9) * (0.4 * 0.4 + 0.4 * 0.6 * THETA) * (2 * 0.3 * 0.7) * (2 * 0.5 * 0.5);
  assert.ok(Math.abs(s.randomMatchProbability - expected) / expected < 1e-12, `${s.randomMatchProbability} vs ${expected}`);
  assert.equal(s.oneIn, Math.round(1 / expected));
});

test('a near match leaves the differing locus out; a wildcard locus is shown but not in the product', () => {
  const theirs: DnaLoci = { ...OURS, vwa: ['14', '18'], fga: ['21', '*'] };
  const s = hitStatistics(OURS, theirs, TABLE);
  assert.deepEqual(s.differingLoci, ['vwa']);
  assert.deepEqual(s.wildcardLoci, ['fga']);
  assert.equal(s.matchedLoci, 6, 'tpox, vwa and fga do not count');
  assert.equal(s.loci.find((l) => l.locus === 'vwa')?.verdict, 'differs');
  assert.equal(s.loci.find((l) => l.locus === 'fga')?.verdict, 'wildcard');
  const withoutVwaAndFga = (2 * 0.5 * 0.5) * (2 * 0.25 * 0.25) * (0.4 * 0.4 + 0.4 * 0.6 * THETA) * (2 * 0.3 * 0.7) * (2 * 0.5 * 0.5) * (2 * MIN_ALLELE_FREQUENCY * MIN_ALLELE_FREQUENCY);
  assert.ok(Math.abs(s.randomMatchProbability - withoutVwaAndFga) / withoutVwaAndFga < 1e-12, 'tpox: not in the table, both alleles at the floor');
});

test('a micro-variant locus counts the frequencies of every equivalent value (30 ≡ 30.1, 29.3; not 30.2)', () => {
  const theirs: DnaLoci = { ...OURS, d21s11: ['29.1', '30'] };
  const s = hitStatistics(OURS, theirs, TABLE);
  assert.deepEqual(s.microVariantLoci, ['d21s11']);
  const d21 = s.loci.find((l) => l.locus === 'd21s11')!;
  assert.equal(d21.verdict, 'micro-variant');
  assert.equal(d21.counts, true);
  // 30 is equivalent to 30.1 and 29.3: 0.25 + 0.1 (30.2 is not: the tetra table stops at x.1 for an integer);
  // 29 to 29.1 and 28.3, neither listed: 0.25.
  const plain = hitStatistics(OURS, OURS, TABLE).randomMatchProbability / (2 * 0.25 * 0.25);
  const expected = plain * (2 * 0.25 * 0.35);
  assert.ok(Math.abs(s.randomMatchProbability - expected) / expected < 1e-12);
  assert.ok(s.randomMatchProbability > hitStatistics(OURS, OURS, TABLE).randomMatchProbability, 'a micro-variant match is less rare');
});

test('genotype frequency formulas (NRC II 4.10)', () => {
  assert.equal(genotypeFrequency(0.1, 0.2, false), 2 * 0.1 * 0.2);
  assert.equal(genotypeFrequency(0.1, 0.1, true, 0), 0.1 * 0.1);
  assert.ok(genotypeFrequency(0.1, 0.1, true) > 0.01, 'θ makes a homozygote more common');
});

test('with the published European table, a full 16-locus hit is rarer than one in a billion', () => {
  const full: DnaLoci = {
    ...OURS, tpox: ['8', '11'], csf1po: ['10', '12'], d13s317: ['11', '12'], d7s820: ['10', '11'], d5s818: ['11', '12'],
    d16s539: ['11', '12'], d2s1338: ['17', '20'], d19s433: ['13', '14'], penta_d: ['9', '12'],
  };
  const s = hitStatistics(full, full);
  assert.equal(s.matchedLoci, 16);
  assert.ok(s.oneIn > 1e9, String(s.oneIn));
});
