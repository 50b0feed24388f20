import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { SmimeError } from './errors.js';
import { OID } from './oids.js';

/** Parses BER into one asn1js value; trailing bytes and parse errors are MALFORMED_CMS naming `structure`. */
export function parseBer(bytes: Uint8Array, structure: string): asn1js.AsnType {
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // parseEmbedded: false — by default asn1js also tries to parse the inside of every OCTET STRING as BER:
  // the whole EnvelopedData inside a signature (parsed again where it is used) and the ciphertext.
  // That doubled the cost of opening a message (docs/bench.md). copyInput: false — the bytes are ours
  // and not changed while the result is alive.
  let parsed: ReturnType<typeof asn1js.fromBER>;
  try {
    parsed = asn1js.fromBER(view, { parseEmbedded: false, copyInput: false, maxContentLength: Math.max(view.byteLength, 1) });
  } catch (e) {
    // asn1js throws, instead of returning an error block, for some malformed values (a UTCTime or
    // GeneralizedTime that is not a time: found by test/fuzz): still malformed input, not a crash.
    throw new SmimeError('MALFORMED_CMS', `${structure}: not BER (${e instanceof Error ? e.message : String(e)})`);
  }
  if (parsed.offset === -1 || parsed.result.error) {
    throw new SmimeError('MALFORMED_CMS', `${structure}: not BER (${parsed.result.error || 'parse error'})`);
  }
  if (parsed.offset !== view.byteLength) {
    throw new SmimeError('MALFORMED_CMS', `${structure}: ${view.byteLength - parsed.offset} bytes after the end of the structure`);
  }
  return parsed.result;
}

export function wrapContentInfo(contentType: string, content: asn1js.AsnType): Buffer {
  const ci = new pkijs.ContentInfo({ contentType, content });
  return Buffer.from(ci.toSchema().toBER(false));
}

/**
 * The EnvelopedData inside a signature's eContent: ContentInfo-wrapped (what openssl cms produces and
 * needs back) or bare (a strict RFC 5652 producer). A ContentInfo starts with an OID, an
 * EnvelopedData with its INTEGER version.
 */
export function unwrapEnvelopedData(bytes: Uint8Array): { schema: asn1js.AsnType; wrapped: boolean } {
  const asn = parseBer(bytes, 'EnvelopedData');
  if (!(asn instanceof asn1js.Sequence) || asn.valueBlock.value.length === 0) {
    throw new SmimeError('MALFORMED_CMS', 'EnvelopedData: not a SEQUENCE');
  }
  const first = asn.valueBlock.value[0];
  if (first instanceof asn1js.ObjectIdentifier) {
    let ci: pkijs.ContentInfo;
    try {
      ci = new pkijs.ContentInfo({ schema: asn });
    } catch (e) {
      throw new SmimeError('MALFORMED_CMS', `ContentInfo: ${(e as Error).message}`);
    }
    if (ci.contentType !== OID.envelopedData) {
      throw new SmimeError('MALFORMED_CMS', `ContentInfo: expected envelopedData, found ${ci.contentType}`);
    }
    return { schema: ci.content as asn1js.AsnType, wrapped: true };
  }
  if (first instanceof asn1js.Integer) return { schema: asn, wrapped: false };
  throw new SmimeError('MALFORMED_CMS', 'EnvelopedData: neither a ContentInfo nor an EnvelopedData');
}

/** The content octets of an OCTET STRING, primitive or constructed (BER chunks, as `openssl cms -stream` writes). */
export function octets(value: asn1js.OctetString): Buffer {
  if (!value.idBlock.isConstructed) return Buffer.from(value.valueBlock.valueHexView);
  const chunks: Buffer[] = [];
  for (const inner of value.valueBlock.value) {
    if (!(inner instanceof asn1js.OctetString)) throw new SmimeError('MALFORMED_CMS', 'constructed OCTET STRING with a non-OCTET STRING chunk');
    chunks.push(octets(inner));
  }
  return Buffer.concat(chunks);
}
