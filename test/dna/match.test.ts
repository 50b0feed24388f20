/**
 * One table row (or more) per rule sentence of Annex ch.1 §1.1–1.2 and the hit-quality table of the ICD
 * (§4.2.3.3), plus the choices we made where the Annex is open (see the header of appliance/dna/match.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  compareLocus,
  compareProfiles,
  countsTowardMinimum,
  equivalentCodes,
  microVariantEquivalent,
} from '../../appliance/dna/match.js';
import { alleleCode } from '../../appliance/dna/allele.js';
import type { LocusName } from '../../appliance/dna/loci.js';
import { BASE, baseLoci, loci, withLoci } from './helpers.js';
import { naiveCompare } from './naive.js';

function alleleOutcome(locus: LocusName, a: string, b: string): 'equal' | 'micro' | 'mismatch' | 'wildcard' {
  const c = compareLocus(locus, [a, a], [b, b]);
  if (c.mismatches > 0) return 'mismatch';
  if (c.microVariant) return 'micro';
  if (c.wildcard) return 'wildcard';
  return 'equal';
}

describe('§1.1 micro-variants of penta-nucleotide loci (Penta D, Penta E, CD4)', () => {
  const rows: Array<[string, string, string[], string[]]> = [
    ['x.1 = x, x.1, x.2', '8.1', ['8', '8.2'], ['8.3', '8.4', '9', '7.4']],
    ['x.2 = x.1, x.2, x.3', '8.2', ['8.1', '8.3'], ['8', '8.4', '9']],
    ['x.3 = x.2, x.3, x.4', '8.3', ['8.2', '8.4'], ['8', '8.1', '9']],
    ['x.4 = x.3, x.4, x + 1', '8.4', ['8.3', '9'], ['8', '8.1', '8.2', '9.1']],
  ];
  for (const locus of ['penta_d', 'penta_e', 'cd4'] as const) {
    for (const [sentence, x, equivalent, different] of rows) {
      it(`${locus}: ${sentence}`, () => {
        assert.equal(alleleOutcome(locus, x, x), 'equal');
        for (const y of equivalent) {
          assert.equal(alleleOutcome(locus, x, y), 'micro', `${x} vs ${y}`);
          assert.equal(alleleOutcome(locus, y, x), 'micro', `symmetric: ${y} vs ${x}`);
        }
        for (const y of different) assert.equal(alleleOutcome(locus, x, y), 'mismatch', `${x} vs ${y}`);
      });
    }
  }
  it('an integer matches x.1 and (x-1).4 by symmetry, nothing else', () => {
    assert.deepEqual([...equivalentCodes(4, alleleCode('9')!)].sort(), [alleleCode('8.4'), alleleCode('9'), alleleCode('9.1')].sort());
    assert.equal(alleleOutcome('penta_d', '9', '8.3'), 'mismatch');
    assert.equal(alleleOutcome('penta_d', '9', '9.2'), 'mismatch');
  });
});

describe('§1.1 micro-variants of tetra-nucleotide loci (all other loci)', () => {
  const rows: Array<[string, string, string[], string[]]> = [
    ['x.1 = x, x.1, x.2', '14.1', ['14', '14.2'], ['14.3', '15', '13.3']],
    ['x.2 = x.1, x.2, x.3', '14.2', ['14.1', '14.3'], ['14', '15']],
    ['x.3 = x.2, x.3, x + 1', '14.3', ['14.2', '15'], ['14', '14.1', '14.4', '15.1']],
  ];
  for (const locus of ['vwa', 'th01', 'd21s11', 'se33', 'gaba', 'fes'] as const) {
    for (const [sentence, x, equivalent, different] of rows) {
      it(`${locus}: ${sentence}`, () => {
        for (const y of equivalent) {
          assert.equal(alleleOutcome(locus, x, y), 'micro', `${x} vs ${y}`);
          assert.equal(alleleOutcome(locus, y, x), 'micro', `symmetric: ${y} vs ${x}`);
        }
        for (const y of different) assert.equal(alleleOutcome(locus, x, y), 'mismatch', `${x} vs ${y}`);
      });
    }
  }
  it('TH01 9.3 matches 10 (x.3 = x+1) and 9.2, not 9', () => {
    assert.equal(alleleOutcome('th01', '9.3', '10'), 'micro');
    assert.equal(alleleOutcome('th01', '9.3', '9.2'), 'micro');
    assert.equal(alleleOutcome('th01', '9.3', '9'), 'mismatch');
  });
  it('a .4 value has no row on a tetra locus: equal only to itself', () => {
    assert.equal(alleleOutcome('vwa', '14.4', '14.4'), 'equal');
    assert.equal(alleleOutcome('vwa', '14.4', '14.3'), 'mismatch');
    assert.equal(alleleOutcome('vwa', '14.4', '15'), 'mismatch');
    assert.equal(microVariantEquivalent(3, alleleCode('14.4')!, alleleCode('14.3')!), false);
  });
});

describe('§1.1 wildcards: "12,* poate corespunde cu 12,14 sau 9,12" (both permutations)', () => {
  const cases: Array<[string, [string, string], [string, string], number, boolean]> = [
    ['12,* vs 12,14 (first permutation)', ['12', '*'], ['12', '14'], 0, true],
    ['12,* vs 9,12 (second permutation)', ['12', '*'], ['9', '12'], 0, true],
    ['*,12 vs 9,12', ['*', '12'], ['9', '12'], 0, true],
    ['12,* vs 9,14: the designated value differs', ['12', '*'], ['9', '14'], 1, true],
    ['*,* vs 9,14: compared with all others', ['*', '*'], ['9', '14'], 0, true],
    ['12,14 vs 14,12: alleles are an unordered pair', ['12', '14'], ['14', '12'], 0, false],
    ['12,12 vs 12,14: homozygous against heterozygous is one differing allele', ['12', '12'], ['12', '14'], 1, false],
    ['12,14 vs 15,16: both differ', ['12', '14'], ['15', '16'], 2, false],
  ];
  for (const [name, a, b, mismatches, wildcard] of cases) {
    it(name, () => {
      const c = compareLocus('vwa', a, b);
      assert.equal(c.mismatches, mismatches);
      assert.equal(c.wildcard, wildcard);
      assert.equal(c.fullyDesignated, !a.includes('*') && !b.includes('*'));
    });
  }
  it('the best permutation is taken: 12,* vs 12.1,12 reads as 12=12 and *=12.1 (no micro-variant)', () => {
    const c = compareLocus('vwa', ['12', '*'], ['12.1', '12']);
    assert.equal(c.microVariant, false);
    assert.equal(c.wildcard, true);
    assert.equal(c.mismatches, 0);
  });
  it('a wildcard locus never counts toward the six (choice 1)', () => {
    assert.equal(countsTowardMinimum(compareLocus('vwa', ['12', '*'], ['12', '14'])), false);
    assert.equal(countsTowardMinimum(compareLocus('vwa', ['12', '14'], ['12', '14'])), true);
    assert.equal(countsTowardMinimum(compareLocus('th01', ['9.3', '9.3'], ['10', '9.3'])), true);
  });
});

interface Row {
  sentence: string;
  request: string;
  candidate: string;
  expect: { hit: false } | { hit: true; quality: 1 | 2 | 3 | 4; hitcount: number };
}

const PROFILE_RULES: Row[] = [
  // §1.2 first paragraph
  { sentence: 'compare only loci both profiles have: extra loci in the request are ignored',
    request: withLoci(BASE, 'penta_d=9,12 se33=17,28.2'), candidate: BASE, expect: { hit: true, quality: 1, hitcount: 16 } },
  { sentence: 'compare only loci both profiles have: extra loci in the candidate are ignored',
    request: baseLoci(6), candidate: BASE, expect: { hit: true, quality: 1, hitcount: 12 } },
  { sentence: 'a hit needs at least six fully designated matching loci: six suffice',
    request: baseLoci(6), candidate: baseLoci(6), expect: { hit: true, quality: 1, hitcount: 12 } },
  { sentence: 'a hit needs at least six fully designated matching loci: five do not',
    request: baseLoci(5), candidate: baseLoci(5), expect: { hit: false } },
  { sentence: 'amelogenin does not count toward the six',
    request: withLoci(baseLoci(5), 'amelogenin=X,Y'), candidate: withLoci(baseLoci(5), 'amelogenin=X,Y'), expect: { hit: false } },
  { sentence: 'amelogenin is not compared (choice 6): X,Y vs X,X is still quality 1',
    request: withLoci(BASE, 'amelogenin=X,Y'), candidate: withLoci(BASE, 'amelogenin=X,X'), expect: { hit: true, quality: 1, hitcount: 16 } },
  // §1.2 second paragraph: full match
  { sentence: 'full match (quality 1): all compared alleles equal, no wildcard',
    request: BASE, candidate: BASE, expect: { hit: true, quality: 1, hitcount: 16 } },
  // near match
  { sentence: 'near match: exactly one compared allele differs (quality 4)',
    request: BASE, candidate: withLoci(BASE, 'vwa=14,18'), expect: { hit: true, quality: 4, hitcount: 15 } },
  { sentence: 'near match: homozygous vs heterozygous is the one differing allele',
    request: BASE, candidate: withLoci(BASE, 'vwa=14,14'), expect: { hit: true, quality: 4, hitcount: 15 } },
  { sentence: 'two differing alleles at one locus: no hit',
    request: BASE, candidate: withLoci(BASE, 'vwa=15,18'), expect: { hit: false } },
  { sentence: 'two differing alleles at two loci: no hit',
    request: BASE, candidate: withLoci(BASE, 'vwa=14,18 fga=21,23'), expect: { hit: false } },
  { sentence: 'a near match is accepted only with six matching loci besides the differing one: 7 compared, 6 match',
    request: baseLoci(7), candidate: withLoci(baseLoci(7), 'd18s51=14,16'), expect: { hit: true, quality: 4, hitcount: 13 } },
  { sentence: 'a near match is accepted only with six matching loci: 6 compared, 5 match → no hit',
    request: baseLoci(6), candidate: withLoci(baseLoci(6), 'd3s1358=15,17'), expect: { hit: false } },
  // hit quality table (ICD §4.2.3.3)
  { sentence: 'quality 2: equal in all available alleles with wildcards (12,* vs 12,14)',
    request: withLoci(BASE, 'tpox=8,*'), candidate: BASE, expect: { hit: true, quality: 2, hitcount: 16 } },
  { sentence: 'quality 2: the worked example 12,* vs 9,12',
    request: withLoci(BASE, 'd8s1179=12,*'), candidate: withLoci(BASE, 'd8s1179=9,12'), expect: { hit: true, quality: 2, hitcount: 16 } },
  { sentence: 'quality 2: the worked example 12,* vs 12,14',
    request: withLoci(BASE, 'd8s1179=12,*'), candidate: withLoci(BASE, 'd8s1179=12,14'), expect: { hit: true, quality: 2, hitcount: 16 } },
  { sentence: 'wildcard in the candidate also gives quality 2',
    request: BASE, candidate: withLoci(BASE, 'fga=*,22'), expect: { hit: true, quality: 2, hitcount: 16 } },
  { sentence: 'many wildcards are allowed; they are not the differing allele',
    request: withLoci(BASE, 'tpox=*,* penta_d=*,9'), candidate: withLoci(BASE, 'tpox=9,10 penta_d=12,*'), expect: { hit: true, quality: 2, hitcount: 18 } },
  { sentence: 'a wildcard-only locus does not count toward the six (choice 1): 5 designated + *,* → no hit',
    request: withLoci(baseLoci(5), 'd18s51=*,*'), candidate: baseLoci(6), expect: { hit: false } },
  { sentence: 'a locus with one wildcard does not count toward the six (choice 1)',
    request: withLoci(baseLoci(6), 'd3s1358=15,*'), candidate: baseLoci(6), expect: { hit: false } },
  { sentence: '6 designated matching loci plus a wildcard locus: quality 2',
    request: withLoci(baseLoci(7), 'd18s51=*,*'), candidate: baseLoci(7), expect: { hit: true, quality: 2, hitcount: 14 } },
  { sentence: 'quality 3: hit with deviation (micro-variant), TH01 9.3 vs 10',
    request: BASE, candidate: withLoci(BASE, 'th01=6,10'), expect: { hit: true, quality: 3, hitcount: 16 } },
  { sentence: 'a micro-variant locus counts toward the six (choice 2)',
    request: baseLoci(6), candidate: withLoci(baseLoci(6), 'vwa=14.1,17'), expect: { hit: true, quality: 3, hitcount: 12 } },
  { sentence: 'micro-variant and wildcard: quality 3',
    request: withLoci(BASE, 'tpox=8,*'), candidate: withLoci(BASE, 'vwa=14,16.3'), expect: { hit: true, quality: 3, hitcount: 16 } },
  { sentence: 'quality 4 wins over micro-variant and wildcard',
    request: withLoci(BASE, 'tpox=8,*'), candidate: withLoci(BASE, 'vwa=14,16.3 fga=20,22'), expect: { hit: true, quality: 4, hitcount: 15 } },
  { sentence: 'micro-variant beyond the table (x.2 vs x) is a differing allele',
    request: BASE, candidate: withLoci(BASE, 'vwa=14.2,17'), expect: { hit: true, quality: 4, hitcount: 15 } },
  // §1.1 "all available alleles ... are used for search and comparison"
  { sentence: 'additional loci take part: a difference at GABA makes a near match',
    request: withLoci(BASE, 'gaba=6,7'), candidate: withLoci(BASE, 'gaba=6,8'), expect: { hit: true, quality: 4, hitcount: 17 } },
  { sentence: 'additional loci take part: two differences at FES exclude the hit',
    request: withLoci(BASE, 'fes=10,11'), candidate: withLoci(BASE, 'fes=12,13'), expect: { hit: false } },
  { sentence: 'penta locus micro-variant: Penta E 8.4 vs 9',
    request: withLoci(BASE, 'penta_e=8.4,12'), candidate: withLoci(BASE, 'penta_e=9,12'), expect: { hit: true, quality: 3, hitcount: 18 } },
  { sentence: 'same on a tetra locus: D21S11 28.4 vs 29 differs',
    request: withLoci(BASE, 'd21s11=28.4,30'), candidate: BASE, expect: { hit: true, quality: 4, hitcount: 15 } },
];

describe('§1.2 matching rules and ICD hit quality, profile by profile', () => {
  for (const row of PROFILE_RULES) {
    it(row.sentence, () => {
      const got = compareProfiles(loci(row.request), loci(row.candidate));
      if (row.expect.hit) {
        assert.equal(got.hit, true, JSON.stringify(got));
        if (got.hit) {
          assert.equal(got.quality, row.expect.quality);
          assert.equal(got.hitcount, row.expect.hitcount);
        }
      } else {
        assert.equal(got.hit, false, JSON.stringify(got));
      }
      // The table also holds the independent naive matcher to the same sentences.
      assert.deepEqual(naiveCompare(loci(row.request), loci(row.candidate)), row.expect);
      // Comparison is symmetric.
      const back = compareProfiles(loci(row.candidate), loci(row.request));
      assert.equal(back.hit, got.hit);
    });
  }
});
