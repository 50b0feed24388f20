export type TokenErrorCode =
  | 'TOKEN_MODULE' // the PKCS#11 library cannot be loaded or initialised
  | 'TOKEN_CONFIG' // contradictory options (e.g. two SoftHSM2 configurations in one process)
  | 'TOKEN_ABSENT' // no token with the configured label (card removed, wrong slot)
  | 'TOKEN_LOCKED' // present, but we cannot log in (PIN wrong or missing)
  | 'PIN_BLOCKED' // the token blocked the user PIN after too many failures
  | 'KEY_NOT_FOUND'
  | 'KEY_EXISTS'
  | 'CERT_MISMATCH' // a certificate whose public key is not the key it is stored with
  | 'DECRYPT_FAILED' // the token refused the ciphertext (wrong key, bad padding)
  | 'UNSUPPORTED' // mechanism the token does not offer
  | 'TOKEN_ERROR'; // any other PKCS#11 failure

export class TokenError extends Error {
  constructor(
    readonly code: TokenErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TokenError';
  }
}
