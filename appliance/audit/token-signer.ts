import { X509Certificate } from 'node:crypto';
import { KEY_LABELS, type Token } from '../token/token.js';
import { createSignedData } from '../transport/smime/SignedData.js';
import type { AuditSigner } from './signer.js';

/** id-data (RFC 5652 §4): the content type of a detached signature over plain bytes. */
const DATA_OID = '1.2.840.113549.1.7.1';

/** The audit key on the token, as the audit log wants it (checkpoints, export signatures). */
export function tokenAuditSigner(token: Token, certificatePem: string): AuditSigner {
  const der = new X509Certificate(certificatePem).raw;
  return {
    certificatePem,
    chainPem: [],
    signRaw: (data) => token.sign(KEY_LABELS.audit, data, 'SHA-256'),
    signCmsDetached: (data) =>
      createSignedData({ eContentType: DATA_OID, eContent: data, signerCertDer: der, token, keyLabel: KEY_LABELS.audit, digest: 'sha256', now: new Date(), detached: true }),
  };
}
