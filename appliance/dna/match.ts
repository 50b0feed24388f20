/**
 * The Annex ch.1 §1.1–1.2 comparison rules (DNA-MICRO, DNA-SYM, DNA-MATCH, DNA-QUAL) as small pure functions.
 *
 * Values are canonical export values (see normalise.ts); internally they are compared as integer codes
 * (allele.ts: repeat × 10 + micro-variant digit, 0 = wildcard), which is also what the index stores.
 *
 * Where the Annex is open we chose, and the tests pin the choice:
 *  1. Wildcards match anything (§1.1 "comparată cu toate celelalte") and any number of them may occur in a
 *     hit; they never count as a differing allele. A locus counts toward the six "fully designated" matching
 *     loci only if neither profile has a wildcard there: a locus matched through a wildcard, even one allele of
 *     it, is not fully designated in both profiles.
 *  2. A micro-variant equivalence (§1.1 tables, made symmetric) is an equality for matching: it does not count
 *     as the one differing allele, a locus matched that way counts toward the six, and the hit has quality 3.
 *  3. Only one allele in the whole comparison may differ (near match, quality 4); its locus does not count
 *     toward the six (§1.2 "cel puțin șase loci ... care corespund").
 *  4. Quality: 4 if an allele differs, else 3 if a micro-variant equivalence was used, else 2 if a wildcard was
 *     used, else 1. When the two permutations of a locus differ, the one with the fewest differing alleles
 *     wins, then the one without micro-variant deviation, then the one without wildcard: the best reading of
 *     each locus, which also gives the best quality of the whole hit because loci are independent.
 *  5. hitcount (ICD "count of matched alleles") counts every compared allele that is not the differing one,
 *     wildcard and micro-variant matches included, amelogenin excluded.
 *  6. Amelogenin is carried in profiles but neither compared nor counted (§1.2 "în afara amelogeninei").
 */
import { alleleCode, WILDCARD_CODE } from './allele.js';
import { AMELOGENIN, MATCH_LOCI, PENTA_LOCI, type LocusName } from './loci.js';
import type { AllelePair, DnaLoci } from './profile.js';

/** A hit needs at least this many fully designated matching loci (§1.2). */
export const MIN_MATCHING_LOCI = 6;
/** A near match differs in exactly one allele (§1.2). */
export const MAX_DIFFERING_ALLELES = 1;

export type HitQuality = 1 | 2 | 3 | 4;

/** The highest micro-variant digit of a locus's table: x.4 for penta-nucleotide loci, x.3 for tetra. */
export function maxMicroVariantDigit(locus: LocusName): 3 | 4 {
  return PENTA_LOCI.has(locus) ? 4 : 3;
}

/**
 * The row of the Annex table for a micro-variant code: x.1 = x, x.1, x.2 … and for the last digit
 * x.3 = x.2, x.3, x+1 (tetra) or x.4 = x.3, x.4, x+1 (penta). Integers and digits beyond the table have no row.
 */
export function microVariantRow(maxDigit: 3 | 4, code: number): readonly number[] {
  const digit = code % 10;
  if (code === WILDCARD_CODE || digit === 0 || digit > maxDigit) return [];
  const next = digit === maxDigit ? (Math.floor(code / 10) + 1) * 10 : code + 1;
  return [code - 1, code, next];
}

/**
 * All codes a designated code matches under the tables, made symmetric (DNA-SYM): an integer x therefore
 * matches x, x.1 and (x−1).3 (tetra) / (x−1).4 (penta); digits beyond the table match only themselves.
 */
export function equivalentCodes(maxDigit: 3 | 4, code: number): readonly number[] {
  const digit = code % 10;
  if (digit === 0) {
    const whole = code / 10;
    return whole >= 1 ? [code, code + 1, (whole - 1) * 10 + maxDigit] : [code, code + 1];
  }
  if (digit > maxDigit) return [code];
  return microVariantRow(maxDigit, code);
}

export function microVariantEquivalent(maxDigit: 3 | 4, a: number, b: number): boolean {
  if (a === WILDCARD_CODE || b === WILDCARD_CODE) return false;
  return microVariantRow(maxDigit, a).includes(b) || microVariantRow(maxDigit, b).includes(a);
}

/** Outcome of comparing two allele values; the numeric order is the order of preference. */
export const AlleleMatch = { Equal: 0, Wildcard: 1, MicroVariant: 2, Mismatch: 3 } as const;
export type AlleleMatch = (typeof AlleleMatch)[keyof typeof AlleleMatch];

export function compareAlleleCodes(maxDigit: 3 | 4, a: number, b: number): AlleleMatch {
  if (a === WILDCARD_CODE || b === WILDCARD_CODE) return AlleleMatch.Wildcard;
  if (a === b) return AlleleMatch.Equal;
  return microVariantEquivalent(maxDigit, a, b) ? AlleleMatch.MicroVariant : AlleleMatch.Mismatch;
}

export interface LocusComparison {
  /** Alleles that differ in the best permutation (0, 1 or 2). */
  readonly mismatches: 0 | 1 | 2;
  readonly microVariant: boolean;
  readonly wildcard: boolean;
  /** Both profiles have two designated (non-wildcard) values here. */
  readonly fullyDesignated: boolean;
}

// A permutation's score orders readings by (differing alleles, micro-variant used, wildcard used).
function permutationScore(maxDigit: 3 | 4, a1: number, a2: number, b1: number, b2: number): number {
  const m1 = compareAlleleCodes(maxDigit, a1, b1);
  const m2 = compareAlleleCodes(maxDigit, a2, b2);
  const mismatches = (m1 === AlleleMatch.Mismatch ? 1 : 0) + (m2 === AlleleMatch.Mismatch ? 1 : 0);
  const micro = m1 === AlleleMatch.MicroVariant || m2 === AlleleMatch.MicroVariant ? 2 : 0;
  const wild = m1 === AlleleMatch.Wildcard || m2 === AlleleMatch.Wildcard ? 1 : 0;
  return mismatches * 4 + micro + wild;
}

/**
 * Compares one locus; both permutations of the unordered pairs are tried (§1.1: "12,*" matches "12,14" and
 * "9,12"), and the best one is returned as a packed score: mismatches × 4 + 2·microVariant + wildcard.
 */
export function compareLocusCodes(maxDigit: 3 | 4, a1: number, a2: number, b1: number, b2: number): number {
  const straight = permutationScore(maxDigit, a1, a2, b1, b2);
  if (straight === 0) return 0;
  const crossed = permutationScore(maxDigit, a1, a2, b2, b1);
  return crossed < straight ? crossed : straight;
}

export function unpackLocusScore(score: number, fullyDesignated: boolean): LocusComparison {
  return {
    mismatches: (score >> 2) as 0 | 1 | 2,
    microVariant: (score & 2) !== 0,
    wildcard: (score & 1) !== 0,
    fullyDesignated,
  };
}

function codesOf(pair: AllelePair): [number, number] {
  // Values that are not canonical cannot come out of normalise.ts; reading them as wildcards is the Annex's
  // own treatment of anything non-numeric.
  return [alleleCode(pair[0]) ?? WILDCARD_CODE, alleleCode(pair[1]) ?? WILDCARD_CODE];
}

export function compareLocus(locus: LocusName, a: AllelePair, b: AllelePair): LocusComparison {
  const [a1, a2] = codesOf(a);
  const [b1, b2] = codesOf(b);
  const score = compareLocusCodes(maxMicroVariantDigit(locus), a1, a2, b1, b2);
  const designated = a1 !== WILDCARD_CODE && a2 !== WILDCARD_CODE && b1 !== WILDCARD_CODE && b2 !== WILDCARD_CODE;
  return unpackLocusScore(score, designated);
}

/** Choice 1 and 3 above: a matched locus without wildcards on either side and without a differing allele. */
export function countsTowardMinimum(c: LocusComparison): boolean {
  return c.fullyDesignated && c.mismatches === 0;
}

export function hitQuality(mismatches: number, microVariant: boolean, wildcard: boolean): HitQuality {
  if (mismatches > 0) return 4;
  if (microVariant) return 3;
  return wildcard ? 2 : 1;
}

export type ProfileComparison =
  | {
      readonly hit: true;
      readonly quality: HitQuality;
      readonly hitcount: number;
      readonly matchingLoci: number;
      readonly comparedLoci: number;
    }
  | {
      readonly hit: false;
      readonly reason: 'too-many-differences' | 'too-few-matching-loci';
      readonly mismatches: number;
      readonly matchingLoci: number;
      readonly comparedLoci: number;
    };

/** §1.2: compare the loci both profiles have, then decide hit, quality and hitcount. */
export function compareProfiles(request: DnaLoci, candidate: DnaLoci): ProfileComparison {
  let compared = 0;
  let mismatches = 0;
  let matching = 0;
  let micro = false;
  let wild = false;
  for (const locus of MATCH_LOCI) {
    const a = request[locus];
    const b = candidate[locus];
    if (a === undefined || b === undefined) continue;
    const c = compareLocus(locus, a, b);
    compared++;
    mismatches += c.mismatches;
    if (countsTowardMinimum(c)) matching++;
    micro ||= c.microVariant;
    wild ||= c.wildcard;
  }
  if (mismatches > MAX_DIFFERING_ALLELES) {
    return { hit: false, reason: 'too-many-differences', mismatches, matchingLoci: matching, comparedLoci: compared };
  }
  if (matching < MIN_MATCHING_LOCI) {
    return { hit: false, reason: 'too-few-matching-loci', mismatches, matchingLoci: matching, comparedLoci: compared };
  }
  return {
    hit: true,
    quality: hitQuality(mismatches, micro, wild),
    hitcount: compared * 2 - mismatches,
    matchingLoci: matching,
    comparedLoci: compared,
  };
}

/** Amelogenin is carried but takes no part in matching (choice 6). */
export const NOT_COMPARED: readonly LocusName[] = [AMELOGENIN];
