/**
 * Type 4: high-resolution grey-scale fingerprint image, binary with fixed positions (Annex ch.2 §5):
 * LEN 4 bytes (big-endian), IDC 1, IMP 1, FGP 6, ISR 1, HLL 2, VLL 2, GCA 1, then the image.
 * Types 3, 5 and 6 of the base standard share this layout and are read with it (the NIST reference
 * files may contain them); INT-I allows only Type 4.
 */
import { fieldId, nistError, type NistError, type Result } from './errors.js';

export const TYPE4_HEADER_BYTES = 18;
/** FGP bytes not used hold 255 (Annex §5.1.4). */
export const FGP_UNUSED = 255;

export type ImageRecordType = 3 | 4 | 5 | 6;

export interface Type4Record {
  readonly kind: 'image';
  readonly type: ImageRecordType;
  readonly idc: number;
  /** Impression type (Table 4). */
  readonly imp: number;
  /** Six finger-position bytes (Table 5), unused ones 255. */
  readonly fgp: readonly number[];
  /** 0: 19.68 ppmm (500 ppi); 1: the NTR of Type 1. */
  readonly isr: number;
  readonly hll: number;
  readonly vll: number;
  /** Compression: 1 = WSQ. */
  readonly gca: number;
  readonly image: Buffer;
}

export function isImageRecordType(type: number): type is ImageRecordType {
  return type >= 3 && type <= 6;
}

/** Finger positions actually given (FGP bytes other than 255). */
export function fingerPositions(r: Type4Record): number[] {
  return r.fgp.filter((p) => p !== FGP_UNUSED);
}

/** Reads the record at `offset`; LEN is checked against the bytes present before it is used. */
export function parseType4Record(buf: Buffer, offset: number, type: ImageRecordType, cntIdc: number): Result<{ record: Type4Record; end: number }, NistError[]> {
  const lenField = fieldId(type, 1);
  if (buf.length - offset < TYPE4_HEADER_BYTES) {
    return { ok: false, errors: [nistError('117', cntIdc, lenField, `TYPE ${type} RECORD TRUNCATED (${buf.length - offset} BYTES LEFT)`)] };
  }
  const len = buf.readUInt32BE(offset);
  if (len < TYPE4_HEADER_BYTES) return { ok: false, errors: [nistError('109', cntIdc, lenField, `LEN ${len} SHORTER THAN THE ${TYPE4_HEADER_BYTES}-BYTE HEADER`)] };
  if (len > buf.length - offset) {
    return { ok: false, errors: [nistError('110', cntIdc, lenField, `LEN ${len} BEYOND THE END OF THE FILE (${buf.length - offset} BYTES LEFT)`)] };
  }
  const record: Type4Record = {
    kind: 'image',
    type,
    idc: buf[offset + 4]!,
    imp: buf[offset + 5]!,
    fgp: [...buf.subarray(offset + 6, offset + 12)],
    isr: buf[offset + 12]!,
    hll: buf.readUInt16BE(offset + 13),
    vll: buf.readUInt16BE(offset + 15),
    gca: buf[offset + 17]!,
    image: buf.subarray(offset + TYPE4_HEADER_BYTES, offset + len),
  };
  return { ok: true, value: { record, end: offset + len } };
}

/** Writes the record; LEN is always the real length. Throws RangeError for values that do not fit their bytes. */
export function writeType4Record(r: Type4Record): Buffer {
  const head = Buffer.alloc(TYPE4_HEADER_BYTES);
  head.writeUInt32BE(TYPE4_HEADER_BYTES + r.image.length, 0);
  head.writeUInt8(r.idc, 4);
  head.writeUInt8(r.imp, 5);
  if (r.fgp.length !== 6) throw new RangeError('FGP must have 6 bytes');
  r.fgp.forEach((p, i) => head.writeUInt8(p, 6 + i));
  head.writeUInt8(r.isr, 12);
  head.writeUInt16BE(r.hll, 13);
  head.writeUInt16BE(r.vll, 15);
  head.writeUInt8(r.gca, 17);
  return Buffer.concat([head, r.image]);
}
