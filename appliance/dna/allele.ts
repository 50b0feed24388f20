/**
 * Allele values after export normalisation are either a designated number ("14", "9.3") or the wildcard "*".
 * In memory a value is a small integer code: repeat number × 10 + the micro-variant digit, and 0 for the
 * wildcard. Code 0 is free for that purpose because the value "0" is itself turned into a wildcard
 * (Annex ch.1 §1.1, DNA-WILD).
 */
export const WILDCARD = '*';
export const WILDCARD_CODE = 0;

/** The largest repeat number we can hold. Real STR alleles stay below 100; the bound keeps codes in 16 bits. */
export const MAX_REPEAT = 999;

const CANONICAL = /^(0|[1-9][0-9]{0,2})(?:\.([1-9]))?$/;

/** Code of a canonical allele ("*", "14", "9.3"); undefined for anything else. */
export function alleleCode(value: string): number | undefined {
  if (value === WILDCARD) return WILDCARD_CODE;
  const m = CANONICAL.exec(value);
  if (!m) return undefined;
  const code = Number(m[1]) * 10 + (m[2] === undefined ? 0 : Number(m[2]));
  return code === 0 ? undefined : code;
}

export function alleleFromCode(code: number): string {
  if (code === WILDCARD_CODE) return WILDCARD;
  const whole = Math.floor(code / 10);
  const digit = code % 10;
  return digit === 0 ? String(whole) : `${whole}.${digit}`;
}

export function isDesignated(value: string): boolean {
  return value !== WILDCARD;
}

/** Ascending numeric order, the wildcard last: the order low_allele/high_allele are written in. */
export function compareAlleles(a: string, b: string): number {
  const ca = alleleCode(a);
  const cb = alleleCode(b);
  const ka = ca === undefined || ca === WILDCARD_CODE ? Number.MAX_SAFE_INTEGER : ca;
  const kb = cb === undefined || cb === WILDCARD_CODE ? Number.MAX_SAFE_INTEGER : cb;
  return ka - kb;
}
