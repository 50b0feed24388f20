import { createHash, verify as cryptoVerify, type X509Certificate } from 'node:crypto';
import { certificateIssuerAndSerial, derChildren, expectTag, oidHex, readTlv } from './der.js';
import { messageOf, VerifyError } from './errors.js';

const OID = Object.freeze({
  signedData: '2a864886f70d010702',
  data: '2a864886f70d010701',
  contentType: '2a864886f70d010903',
  messageDigest: '2a864886f70d010904',
  sha256: '608648016503040201',
  rsaEncryption: '2a864886f70d010101',
  sha256WithRSA: '2a864886f70d01010b',
});

/** RSASSA-PKCS1-v1_5 with SHA-256 over `data` by the certificate's key (checkpoint signatures). */
export function verifyRawSignature(cert: X509Certificate, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    return cryptoVerify('sha256', data, cert.publicKey, signature);
  } catch {
    return false;
  }
}

/**
 * Verifies a detached CMS SignedData (RFC 5652) over `content`, signed by `cert` with SHA-256 and
 * RSA PKCS#1 v1.5, with signed attributes — what `openssl cms -sign -binary` and the token produce.
 */
export function verifyCmsDetached(der: Buffer, content: Uint8Array, cert: X509Certificate): { ok: true } | { ok: false; message: string } {
  try {
    const ci = expectTag(readTlv(der, 0), 0x30, 'ContentInfo');
    if (ci.end !== der.length) throw new VerifyError('SUMS_SIGNATURE_ERROR', 'trailing bytes after ContentInfo');
    const [ctype, explicit] = derChildren(ci);
    if (oidHex(ctype, 'contentType') !== OID.signedData) throw new VerifyError('SUMS_SIGNATURE_ERROR', 'not a SignedData');
    const sd = expectTag(derChildren(expectTag(explicit, 0xa0, 'content'))[0], 0x30, 'SignedData');
    const parts = derChildren(sd);
    const encap = expectTag(parts[2], 0x30, 'EncapsulatedContentInfo');
    const encapParts = derChildren(encap);
    if (oidHex(encapParts[0], 'eContentType') !== OID.data) throw new VerifyError('SUMS_SIGNATURE_ERROR', 'eContentType is not id-data');
    if (encapParts.length !== 1) throw new VerifyError('SUMS_SIGNATURE_ERROR', 'signature is not detached');
    const signerInfos = expectTag(parts[parts.length - 1], 0x31, 'SignerInfos');
    const infos = derChildren(signerInfos);
    if (infos.length !== 1) throw new VerifyError('SUMS_SIGNATURE_ERROR', `expected one SignerInfo, found ${infos.length}`);
    const si = derChildren(expectTag(infos[0], 0x30, 'SignerInfo'));
    let i = 1;
    const sid = si[i++];
    if (sid?.tag === 0x30) {
      // IssuerAndSerialNumber must name exactly the audit certificate (as openssl requires).
      const [issuer, serial] = derChildren(sid);
      const ours = certificateIssuerAndSerial(cert);
      if (!expectTag(issuer, 0x30, 'issuer').raw.equals(ours.issuer) || !expectTag(serial, 0x02, 'serialNumber').value.equals(ours.serial)) {
        throw new VerifyError('SUMS_SIGNATURE_ERROR', 'the SignerInfo names another certificate');
      }
    } else if (sid?.tag !== 0x80) {
      throw new VerifyError('SUMS_SIGNATURE_ERROR', 'unknown SignerIdentifier');
    }
    const digestAlg = derChildren(expectTag(si[i++], 0x30, 'digestAlgorithm'));
    if (oidHex(digestAlg[0], 'digestAlgorithm') !== OID.sha256) throw new VerifyError('SUMS_SIGNATURE_ERROR', 'digest algorithm is not SHA-256');
    const signedAttrs = si[i++];
    if (!signedAttrs || signedAttrs.tag !== 0xa0) throw new VerifyError('SUMS_SIGNATURE_ERROR', 'signed attributes are required');
    const sigAlg = derChildren(expectTag(si[i++], 0x30, 'signatureAlgorithm'));
    const sigAlgOid = oidHex(sigAlg[0], 'signatureAlgorithm');
    if (sigAlgOid !== OID.rsaEncryption && sigAlgOid !== OID.sha256WithRSA) throw new VerifyError('SUMS_SIGNATURE_ERROR', 'signature algorithm is not RSA PKCS#1 v1.5');
    const signature = expectTag(si[i++], 0x04, 'signature').value;

    let contentTypeOk = false;
    let digest: Buffer | null = null;
    for (const attr of derChildren(signedAttrs)) {
      const [type, values] = derChildren(expectTag(attr, 0x30, 'Attribute'));
      const t = oidHex(type, 'attrType');
      const vals = derChildren(expectTag(values, 0x31, 'attrValues'));
      if (t === OID.contentType) contentTypeOk = vals.length === 1 && oidHex(vals[0], 'contentType value') === OID.data;
      if (t === OID.messageDigest) {
        if (vals.length !== 1 || digest !== null) throw new VerifyError('SUMS_SIGNATURE_ERROR', 'messageDigest must appear once');
        digest = expectTag(vals[0], 0x04, 'messageDigest').value;
      }
    }
    if (!contentTypeOk) throw new VerifyError('SUMS_SIGNATURE_ERROR', 'contentType attribute missing or not id-data');
    if (digest === null) throw new VerifyError('SUMS_SIGNATURE_ERROR', 'messageDigest attribute missing');
    if (!Buffer.from(digest).equals(createHash('sha256').update(content).digest())) {
      return { ok: false, message: 'the signed digest does not match the content (SHA256SUMS was changed after signing)' };
    }
    // The signature covers the DER of the attributes with the SET OF tag instead of [0] IMPLICIT.
    const toVerify = Buffer.concat([Buffer.from([0x31]), signedAttrs.raw.subarray(1)]);
    if (!cryptoVerify('sha256', toVerify, cert.publicKey, signature)) {
      return { ok: false, message: 'the CMS signature does not verify with the audit certificate' };
    }
    return { ok: true };
  } catch (e) {
    return { ok: false, message: `malformed CMS signature: ${messageOf(e)}` };
  }
}
