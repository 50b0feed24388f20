/**
 * Export normalisation (Annex ch.1 §1.1, DNA-WILD) and the inclusion rules (DNA-INCL).
 *
 * Raw values are what a national database holds ("14", "9.3", "o", "nr", "99", three alleles…). The output is
 * the export form every other module works with: canonical numbers and the wildcard "*".
 *
 * Choices where the Annex is silent (tests pin each):
 *  - One value at a locus is a homozygote written once ("14" → 14,14), as national exports commonly do.
 *  - Four or more values at a locus is a mixture and refuses the whole profile; three values are the Annex's
 *    own case (first kept, the rest "*"), so "mixed" starts at four.
 *  - A comma is accepted as the decimal mark ("9,3" = "9.3"), as several national systems write it.
 *  - A number that cannot be an allele designation (two or more decimal digits, repeat above 999) is treated
 *    like a non-numeric value, i.e. becomes "*": it is not designated.
 *  - Amelogenin keeps its values (upper-cased), only the three-value rule applies to it.
 *  - "Fully designated" locus = both values designated (no wildcard), amelogenin never counts. Reference
 *    profiles need 6 of the 7 ESS loci fully designated, on top of the general 6.
 */
import { compareAlleles, MAX_REPEAT, WILDCARD } from './allele.js';
import { AMELOGENIN, ESS_LOCI, LOCI, locusByName, MATCH_LOCI, type LocusName } from './loci.js';
import { MIN_MATCHING_LOCI } from './match.js';
import type { AllelePair, DnaLoci, NormalisedProfile, ProfileType } from './profile.js';

export const MIN_DESIGNATED_LOCI = MIN_MATCHING_LOCI;
export const MIN_ESS_LOCI_FOR_REFERENCE = 6;
/** Longest allele text we accept; matches the schema's bound. */
export const MAX_ALLELE_LENGTH = 32;

export type RefusalCode =
  | 'UNKNOWN_LOCUS'
  | 'BAD_ALLELE'
  | 'MIXED_PROFILE'
  | 'TOO_FEW_DESIGNATED_LOCI'
  | 'TOO_FEW_ESS_LOCI';

export interface Refusal {
  readonly code: RefusalCode;
  readonly reason: string;
}

export type NormaliseResult =
  | { readonly ok: true; readonly profile: NormalisedProfile; readonly wildcarded: number }
  | { readonly ok: false; readonly refusal: Refusal };

/** Raw national values of one profile; locus names are matched case-insensitively. */
export interface RawProfile {
  readonly type: ProfileType;
  readonly loci: Readonly<Record<string, readonly string[]>>;
}

const NUMERIC = /^([0-9]+)(?:[.,]([0-9]+))?$/;

/** DNA-WILD for one value of a locus other than amelogenin. */
export function normaliseAllele(raw: string): string {
  const m = NUMERIC.exec(raw.trim());
  if (!m) return WILDCARD; // "o", "f", "r", "na", "nr", "un", "<8", "" … (§1.1 first rule)
  const whole = Number(m[1]);
  const fraction = (m[2] ?? '').replace(/0+$/, '');
  if (fraction.length > 1 || whole > MAX_REPEAT) return WILDCARD;
  if (fraction === '' && (whole === 0 || whole === 1 || whole === 99)) return WILDCARD; // §1.1 second rule
  if (fraction === '' ) return String(whole);
  return `${whole}.${fraction}`;
}

function sortPair(a: string, b: string): AllelePair {
  return compareAlleles(a, b) <= 0 ? [a, b] : [b, a];
}

export type LocusResult = { readonly ok: true; readonly pair: AllelePair | undefined; readonly wildcarded: number } | { readonly ok: false; readonly refusal: Refusal };

export function normaliseLocus(locus: LocusName, values: readonly string[]): LocusResult {
  if (values.length > 3) {
    return { ok: false, refusal: { code: 'MIXED_PROFILE', reason: `${locus} has ${values.length} alleles: mixed profiles are not allowed` } };
  }
  for (const v of values) {
    if (v.length > MAX_ALLELE_LENGTH) {
      return { ok: false, refusal: { code: 'BAD_ALLELE', reason: `${locus} has a value longer than ${MAX_ALLELE_LENGTH} characters` } };
    }
  }
  if (values.length === 0) return { ok: true, pair: undefined, wildcarded: 0 };
  const first = values[0] ?? '';
  const second = values.length === 1 ? first : values.length === 2 ? (values[1] ?? '') : undefined;
  if (locus === AMELOGENIN) {
    const a = first.trim().toUpperCase();
    const b = second === undefined ? WILDCARD : second.trim().toUpperCase();
    return { ok: true, pair: a <= b ? [a, b] : [b, a], wildcarded: second === undefined ? 2 : 0 };
  }
  const a = normaliseAllele(first);
  // §1.1 third rule: of three alleles the first is kept and the other two become wildcards.
  const b = second === undefined ? WILDCARD : normaliseAllele(second);
  const converted = (a === WILDCARD && first.trim() !== WILDCARD ? 1 : 0) + (second === undefined ? 2 : b === WILDCARD && second.trim() !== WILDCARD ? 1 : 0);
  return { ok: true, pair: sortPair(a, b), wildcarded: converted };
}

export function fullyDesignated(pair: AllelePair | undefined): boolean {
  return pair !== undefined && pair[0] !== WILDCARD && pair[1] !== WILDCARD;
}

export function countFullyDesignatedLoci(loci: DnaLoci, among: readonly LocusName[] = MATCH_LOCI): number {
  let n = 0;
  for (const l of among) if (l !== AMELOGENIN && fullyDesignated(loci[l])) n++;
  return n;
}

/** DNA-INCL on an already normalised profile; undefined when it may be exported or searched. */
export function checkInclusion(profile: NormalisedProfile): Refusal | undefined {
  const designated = countFullyDesignatedLoci(profile.loci);
  if (designated < MIN_DESIGNATED_LOCI) {
    return {
      code: 'TOO_FEW_DESIGNATED_LOCI',
      reason: `${designated} fully designated loci (amelogenin excluded); at least ${MIN_DESIGNATED_LOCI} are required`,
    };
  }
  if (profile.type === 'P') {
    const ess = countFullyDesignatedLoci(profile.loci, ESS_LOCI);
    if (ess < MIN_ESS_LOCI_FOR_REFERENCE) {
      return {
        code: 'TOO_FEW_ESS_LOCI',
        reason: `reference profile has ${ess} of the 7 ESS loci fully designated; at least ${MIN_ESS_LOCI_FOR_REFERENCE} are required`,
      };
    }
  }
  return undefined;
}

/** Applies DNA-WILD to every locus, then DNA-INCL; refuses with the first reason found. */
export function normaliseProfile(raw: RawProfile): NormaliseResult {
  const loci: Partial<Record<LocusName, AllelePair>> = {};
  let wildcarded = 0;
  for (const [name, values] of Object.entries(raw.loci)) {
    const locus = locusByName(name);
    if (locus === undefined) {
      return { ok: false, refusal: { code: 'UNKNOWN_LOCUS', reason: `unknown locus "${name.slice(0, 40)}"` } };
    }
    if (loci[locus] !== undefined) {
      return { ok: false, refusal: { code: 'UNKNOWN_LOCUS', reason: `locus ${locus} is given twice` } };
    }
    const r = normaliseLocus(locus, values);
    if (!r.ok) return r;
    if (r.pair !== undefined) loci[locus] = r.pair;
    wildcarded += r.wildcarded;
  }
  const ordered: Partial<Record<LocusName, AllelePair>> = {};
  for (const l of LOCI) {
    const p = loci[l];
    if (p !== undefined) ordered[l] = p;
  }
  const profile: NormalisedProfile = { type: raw.type, loci: ordered };
  const refusal = checkInclusion(profile);
  if (refusal) return { ok: false, refusal };
  return { ok: true, profile, wildcarded };
}
