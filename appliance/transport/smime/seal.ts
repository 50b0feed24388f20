import { X509Certificate } from 'node:crypto';
import type { CryptoProfile } from '../../config/config.js';
import type { Token } from '../../token/token.js';
import { KEY_LABELS, TokenError } from '../../token/token.js';
import { SmimeError, type SealErrorCode } from './errors.js';
import { base64Lines, composeMimeEntity } from './MimeEntity.js';
import { createEnvelopedData } from './EnvelopedData.js';
import { createSignedData } from './SignedData.js';
import { OID } from './oids.js';

export const SIGNED_DATA_CONTENT_TYPE = 'application/pkcs7-mime; smime-type=signed-data; name=smime.p7m';

export interface SealInput {
  readonly payload: Uint8Array;
  /** Content-Type of the payload inside the encryption, e.g. `application/xml` (DNA) or `application/octet-stream` (ANSI/NIST). */
  readonly payloadContentType: string;
  /** The peer's encryption certificate (PEM; DER and X509Certificate accepted too). */
  readonly recipientCert: string | Uint8Array | X509Certificate;
  readonly profile: CryptoProfile;
  readonly token: Token;
  /** Our signing certificate (PEM, or parsed once by the caller), the one stored with the token key `signerKeyLabel`. */
  readonly signerCert: string | X509Certificate;
  readonly signerKeyLabel?: string;
  readonly now?: Date;
}

export interface SealedMessage {
  /** The top-level Content-Type of the mail. */
  readonly contentType: string;
  /** Base64 text (76-character CRLF lines) of the DER ContentInfo(SignedData): the mail body, Content-Transfer-Encoding base64. */
  readonly body: Buffer;
}

function toCertificate(input: string | Uint8Array | X509Certificate, code: SealErrorCode, what: string): X509Certificate {
  if (input instanceof X509Certificate) return input;
  try {
    return new X509Certificate(typeof input === 'string' ? input : Buffer.from(input));
  } catch (e) {
    throw new SmimeError(code, `${what} is not an X.509 certificate: ${(e as Error).message}`);
  }
}

/** Whether the token key has been checked against the certificate (once per token, label and certificate). */
const checkedSigners = new WeakMap<Token, Set<string>>();

async function checkSigner(token: Token, label: string, cert: X509Certificate): Promise<void> {
  const seen = checkedSigners.get(token) ?? new Set<string>();
  checkedSigners.set(token, seen);
  const key = `${label}\u0000${cert.fingerprint256}`;
  if (seen.has(key)) return;
  const pub = await token.publicKey(label);
  if (!pub.equals(cert.publicKey)) throw new SmimeError('BAD_SIGNER_CERT', `signer certificate ${cert.subject.replace(/\n/g, ', ')} is not the certificate of token key "${label}"`);
  seen.add(key);
}

/**
 * Encrypt, then sign (Annex ch.1 §5, RFC 8551): the payload as a MIME entity → EnvelopedData
 * (AES-256-CBC, RSA key transport per the peer's profile) → SignedData over the ContentInfo-wrapped
 * EnvelopedData (eContentType envelopedData, as `openssl cms -sign -econtent_type pkcs7-envelopedData`
 * makes it), signed on the token. Throws SmimeError with a SealErrorCode: our own inputs, not a peer's.
 */
export async function sealMessage(input: SealInput): Promise<SealedMessage> {
  const now = input.now ?? new Date();
  const label = input.signerKeyLabel ?? KEY_LABELS.sign;
  const recipient = toCertificate(input.recipientCert, 'BAD_RECIPIENT_CERT', 'recipient certificate');
  if (recipient.publicKey.asymmetricKeyType !== 'rsa') throw new SmimeError('BAD_RECIPIENT_CERT', 'recipient certificate has no RSA key');
  if (now < new Date(recipient.validFrom) || now > new Date(recipient.validTo)) {
    throw new SmimeError('EXPIRED_RECIPIENT', `recipient certificate ${recipient.subject.replace(/\n/g, ', ')} is valid ${recipient.validFrom} – ${recipient.validTo}`);
  }
  const bits = recipient.publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < 2048 && !input.profile.allowLegacy) throw new SmimeError('LEGACY_NOT_ALLOWED', `recipient key is RSA-${bits} and the profile does not allow legacy`);
  if (input.profile.digest === 'sha1' && !input.profile.allowLegacy) throw new SmimeError('LEGACY_NOT_ALLOWED', 'SHA-1 requested by a profile that does not allow legacy');
  const signer = toCertificate(input.signerCert, 'BAD_SIGNER_CERT', 'signer certificate');

  try {
    await checkSigner(input.token, label, signer);
    const inner = composeMimeEntity(input.payloadContentType, input.payload);
    const enveloped = createEnvelopedData(inner, { der: recipient.raw, x509: recipient }, input.profile.keyTransport);
    const signed = await createSignedData({
      eContentType: OID.envelopedData,
      eContent: enveloped,
      signerCertDer: signer.raw,
      token: input.token,
      keyLabel: label,
      digest: input.profile.digest,
      now,
    });
    return { contentType: SIGNED_DATA_CONTENT_TYPE, body: Buffer.from(base64Lines(signed), 'ascii') };
  } catch (e) {
    if (e instanceof TokenError) throw new SmimeError('TOKEN_UNAVAILABLE', `token: ${e.message}`);
    throw e;
  }
}
