import { createHash, X509Certificate } from 'node:crypto';
import { LIMITS } from './format.js';

/** Splits a PEM file into certificates. */
export function parsePemCertificates(text: string): X509Certificate[] {
  const blocks = String(text).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

export function certificateSha256(cert: X509Certificate): string {
  return createHash('sha256').update(cert.raw).digest('hex');
}

/** openssl's way of writing a fingerprint (AB:CD:…), for comparing with `openssl x509 -fingerprint -sha256`. */
export function colonHex(hex: string): string {
  return hex.toUpperCase().match(/../g)?.join(':') ?? '';
}

/**
 * Verifies `cert` → chain[0] → … → a self-signed anchor (the last element, or cert itself when the
 * chain is empty). Returns the anchor, or an error message.
 */
export function verifyCertificateChain(cert: X509Certificate, chain: X509Certificate[]): { ok: true; anchor: X509Certificate } | { ok: false; message: string } {
  if (chain.length > LIMITS.maxChainLength) return { ok: false, message: 'certificate chain too long' };
  const path = [cert, ...chain];
  for (let i = 0; i < path.length - 1; i++) {
    const child = path[i] as X509Certificate;
    const issuer = path[i + 1] as X509Certificate;
    if (!issuer.ca) return { ok: false, message: `${issuer.subject} is not a CA certificate` };
    if (!child.checkIssued(issuer) || !child.verify(issuer.publicKey)) {
      return { ok: false, message: `${child.subject} is not signed by ${issuer.subject}` };
    }
  }
  const anchor = path[path.length - 1] as X509Certificate;
  // The anchor is trusted because its fingerprint is compared out of band, not because it is a CA:
  // a self-signed end-entity audit certificate (a development token, or a key the authority pinned)
  // lacks keyCertSign, and X509Certificate.checkIssued() demands it. Self-signed = same name, own key.
  if (anchor.subject !== anchor.issuer || !anchor.verify(anchor.publicKey)) {
    return { ok: false, message: `the last certificate (${anchor.subject}) is not a self-signed trust anchor` };
  }
  return { ok: true, anchor };
}
