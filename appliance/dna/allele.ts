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

/** Code of a canonical allele ("*", "14", "9.3"); undefined for anything else. Hand-written: hot in imports. */
export function alleleCode(value: string): number | undefined {
  const n = value.length;
  if (n === 1 && value.charCodeAt(0) === 42) return WILDCARD_CODE;
  let whole = 0;
  let i = 0;
  for (; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c < 48 || c > 57) break;
    if (i === 0 && c === 48 && n > 1 && value.charCodeAt(1) !== 46) return undefined; // leading zero
    whole = whole * 10 + (c - 48);
  }
  if (i === 0 || i > 3) return undefined;
  let digit = 0;
  if (i < n) {
    if (value.charCodeAt(i) !== 46 || i + 2 !== n) return undefined;
    digit = value.charCodeAt(i + 1) - 48;
    if (digit < 1 || digit > 9) return undefined;
  }
  const code = whole * 10 + digit;
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
