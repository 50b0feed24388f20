import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { sanitizeReason, silentLogger, type MailLogger, type OnMailRefused, type StoreMessage } from './types.js';

/*
 * The SMTP edge that the TESTA central relay forwards our mail to. It moves bytes: it never parses
 * MIME or S/MIME (the exchange pipeline does, after the queue has the message). Its one promise is
 * durability: `250` is sent only after `store` has committed the message.
 *
 * Every buffer and count is bounded by a named limit below; the reason is next to each.
 */

/**
 * RFC 5321 §4.5.3.1.8: a server must accept at least 100 recipients per transaction, so we do not
 * go below that even though a Prüm message is addressed to a single NCP mailbox. Beyond it the
 * library answers 452 (too many recipients), which a legitimate MTA handles by splitting.
 */
export const MAX_RECIPIENTS_PER_MESSAGE = 100;

/**
 * RFC 5321 §4.5.3.1.4 allows 512 octets per command line, but ESMTP parameters (SIZE, BODY, SMTPUTF8,
 * DSN ORCPT in xtext) lengthen MAIL/RCPT lines; Postfix's own `line_length_limit` is 2048. 4 KiB leaves
 * room for all of them while keeping a garbage client from growing the command buffer. Message
 * content is not a command line: DATA is bounded by maxMessageBytes instead.
 */
export const MAX_COMMAND_LINE_BYTES = 4096;

/**
 * Concurrent connections. Each connection can hold up to maxMessageBytes in memory while its
 * message is being committed, so this bounds memory at MAX_CLIENTS × maxMessageBytes. The TESTA relay
 * is one peer; Postfix's default per-destination concurrency is 20, so 20 lets it deliver at full rate.
 * The 21st client gets 421 and retries later.
 */
export const DEFAULT_MAX_CLIENTS = 20;

/** RFC 5321 §4.5.3.2.7: a server should wait at least 5 minutes for the next command. */
export const DEFAULT_SOCKET_TIMEOUT_MS = 5 * 60_000;

/**
 * How long close() lets open sessions finish (an in-flight DATA whose store is committing) before
 * they are cut with 421. The relay retries anything we did not acknowledge, so this only trades
 * shutdown speed for fewer retries.
 */
export const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;

/** The greeting/HELO name a client supplies is echoed into our Received: header; keep it short. */
const MAX_TRACE_NAME_CHARS = 255;

export interface SmtpReceiverOptions {
  readonly host: string;
  /** 0 picks a free port; the actual one is in the result. */
  readonly port: number;
  /** Largest message accepted, advertised with SIZE (RFC 1870) and enforced while streaming. */
  readonly maxMessageBytes: number;
  /** Recipient domains we accept at RCPT, e.g. dna.pruem.ro.eu-admin.net; anything else gets 550. */
  readonly acceptedDomains: readonly string[];
  readonly store: StoreMessage;
  readonly logger?: MailLogger;
  /** A message refused at this edge (over the size limit): for the audit log's security events. */
  readonly onRefused?: OnMailRefused;
  /**
   * Name in the greeting, EHLO answer and Received: header. Must differ from the relay's own
   * hostname: Postfix bounces mail to a server that greets with its own name ("loops back to myself").
   */
  readonly serverName?: string;
  /**
   * STARTTLS. TESTA is a closed network and the Annex uses plain SMTP there, so it is off by default.
   * `required`: MAIL FROM is refused (530) until the session is encrypted.
   */
  readonly tls?: { readonly key: string | Buffer; readonly cert: string | Buffer; readonly required?: boolean };
  readonly maxClients?: number;
  readonly socketTimeoutMs?: number;
  readonly closeTimeoutMs?: number;
}

export interface SmtpReceiver {
  readonly port: number;
  /** Stops accepting, lets open sessions finish for closeTimeoutMs, then cuts them. */
  close(): Promise<void>;
}

/** An error whose responseCode smtp-server sends as the reply. */
function reply(code: number, text: string): Error & { responseCode: number } {
  return Object.assign(new Error(text), { responseCode: code });
}

function domainOf(address: string): string | null {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return null;
  return address.slice(at + 1).toLowerCase();
}

/** RFC 5322 date-time in UTC, with a numeric zone (the "GMT" of toUTCString is obsolete syntax). */
export function rfc5322Date(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000');
}

/**
 * RFC 5321 §4.4: a server that accepts a message for delivery adds a Received: line. It sits in the
 * outer header, which S/MIME does not cover, so signatures stay valid.
 */
function receivedHeader(session: SMTPServerSession, serverName: string, receivedAt: Date): Buffer {
  const helo = typeof session.hostNameAppearsAs === 'string' && session.hostNameAppearsAs ? session.hostNameAppearsAs : 'unknown';
  const from = sanitizeReason(helo, MAX_TRACE_NAME_CHARS).replace(/[()\\]/g, '');
  const protocol = session.secure ? 'ESMTPS' : 'ESMTP';
  const recipient = session.envelope.rcptTo.length === 1 ? `\r\n\tfor <${sanitizeReason(session.envelope.rcptTo[0]?.address ?? '', 320)}>` : '';
  return Buffer.from(
    `Received: from ${from} ([${session.remoteAddress}])\r\n\tby ${serverName} (pruem-gateway) with ${protocol} id ${session.id}` +
      `${recipient}; ${rfc5322Date(receivedAt)}\r\n`,
    'ascii',
  );
}

export function startSmtpReceiver(opts: SmtpReceiverOptions): Promise<SmtpReceiver> {
  const log = opts.logger ?? silentLogger;
  const maxBytes = opts.maxMessageBytes;
  const accepted = new Set(opts.acceptedDomains.map((d) => d.toLowerCase()));
  const serverName = opts.serverName ?? 'pruem-gateway.invalid';
  const tls = opts.tls;

  /** Reports a refusal for the audit log; a failing report is logged, the refusal stands. */
  const refused = (session: SMTPServerSession, code: 'OVERSIZED', reason: string, mailFrom: string, at: Date): void => {
    try {
      opts.onRefused?.({ code, reason, ref: `smtp:${session.id}`, mailFrom, rcptTo: session.envelope.rcptTo.map((r) => r.address), remoteAddress: session.remoteAddress, at });
    } catch (err) {
      log.error({ session: session.id, err: err instanceof Error ? err.message : String(err) }, 'smtp: recording a refusal failed');
    }
  };

  const options: SMTPServerOptions = {
    name: serverName,
    banner: 'Pruem gateway',
    size: maxBytes,
    // SIZE is advertised without its number: with the number, the library would refuse a declared oversize
    // at MAIL FROM itself, unseen by us — and such a refusal belongs in the audit log (onRefused). We refuse
    // it in onMailFrom instead, with the same 552 and the limit in the reason.
    hideSize: true,
    // We send 552 ourselves, with the limit in the reason; the library's rejectOversized would too,
    // but only after draining, same as ours, with a less specific text.
    rejectOversized: false,
    // No AUTH: the relay is identified by the network (TESTA), and mail is authenticated by S/MIME.
    disabledCommands: tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    ...(tls ? { key: tls.key, cert: tls.cert } : {}),
    // The client address is what we log; a reverse lookup would leave the loopback/TESTA network.
    disableReverseLookup: true,
    maxClients: opts.maxClients ?? DEFAULT_MAX_CLIENTS,
    maxRecipients: MAX_RECIPIENTS_PER_MESSAGE,
    maxCommandLength: MAX_COMMAND_LINE_BYTES,
    socketTimeout: opts.socketTimeoutMs ?? DEFAULT_SOCKET_TIMEOUT_MS,
    closeTimeout: opts.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS,
    logger: false,

    onMailFrom(address, session, callback) {
      if (tls?.required && !session.secure) {
        callback(reply(530, '5.7.0 Must issue a STARTTLS command first'));
        return;
      }
      const args: Record<string, unknown> = address.args ? (address.args as Record<string, unknown>) : {};
      const declared = Number(args.SIZE ?? NaN);
      if (Number.isFinite(declared) && declared > maxBytes) {
        log.warn({ session: session.id, remote: session.remoteAddress, bytes: declared, limit: maxBytes }, 'smtp: message over size limit (declared)');
        refused(session, 'OVERSIZED', `declared message size ${declared} bytes exceeds the limit of ${maxBytes} bytes`, address.address, new Date());
        callback(reply(552, `5.3.4 Message size ${declared} bytes exceeds the limit of ${maxBytes} bytes`));
        return;
      }
      callback();
    },

    onRcptTo(address, session, callback) {
      const domain = domainOf(address.address);
      if (domain === null || !accepted.has(domain)) {
        log.info({ session: session.id, rcpt: sanitizeReason(address.address), remote: session.remoteAddress }, 'smtp: recipient domain not served');
        callback(reply(550, `5.1.2 <${sanitizeReason(address.address, 100)}>: recipient domain not served here`));
        return;
      }
      callback();
    },

    onData(stream: SMTPServerDataStream, session, callback) {
      const receivedAt = new Date();
      const chunks: Buffer[] = [];
      let size = 0;
      let oversized = false;
      let aborted = false;

      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (oversized) return;
        if (size > maxBytes) {
          // Keep reading (SMTP has no way to stop a client mid-DATA short of closing), but drop what
          // we hold: memory stays bounded by maxBytes however much the client sends.
          oversized = true;
          chunks.length = 0;
          return;
        }
        chunks.push(chunk);
      });
      // The client vanished mid-DATA: smtp-server destroys the stream. Nothing was acknowledged,
      // so nothing is stored; the relay will retry.
      stream.once('error', (err) => {
        aborted = true;
        chunks.length = 0;
        log.warn({ session: session.id, remote: session.remoteAddress, bytes: size, err: err.message }, 'smtp: connection lost during DATA');
      });
      stream.once('end', () => {
        if (aborted) return;
        if (oversized || stream.sizeExceeded) {
          log.warn({ session: session.id, remote: session.remoteAddress, bytes: size, limit: maxBytes }, 'smtp: message over size limit');
          refused(session, 'OVERSIZED', `message of ${size} bytes exceeds the limit of ${maxBytes} bytes`, session.envelope.mailFrom ? session.envelope.mailFrom.address : '', receivedAt);
          callback(reply(552, `5.3.4 Message size ${size} bytes exceeds the limit of ${maxBytes} bytes`));
          return;
        }
        const raw = Buffer.concat([receivedHeader(session, serverName, receivedAt), ...chunks]);
        chunks.length = 0;
        const envelope = {
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
          remoteAddress: session.remoteAddress,
          receivedAt,
        };
        Promise.resolve()
          .then(() => opts.store(raw, envelope))
          .then(
            (result) => {
              if (result.ok) {
                log.info({ session: session.id, id: result.id, bytes: raw.length, from: envelope.mailFrom, rcpt: envelope.rcptTo }, 'smtp: message stored');
                callback(null, `2.0.0 Ok: queued as ${sanitizeReason(result.id, 100)}`);
              } else if (result.permanent) {
                log.warn({ session: session.id, reason: result.reason, from: envelope.mailFrom }, 'smtp: message refused by store');
                callback(reply(554, `5.6.0 Message refused: ${sanitizeReason(result.reason)}`));
              } else {
                log.warn({ session: session.id, reason: result.reason }, 'smtp: store temporarily failed');
                callback(reply(451, `4.3.0 Temporary failure, try again later: ${sanitizeReason(result.reason)}`));
              }
            },
            (err: unknown) => {
              log.error({ session: session.id, err: err instanceof Error ? err.message : String(err) }, 'smtp: store threw');
              callback(reply(451, '4.3.0 Temporary failure, try again later'));
            },
          );
      });
    },
  };

  const server = new SMTPServer(options);
  // Connection-level errors (resets, TLS failures from a broken client) end up here; they must never
  // become an unhandled 'error' event, which would stop the daemon.
  server.on('error', (err: Error) => {
    log.warn({ err: err.message, code: (err as NodeJS.ErrnoException).code }, 'smtp: connection error');
  });

  return new Promise((resolve, reject) => {
    const onListenError = (err: Error): void => reject(err);
    server.server.once('error', onListenError);
    server.listen(opts.port, opts.host, () => {
      server.server.off('error', onListenError);
      const port = (server.server.address() as AddressInfo).port;
      log.info({ host: opts.host, port, maxMessageBytes: maxBytes, domains: [...accepted] }, 'smtp: receiver listening');
      let closing: Promise<void> | null = null;
      resolve({
        port,
        close: () => {
          closing ??= new Promise<void>((done) => server.close(() => done()));
          return closing;
        },
      });
    });
  });
}
