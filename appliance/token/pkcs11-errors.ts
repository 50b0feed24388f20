/**
 * The PKCS#11 return values the token code reacts to (PKCS#11 v2.40 §11.1). pkcs11js reports them
 * as an Error whose `code` is the number and whose message starts with the CKR_ name.
 */
export const CKR = {
  GENERAL_ERROR: 0x05,
  ARGUMENTS_BAD: 0x07,
  DEVICE_ERROR: 0x30,
  DEVICE_MEMORY: 0x31,
  DEVICE_REMOVED: 0x32,
  ENCRYPTED_DATA_INVALID: 0x40,
  ENCRYPTED_DATA_LEN_RANGE: 0x41,
  KEY_HANDLE_INVALID: 0x60,
  KEY_TYPE_INCONSISTENT: 0x63,
  KEY_FUNCTION_NOT_PERMITTED: 0x68,
  MECHANISM_INVALID: 0x70,
  MECHANISM_PARAM_INVALID: 0x71,
  OBJECT_HANDLE_INVALID: 0x82,
  OPERATION_ACTIVE: 0x90,
  PIN_INCORRECT: 0xa0,
  PIN_INVALID: 0xa1,
  PIN_LEN_RANGE: 0xa2,
  PIN_EXPIRED: 0xa3,
  PIN_LOCKED: 0xa4,
  SESSION_CLOSED: 0xb0,
  SESSION_HANDLE_INVALID: 0xb3,
  TOKEN_NOT_PRESENT: 0xe0,
  TOKEN_NOT_RECOGNIZED: 0xe1,
  USER_ALREADY_LOGGED_IN: 0x100,
  USER_NOT_LOGGED_IN: 0x101,
  CRYPTOKI_ALREADY_INITIALIZED: 0x191,
  CRYPTOKI_NOT_INITIALIZED: 0x190,
} as const;

/** The CKR value carried by a pkcs11js error, or null when the error did not come from the module. */
export function pkcs11Code(error: unknown): number | null {
  if (!(error instanceof Error)) return null;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'number' && code > 0) return code;
  const m = /CKR_\w+:(\d+)/.exec(error.message);
  return m ? Number(m[1]) : null;
}

export function pkcs11Name(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const m = /(CKR_\w+)/.exec(error.message);
  return m?.[1] ?? error.message;
}

/** The session (or the device under it) is gone: reopen it and log in again. */
export const SESSION_LOST: ReadonlySet<number> = new Set([
  CKR.SESSION_CLOSED,
  CKR.SESSION_HANDLE_INVALID,
  CKR.DEVICE_ERROR,
  CKR.DEVICE_REMOVED,
  CKR.TOKEN_NOT_PRESENT,
  CKR.OBJECT_HANDLE_INVALID,
  CKR.KEY_HANDLE_INVALID,
]);
