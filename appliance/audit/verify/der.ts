import type { X509Certificate } from 'node:crypto';
import { VerifyError } from './errors.js';

/**
 * A minimal DER reader for the one CMS structure the verifier reads: definite lengths only (what
 * DER requires), every length bounded by its container.
 */
export interface Tlv {
  tag: number;
  start: number;
  end: number;
  value: Buffer;
  raw: Buffer;
}

function malformed(message: string): VerifyError {
  return new VerifyError('SUMS_SIGNATURE_ERROR', message);
}

export function readTlv(buf: Buffer, pos: number): Tlv {
  if (pos + 2 > buf.length) throw malformed('truncated DER');
  const tag = buf[pos] as number;
  if ((tag & 0x1f) === 0x1f) throw malformed('high-tag-number form not expected');
  let length = buf[pos + 1] as number;
  let header = 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0) throw malformed('indefinite length is not DER');
    if (n > 4) throw malformed('DER length too large');
    if (pos + 2 + n > buf.length) throw malformed('truncated DER length');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + (buf[pos + 2 + i] as number);
    header = 2 + n;
  }
  const end = pos + header + length;
  if (end > buf.length) throw malformed('DER value runs past its container');
  return { tag, start: pos, end, value: buf.subarray(pos + header, end), raw: buf.subarray(pos, end) };
}

export function derChildren(tlv: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let p = 0;
  while (p < tlv.value.length) {
    const c = readTlv(tlv.value, p);
    out.push(c);
    p = c.end;
  }
  return out;
}

export function expectTag(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (!tlv || tlv.tag !== tag) throw malformed(`${what}: expected tag 0x${tag.toString(16)}`);
  return tlv;
}

export function oidHex(tlv: Tlv | undefined, what: string): string {
  return expectTag(tlv, 0x06, what).value.toString('hex');
}

/** The issuer Name (DER) and serial number (INTEGER contents) of a certificate. */
export function certificateIssuerAndSerial(cert: X509Certificate): { serial: Buffer; issuer: Buffer } {
  const tbs = derChildren(expectTag(derChildren(expectTag(readTlv(cert.raw, 0), 0x30, 'Certificate'))[0], 0x30, 'TBSCertificate'));
  const i = tbs[0]?.tag === 0xa0 ? 1 : 0; // optional [0] version
  return { serial: expectTag(tbs[i], 0x02, 'serialNumber').value, issuer: expectTag(tbs[i + 2], 0x30, 'issuer').raw };
}
