/**
 * What we know about each kind of token, in the manner of graphene's capabilities/ notes: which
 * mechanisms we rely on and the quirks users of this stack have reported. The token code itself
 * decides from the mechanism list the module reports (C_GetMechanismList); these notes explain
 * the choices and are shown to technicians by the console.
 */
export interface TokenCapabilities {
  readonly kind: 'softhsm2' | 'opensc-card' | 'network-hsm' | 'unknown';
  /** Hash-and-sign on the token (CKM_SHA256_RSA_PKCS); otherwise we hash and send a DigestInfo to CKM_RSA_PKCS. */
  readonly hashOnToken: boolean;
  readonly rawRsaPkcs: boolean;
  readonly oaep: boolean;
  /** Key pairs can be generated on this token (CKM_RSA_PKCS_KEY_PAIR_GEN). */
  readonly keyGeneration: boolean;
  readonly notes: readonly string[];
}

const NOTES: Record<TokenCapabilities['kind'], readonly string[]> = {
  softhsm2: [
    'Development and tests only: keys live in files under directories.tokendir, protected by the PIN only.',
    'SOFTHSM2_CONF is read once, inside C_Initialize; the daemon sets it before opening the module.',
    'No PIN retry counter: a wrong PIN never blocks the token.',
    'New tokens made by softhsm2-util in another process are seen only after C_Finalize/C_Initialize.',
  ],
  'opensc-card': [
    'Cards often offer only CKM_RSA_PKCS: we hash on the host and sign a DigestInfo.',
    'A few wrong PINs block the card (CKR_PIN_LOCKED): the gateway never retries a PIN the card refused.',
    'Key generation may need the SO PIN or a card-specific profile; generate with pkcs11-tool if C_GenerateKeyPair fails.',
    'Removal is reported as CKR_DEVICE_REMOVED / CKR_TOKEN_NOT_PRESENT: status becomes absent until reinserted.',
  ],
  'network-hsm': [
    'Sessions can be dropped after idle periods (CKR_DEVICE_ERROR): the gateway probes the session after 5 min idle and reopens it.',
    'Check the partition policy allows CKM_RSA_PKCS decryption (PKCS#1 v1.5 key transport) if peers use it.',
  ],
  unknown: ['Unrecognised token: the gateway uses the mechanisms it reports; test sign and decrypt after installation.'],
};

export function tokenKind(manufacturer: string | null, model: string | null): TokenCapabilities['kind'] {
  const m = `${manufacturer ?? ''} ${model ?? ''}`.toLowerCase();
  if (m.includes('softhsm')) return 'softhsm2';
  if (/opensc|piv|openpgp|cardos|starcos|idprime|yubikey|nitrokey|smartcard-hsm/.test(m)) return 'opensc-card';
  if (/luna|safenet|thales|utimaco|entrust|nshield|cloudhsm|securosys/.test(m)) return 'network-hsm';
  return 'unknown';
}

export function capabilitiesFor(manufacturer: string | null, model: string | null, mechanisms: ReadonlySet<string>): TokenCapabilities {
  const kind = tokenKind(manufacturer, model);
  return {
    kind,
    hashOnToken: mechanisms.has('SHA256_RSA_PKCS'),
    rawRsaPkcs: mechanisms.has('RSA_PKCS'),
    oaep: mechanisms.has('RSA_PKCS_OAEP'),
    keyGeneration: mechanisms.has('RSA_PKCS_KEY_PAIR_GEN'),
    notes: NOTES[kind],
  };
}
