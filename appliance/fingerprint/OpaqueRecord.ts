/**
 * Binary records of the base standard that INT-I does not use (Type 7 user-defined image, Type 8
 * signature): LEN 4 bytes big-endian, IDC 1 byte, then a body carried as it is. They are read so that
 * any well-formed ANSI/NIST file round-trips; the INT-I validator rejects them (102).
 */
import { fieldId, nistError, type NistError, type Result } from './errors.js';

export interface OpaqueRecord {
  readonly kind: 'opaque';
  readonly type: 7 | 8;
  readonly idc: number;
  /** Everything after LEN and IDC. */
  readonly body: Buffer;
}

const HEAD = 5;

export function parseOpaqueRecord(buf: Buffer, offset: number, type: 7 | 8, cntIdc: number): Result<{ record: OpaqueRecord; end: number }, NistError[]> {
  const lenField = fieldId(type, 1);
  if (buf.length - offset < HEAD) return { ok: false, errors: [nistError('117', cntIdc, lenField, `TYPE ${type} RECORD TRUNCATED`)] };
  const len = buf.readUInt32BE(offset);
  if (len < HEAD) return { ok: false, errors: [nistError('109', cntIdc, lenField, `LEN ${len} SHORTER THAN ITS HEADER`)] };
  if (len > buf.length - offset) return { ok: false, errors: [nistError('110', cntIdc, lenField, `LEN ${len} BEYOND THE END OF THE FILE`)] };
  return { ok: true, value: { record: { kind: 'opaque', type, idc: buf[offset + 4]!, body: buf.subarray(offset + HEAD, offset + len) }, end: offset + len } };
}

export function writeOpaqueRecord(r: OpaqueRecord): Buffer {
  const head = Buffer.alloc(HEAD);
  head.writeUInt32BE(HEAD + r.body.length, 0);
  head.writeUInt8(r.idc, 4);
  return Buffer.concat([head, r.body]);
}
