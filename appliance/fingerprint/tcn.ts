/**
 * FP-TCN (Annex ch.2 §3.1.9 and Appendix 2): TCN/TCR `YYSSSSSSSSA` — two-digit year, eight-digit serial,
 * and a check character: (YY·10^8 + SSSSSSSS) mod 23 mapped 1-A … 22-Y, 0-Z (I, O and S are not used).
 * The Annex's own example `0200000004F` contradicts this formula (which gives `H`); we follow the
 * formula, as the SPEC says. An unknown TCN is zeros with its check character: `0000000000Z`.
 */
const CHECK = 'ZABCDEFGHJKLMNPQRTUVWXY';

/** Check character for the ten digits `YYSSSSSSSS`. */
export function tcnCheckCharacter(digits: string): string {
  if (!/^\d{10}$/.test(digits)) throw new RangeError('a TCN has ten digits before its check character');
  // 10 digits fit exactly in a double (< 2^53).
  return CHECK[Number(digits) % 23]!;
}

/** The TCN for a year (full or two-digit) and a serial 0…99 999 999. */
export function makeTcn(year: number, serial: number): string {
  if (!Number.isInteger(year) || year < 0) throw new RangeError(`invalid year ${year}`);
  if (!Number.isInteger(serial) || serial < 0 || serial > 99_999_999) throw new RangeError(`serial ${serial} out of 0..99999999`);
  const digits = `${String(year % 100).padStart(2, '0')}${String(serial).padStart(8, '0')}`;
  return `${digits}${tcnCheckCharacter(digits)}`;
}

export type TcnCheck = { readonly ok: true; readonly year: number; readonly serial: number } | { readonly ok: false; readonly reason: 'FORMAT' | 'CHECK_CHARACTER' };

export function checkTcn(s: string): TcnCheck {
  const m = /^(\d{2})(\d{8})([A-Z])$/.exec(s);
  if (!m) return { ok: false, reason: 'FORMAT' };
  if (tcnCheckCharacter(`${m[1]}${m[2]}`) !== m[3]) return { ok: false, reason: 'CHECK_CHARACTER' };
  return { ok: true, year: Number(m[1]), serial: Number(m[2]) };
}

/** CRO numbers (Appendix 2): `SSSSSS/YYA`, the same rule with YY·10^6 + SSSSSS. */
export function croCheckCharacter(year: number, serial: number): string {
  if (!Number.isInteger(serial) || serial < 0 || serial > 999_999 || !Number.isInteger(year) || year < 0) throw new RangeError('invalid CRO number');
  return CHECK[((year % 100) * 1_000_000 + serial) % 23]!;
}
