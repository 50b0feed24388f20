/**
 * Type 9, minutiae (Annex ch.2 §6): INT-I uses the INCITS 378 ("M1") fields 9.126–9.140 with
 * FMT (9.004) `U`; all ASCII. `readMinutiae` gives the typed reading the demo AFIS compares;
 * `makeType9` writes one. Angles are in units of two degrees (0–179), coordinates in pixels from the
 * top-left corner, x to the right, y down (§6.1.3–6.1.4).
 */
import { fieldId } from './errors.js';
import { fieldText, subfields, joinSubfields, type TaggedRecord, type TaggedField } from './TaggedRecord.js';

export const TYPE9_FIELDS = {
  LEN: 1, IDC: 2, IMP: 3, FMT: 4, CBEFF: 126, CEI: 127, HLL: 128, VLL: 129, SLC: 130, HPS: 131, VPS: 132, FVW: 133, FGP: 134, FQD: 135, NOM: 136, MRC: 137, RCI: 138, CIN: 139, DIN: 140,
} as const;

/** Table 6. */
export type MinutiaType = 0 | 1 | 2;

export interface Minutia {
  /** 1, 2, … in order. */
  readonly index: number;
  readonly x: number;
  readonly y: number;
  /** Units of two degrees, 0–179. */
  readonly theta: number;
  readonly type: MinutiaType;
  /** 1–100, 0 = not available. */
  readonly quality: number;
}

export interface SingularPoint {
  readonly x: number;
  readonly y: number;
  /** Units of two degrees, 0–179. */
  readonly theta: number;
}

export interface RidgeCount {
  readonly centre: number;
  readonly neighbour: number;
  readonly count: number;
}

export interface MinutiaeSet {
  readonly idc: number;
  readonly impression: number;
  readonly format: string;
  readonly width: number;
  readonly height: number;
  readonly scaleUnits: number;
  readonly horizontalScale: number;
  readonly verticalScale: number;
  readonly view: number;
  /** 9.134: the finger (Table 5) or palm (Table 10) position codes given. */
  readonly positions: readonly number[];
  readonly quality?: number;
  readonly minutiae: readonly Minutia[];
  /** 9.138: method (0, 1 or 2) and counts. */
  readonly ridgeCountMethod?: number;
  readonly ridgeCounts: readonly RidgeCount[];
  readonly cores: readonly SingularPoint[];
  readonly deltas: readonly SingularPoint[];
}

export type MinutiaeProblem = { readonly field: string; readonly code: '101' | '105' | '108' | '109' | '110' | '115'; readonly text: string };

const int = (s: string | undefined): number | undefined => (s !== undefined && /^\d{1,9}$/.test(s) ? Number(s) : undefined);

function points(value: string | undefined, field: string, problems: MinutiaeProblem[]): SingularPoint[] {
  if (value === undefined || value === '') return [];
  const out: SingularPoint[] = [];
  for (const [i, s] of subfields(value).entries()) {
    const [x, y, theta] = [int(s[0]), int(s[1]), int(s[2])];
    if (s.length !== 3) problems.push({ field, code: '105', text: `SUBFIELD ${i + 1} HAS ${s.length} ITEMS, 3 EXPECTED` });
    else if (x === undefined || y === undefined || theta === undefined) problems.push({ field, code: '108', text: `SUBFIELD ${i + 1} IS NOT NUMERIC` });
    else if (theta > 179) problems.push({ field, code: '110', text: `SUBFIELD ${i + 1} ANGLE ${theta} ABOVE 179` });
    else out.push({ x, y, theta });
  }
  return out;
}

/**
 * Reads the INCITS 378 minutiae of a Type 9 record. Problems (missing, non-numeric or out-of-range
 * items, 9.136 not matching the minutiae given) are returned beside the values read, with the Annex
 * code the validator reports; the minutiae list holds only the well-formed ones.
 */
export function readMinutiae(r: TaggedRecord): { readonly set: MinutiaeSet; readonly problems: readonly MinutiaeProblem[] } {
  const problems: MinutiaeProblem[] = [];
  const t = (n: number) => fieldText(r, n);
  const num = (n: number, required: boolean): number => {
    const v = t(n);
    if (v === undefined) {
      if (required) problems.push({ field: fieldId(9, n), code: '101', text: 'MANDATORY FIELD MISSING' });
      return 0;
    }
    const i = int(v);
    if (i === undefined) problems.push({ field: fieldId(9, n), code: '108', text: `"${v.slice(0, 20)}" IS NOT A NUMBER` });
    return i ?? 0;
  };
  const minutiae: Minutia[] = [];
  const mrc = t(137);
  const mrcField = fieldId(9, 137);
  if (mrc === undefined) problems.push({ field: mrcField, code: '101', text: 'MANDATORY FIELD MISSING' });
  const mrcParts = mrc === undefined || mrc === '' ? [] : subfields(mrc);
  if (mrc !== undefined) {
    for (const [i, s] of mrcParts.entries()) {
      if (s.length !== 6) { problems.push({ field: mrcField, code: '105', text: `SUBFIELD ${i + 1} HAS ${s.length} ITEMS, 6 EXPECTED` }); continue; }
      const v = s.map(int);
      if (v.some((x) => x === undefined)) { problems.push({ field: mrcField, code: '108', text: `SUBFIELD ${i + 1} IS NOT NUMERIC` }); continue; }
      const [index, x, y, theta, type, quality] = v as number[];
      if (theta! > 179) problems.push({ field: mrcField, code: '110', text: `SUBFIELD ${i + 1} ANGLE ${theta} ABOVE 179` });
      else if (type! > 2) problems.push({ field: mrcField, code: '115', text: `SUBFIELD ${i + 1} MINUTIA TYPE ${type} NOT 0, 1 OR 2` });
      else if (quality! > 100) problems.push({ field: mrcField, code: '110', text: `SUBFIELD ${i + 1} QUALITY ${quality} ABOVE 100` });
      else if (index !== minutiae.length + 1) problems.push({ field: mrcField, code: '115', text: `SUBFIELD ${i + 1} INDEX ${index}, ${minutiae.length + 1} EXPECTED` });
      else minutiae.push({ index: index!, x: x!, y: y!, theta: theta!, type: type as MinutiaType, quality: quality! });
    }
  }
  const nom = num(136, true);
  if (mrc !== undefined && int(t(136)) !== undefined && nom !== mrcParts.length) {
    problems.push({ field: fieldId(9, 136), code: '115', text: `${nom} MINUTIAE ANNOUNCED, ${mrcParts.length} GIVEN` });
  }
  const fgp = t(134);
  const positions = fgp === undefined ? [] : fgp.split(/[\x1e\x1f]/).map(int).filter((x): x is number => x !== undefined);
  if (fgp === undefined) problems.push({ field: fieldId(9, 134), code: '101', text: 'MANDATORY FIELD MISSING' });
  const rci = t(138);
  let ridgeCountMethod: number | undefined;
  const ridgeCounts: RidgeCount[] = [];
  if (rci !== undefined && rci !== '') {
    for (const [i, s] of subfields(rci).entries()) {
      const v = s.map(int);
      if (s.length !== 3 || v.some((x) => x === undefined)) { problems.push({ field: fieldId(9, 138), code: '105', text: `SUBFIELD ${i + 1} NOT THREE NUMBERS` }); continue; }
      if (i === 0) ridgeCountMethod = v[0];
      else ridgeCounts.push({ centre: v[0]!, neighbour: v[1]!, count: v[2]! });
    }
  }
  const quality = t(135);
  const set: MinutiaeSet = {
    idc: int(t(2)) ?? -1,
    impression: num(3, true),
    format: t(4) ?? '',
    width: num(128, true),
    height: num(129, true),
    scaleUnits: num(130, true),
    horizontalScale: num(131, true),
    verticalScale: num(132, true),
    view: num(133, true),
    positions,
    quality: quality === undefined ? undefined : int(quality.split('\x1f')[0]),
    minutiae,
    ridgeCountMethod,
    ridgeCounts,
    cores: points(t(139), fieldId(9, 139), problems),
    deltas: points(t(140), fieldId(9, 140), problems),
  };
  return { set, problems };
}

export interface Type9Spec {
  readonly idc: number;
  /** Table 4; 4 = latent impression. */
  readonly impression: number;
  readonly width: number;
  readonly height: number;
  /** Pixels per inch (SLC 1), default 500. */
  readonly ppi?: number;
  readonly view?: number;
  readonly position: number;
  readonly quality?: number;
  readonly minutiae: readonly Omit<Minutia, 'index'>[];
  readonly cores?: readonly SingularPoint[];
  readonly deltas?: readonly SingularPoint[];
}

/** An INT-I Type 9 (FMT `U`, INCITS 378 fields). */
export function makeType9(spec: Type9Spec): TaggedRecord {
  const ppi = String(spec.ppi ?? 500);
  const entries: [number, string | undefined][] = [
    [1, '0'],
    [2, String(spec.idc).padStart(2, '0')],
    [3, String(spec.impression)],
    [4, 'U'],
    [126, joinSubfields([['27', '513', '']])],
    [127, joinSubfields([['APPF', '0']])],
    [128, String(spec.width)],
    [129, String(spec.height)],
    [130, '1'],
    [131, ppi],
    [132, ppi],
    [133, String(spec.view ?? 0)],
    [134, String(spec.position).padStart(2, '0')],
    [135, spec.quality === undefined ? undefined : joinSubfields([[String(spec.quality), '000F', '1']])],
    [136, String(spec.minutiae.length)],
    [137, joinSubfields(spec.minutiae.map((m, i) => [String(i + 1), String(m.x), String(m.y), String(m.theta), String(m.type), String(m.quality)]))],
    [139, spec.cores?.length ? joinSubfields(spec.cores.map((c) => [String(c.x), String(c.y), String(c.theta)])) : undefined],
    [140, spec.deltas?.length ? joinSubfields(spec.deltas.map((c) => [String(c.x), String(c.y), String(c.theta)])) : undefined],
  ];
  const fields: TaggedField[] = entries.filter((e): e is [number, string] => e[1] !== undefined).map(([n, v]) => ({ tag: fieldId(9, n), number: n, value: v }));
  return { kind: 'tagged', type: 9, fields };
}
