/** DNA-WILD and DNA-INCL (Annex ch.1 §1.1), one table row per rule sentence plus our documented choices. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normaliseAllele, normaliseLocus, normaliseProfile, type RawProfile } from '../../appliance/dna/normalise.js';

function raw(type: 'P' | 'S', spec: Record<string, string[]>): RawProfile {
  return { type, loci: spec };
}
const SIX_ESS = { vwa: ['14', '17'], th01: ['6', '9.3'], d21s11: ['29', '30'], fga: ['21', '22'], d8s1179: ['13', '14'], d3s1358: ['15', '16'] };

describe('§1.1 "any non-numeric value … except amelogenin … becomes a wildcard"', () => {
  for (const v of ['o', 'f', 'r', 'na', 'nr.', 'nr', 'un', 'OL', '<8', '>30', '', ' ', 'X', '14a', '9.3.1']) {
    it(`"${v}" → *`, () => assert.equal(normaliseAllele(v), '*'));
  }
  it('amelogenin keeps non-numeric values', () => {
    const r = normaliseLocus('amelogenin', ['x', 'Y']);
    assert.deepEqual(r.ok && r.pair, ['X', 'Y']);
  });
});

describe('§1.1 "the numeric values 0, 1 or 99 become a wildcard"', () => {
  for (const v of ['0', '1', '99', '00', '01', '99.0', '1.0']) it(`${v} → *`, () => assert.equal(normaliseAllele(v), '*'));
  for (const [v, out] of [['10', '10'], ['11', '11'], ['9', '9'], ['19', '19'], ['98', '98'], ['100', '100'], ['0.5', '0.5']] as const) {
    it(`${v} stays ${out}`, () => assert.equal(normaliseAllele(v), out));
  }
});

describe('canonical numbers (our choices)', () => {
  const rows: Array<[string, string]> = [
    ['9.3', '9.3'], [' 9.3 ', '9.3'], ['09', '9'], ['9,3', '9.3'], ['9.30', '9.3'], ['14.0', '14'],
    ['9.31', '*'], ['1000', '*'], ['35.2', '35.2'],
  ];
  for (const [v, out] of rows) it(`"${v}" → ${out}`, () => assert.equal(normaliseAllele(v), out));
});

describe('§1.1 "if three alleles are given for a locus, the first is kept and the other two become wildcards"', () => {
  it('12,14,15 → 12,*', () => {
    const r = normaliseLocus('vwa', ['12', '14', '15']);
    assert.deepEqual(r.ok && r.pair, ['12', '*']);
  });
  it('the first is kept even when it is the larger: 15,12,14 → 15,*', () => {
    const r = normaliseLocus('vwa', ['15', '12', '14']);
    assert.deepEqual(r.ok && r.pair, ['15', '*']);
  });
  it('a non-numeric first of three becomes a wildcard too: o,14,15 → *,*', () => {
    const r = normaliseLocus('vwa', ['o', '14', '15']);
    assert.deepEqual(r.ok && r.pair, ['*', '*']);
  });
});

describe('§1.1 "mixed profiles are not allowed … two numbers, identical when homozygous"', () => {
  it('four values at a locus refuse the profile as mixed', () => {
    const r = normaliseProfile(raw('S', { ...SIX_ESS, d18s51: ['12', '13', '14', '15'] }));
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.refusal.code, 'MIXED_PROFILE');
    assert.match(!r.ok ? r.refusal.reason : '', /d18s51 has 4 alleles/);
  });
  it('a homozygote may be written twice or once (our choice)', () => {
    const twice = normaliseLocus('vwa', ['14', '14']);
    const once = normaliseLocus('vwa', ['14']);
    assert.deepEqual(twice.ok && twice.pair, ['14', '14']);
    assert.deepEqual(once.ok && once.pair, ['14', '14']);
  });
  it('pairs are written low, high, wildcard last', () => {
    const r = normaliseLocus('vwa', ['17', '14']);
    assert.deepEqual(r.ok && r.pair, ['14', '17']);
    const w = normaliseLocus('vwa', ['nr', '14']);
    assert.deepEqual(w.ok && w.pair, ['14', '*']);
  });
});

describe('§1.1 inclusion: "at least six fully designated loci"; reference profiles "six of the seven ESS loci"', () => {
  it('a stain with six fully designated loci is accepted', () => {
    const r = normaliseProfile(raw('S', SIX_ESS));
    assert.equal(r.ok, true);
  });
  it('five fully designated loci plus blanks are refused, with the count in the reason', () => {
    const r = normaliseProfile(raw('S', { ...SIX_ESS, d3s1358: ['15', 'nr'], tpox: ['o', 'o'] }));
    assert.equal(!r.ok && r.refusal.code, 'TOO_FEW_DESIGNATED_LOCI');
    assert.match(!r.ok ? r.refusal.reason : '', /^5 fully designated loci/);
  });
  it('amelogenin does not count', () => {
    const { d3s1358: _, ...five } = SIX_ESS;
    const r = normaliseProfile(raw('S', { ...five, amelogenin: ['X', 'Y'] }));
    assert.equal(!r.ok && r.refusal.code, 'TOO_FEW_DESIGNATED_LOCI');
  });
  it('a rare allele value is designated (footnote 1: rare values included)', () => {
    const r = normaliseProfile(raw('S', { ...SIX_ESS, d21s11: ['35.2', '38'] }));
    assert.equal(r.ok, true);
  });
  it('a reference profile with 5 ESS loci and 3 others is refused', () => {
    const { d3s1358: _, ...five } = SIX_ESS;
    const r = normaliseProfile(raw('P', { ...five, tpox: ['8', '8'], csf1po: ['10', '12'], d16s539: ['11', '12'] }));
    assert.equal(!r.ok && r.refusal.code, 'TOO_FEW_ESS_LOCI');
  });
  it('the same loci are fine for a stain', () => {
    const { d3s1358: _, ...five } = SIX_ESS;
    const r = normaliseProfile(raw('S', { ...five, tpox: ['8', '8'], csf1po: ['10', '12'], d16s539: ['11', '12'] }));
    assert.equal(r.ok, true);
  });
  it('a reference profile with 6 of the 7 ESS loci is accepted', () => {
    assert.equal(normaliseProfile(raw('P', SIX_ESS)).ok, true);
  });
  it('an ESS locus with a wildcard is not fully designated', () => {
    const r = normaliseProfile(raw('P', { ...SIX_ESS, vwa: ['14', '99'], tpox: ['8', '8'], csf1po: ['10', '12'] }));
    assert.equal(!r.ok && r.refusal.code, 'TOO_FEW_ESS_LOCI');
  });
});

describe('locus names', () => {
  it('are matched case-insensitively', () => {
    const r = normaliseProfile(raw('S', { VWA: ['14', '17'], TH01: ['6', '9.3'], D21S11: ['29', '30'], FGA: ['21', '22'], D8S1179: ['13', '14'], Penta_D: ['9', '12'] }));
    assert.equal(r.ok, true);
    assert.deepEqual(r.ok && r.profile.loci.penta_d, ['9', '12']);
  });
  it('unknown names refuse the profile', () => {
    const r = normaliseProfile(raw('S', { ...SIX_ESS, d1s1656: ['12', '13'] }));
    assert.equal(!r.ok && r.refusal.code, 'UNKNOWN_LOCUS');
  });
  it('the same locus twice (different case) is refused', () => {
    const r = normaliseProfile(raw('S', { ...SIX_ESS, VWA: ['14', '17'] }));
    assert.equal(!r.ok && r.refusal.code, 'UNKNOWN_LOCUS');
  });
});
