import MimeNode from 'nodemailer/lib/mime-node';

/*
 * Builds the RFC 5322 message around an entity body that is already encoded — in practice an S/MIME
 * body produced by transport/smime (base64 of a CMS SignedData). Only the outer header is made here;
 * the body bytes are never re-interpreted, and the top-level entity is exactly the given Content-Type
 * (not wrapped in a multipart), as S/MIME requires (RFC 8551 §3.2).
 */

export type MailBuildErrorCode =
  | 'BAD_ADDRESS'
  | 'NO_RECIPIENT'
  | 'BAD_MESSAGE_ID'
  | 'BAD_HEADER'
  | 'RESERVED_HEADER'
  | 'BAD_CONTENT_TYPE'
  | 'BAD_BASE64'
  | 'LINE_TOO_LONG'
  | 'NON_ASCII_BODY';

/** Thrown for inputs our own code should never produce; each case has a code from the closed list above. */
export class MailBuildError extends Error {
  constructor(
    readonly code: MailBuildErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'MailBuildError';
  }
}

export type TransferEncoding = 'base64' | '7bit' | '8bit';

export interface MailMessageInput {
  readonly from: string;
  readonly to: string | readonly string[];
  readonly subject: string;
  /** With or without angle brackets: `<id@dna.pruem.ro.eu-admin.net>` or `id@dna.pruem.ro.eu-admin.net`. */
  readonly messageId: string;
  readonly date: Date;
  /** e.g. `application/pkcs7-mime; smime-type=signed-data; name=smime.p7m`, or `multipart/signed; …; boundary=…`. */
  readonly contentType: string;
  /**
   * How `body` is encoded. Default: base64 for a non-multipart type, 7bit for multipart/*.
   * For base64, the text is validated and re-wrapped to 76-character lines (RFC 2045 §6.8) without
   * changing the decoded bytes; for 7bit/8bit it is sent verbatim (only bare LF become CRLF), which
   * keeps a multipart/signed body byte-exact.
   */
  readonly contentTransferEncoding?: TransferEncoding;
  readonly body: string | Buffer;
  /** Further header fields (Content-Disposition, In-Reply-To, X-…); names must not collide with the ones above. */
  readonly extraHeaders?: Readonly<Record<string, string>> | ReadonlyArray<readonly [string, string]>;
}

/** Headers this function owns; an extra header with one of these names is a caller bug. */
const RESERVED = new Set(['from', 'to', 'subject', 'message-id', 'date', 'content-type', 'content-transfer-encoding', 'mime-version', 'bcc']);

/** RFC 5322 §2.1.1: 998 octets per line, excluding CRLF; a longer line is broken by relays. */
const MAX_LINE_OCTETS = 998;
const BASE64_LINE = 76;
/** Keeps the unfolded Message-ID line far below the 998-octet line limit. */
const MAX_MESSAGE_ID_CHARS = 250;

const HEADER_NAME = /^[!-9;-~]+$/; // RFC 5322 §3.6.8 ftext: printable ASCII except ':'
// Deliberately narrow: NCP addresses are plain ASCII mailboxes; anything else is a bug upstream.
const ADDRESS = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;
const MESSAGE_ID = /^<?([!-;=?-~]+@[!-;=?-Z^-~]+)>?$/; // id-left@id-right without '<', '>', '[', ']' on the right

function checkAddress(address: string): string {
  if (!ADDRESS.test(address)) throw new MailBuildError('BAD_ADDRESS', `not a plain mailbox address: ${JSON.stringify(address)}`);
  return address;
}

function headerList(extra: MailMessageInput['extraHeaders']): Array<readonly [string, string]> {
  if (!extra) return [];
  return Array.isArray(extra) ? [...(extra as ReadonlyArray<readonly [string, string]>)] : Object.entries(extra);
}

function toCrlf(body: Buffer): Buffer {
  // Bare LF → CRLF; an existing CRLF is left alone. Counted first so a large body is copied once.
  const bare = (i: number): boolean => body[i] === 0x0a && (i === 0 || body[i - 1] !== 0x0d);
  let count = 0;
  for (let i = body.indexOf(0x0a); i !== -1; i = body.indexOf(0x0a, i + 1)) if (bare(i)) count++;
  if (count === 0) return body;
  const out = Buffer.allocUnsafe(body.length + count);
  let o = 0;
  for (let i = 0; i < body.length; i++) {
    if (bare(i)) out[o++] = 0x0d;
    out[o++] = body[i]!;
  }
  return out;
}

function checkLines(body: Buffer, allow8bit: boolean): void {
  let start = 0;
  for (let i = 0; i <= body.length; i++) {
    if (i === body.length || body[i] === 0x0a) {
      const end = i > start && body[i - 1] === 0x0d ? i - 1 : i;
      if (end - start > MAX_LINE_OCTETS) {
        throw new MailBuildError('LINE_TOO_LONG', `body line of ${end - start} octets exceeds ${MAX_LINE_OCTETS}`);
      }
      start = i + 1;
    } else if (!allow8bit && (body[i]! > 0x7e || body[i] === 0)) {
      throw new MailBuildError('NON_ASCII_BODY', `7bit body contains byte 0x${body[i]!.toString(16)} at offset ${i}`);
    }
  }
}

function rewrapBase64(body: string | Buffer): Buffer {
  const text = (typeof body === 'string' ? body : body.toString('latin1')).replace(/[\r\n\t ]+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new MailBuildError('BAD_BASE64', 'body is not valid base64 text');
  }
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += BASE64_LINE) lines.push(text.slice(i, i + BASE64_LINE));
  return Buffer.from(lines.length ? `${lines.join('\r\n')}\r\n` : '', 'ascii');
}

/** RFC 5322 bytes (CRLF line ends): the outer header built by nodemailer's MimeNode, then the body as given. */
export function buildMailMessage(input: MailMessageInput): Buffer {
  const contentType = input.contentType.trim();
  if (!/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+(\s*;.*)?$/is.test(contentType) || /[\r\n]/.test(contentType)) {
    throw new MailBuildError('BAD_CONTENT_TYPE', `not a MIME content type: ${JSON.stringify(input.contentType)}`);
  }
  const multipart = /^multipart\//i.test(contentType);
  const cte: TransferEncoding = input.contentTransferEncoding ?? (multipart ? '7bit' : 'base64');
  if (multipart && cte === 'base64') {
    throw new MailBuildError('BAD_CONTENT_TYPE', 'a multipart entity cannot be base64-encoded (RFC 2045 §6.4)');
  }

  const to = (typeof input.to === 'string' ? [input.to] : [...input.to]).map(checkAddress);
  if (to.length === 0) throw new MailBuildError('NO_RECIPIENT', 'no recipient');
  const from = checkAddress(input.from);
  const idMatch = MESSAGE_ID.exec(input.messageId.trim());
  if (!idMatch || input.messageId.length > MAX_MESSAGE_ID_CHARS) throw new MailBuildError('BAD_MESSAGE_ID', `not a msg-id: ${JSON.stringify(input.messageId)}`);
  if (/[\r\n]/.test(input.subject)) throw new MailBuildError('BAD_HEADER', 'subject contains a line break');

  const node = new MimeNode(contentType);
  node.setHeader('From', from);
  node.setHeader('To', to);
  node.setHeader('Subject', input.subject);
  // Unfolded, so that even a line-oriented reader (grep, a log scraper) finds the whole id.
  node.setHeader('Message-ID', { prepared: true, value: `<${idMatch[1]}>` });
  node.setHeader('Date', input.date);
  node.setHeader('MIME-Version', '1.0');
  // The node has no content, so MimeNode leaves this header exactly as given.
  node.setHeader('Content-Transfer-Encoding', cte);
  for (const [name, value] of headerList(input.extraHeaders)) {
    if (!HEADER_NAME.test(name)) throw new MailBuildError('BAD_HEADER', `bad header name ${JSON.stringify(name)}`);
    if (RESERVED.has(name.toLowerCase())) throw new MailBuildError('RESERVED_HEADER', `${name} is set by buildMailMessage`);
    if (/[\r\n]/.test(value)) throw new MailBuildError('BAD_HEADER', `header ${name} contains a line break`);
    node.addHeader(name, value);
  }
  const header = Buffer.from(`${node.buildHeaders()}\r\n\r\n`, 'utf8');

  let body: Buffer;
  if (cte === 'base64') {
    body = rewrapBase64(input.body);
  } else {
    body = toCrlf(typeof input.body === 'string' ? Buffer.from(input.body, 'utf8') : input.body);
    checkLines(body, cte === '8bit');
  }
  return Buffer.concat([header, body]);
}
