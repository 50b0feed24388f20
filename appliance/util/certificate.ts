import type { X509Certificate } from 'node:crypto';

/** Marker carried in every development certificate's subject; also how we recognise them again. */
export const DEVELOPMENT_MARK = 'DEVELOPMENT ONLY – not for TESTA';

/**
 * The one description of an X.509 certificate the appliance shows and checks (console, CLI,
 * provisioning, token listing): what an operator compares with the CA's letter or the peer's
 * published fingerprint. Times are ISO 8601 UTC; hex is lower-case without separators.
 */
export interface CertificateDescription {
  readonly subject: string;
  readonly issuer: string;
  readonly serialNumber: string;
  readonly notBefore: string;
  readonly notAfter: string;
  /** Whole days until notAfter at `now` (negative when expired). */
  readonly daysLeft: number;
  readonly fingerprintSha256: string;
  readonly keyAlgorithm: string;
  readonly keyBits: number | null;
  readonly selfSigned: boolean;
  /** A development certificate made by ensureDevelopmentToken (never valid on TESTA). */
  readonly development: boolean;
  readonly emails: readonly string[];
}

export function describeCertificate(cert: X509Certificate, now: Date = new Date()): CertificateDescription {
  const notAfter = new Date(cert.validTo);
  const subject = cert.subject.replace(/\n/g, ', ');
  const emails = (cert.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((s) => s.startsWith('email:'))
    .map((s) => s.slice('email:'.length));
  return {
    subject,
    issuer: cert.issuer.replace(/\n/g, ', '),
    serialNumber: cert.serialNumber.toLowerCase(),
    notBefore: new Date(cert.validFrom).toISOString(),
    notAfter: notAfter.toISOString(),
    daysLeft: Math.floor((notAfter.getTime() - now.getTime()) / 86_400_000),
    fingerprintSha256: cert.fingerprint256.replace(/:/g, '').toLowerCase(),
    keyAlgorithm: cert.publicKey.asymmetricKeyType ?? 'unknown',
    keyBits: cert.publicKey.asymmetricKeyDetails?.modulusLength ?? null,
    // Not checkIssued(): it demands keyCertSign, which an end-entity self-signed certificate lacks.
    selfSigned: cert.subject === cert.issuer && cert.verify(cert.publicKey),
    development: subject.includes(DEVELOPMENT_MARK),
    emails,
  };
}
