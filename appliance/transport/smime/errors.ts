/**
 * Why an incoming message was refused: a closed list, matched by code (never by message), recorded
 * in the audit log and shown in the console. TOKEN_UNAVAILABLE is the one transient code: the
 * message is fine but our token cannot decrypt right now, so it must be kept and retried.
 */
export type OpenErrorCode =
  | 'OVERSIZED' // larger than limits.maxMessageBytes
  | 'MALFORMED_MIME' // headers, boundaries or transfer encoding broken
  | 'NOT_SMIME' // a MIME message, but neither application/pkcs7-mime nor multipart/signed
  | 'NO_SIGNATURE' // S/MIME, but encrypted only (or a signature with no content)
  | 'MALFORMED_CMS' // the CMS structures do not parse
  | 'UNSUPPORTED_ALGORITHM' // e.g. RSA-PSS, DES, an unknown key transport
  | 'UNKNOWN_SIGNER' // signer is not a configured peer's signing certificate
  | 'EXPIRED_SIGNER' // signer certificate outside its validity at `now`
  | 'BAD_SIGNATURE' // digest or signature does not verify (tampered)
  | 'LEGACY_NOT_ALLOWED' // SHA-1 / RSA < 2048 / AES < 256 from a peer whose profile does not allow legacy
  | 'SENDER_MISMATCH' // From: names another Member State than the signer
  | 'UNDECRYPTABLE' // not addressed to our certificate, or the key/content does not decrypt
  | 'TOKEN_UNAVAILABLE'; // our token is absent/locked: transient, retry later

export type SealErrorCode =
  | 'BAD_RECIPIENT_CERT'
  | 'EXPIRED_RECIPIENT'
  | 'BAD_SIGNER_CERT'
  | 'LEGACY_NOT_ALLOWED'
  | 'BAD_CONTENT_TYPE'
  | 'TOKEN_UNAVAILABLE';

export class SmimeError<C extends string = OpenErrorCode | SealErrorCode> extends Error {
  constructor(
    readonly code: C,
    message: string,
  ) {
    super(message);
    this.name = 'SmimeError';
  }
}
