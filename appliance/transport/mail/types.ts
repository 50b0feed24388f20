import type { LinkState } from '../../status/types.js';

/**
 * What the mail edges know about a message besides its bytes. For SMTP it is the real envelope;
 * for POP3 there is no envelope, so it is recovered from the trace headers the delivering MTA wrote
 * (Return-Path, Delivered-To) — see pop3.ts.
 */
export interface MailEnvelope {
  /** Reverse path; '' for the null sender (bounces). */
  readonly mailFrom: string;
  readonly rcptTo: readonly string[];
  /** The peer that handed us the message: an IP address for SMTP, `pop3:<host>:<port>` for POP3. */
  readonly remoteAddress: string;
  readonly receivedAt: Date;
}

export type StoreResult =
  | { readonly ok: true; readonly id: string }
  /** permanent: the message itself is refused (SMTP 554); otherwise we are unable right now (451). */
  | { readonly ok: false; readonly reason: string; readonly permanent: boolean };

/**
 * Commits one received message durably (the queue writes it to SQLite) and resolves only then.
 * Must be idempotent by Message-ID: SMTP clients and POP3 re-fetches can deliver the same message twice.
 * A rejected promise is treated like `{ ok: false, permanent: false }`.
 */
export type StoreMessage = (raw: Buffer, envelope: MailEnvelope) => Promise<StoreResult>;

/** Result of probing a mail link, shaped to fill a `ServiceStatus` of GET /api/status. */
export interface LinkCheck {
  readonly state: Extract<LinkState, 'up' | 'down'>;
  /** The server's greeting/answer when up, the reason when down. Never contains credentials. */
  readonly detail: string;
  /** ISO-8601. */
  readonly checkedAt: string;
  readonly latencyMs: number;
}

/**
 * A message the mail edge refused before it reached the queue (so the pipeline never sees it): reported
 * so the daemon can record the attempt as a security event. Carries no content, only the envelope.
 */
export interface MailRefusal {
  readonly code: 'OVERSIZED';
  readonly reason: string;
  /** What names the attempt: `smtp:<session id>` or `pop3:<uid>`. */
  readonly ref: string;
  readonly mailFrom: string;
  readonly rcptTo: readonly string[];
  readonly remoteAddress: string;
  readonly at: Date;
}

/** Called for each refusal; must not throw (a throw is logged and ignored: the refusal stands). */
export type OnMailRefused = (refusal: MailRefusal) => void;

/** The subset of pino's Logger the mail edges use, so tests can pass a recorder. */
export interface MailLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: MailLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** Replies and log lines carry peer-supplied text: strip controls, keep ASCII (SMTP replies are ASCII), bound the length. */
export function sanitizeReason(text: string, max = 200): string {
  const clean = text.replace(/[^\x20-\x7e]+/g, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max - 3)}...` : clean;
}
