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
import { MAX_REPEAT, WILDCARD } from './allele.js';
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

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 160;
}

/** DNA-WILD for one value of a locus other than amelogenin. Hand-written scanner: imports run it 300 M times. */
export function normaliseAllele(raw: string): string {
  let start = 0;
  let end = raw.length;
  while (start < end && isSpace(raw.charCodeAt(start))) start++;
  while (end > start && isSpace(raw.charCodeAt(end - 1))) end--;
  // Whole part: digits only; leading zeros dropped.
  let i = start;
  let whole = 0;
  let digits = 0;
  while (i < end) {
    const c = raw.charCodeAt(i);
    if (c < 48 || c > 57) break;
    whole = whole * 10 + (c - 48);
    digits++;
    i++;
  }
  if (digits === 0) return WILDCARD; // "o", "f", "r", "na", "nr", "un", "<8", "", ".5" … (§1.1 first rule)
  let fraction = -1; // -1: none; else the single significant decimal digit (0 when all zeros)
  if (i < end) {
    const sep = raw.charCodeAt(i);
    if (sep !== 46 && sep !== 44) return WILDCARD; // "14a"
    i++;
    if (i === end) return WILDCARD; // "14."
    fraction = 0;
    let position = 0;
    while (i < end) {
      const c = raw.charCodeAt(i);
      if (c < 48 || c > 57) return WILDCARD; // "9.3.1"
      if (c !== 48) {
        if (position > 0) return WILDCARD; // "9.31": not an allele designation
        fraction = c - 48;
      }
      position++;
      i++;
    }
  }
  if (whole > MAX_REPEAT) return WILDCARD;
  if (fraction <= 0) {
    if (whole === 0 || whole === 1 || whole === 99) return WILDCARD; // §1.1 second rule
    return String(whole);
  }
  return `${whole}.${fraction}`;
}

// Canonical numbers order the same as Number(); the wildcard goes last.
function sortPair(a: string, b: string): AllelePair {
  const ka = a === WILDCARD ? Infinity : Number(a);
  const kb = b === WILDCARD ? Infinity : Number(b);
  return ka <= kb ? [a, b] : [b, a];
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
  let converted = second === undefined ? 2 : 0;
  if (a === WILDCARD && first !== WILDCARD) converted++;
  if (second !== undefined && b === WILDCARD && second !== WILDCARD) converted++;
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
  const pairs: Array<AllelePair | undefined> = new Array(LOCI.length);
  let wildcarded = 0;
  for (const name in raw.loci) {
    const values = raw.loci[name]!;
    const locus = locusByName(name);
    if (locus === undefined) {
      return { ok: false, refusal: { code: 'UNKNOWN_LOCUS', reason: `unknown locus "${name.slice(0, 40)}"` } };
    }
    const index = LOCUS_INDEX.get(locus)!;
    if (pairs[index] !== undefined) {
      return { ok: false, refusal: { code: 'UNKNOWN_LOCUS', reason: `locus ${locus} is given twice` } };
    }
    const r = normaliseLocus(locus, values);
    if (!r.ok) return r;
    if (r.pair !== undefined) pairs[index] = r.pair;
    wildcarded += r.wildcarded;
  }
  // Built once, in schema order, so every profile object has the same shape.
  const loci: Partial<Record<LocusName, AllelePair>> = {};
  for (let i = 0; i < LOCI.length; i++) {
    const p = pairs[i];
    if (p !== undefined) loci[LOCI[i]!] = p;
  }
  const profile: NormalisedProfile = { type: raw.type, loci };
  const refusal = checkInclusion(profile);
  if (refusal) return { ok: false, refusal };
  return { ok: true, profile, wildcarded };
}

const LOCUS_INDEX: ReadonlyMap<LocusName, number> = new Map(LOCI.map((l, i) => [l, i]));
