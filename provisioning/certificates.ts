import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { X509Certificate, webcrypto } from 'node:crypto';
import { join } from 'node:path';
import type { Token } from '../appliance/token/token.js';
import { KEY_LABELS, derToPem } from '../appliance/token/token.js';
import { keyIdentifier } from '../appliance/token/rsa.js';
import { writeFileAtomic } from '../appliance/util/fs.js';
import { DEVELOPMENT_MARK, describeCertificate, type CertificateDescription } from '../appliance/util/certificate.js';
import type { MemberStateCode, MailChannel } from '../appliance/peers/member-states.js';
import { channelAddress } from '../appliance/peers/member-states.js';

export type ProvisioningErrorCode =
  | 'BAD_CERTIFICATE' // not a parseable X.509 certificate
  | 'CERT_EXPIRED'
  | 'CERT_NOT_YET_VALID'
  | 'CERT_MISMATCH' // matches no key on the token / not the named key
  | 'WEAK_KEY'
  | 'TOKEN_NOT_SOFTHSM'
  | 'PIN_FILE_MISSING'
  | 'TOKEN_INIT_FAILED';

export class ProvisioningError extends Error {
  constructor(
    readonly code: ProvisioningErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ProvisioningError';
  }
}

/** The one certificate description (appliance/util/certificate.ts). */
export type CertificateInfo = CertificateDescription;
export { DEVELOPMENT_MARK };
export const DEVELOPMENT_ORGANIZATION = 'Prüm gateway development';

/** Accepts PEM (first certificate) or DER. Throws ProvisioningError('BAD_CERTIFICATE'). */
export function parseCertificate(input: string | Uint8Array): X509Certificate {
  try {
    if (typeof input === 'string') {
      const m = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(input);
      if (!m?.[1]) throw new Error('no PEM CERTIFICATE block');
      return new X509Certificate(Buffer.from(m[1].replace(/\s+/g, ''), 'base64'));
    }
    return new X509Certificate(Buffer.from(input));
  } catch (e) {
    throw new ProvisioningError('BAD_CERTIFICATE', `not an X.509 certificate: ${(e as Error).message}`);
  }
}

export function certificateInfo(pem: string | Uint8Array, now: Date = new Date()): CertificateInfo {
  return describeCertificate(parseCertificate(pem), now);
}

/** ISO 3166 country for the certificate's C attribute: the Annex's EL and UK are GR and GB there. */
export function countryOf(state: MemberStateCode): string {
  return state === 'EL' ? 'GR' : state === 'UK' ? 'GB' : state;
}

type Purpose = 'sign' | 'decrypt' | 'audit';

function purposeOf(label: string): Purpose {
  if (label === KEY_LABELS.decrypt) return 'decrypt';
  if (label === KEY_LABELS.audit) return 'audit';
  return 'sign';
}

const PURPOSE_TEXT: Record<Purpose, string> = { sign: 'S/MIME signing', decrypt: 'S/MIME encryption', audit: 'audit log' };

function extensionsFor(purpose: Purpose, ski: Buffer, emails: readonly string[]): x509.Extension[] {
  const ext: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.SubjectKeyIdentifierExtension(ski.toString('hex')),
  ];
  if (purpose === 'decrypt') {
    ext.push(new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyEncipherment, true));
  } else {
    ext.push(new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation, true));
  }
  if (purpose !== 'audit') {
    // id-kp-emailProtection: openssl cms -verify checks the smimesign purpose against it.
    ext.push(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.emailProtection]));
    if (emails.length) ext.push(new x509.SubjectAlternativeNameExtension(emails.map((value) => ({ type: 'email' as const, value }))));
  }
  return ext;
}

async function spkiOf(token: Token, label: string): Promise<{ spki: Buffer; ski: Buffer; publicKey: CryptoKey }> {
  const key = await token.publicKey(label);
  const spki = key.export({ type: 'spki', format: 'der' });
  const publicKey = await webcrypto.subtle.importKey('spki', spki, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, true, ['verify']);
  return { spki, ski: keyIdentifier(key), publicKey: publicKey as unknown as CryptoKey };
}

/**
 * A development certificate for the token key `label`, signed on the token; its subject says
 * DEVELOPMENT ONLY so nobody mistakes it for a TESTA certificate. Self-signed, except when `issuer`
 * is given: the decryption key is decrypt-only on the token (key separation), so it cannot sign its
 * own certificate, and ensureDevelopmentToken has the signing key issue it instead.
 */
export async function createDevelopmentCertificate(
  token: Token,
  label: string,
  opts: { memberState: MemberStateCode; now?: Date; days?: number; issuer?: { label: string; pem: string } },
): Promise<string> {
  const now = opts.now ?? new Date();
  const purpose = purposeOf(label);
  const { spki, ski } = await spkiOf(token, label);
  const name: x509.JsonName = [
    { C: [countryOf(opts.memberState)] },
    { O: [DEVELOPMENT_ORGANIZATION] },
    { OU: [DEVELOPMENT_MARK] },
    { CN: [`${opts.memberState} NCP ${PURPOSE_TEXT[purpose]} – DEVELOPMENT ONLY`] },
  ];
  const emails = purpose === 'audit' ? [] : (['dna', 'fp'] as MailChannel[]).map((c) => channelAddress(c, opts.memberState));
  const extensions = extensionsFor(purpose, ski, emails);
  let issuerName: x509.JsonName | x509.Name = name;
  let signingLabel = label;
  if (opts.issuer) {
    const issuerCert = new x509.X509Certificate(opts.issuer.pem);
    issuerName = new x509.Name(issuerCert.subject);
    signingLabel = opts.issuer.label;
    extensions.push(new x509.AuthorityKeyIdentifierExtension((await spkiOf(token, signingLabel)).ski.toString('hex')));
  }
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: `01${Buffer.from(webcrypto.getRandomValues(new Uint8Array(15))).toString('hex')}`,
      subject: name,
      issuer: issuerName,
      // An hour back: peers whose clocks run a little behind must not see a not-yet-valid certificate.
      notBefore: new Date(now.getTime() - 3_600_000),
      notAfter: new Date(now.getTime() + (opts.days ?? 365) * 86_400_000),
      signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      publicKey: new Uint8Array(spki),
      signingKey: token.privateKey(signingLabel, 'RSASSA-PKCS1-v1_5', 'SHA-256'),
      extensions,
    },
    tokenCrypto(token),
  );
  return cert.toString('pem') + '\n';
}

function tokenCrypto(token: Token): Crypto {
  return token.webcrypto();
}

/** PKCS#10 request for the token key `keyLabel`, signed on the token, for the national CA. */
export async function generateCsr(
  token: Token,
  keyLabel: string,
  subject: string | x509.JsonName,
  opts: { emails?: readonly string[]; hash?: 'SHA-256' | 'SHA-384' | 'SHA-512' } = {},
): Promise<string> {
  const { publicKey, ski } = await spkiOf(token, keyLabel);
  const purpose = purposeOf(keyLabel);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    {
      name: subject,
      keys: { publicKey, privateKey: token.privateKey(keyLabel, 'RSASSA-PKCS1-v1_5', opts.hash ?? 'SHA-256') },
      signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: opts.hash ?? 'SHA-256' },
      extensions: extensionsFor(purpose, ski, opts.emails ?? []).filter((e) => !(e instanceof x509.BasicConstraintsExtension)),
    },
    tokenCrypto(token),
  );
  return csr.toString('pem') + '\n';
}

/** The one atomic, fsynced write (appliance/util/fs.ts): a crash never leaves half a certificate or PIN. */
export { writeFileAtomic };

/**
 * Imports the certificate for one of our token keys (the CA's answer to a CSR): it must be
 * currently valid and its public key must be the key's. With `label` null, the key is found by
 * matching public keys among the gateway's labels. Stored on the token and as `<certsDir>/<label>.pem`.
 */
export async function importCertificate(
  token: Token,
  label: string | null,
  pem: string,
  opts: { certsDir?: string; now?: Date; labels?: readonly string[] } = {},
): Promise<{ label: string; info: CertificateInfo; path: string | null }> {
  const now = opts.now ?? new Date();
  const cert = parseCertificate(pem);
  const info = certificateInfo(pem, now);
  if (new Date(cert.validTo) < now) throw new ProvisioningError('CERT_EXPIRED', `certificate expired on ${info.notAfter}`);
  if (new Date(cert.validFrom) > now) throw new ProvisioningError('CERT_NOT_YET_VALID', `certificate is valid only from ${info.notBefore}`);
  let target = label;
  if (target === null) {
    for (const candidate of opts.labels ?? Object.values(KEY_LABELS)) {
      if (!(await token.hasPrivateKey(candidate))) continue;
      if ((await token.publicKey(candidate)).equals(cert.publicKey)) {
        target = candidate;
        break;
      }
    }
    if (target === null) throw new ProvisioningError('CERT_MISMATCH', `certificate ${info.subject} matches none of the token's keys`);
  } else if (!(await token.publicKey(target)).equals(cert.publicKey)) {
    throw new ProvisioningError('CERT_MISMATCH', `certificate ${info.subject} does not belong to the token key "${target}"`);
  }
  await token.storeCertificate(target, cert.raw);
  let path: string | null = null;
  if (opts.certsDir) {
    path = join(opts.certsDir, `${target}.pem`);
    writeFileAtomic(path, derToPem(cert.raw));
  }
  return { label: target, info, path };
}

/**
 * Checks a peer's certificate and files it as `<dataDir>/certs/peers/<cc>-<usage>.pem`; the caller
 * points the peer's configuration at the returned path. RSA below 2048 bits is accepted with a
 * warning (legacy peers, only usable with allowLegacy); expired certificates are refused.
 */
export async function importPeerCertificate(opts: {
  dataDir: string;
  state: MemberStateCode;
  usage: 'signing' | 'encryption';
  pem: string;
  now?: Date;
}): Promise<{ path: string; info: CertificateInfo; warnings: string[] }> {
  const now = opts.now ?? new Date();
  const cert = parseCertificate(opts.pem);
  const info = certificateInfo(opts.pem, now);
  if (new Date(cert.validTo) < now) throw new ProvisioningError('CERT_EXPIRED', `${opts.state} certificate expired on ${info.notAfter}`);
  if (info.keyAlgorithm !== 'rsa') throw new ProvisioningError('WEAK_KEY', `${opts.state} certificate has a ${info.keyAlgorithm} key; S/MIME here uses RSA`);
  const warnings: string[] = [];
  if ((info.keyBits ?? 0) < 1024) throw new ProvisioningError('WEAK_KEY', `${opts.state} certificate has a ${info.keyBits}-bit RSA key`);
  if ((info.keyBits ?? 0) < 2048) warnings.push(`RSA-${info.keyBits}: accepted only when the peer's profile allows legacy`);
  if (new Date(cert.validFrom) > now) warnings.push(`not valid before ${info.notBefore}`);
  if (info.daysLeft < 30) warnings.push(`expires in ${info.daysLeft} days`);
  const ku = cert.keyUsage ?? [];
  if (ku.length && opts.usage === 'signing' && !ku.includes('1.3.6.1.5.5.7.3.4')) {
    warnings.push('extended key usage lacks emailProtection');
  }
  const path = join(opts.dataDir, 'certs', 'peers', `${opts.state.toLowerCase()}-${opts.usage}.pem`);
  writeFileAtomic(path, derToPem(cert.raw));
  return { path, info, warnings };
}
