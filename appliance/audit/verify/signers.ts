import type { X509Certificate } from 'node:crypto';
import { certificateSha256, colonHex, parsePemCertificates, verifyCertificateChain } from './certificate.js';
import { messageOf } from './errors.js';
import type { ListedFiles } from './files.js';
import { field, oneLine } from './format.js';
import type { Report } from './report.js';
import { verifyCmsDetached } from './signature.js';

export interface Signers {
  /** SHA-256 fingerprint → audit certificate whose chain verified. */
  signers: Map<string, X509Certificate>;
  auditCert: X509Certificate;
  auditFp: string;
}

/**
 * The audit certificates (certs/signers.json, certs/audit.pem): each chains to a self-signed
 * anchor, whose fingerprint is printed for out-of-band comparison or checked against the pinned
 * ones; then SHA256SUMS.p7s is checked against the current audit certificate.
 */
export function verifySigners(files: ListedFiles, sumsBytes: Buffer, p7s: Buffer, trustAnchorSha256: string[], r: Report): Signers | undefined {
  const signersDoc = files.json('certs/signers.json');
  const auditPem = files.read('certs/audit.pem');
  if (!signersDoc || !auditPem) return undefined;
  const signers = new Map<string, X509Certificate>();
  const anchors = new Set<string>();
  if (!Array.isArray(signersDoc) || signersDoc.length === 0 || signersDoc.length > 100) {
    r.error('BUNDLE_FORMAT_ERROR', 'certs/signers.json must be a non-empty array');
    return undefined;
  }
  for (const s of signersDoc as unknown[]) {
    try {
      const certificate = field(s, 'certificate');
      const chainPems = field(s, 'chain');
      if (typeof certificate !== 'string' || !Array.isArray(chainPems) || !chainPems.every((c) => typeof c === 'string')) throw new Error('bad entry');
      const [cert] = parsePemCertificates(certificate);
      if (!cert) throw new Error('no certificate');
      const chain = (chainPems as string[]).flatMap((c) => parsePemCertificates(c));
      const fp = certificateSha256(cert);
      const res = verifyCertificateChain(cert, chain);
      if (!res.ok) {
        r.error('CERTIFICATE_CHAIN_ERROR', `${cert.subject}: ${res.message}`);
        continue;
      }
      signers.set(fp, cert);
      anchors.add(certificateSha256(res.anchor));
      r.fact(`audit certificate ${colonHex(fp)} (${oneLine(cert.subject)}) chains to trust anchor ${oneLine(res.anchor.subject)}`);
    } catch (e) {
      r.error('CERTIFICATE_ERROR', `certs/signers.json: ${messageOf(e)}`);
    }
  }
  let auditCert: X509Certificate | undefined;
  try {
    auditCert = parsePemCertificates(auditPem.toString('utf8'))[0];
  } catch {
    auditCert = undefined;
  }
  if (!auditCert) {
    r.error('CERTIFICATE_ERROR', 'certs/audit.pem holds no certificate');
    return undefined;
  }
  const auditFp = certificateSha256(auditCert);
  if (!signers.has(auditFp)) r.error('CERTIFICATE_ERROR', 'certs/audit.pem is not among the verified audit certificates in certs/signers.json');
  r.summary.trustAnchorsSha256 = [...anchors];
  for (const a of anchors) r.fact(`TRUST ANCHOR SHA-256 FINGERPRINT: ${colonHex(a)}  <- compare with the value obtained out of band`);
  const pinned = trustAnchorSha256.map((h) => h.replace(/:/g, '').toLowerCase());
  if (pinned.length > 0) {
    for (const a of anchors) {
      if (!pinned.includes(a)) r.error('TRUST_ANCHOR_MISMATCH', `trust anchor ${colonHex(a)} is not one of the fingerprints given`);
    }
  } else {
    r.warn('TRUST_ANCHOR_MISMATCH', 'no --trust-anchor-sha256 given: the signatures prove integrity only if the trust anchor fingerprint above matches the one obtained out of band');
  }

  const cms = verifyCmsDetached(p7s, sumsBytes, auditCert);
  if (!cms.ok) r.error('SUMS_SIGNATURE_ERROR', `SHA256SUMS.p7s: ${cms.message}`);
  else r.fact(`SHA256SUMS is signed by the audit certificate ${colonHex(auditFp)}`);
  return { signers, auditCert, auditFp };
}
