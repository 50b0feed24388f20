/**
 * Annex ch.2 Table 3 error codes and the ERM line format `<code>: IDC <idc> FIELD <t.fff> <text>`.
 * Codec and validator both report NistError values; Type 1 (which has no IDC) reports IDC -1.
 */
export const NIST_ERROR_CODES = {
  '003': 'ERROR: UNAUTHORISED ACCESS',
  '101': 'Mandatory field missing',
  '102': 'Invalid record type',
  '103': 'Undefined field',
  '104': 'Exceed the maximum occurrence',
  '105': 'Invalid number of subfields',
  '106': 'Field length too short',
  '107': 'Field length too long',
  '108': 'Field is not a number as expected',
  '109': 'Field number value too small',
  '110': 'Field number value too big',
  '111': 'Invalid character',
  '112': 'Invalid date',
  '115': 'Invalid item value',
  '116': 'Invalid type of transaction',
  '117': 'Invalid record data',
  '201': 'ERROR: INVALID TCN',
  '501': 'ERROR: INSUFFICIENT FINGERPRINT QUALITY',
  '502': 'ERROR: MISSING FINGERPRINTS',
  '503': 'ERROR: FINGERPRINT SEQUENCE CHECK FAILED',
  '999': 'ERROR: ANY OTHER ERROR. FOR FURTHER DETAILS CALL DESTINATION AGENCY.',
} as const;

export type NistErrorCode = keyof typeof NIST_ERROR_CODES;

export interface NistError {
  readonly code: NistErrorCode;
  /** IDC of the record, -1 for Type 1 (and for errors not tied to a record). */
  readonly idc: number;
  /** `<record type>.<field>` with three digits, e.g. `1.009`; `<t>.<fff>.<subfield>` where the Annex allows. */
  readonly field: string;
  /** The dynamic text: upper-case ASCII, no separators, no line feeds. */
  readonly text: string;
}

export type Result<T, E> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly errors: E };

export function nistError(code: NistErrorCode, idc: number, field: string, text: string): NistError {
  return { code, idc, field, text: text.replace(/[\x00-\x1f\x7f]/g, ' ') };
}

/** Field id `t.fff` (three digits at least, as the Annex writes them). */
export function fieldId(type: number, field: number): string {
  return `${type}.${String(field).padStart(3, '0')}`;
}

export function formatNistError(e: NistError): string {
  return `${e.code}: IDC ${e.idc} FIELD ${e.field} ${e.text}`;
}

/** The ERM text (field 2.074) or CLI output: one line per error, LF between them. */
export function formatNistErrors(errors: readonly NistError[]): string {
  return errors.map(formatNistError).join('\n');
}

/** ERM (2.074) bounds we write and accept: Table 3 gives messages of 5–128 characters; at most 100 lines. */
export const ERM_MAX_LINE = 128;
export const ERM_MAX_LINES = 100;

/**
 * The ERM text of an ERR answer: the first ERM_MAX_LINES errors, one line each, cut to ERM_MAX_LINE
 * characters (a hostile file can produce thousands of errors; the first ones are enough to act on).
 */
export function ermText(errors: readonly NistError[]): string {
  return errors.slice(0, ERM_MAX_LINES).map((e) => formatNistError(e).slice(0, ERM_MAX_LINE)).join('\n');
}
