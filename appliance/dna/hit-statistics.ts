/**
 * What the DNA staff need to judge a hit before anything follows from it (issue 15; the human confirmation that
 * Regulation (EU) 2024/982 makes explicit): the loci compared, the ones matched, the one that differs, where a
 * wildcard or a micro-variant carried the match, and an estimate of how often an unrelated person would match
 * by chance on the loci that really matched.
 *
 * The random-match probability is the product over the fully designated matching loci of the genotype
 * frequency, with the NRC II (National Research Council, "The Evaluation of Forensic DNA Evidence", 1996)
 * formulas and its sub-population correction θ (recommendation 4.1/4.10: homozygote p² + p(1−p)θ, heterozygote
 * 2pq; θ = 0.01 for a general European population). Allele frequencies: norSTR Europe v2023 (frequencies.ts);
 * an allele the table does not list gets its minimum frequency, 0.001 — conservative, it makes a match look
 * less rare. Choices where a hit is not a plain identity, each conservative (a larger probability):
 *  - a locus matched through a wildcard, and the differing locus of a near match, are left out of the product;
 *  - a locus matched through a micro-variant equivalence uses, for each allele, the summed frequency of every
 *    value equivalent to it (the Annex tables), since any of them would have matched.
 * The figure is an aid for ranking and triage, not an expert's statistical report.
 */
import { alleleCode, WILDCARD_CODE } from './allele.js';
import { EUROPE_FREQUENCIES, type FrequencyTable } from './frequencies.js';
import { compareLocus, countsTowardMinimum, equivalentCodes, maxMicroVariantDigit, type LocusComparison } from './match.js';
import { MATCH_LOCI, type LocusName } from './loci.js';
import type { AllelePair, DnaLoci } from './profile.js';

/** NRC II recommendation 4.10's sub-population correction for a general population. */
export const THETA = 0.01;
/** The frequency table's floor: an unlisted allele is taken as this frequent. */
export const MIN_ALLELE_FREQUENCY = 0.001;

export type LocusVerdict = 'match' | 'wildcard' | 'micro-variant' | 'differs' | 'differs-twice';

export interface LocusView {
  readonly locus: LocusName;
  readonly ours: AllelePair;
  readonly theirs: AllelePair;
  readonly verdict: LocusVerdict;
  /** Counts toward the six fully designated matching loci. */
  readonly counts: boolean;
}

export interface HitStatistics {
  /** Loci both profiles have (amelogenin excluded). */
  readonly comparedLoci: number;
  /** Fully designated matching loci (the Annex's six). */
  readonly matchedLoci: number;
  readonly differingLoci: readonly LocusName[];
  readonly wildcardLoci: readonly LocusName[];
  readonly microVariantLoci: readonly LocusName[];
  /** Loci one profile has and the other not: the staff see what was never compared. */
  readonly onlyOurs: readonly LocusName[];
  readonly onlyTheirs: readonly LocusName[];
  readonly loci: readonly LocusView[];
  /** Random-match probability on the matched loci (see the top of this file); 1 when none. */
  readonly randomMatchProbability: number;
  /** The same as "1 in N", rounded, for the page. */
  readonly oneIn: number;
}

function verdictOf(c: LocusComparison): LocusVerdict {
  if (c.mismatches === 2) return 'differs-twice';
  if (c.mismatches === 1) return 'differs';
  if (c.wildcard) return 'wildcard';
  if (c.microVariant) return 'micro-variant';
  return 'match';
}

function frequencyMap(table: FrequencyTable, locus: LocusName): Map<number, number> {
  const out = new Map<number, number>();
  const rows = table[locus] ?? [];
  const total = rows.reduce((a, [, f]) => a + f, 0) || 1;
  for (const [value, f] of rows) {
    const code = alleleCode(value);
    if (code !== undefined) out.set(code, f / total);
  }
  return out;
}

const cache = new Map<FrequencyTable, Map<LocusName, Map<number, number>>>();
function frequencies(table: FrequencyTable, locus: LocusName): Map<number, number> {
  let byLocus = cache.get(table);
  if (!byLocus) cache.set(table, (byLocus = new Map()));
  let f = byLocus.get(locus);
  if (!f) byLocus.set(locus, (f = frequencyMap(table, locus)));
  return f;
}

/** An allele's frequency; with `equivalents`, the summed frequency of every value the Annex tables equate with it. */
export function alleleFrequency(locus: LocusName, value: string, equivalents: boolean, table: FrequencyTable = EUROPE_FREQUENCIES): number {
  const code = alleleCode(value);
  if (code === undefined || code === WILDCARD_CODE) return 1;
  const f = frequencies(table, locus);
  const codes = equivalents ? equivalentCodes(maxMicroVariantDigit(locus), code) : [code];
  let sum = 0;
  for (const c of codes) sum += f.get(c) ?? (c === code ? MIN_ALLELE_FREQUENCY : 0);
  return Math.min(1, Math.max(sum, MIN_ALLELE_FREQUENCY));
}

/** NRC II 4.10: the genotype's frequency with the θ correction for a homozygote. */
export function genotypeFrequency(p: number, q: number, homozygote: boolean, theta = THETA): number {
  return homozygote ? p * p + p * (1 - p) * theta : 2 * p * q;
}

/** Compares our profile with theirs locus by locus and estimates the random-match probability of the hit. */
export function hitStatistics(ours: DnaLoci, theirs: DnaLoci, table: FrequencyTable = EUROPE_FREQUENCIES): HitStatistics {
  const loci: LocusView[] = [];
  const differing: LocusName[] = [];
  const wildcard: LocusName[] = [];
  const micro: LocusName[] = [];
  const onlyOurs: LocusName[] = [];
  const onlyTheirs: LocusName[] = [];
  let matched = 0;
  let rmp = 1;
  for (const locus of MATCH_LOCI) {
    const a = ours[locus];
    const b = theirs[locus];
    if (a === undefined || b === undefined) {
      if (a !== undefined) onlyOurs.push(locus);
      if (b !== undefined) onlyTheirs.push(locus);
      continue;
    }
    const c = compareLocus(locus, a, b);
    const verdict = verdictOf(c);
    const counts = countsTowardMinimum(c);
    loci.push({ locus, ours: a, theirs: b, verdict, counts });
    if (c.mismatches > 0) differing.push(locus);
    else if (c.wildcard) wildcard.push(locus);
    else if (c.microVariant) micro.push(locus);
    if (counts) {
      matched++;
      const p = alleleFrequency(locus, a[0], c.microVariant, table);
      const q = alleleFrequency(locus, a[1], c.microVariant, table);
      rmp *= genotypeFrequency(p, q, a[0] === a[1]);
    }
  }
  return {
    comparedLoci: loci.length,
    matchedLoci: matched,
    differingLoci: differing,
    wildcardLoci: wildcard,
    microVariantLoci: micro,
    onlyOurs,
    onlyTheirs,
    loci,
    randomMatchProbability: rmp,
    oneIn: rmp > 0 ? Math.round(1 / rmp) : Number.POSITIVE_INFINITY,
  };
}
