import { SmimeError } from './errors.js';

/**
 * A MIME entity (RFC 2045) parsed from untrusted bytes, keeping the exact bytes: a multipart/signed
 * signature covers the first part byte for byte, so we never re-serialise what we verify.
 */
export interface MimeHeader {
  readonly name: string;
  /** Unfolded value, as sent (not RFC 2047-decoded). */
  readonly value: string;
}

export interface ContentType {
  /** type/subtype, lower case. */
  readonly mediaType: string;
  /** Parameter names lower case; values unquoted. */
  readonly params: Readonly<Record<string, string>>;
}

export interface MimeEntity {
  readonly headers: readonly MimeHeader[];
  readonly contentType: ContentType;
  /** Lower case; '7bit' when absent. */
  readonly transferEncoding: string;
  /** The body as it appears in the input, before transfer decoding. */
  readonly body: Buffer;
  header(name: string): string | null;
}

/** Bounds on attacker-controlled structure; a mail needs a few dozen headers, not thousands. */
const MAX_HEADERS = 500;
const MAX_HEADER_BYTES = 256 * 1024;
const MAX_PARTS = 100;

const HEADER_NAME = /^[!-9;-~]+$/;

function fail(message: string): never {
  throw new SmimeError('MALFORMED_MIME', `MimeEntity: ${message}`);
}

/** Index of the blank line ending the header block, and where the body starts; LF-only input is tolerated. */
function headerEnd(raw: Buffer): { end: number; bodyStart: number } | null {
  // An entity with no header fields starts directly with the blank line.
  if (raw[0] === 0x0d && raw[1] === 0x0a) return { end: 0, bodyStart: 2 };
  if (raw[0] === 0x0a) return { end: 0, bodyStart: 1 };
  for (let i = raw.indexOf(0x0a); i !== -1 && i < MAX_HEADER_BYTES; i = raw.indexOf(0x0a, i + 1)) {
    const next = raw[i + 1];
    if (next === 0x0a) return { end: i + 1, bodyStart: i + 2 };
    if (next === 0x0d && raw[i + 2] === 0x0a) return { end: i + 1, bodyStart: i + 3 };
  }
  return null;
}

export function parseHeaders(block: string): MimeHeader[] {
  const lines = block.split(/\r?\n/);
  const out: Array<{ name: string; value: string }> = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    if (i === 0 && line.startsWith('From ')) continue; // mbox separator left by some stores
    if (line[0] === ' ' || line[0] === '\t') {
      const last = out[out.length - 1];
      if (!last) fail('continuation line before any header field');
      last.value += ` ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) fail(`not a header field: ${JSON.stringify(line.slice(0, 60))}`);
    const name = line.slice(0, colon).trimEnd();
    if (!HEADER_NAME.test(name)) fail(`bad header field name ${JSON.stringify(name.slice(0, 60))}`);
    out.push({ name, value: line.slice(colon + 1).trim() });
    if (out.length > MAX_HEADERS) fail(`more than ${MAX_HEADERS} header fields`);
  }
  return out;
}

/** Content-Type per RFC 2045 §5.1 (token or quoted-string parameter values). */
export function parseContentType(value: string | null): ContentType {
  if (value === null) return { mediaType: 'text/plain', params: { charset: 'us-ascii' } };
  const m = /^\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\/([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*/.exec(value);
  if (!m) fail(`bad Content-Type ${JSON.stringify(value.slice(0, 80))}`);
  const params: Record<string, string> = {};
  let rest = value.slice(m[0].length);
  while (rest.length) {
    const p = /^;\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;"]+))\s*/.exec(rest);
    if (!p) {
      if (/^;?\s*$/.test(rest)) break; // a trailing ';' is common and harmless
      fail(`bad Content-Type parameters ${JSON.stringify(rest.slice(0, 80))}`);
    }
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]!;
    rest = rest.slice(p[0].length);
  }
  return { mediaType: `${m[1]}/${m[2]}`.toLowerCase(), params };
}

export function parseMimeEntity(raw: Buffer): MimeEntity {
  const split = headerEnd(raw);
  if (!split) fail('no blank line after the header fields');
  const headers = parseHeaders(raw.subarray(0, split.end).toString('latin1'));
  const find = (name: string): string | null => headers.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value ?? null;
  return {
    headers,
    contentType: parseContentType(find('content-type')),
    transferEncoding: (find('content-transfer-encoding') ?? '7bit').trim().toLowerCase(),
    body: raw.subarray(split.bodyStart),
    header: find,
  };
}

/** The body after Content-Transfer-Encoding decoding; strict base64 (RFC 2045 §6.8 alphabet only). */
export function decodeBody(entity: MimeEntity): Buffer {
  switch (entity.transferEncoding) {
    case 'base64': {
      const text = entity.body.toString('latin1').replace(/[\r\n\t ]+/g, '');
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) fail('body is not valid base64');
      return Buffer.from(text, 'base64');
    }
    case 'quoted-printable':
      return decodeQuotedPrintable(entity.body);
    case '7bit':
    case '8bit':
    case 'binary':
      return entity.body;
    default:
      return fail(`unknown Content-Transfer-Encoding ${JSON.stringify(entity.transferEncoding)}`);
  }
}

function decodeQuotedPrintable(body: Buffer): Buffer {
  const text = body.toString('latin1').replace(/[ \t]+(\r?\n)/g, '$1').replace(/=\r?\n/g, '');
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x3d) {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) fail('bad quoted-printable escape');
      out.push(parseInt(hex, 16));
      i += 2;
    } else out.push(c);
  }
  return Buffer.from(out);
}

/**
 * The body parts of a multipart entity as exact byte ranges (RFC 2046 §5.1.1): the line break before a
 * delimiter belongs to the delimiter, not to the part, and transport padding after it is ignored.
 */
export function splitMultipart(entity: MimeEntity): Buffer[] {
  const boundary = entity.contentType.params.boundary;
  if (!boundary || boundary.length > 70) fail('multipart without a valid boundary');
  const body = entity.body;
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const parts: Buffer[] = [];
  let partStart = -1;
  let pos = 0;
  for (;;) {
    const at = body.indexOf(delimiter, pos);
    if (at === -1) fail('multipart close delimiter missing');
    pos = at + delimiter.length;
    if (at !== 0 && body[at - 1] !== 0x0a) continue; // not at a line start: part of the content
    const after = body.subarray(pos, pos + 2).toString('latin1');
    const close = after === '--';
    let lineEnd = body.indexOf(0x0a, pos);
    if (lineEnd === -1) lineEnd = body.length;
    const padding = body.subarray(close ? pos + 2 : pos, lineEnd).toString('latin1');
    if (!/^[ \t]*\r?$/.test(padding)) continue; // a longer boundary-like line, not our delimiter
    if (partStart !== -1) {
      let end = at;
      if (body[end - 1] === 0x0a) end--;
      if (body[end - 1] === 0x0d) end--;
      parts.push(body.subarray(partStart, Math.max(end, partStart)));
      if (parts.length > MAX_PARTS) fail(`more than ${MAX_PARTS} body parts`);
    }
    if (close) break;
    partStart = lineEnd + 1;
    pos = partStart;
  }
  return parts;
}

/** Bare LF → CRLF (the canonical form signatures are computed over, RFC 8551 §3.1.1). */
export function toCanonicalCrlf(bytes: Buffer): Buffer {
  let bare = 0;
  for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, i + 1)) if (i === 0 || bytes[i - 1] !== 0x0d) bare++;
  if (bare === 0) return bytes;
  const out = Buffer.allocUnsafe(bytes.length + bare);
  let o = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0a && (i === 0 || bytes[i - 1] !== 0x0d)) out[o++] = 0x0d;
    out[o++] = bytes[i]!;
  }
  return out;
}

/** RFC 2047 encoded-words in a header value (Subject): =?charset?B|Q?text?=; unknown charsets fall back to latin1. */
export function decodeHeaderValue(value: string): string {
  return value.replace(/(=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=)(\s+(?==\?))?/g, (word) => {
    const m = /^=\?([^?*]+)(?:\*[^?]*)?\?([BbQq])\?([^?]*)\?=/.exec(word.trim());
    if (!m) return word;
    const [, charset, enc, text] = m;
    const bytes = enc!.toUpperCase() === 'B' ? Buffer.from(text!, 'base64') : Buffer.from(text!.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_s, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');
    try {
      return new TextDecoder(charset!.toLowerCase()).decode(bytes);
    } catch {
      return bytes.toString('latin1');
    }
  });
}

/** Base64 text in 76-character CRLF lines (RFC 2045 §6.8). */
export function base64Lines(bytes: Uint8Array): string {
  const b64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  return lines.length ? `${lines.join('\r\n')}\r\n` : '';
}

/** A MIME entity carrying `payload` base64-encoded: what we encrypt (RFC 8551 §3.3). */
export function composeMimeEntity(contentType: string, payload: Uint8Array): Buffer {
  if (/[\r\n]/.test(contentType)) throw new SmimeError('BAD_CONTENT_TYPE', 'content type contains a line break');
  try {
    parseContentType(contentType);
  } catch {
    throw new SmimeError('BAD_CONTENT_TYPE', `not a MIME content type: ${JSON.stringify(contentType)}`);
  }
  return Buffer.from(`Content-Type: ${contentType}\r\nContent-Transfer-Encoding: base64\r\n\r\n${base64Lines(payload)}`, 'latin1');
}

/**
 * Whether decrypted bytes are a MIME entity (header fields including Content-Type, then a blank line)
 * or a raw payload: openssl users often encrypt the file itself. Binary payloads such as ANSI/NIST
 * records never have that shape (their separators are 0x1C–0x1F, not line breaks).
 */
export function looksLikeMimeEntity(bytes: Buffer): boolean {
  const split = headerEnd(bytes);
  if (!split || split.end === 0) return false;
  const block = bytes.subarray(0, split.end).toString('latin1');
  if (/[^\t\r\n\x20-\x7e]/.test(block)) return false;
  try {
    const headers = parseHeaders(block);
    return headers.some((h) => h.name.toLowerCase() === 'content-type');
  } catch {
    return false;
  }
}
