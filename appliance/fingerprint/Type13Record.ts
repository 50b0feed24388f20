/**
 * Type 13, variable-resolution latent image (Annex ch.2 §7, Table 7): tagged ASCII fields and the
 * binary image in 13.999, last. `readLatentImage` is the typed view; `makeType13` builds one.
 */
import { fieldId } from './errors.js';
import { fieldText, getField, type TaggedRecord, type TaggedField } from './TaggedRecord.js';

export const TYPE13_FIELDS = {
  LEN: 1, IDC: 2, IMP: 3, SRC: 4, LCD: 5, HLL: 6, VLL: 7, SLC: 8, HPS: 9, VPS: 10, CGA: 11, BPX: 12, FGP: 13, SPD: 14, PPC: 15, SHPS: 16, SVPS: 17, COM: 20, LQM: 24, DAT: 999,
} as const;

export interface VariableResolutionImage {
  readonly type: 13 | 15;
  readonly idc?: string;
  readonly impression?: string;
  readonly source?: string;
  readonly date?: string;
  readonly width?: number;
  readonly height?: number;
  readonly scaleUnits?: string;
  readonly horizontalScale?: number;
  readonly verticalScale?: number;
  /** `WSQ20`, `JP2`, `NONE`, … */
  readonly compression?: string;
  readonly bitsPerPixel?: number;
  /** 13.013 FGP / 15.013 PLP: position codes (Table 5 / Table 10). */
  readonly positions: readonly number[];
  readonly image?: Buffer;
}

const int = (s: string | undefined): number | undefined => (s !== undefined && /^\d{1,9}$/.test(s) ? Number(s) : undefined);

/** The typed view of a Type 13 or Type 15 record (same layout for these fields). */
export function readVariableResolutionImage(r: TaggedRecord): VariableResolutionImage {
  const t = (n: number) => fieldText(r, n);
  const data = getField(r, 999)?.value;
  return {
    type: r.type === 15 ? 15 : 13,
    idc: t(2),
    impression: t(3),
    source: t(4),
    date: t(5),
    width: int(t(6)),
    height: int(t(7)),
    scaleUnits: t(8),
    horizontalScale: int(t(9)),
    verticalScale: int(t(10)),
    compression: t(11),
    bitsPerPixel: int(t(12)),
    positions: (t(13) ?? '').split(/[\x1e\x1f]/).map(int).filter((x): x is number => x !== undefined),
    image: Buffer.isBuffer(data) ? data : undefined,
  };
}

export const readLatentImage = readVariableResolutionImage;

export interface ImageSpec {
  readonly idc: number;
  /** Table 4 (Type 13: 4–7 latent) / Table 9 (Type 15 palms). */
  readonly impression: number;
  /** `CC/agency` */
  readonly source: string;
  /** YYYYMMDD */
  readonly date: string;
  readonly width: number;
  readonly height: number;
  /** Pixels per inch, default 500. */
  readonly ppi?: number;
  /** Default `WSQ20`. */
  readonly compression?: string;
  readonly positions: readonly number[];
  readonly image: Buffer;
}

/** Fields 001–013 and 999 common to Types 13 and 15. */
export function makeVariableResolutionImage(type: 13 | 15, spec: ImageSpec): TaggedRecord {
  const ppi = String(spec.ppi ?? 500);
  const entries: [number, string | Buffer][] = [
    [1, '0'],
    [2, String(spec.idc).padStart(2, '0')],
    [3, String(spec.impression)],
    [4, spec.source],
    [5, spec.date],
    [6, String(spec.width)],
    [7, String(spec.height)],
    [8, '1'],
    [9, ppi],
    [10, ppi],
    [11, spec.compression ?? 'WSQ20'],
    [12, '8'],
    [13, spec.positions.map((p) => String(p).padStart(2, '0')).join('\x1e')],
    [999, spec.image],
  ];
  const fields: TaggedField[] = entries.map(([n, v]) => ({ tag: fieldId(type, n), number: n, value: v }));
  return { kind: 'tagged', type, fields };
}

export function makeType13(spec: ImageSpec): TaggedRecord {
  return makeVariableResolutionImage(13, spec);
}
