import { X509Certificate, createHash, verify } from 'node:crypto';

/**
 * The audit key, injected. On the appliance it lives on the token (the daemon passes a
 * token-backed implementation); tests pass a software key. The audit subsystem never sees a
 * private key.
 */
export interface AuditSigner {
  /** RSASSA-PKCS1-v1_5 with SHA-256 over `data` (signs checkpoints). */
  signRaw(data: Uint8Array): Promise<Uint8Array>;
  /** DER CMS SignedData over `data`, detached, SHA-256, with signed attributes (signs SHA256SUMS). */
  signCmsDetached(data: Uint8Array): Promise<Uint8Array>;
  /** The audit certificate (PEM). */
  certificatePem: string;
  /** Issuing chain, nearest issuer first, ending with the trust anchor; empty if self-signed. */
  chainPem: string[];
}

/** SHA-256 of the certificate's DER, lower-case hex: how checkpoints name the key that signed them. */
export function certificateFingerprint(pem: string): string {
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');
}

export function verifyWithCertificate(pem: string, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify('sha256', data, new X509Certificate(pem).publicKey, signature);
  } catch {
    return false;
  }
}
