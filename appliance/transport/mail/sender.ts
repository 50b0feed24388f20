import nodemailer from 'nodemailer';
import type { LinkCheck } from './types.js';
import { sanitizeReason } from './types.js';

export { buildMailMessage, MailBuildError, type MailBuildErrorCode, type MailMessageInput, type TransferEncoding } from './message.js';
export type { LinkCheck } from './types.js';

/*
 * The SMTP edge towards the TESTA central relay. It hands over ready RFC 5322 bytes with an explicit
 * envelope and reports, for the outbox, whether a failure is worth retrying.
 */

/** Default wait for connect, greeting and each reply; the relay is on a private network, so a silent one is down. */
export const DEFAULT_SMTP_TIMEOUT_MS = 30_000;

/**
 * Connections kept open to the relay. A message to the relay is four round trips: one at a time
 * capped the answers at ~100 a second on the benchmark machine, below what the pipeline produces.
 */
const POOLED_CONNECTIONS = 4;

export interface SmtpSenderOptions {
  readonly host: string;
  readonly port: number;
  /**
   * Demand STARTTLS with a verified certificate (fails, temporarily, if the relay does not offer it).
   * Off: plain SMTP, as on TESTA; an advertised STARTTLS is ignored rather than tried without
   * verification — the content is protected by S/MIME either way.
   */
  readonly requireTls?: boolean;
  /** CA certificate(s) (PEM) that sign the relay's certificate, when not in the system store. */
  readonly tlsCa?: string | Buffer;
  /** Name in EHLO: our mail domain or host name on TESTA. */
  readonly heloName: string;
  readonly timeoutMs?: number;
  /**
   * Keep connections to the relay open between messages (default true): a burst of answers then
   * costs one connection, not one per message.
   */
  readonly pool?: boolean;
}

export interface OutgoingMail {
  /** Envelope sender (MAIL FROM). */
  readonly from: string;
  /** Envelope recipients (RCPT TO). */
  readonly to: readonly string[];
  /** The complete message as built by buildMailMessage, sent byte for byte. */
  readonly raw: Buffer;
}

export type SendResult =
  | {
      readonly ok: true;
      /** The relay's final reply, e.g. `250 2.0.0 Ok: queued as 4Xyz`. */
      readonly response: string;
      readonly accepted: readonly string[];
      /** Recipients the relay refused while accepting the others; the caller decides about them. */
      readonly rejected: readonly string[];
    }
  | {
      readonly ok: false;
      /** true: the same message will be refused again (drop it and report); false: retry later. */
      readonly permanent: boolean;
      /** SMTP reply code, null when the failure was not a reply (connection, timeout, TLS). */
      readonly code: number | null;
      readonly reason: string;
    };

export interface SmtpSender {
  send(msg: OutgoingMail): Promise<SendResult>;
  /** How many messages it carries side by side (its pooled connections); 1 without a pool. */
  readonly concurrency: number;
  /** Connects, says EHLO (and STARTTLS when required), quits. */
  verify(): Promise<LinkCheck>;
  close(): void;
}

/** The fields of a nodemailer error we classify on. */
export interface SmtpFailure {
  readonly code?: string | undefined;
  readonly responseCode?: number | undefined;
  readonly response?: string | undefined;
  readonly message: string;
}

/**
 * Errors that come from the message or its envelope rather than from the link: sending the same
 * message again cannot succeed. (Nodemailer raises them before or without an SMTP reply.)
 */
const MESSAGE_FAULTS = new Set(['EENVELOPE', 'EMESSAGE', 'EMAXRECIPIENTS']);

/**
 * 5xx is permanent, 4xx temporary (RFC 5321 §4.2.1). 503 "bad sequence of commands" is the exception:
 * it says the session was in the wrong state, not that the message was refused, so it is retried.
 * Failures without a reply — refused or dropped connections, timeouts, TLS — are temporary: the link,
 * not the message, is at fault.
 */
export function classifySmtpFailure(err: SmtpFailure): { permanent: boolean; code: number | null; reason: string } {
  const code = typeof err.responseCode === 'number' && err.responseCode >= 200 && err.responseCode < 600 ? err.responseCode : null;
  const text = sanitizeReason(err.response ?? err.message, 300);
  const reason = err.code ? `${err.code}: ${text}` : text;
  if (code !== null) return { permanent: code >= 500 && code !== 503, code, reason };
  return { permanent: err.code !== undefined && MESSAGE_FAULTS.has(err.code), code: null, reason };
}

function asFailure(err: unknown): SmtpFailure {
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown; responseCode?: unknown; response?: unknown };
    return {
      message: e.message,
      code: typeof e.code === 'string' ? e.code : undefined,
      responseCode: typeof e.responseCode === 'number' ? e.responseCode : undefined,
      response: typeof e.response === 'string' ? e.response : undefined,
    };
  }
  return { message: String(err) };
}

export function createSmtpSender(opts: SmtpSenderOptions): SmtpSender {
  const timeout = opts.timeoutMs ?? DEFAULT_SMTP_TIMEOUT_MS;
  const base = {
    host: opts.host,
    port: opts.port,
    secure: false,
    name: opts.heloName,
    requireTLS: opts.requireTls === true,
    ignoreTLS: opts.requireTls !== true,
    tls: { rejectUnauthorized: true, ...(opts.tlsCa ? { ca: opts.tlsCa } : {}) },
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
    // The message is given as raw bytes; nothing may be fetched from files or URLs on its behalf.
    disableFileAccess: true,
    disableUrlAccess: true,
    logger: false,
  } as const;
  const concurrency = opts.pool === false ? 1 : POOLED_CONNECTIONS;
  const transport =
    opts.pool === false
      ? nodemailer.createTransport({ ...base })
      : nodemailer.createTransport({ ...base, pool: true, maxConnections: concurrency, maxMessages: 100 });

  return {
    concurrency,
    async send(msg) {
      try {
        const info = await transport.sendMail({ envelope: { from: msg.from, to: [...msg.to] }, raw: msg.raw });
        const list = (v: unknown): string[] => (Array.isArray(v) ? v.map((a) => (typeof a === 'string' ? a : String((a as { address?: unknown }).address ?? a))) : []);
        return { ok: true, response: sanitizeReason(String(info.response ?? ''), 300), accepted: list(info.accepted), rejected: list(info.rejected) };
      } catch (err) {
        return { ok: false, ...classifySmtpFailure(asFailure(err)) };
      }
    },

    async verify() {
      const started = Date.now();
      try {
        await transport.verify();
        return { state: 'up', detail: `${opts.host}:${opts.port} accepts SMTP`, checkedAt: new Date().toISOString(), latencyMs: Date.now() - started };
      } catch (err) {
        const { reason } = classifySmtpFailure(asFailure(err));
        return { state: 'down', detail: `${opts.host}:${opts.port}: ${reason}`, checkedAt: new Date().toISOString(), latencyMs: Date.now() - started };
      }
    },

    close() {
      transport.close();
    },
  };
}
