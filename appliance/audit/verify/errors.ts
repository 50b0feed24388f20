/**
 * The verifier's one error class and its closed list of codes. Each code names the verification
 * concern that failed; reports and callers match on `code`, never on the message.
 */
export const VERIFY_ERROR_CODES = Object.freeze([
  'USAGE_ERROR',
  'BUNDLE_FILE_MISSING',
  'BUNDLE_FORMAT_ERROR',
  'BUNDLE_UNLISTED_FILE',
  'DIGEST_MISMATCH',
  'SUMS_SIGNATURE_ERROR',
  'CERTIFICATE_ERROR',
  'CERTIFICATE_CHAIN_ERROR',
  'TRUST_ANCHOR_MISMATCH',
  'CHECKPOINT_FORMAT_ERROR',
  'CHECKPOINT_SIGNATURE_ERROR',
  'CHECKPOINT_CHAIN_ERROR',
  'ENTRY_FORMAT_ERROR',
  'ENTRY_ORDER_ERROR',
  'ENTRY_COUNT_MISMATCH',
  'INCLUSION_PROOF_ERROR',
  'COMPLETENESS_ERROR',
  'CONSISTENCY_PROOF_ERROR',
  'PREVIOUS_EXPORT_MISMATCH',
  'PREVIOUS_ANCHOR_PERIOD_DELETED',
  'DELETION_RECORD_ERROR',
  'EXPORT_EVENT_ERROR',
] as const);

export type VerifyErrorCode = (typeof VERIFY_ERROR_CODES)[number];

export interface VerifyIssue {
  code: VerifyErrorCode;
  message: string;
}

/** Thrown inside a concern's parser; the concern turns it into a report issue with the same code. */
export class VerifyError extends Error {
  constructor(
    readonly code: VerifyErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'VerifyError';
  }
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** A parsed value or the reason it was refused; parsers of bundle content never throw. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };
