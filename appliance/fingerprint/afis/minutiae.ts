/**
 * The demo AFIS's view of a finger: minutiae in the INT-I 4.22 convention (Annex ch.2 §6.1):
 * origin at the top-left corner, x to the right and y down, in pixels at 500 ppi; angles in
 * degrees counter-clockwise from the x axis (Type 9 field 9.137 stores them in units of two degrees).
 */
export type MinutiaKind = 'other' | 'ending' | 'bifurcation';

export interface Minutia {
  readonly x: number;
  readonly y: number;
  /** Degrees, 0 ≤ theta < 360. */
  readonly theta: number;
  readonly kind: MinutiaKind;
  /** 1–100, 0 when unknown (9.137 item 6). */
  readonly quality: number;
}

/** One finger's (or one latent's) minutiae. */
export interface FingerTemplate {
  /** Finger position (Annex Table 5): 1–10 rolled/plain fingers, 0 unknown — a latent usually is. */
  readonly position: number;
  readonly minutiae: readonly Minutia[];
}

/** 9.137 item 5 → kind. */
export function minutiaKind(code: number): MinutiaKind {
  return code === 1 ? 'ending' : code === 2 ? 'bifurcation' : 'other';
}

export function minutiaKindCode(kind: MinutiaKind): 0 | 1 | 2 {
  return kind === 'ending' ? 1 : kind === 'bifurcation' ? 2 : 0;
}

/** Smallest difference between two angles in degrees (0–180). */
export function angleDifference(a: number, b: number): number {
  const d = Math.abs(normaliseAngle(a) - normaliseAngle(b));
  return d > 180 ? 360 - d : d;
}

export function normaliseAngle(a: number): number {
  const r = a % 360;
  return r < 0 ? r + 360 : r;
}
