/**
 * The one catalogue of API errors (Fastify's model) for both HTTP interfaces, the console's
 * management API and the officers' API: every error either returns has a code from this list, an
 * HTTP status and an English message, in one envelope `{ "error": { "code", "message", … } }`.
 * Clients match on `code`, never on the message; the console translates codes (console/src/i18n)
 * and falls back to the message. Pure data and one class: the console bundle imports it too.
 */
export const API_ERRORS = {
  BAD_REQUEST: { status: 400, message: 'The request is malformed.' },
  VALIDATION_FAILED: { status: 400, message: 'A field has an invalid value.' },
  BAD_JSON: { status: 400, message: 'The request body is not valid JSON.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Send the request body as application/json.' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  AUTH_REQUIRED: { status: 401, message: 'Sign in first.' },
  SESSION_EXPIRED: { status: 401, message: 'Your session ended after a period of inactivity. Sign in again.' },
  BAD_CREDENTIALS: { status: 401, message: 'Wrong user name or password.' },
  ACCOUNT_LOCKED: { status: 423, message: 'Too many failed sign-ins: the account is locked for a while.' },
  CSRF_REJECTED: { status: 403, message: 'The request did not carry a valid anti-forgery token.' },
  FORBIDDEN_ROLE: { status: 403, message: 'Your role does not allow this action.' },
  NOT_FOUND: { status: 404, message: 'No such resource.' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'This method is not allowed here.' },
  USERNAME_INVALID: { status: 400, message: 'User names have 3 to 32 letters, digits, dots, dashes or underscores.' },
  USERNAME_TAKEN: { status: 409, message: 'This user name is already taken.' },
  DISPLAY_NAME_INVALID: { status: 400, message: 'Give a name of 1 to 80 characters.' },
  ROLE_INVALID: { status: 400, message: 'The role must be technician, operator, auditor or officer.' },
  LANGUAGE_INVALID: { status: 400, message: 'The language must be en or ro.' },
  PASSWORD_TOO_SHORT: { status: 400, message: 'The password must have at least 12 characters.' },
  PASSWORD_TOO_LONG: { status: 400, message: 'The password must have at most 256 characters.' },
  PASSWORD_CONTAINS_USERNAME: { status: 400, message: 'The password must not contain the user name.' },
  ACCOUNT_NOT_FOUND: { status: 404, message: 'No such account.' },
  LAST_TECHNICIAN: { status: 409, message: 'At least one enabled technician account must remain.' },
  SETUP_REQUIRED: { status: 409, message: 'The appliance has no account yet: complete the first-run wizard.' },
  SETUP_DONE: { status: 409, message: 'The first-run wizard has already been completed.' },
  SETUP_CODE_INVALID: { status: 403, message: 'The set-up code is wrong. It is shown on the appliance console.' },
  SETUP_STEP_INVALID: { status: 409, message: 'Complete the previous steps of the wizard first.' },
  CONFIG_INVALID: { status: 400, message: 'The configuration is not valid.' },
  CONFIG_UNCHANGED: { status: 409, message: 'The configuration is already like this.' },
  REVISION_NOT_FOUND: { status: 404, message: 'No such configuration revision.' },
  CONFIRMATION_REQUIRED: { status: 400, message: 'Confirm this action by typing the word asked for.' },
  EXPORT_NOT_FOUND: { status: 404, message: 'No such export.' },
  HIT_ALREADY_DECIDED: { status: 409, message: 'This hit was already confirmed or excluded.' },
  COMPARISON_REFUSED: { status: 409, message: 'The comparison run cannot start: no agreement with that partner for that profile type, or a run is in progress.' },
  HIT_NOT_CONFIRMED: { status: 409, message: 'Only a confirmed hit can be the basis of a follow-up request.' },
  EXPORT_TARGET_INVALID: { status: 400, message: 'Choose a mounted USB drive or a directory on the appliance.' },
  EXPORT_BUSY: { status: 409, message: 'An export is already running.' },
  PERIOD_INVALID: { status: 400, message: 'The period is not valid: give from and to dates, from before to.' },
  CERTIFICATE_INVALID: { status: 400, message: 'The certificate could not be read (PEM or DER X.509 expected).' },
  TOKEN_UNAVAILABLE: { status: 503, message: 'The token is not available (absent, locked or not initialised).' },
  TOKEN_PIN_INVALID: { status: 400, message: 'The token refused this PIN.' },
  NOT_CONFIGURED: { status: 501, message: 'This function is not available on this appliance yet.' },
  DEPENDENCY_FAILED: { status: 502, message: 'A part of the gateway failed to do this; see the detail.' },
  STATUS_UNAVAILABLE: { status: 503, message: 'The gateway status is not available.' },
  EXPORT_ROOT_NOT_ALLOWED: { status: 400, message: 'Exports may only be written below the folders the configuration allows.' },
  OFFICER_NOT_AUTHORISED: { status: 403, message: 'The officer is not on the list of officers authorised for this search.' },
  PROFILE_REFUSED: { status: 422, message: 'A profile cannot be sent abroad (too few loci or invalid values).' },
  ART3_SINGLE_PROFILE: { status: 422, message: 'An Art. 3 search carries exactly one profile.' },
  NO_TARGET: { status: 422, message: 'None of the requested States is a configured peer for this channel.' },
  NIST_TRANSACTION_INVALID: { status: 422, message: 'The ANSI/NIST file is not a valid INT-I 4.22 search; the Annex error lines say why.' },
  CLIENT_CREDENTIAL_REQUIRED: { status: 401, message: "A valid officers' API client credential is required (Authorization: Bearer …)." },
  CLIENT_NAME_INVALID: { status: 400, message: 'Client names have 2 to 48 lower-case letters, digits, dots, dashes or underscores.' },
  CLIENT_NAME_TAKEN: { status: 409, message: 'A client with this name exists already.' },
  CLIENT_NOT_FOUND: { status: 404, message: "No such officers' API client." },
  CLIENT_ALREADY_REVOKED: { status: 409, message: 'This client credential is revoked already.' },
  INTERNAL: { status: 500, message: 'Internal error.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ApiErrorCode = keyof typeof API_ERRORS;

export function isApiErrorCode(value: unknown): value is ApiErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(API_ERRORS, value);
}

/** The JSON body of every error response. */
export interface ApiErrorBody {
  readonly error: {
    readonly code: ApiErrorCode;
    readonly message: string;
    /** Machine-readable extras (the bad field, the lock end), never a stack or a secret. */
    readonly detail?: Readonly<Record<string, string | number | boolean | null>>;
    /** One line per problem (field or profile) where there can be many. */
    readonly issues?: readonly string[];
  };
}

export class ApiError extends Error {
  readonly status: number;
  readonly issues: readonly string[] | undefined;
  constructor(
    readonly code: ApiErrorCode,
    readonly detail?: Readonly<Record<string, string | number | boolean | null>>,
    /** A message more precise than the catalogue's (never a stack or a secret), and the problems one by one. */
    more: { readonly message?: string; readonly issues?: readonly string[] } = {},
  ) {
    super(more.message ?? API_ERRORS[code].message);
    this.name = 'ApiError';
    this.status = API_ERRORS[code].status;
    this.issues = more.issues;
  }

  toBody(): ApiErrorBody {
    return {
      error: { code: this.code, message: this.message, ...(this.detail ? { detail: this.detail } : {}), ...(this.issues?.length ? { issues: this.issues } : {}) },
    };
  }
}

/** Any thrown value as the catalogue's error: an ApiError as it is, Koa's HTTP errors by status, anything else INTERNAL. */
export function asApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  const status = (e as { status?: unknown })?.status;
  if (status === 405 || status === 501) return new ApiError('METHOD_NOT_ALLOWED');
  if (status === 404) return new ApiError('NOT_FOUND');
  if (status === 413) return new ApiError('PAYLOAD_TOO_LARGE');
  if (status === 400) return new ApiError('BAD_REQUEST');
  return new ApiError('INTERNAL');
}

/**
 * The operational log both HTTP interfaces write to: the daemon's logger (pino) adapted by the
 * composition root; an event name and its fields, never a body, password, PIN or key.
 */
export type ApiLog = (event: string, fields: Record<string, unknown>) => void;

/**
 * The error middleware both Koa apps mount first: one envelope for every failure, 500s logged
 * with their stack (they are bugs or broken parts, and the client is only told "internal error").
 */
export function errorEnvelope(log: ApiLog, onError?: (ctx: { method: string; path: string }, error: ApiError) => Promise<void>) {
  return async (ctx: { method: string; path: string; status: number; type: string; body: unknown; set(field: string, value: string): void }, next: () => Promise<unknown>): Promise<void> => {
    try {
      await next();
    } catch (e) {
      const error = asApiError(e);
      if (error.code === 'INTERNAL') log('api.internal', { method: ctx.method, path: ctx.path, reason: (e as Error)?.stack ?? String(e) });
      await onError?.(ctx, error);
      ctx.status = error.status;
      ctx.type = 'application/json';
      ctx.body = error.toBody();
      if (error.status === 405) ctx.set('Allow', String(error.detail?.['allow'] ?? ''));
    }
  };
}
