/**
 * One error class for the audit subsystem, with a closed list of codes (as sigstore-js does for
 * verification): callers match on `code`, never on the message.
 */
export const AUDIT_ERROR_CODES = [
  'EVENT_INVALID',
  'ENTRY_NOT_FOUND',
  'ENTRY_ALREADY_BLOCKED',
  'ENTRY_NOT_BLOCKED',
  'TREE_CORRUPT',
  'CHAIN_BROKEN',
  'SIGNER_INVALID',
  'SIGNER_FAILED',
  'FILTER_INVALID',
  'EXPORT_TARGET_NOT_EMPTY',
  'EXPORT_WRITE_FAILED',
  'EXPORT_VERIFY_FAILED',
  'EXPORT_TARGET_NOT_ALLOWED',
  'DEVICE_LIST_FAILED',
  'DEVICE_NOT_FOUND',
  'DEVICE_NOT_REMOVABLE',
  'DEVICE_MOUNTED',
  'DEVICE_HAS_PARTITIONS',
  'MOUNT_FAILED',
  'READBACK_FAILED',
  'UNMOUNT_FAILED',
  'OFFICER_INVALID',
  'OFFICER_EXISTS',
  'OFFICER_UNKNOWN',
  'OFFICER_REVOKED',
  'OFFICER_NOT_YET_AUTHORISED',
  'OFFICER_NOT_AUTHORISED_FOR_CHANNEL',
  'OFFICER_ALREADY_REVOKED',
] as const;

export type AuditErrorCode = (typeof AUDIT_ERROR_CODES)[number];

export class AuditError extends Error {
  override readonly name = 'AuditError';
  constructor(
    readonly code: AuditErrorCode,
    message: string,
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }
}

/** Result of an operation whose failure is an expected outcome (bad input, missing device…). */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: AuditError };

export function ok<T>(value: T): Outcome<T> {
  return { ok: true, value };
}

export function fail<T>(code: AuditErrorCode, message: string, details?: Record<string, unknown>): Outcome<T> {
  return { ok: false, error: new AuditError(code, message, details) };
}
