/**
 * Types of transaction (Annex ch.2 §3.1.4), the record types each may carry (Table 2) and the
 * candidate limits per type of search (Table 11), as data for the validator and the exchange.
 */
export const TOTS = ['CPS', 'PMS', 'MPS', 'MMS', 'SRE', 'ERR'] as const;
export type Tot = (typeof TOTS)[number];
export const REQUEST_TOTS = ['CPS', 'PMS', 'MPS', 'MMS'] as const;
export type RequestTot = (typeof REQUEST_TOTS)[number];

export function isTot(s: string): s is Tot {
  return (TOTS as readonly string[]).includes(s);
}
export function isRequestTot(s: string): s is RequestTot {
  return (REQUEST_TOTS as readonly string[]).includes(s);
}

/**
 * Table 2: per TOT, the record types allowed besides 1 and 2 (both mandatory in every TOT), with
 * how many may appear. `oneOf` groups types of which only one may be present (Table 2's M*).
 */
export interface RecordRule {
  readonly type: 4 | 9 | 13 | 15;
  /** M: at least `min`; C: 0 allowed. */
  readonly min: number;
  readonly max: number;
}
export interface TotRule {
  readonly records: readonly RecordRule[];
  /** Types of which exactly one kind must be present (M*), e.g. PMS: Type 4 or Type 15. */
  readonly oneOf?: readonly (4 | 9 | 13 | 15)[];
  readonly description: string;
}

/**
 * Choices where Table 2 gives no count:
 * - CPS: 1–14 Type 4 (the 10 rolled fingers, 2 plain thumbs, 2 plain four-finger slaps), per §3.1.4.
 * - PMS: Type 4 (1–14) or Type 15 (1–?): we allow up to 14 Type 15 records too (ten-print palm card
 *   palm codes of Table 10, fewer than 14).
 * - MPS/MMS: Table 2 marks Type 9 "M (1*)" (legacy systems) and Type 13 M: we require at least one of
 *   each and at most one latent per transaction (§3.1.4: "a latent"), i.e. exactly one 13 and one 9.
 * - SRE: Type 4 (≤14), 13 (≤1) and 15 (≤14) when the hit's images are sent; all optional. Table 2's
 *   SRE row has six cells, "M M C (C in case of latent hits) C C": the parenthesis is the Type 9
 *   cell, so a latent hit may come with its minutiae (≤1, beside its Type 13).
 */
export const TOT_RULES: Readonly<Record<Tot, TotRule>> = {
  CPS: { description: 'ten-print against ten-print database', records: [{ type: 4, min: 1, max: 14 }] },
  PMS: { description: 'ten-print against unsolved latents', records: [{ type: 4, min: 0, max: 14 }, { type: 15, min: 0, max: 14 }], oneOf: [4, 15] },
  MPS: { description: 'latent against ten-print database', records: [{ type: 9, min: 1, max: 1 }, { type: 13, min: 1, max: 1 }] },
  MMS: { description: 'latent against unsolved latents', records: [{ type: 9, min: 1, max: 1 }, { type: 13, min: 1, max: 1 }] },
  SRE: { description: 'search result', records: [{ type: 4, min: 0, max: 14 }, { type: 9, min: 0, max: 1 }, { type: 13, min: 0, max: 1 }, { type: 15, min: 0, max: 14 }] },
  ERR: { description: 'error', records: [] },
};

/** Table 11 types of AFIS search and their maximum number of candidates per transmission. */
export const SEARCH_TYPES = ['TP/TP', 'LT/TP', 'LP/PP', 'TP/UL', 'LT/UL', 'PP/ULP', 'LP/ULP'] as const;
export type SearchType = (typeof SEARCH_TYPES)[number];
export const CANDIDATE_LIMITS: Readonly<Record<SearchType, number>> = {
  'TP/TP': 1,
  'LT/TP': 10,
  'LP/PP': 5,
  'TP/UL': 5,
  'LT/UL': 5,
  'PP/ULP': 5,
  'LP/ULP': 5,
};

/** Palm position codes (Table 10): 20–30; finger codes 0–14 (Table 5). */
export function isPalmPosition(code: number): boolean {
  return code >= 20 && code <= 30;
}

/**
 * The Table 11 search type of a request: CPS → TP/TP; PMS → TP/UL, or PP/ULP when it carries palms
 * (Type 15); MPS → LT/TP, or LP/PP for a latent palm; MMS → LT/UL, or LP/ULP for a latent palm.
 */
export function searchType(tot: RequestTot, palm: boolean): SearchType {
  switch (tot) {
    case 'CPS': return 'TP/TP';
    case 'PMS': return palm ? 'PP/ULP' : 'TP/UL';
    case 'MPS': return palm ? 'LP/PP' : 'LT/TP';
    case 'MMS': return palm ? 'LP/ULP' : 'LT/UL';
  }
}

export function candidateLimit(tot: RequestTot, palm: boolean): number {
  return CANDIDATE_LIMITS[searchType(tot, palm)];
}
