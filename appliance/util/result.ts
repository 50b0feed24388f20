/**
 * The one convention for fallible operations at a trust boundary (bytes from a peer, a token call, a
 * handler): a value, or a failure with a code from a closed list and a message for people. Nothing at a
 * boundary throws on bad input; a caller branches on `ok`, then on `error.code`, never on the message.
 *
 * Success is `{ ok: true, value }` for new code; `Ok<T>`-shaped results that spread their fields
 * (`{ ok: true, sender, payload }`, e.g. the S/MIME opener's) predate this module and share its failure
 * half, `Failure<C>`, so both can be handled the same way.
 */
export interface Failure<C extends string> {
  readonly ok: false;
  readonly error: { readonly code: C; readonly message: string };
}

export interface Success<T> {
  readonly ok: true;
  readonly value: T;
}

export type Result<T, C extends string> = Success<T> | Failure<C>;

export function ok<T>(value: T): Success<T> {
  return { ok: true, value };
}

export function fail<C extends string>(code: C, message: string): Failure<C> {
  return { ok: false, error: { code, message } };
}

/** The message of anything thrown, for a failure built from an exception that crossed a boundary. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
