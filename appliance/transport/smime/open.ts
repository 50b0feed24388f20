import { createHash } from 'node:crypto';
import type { Token } from '../../token/token.js';
import type { PeerDirectory } from '../../peers/directory.js';
import { mailbox } from '../../peers/directory.js';
import type { MemberStateCode } from '../../peers/member-states.js';
import { SmimeError, type OpenErrorCode } from './errors.js';
import { fail, type Failure } from '../../util/result.js';
import {
  decodeBody,
  decodeHeaderValue,
  looksLikeMimeEntity,
  parseMimeEntity,
  splitMultipart,
  toCanonicalCrlf,
  type MimeEntity,
} from './MimeEntity.js';
import { parseSignedData, verifySignedData, type VerifiedSignature } from './SignedData.js';
import { decryptEnvelopedData, type DecryptedContent } from './EnvelopedData.js';
import { OID } from './oids.js';

export interface OpenOptions {
  readonly directory: PeerDirectory;
  readonly token: Token;
  /** Certificate validity is judged at this time. */
  readonly now: Date;
  /** limits.maxMessageBytes: larger mails are refused before any parsing. */
  readonly maxBytes: number;
}

export interface OpenedMessage {
  readonly ok: true;
  readonly sender: MemberStateCode;
  readonly payload: Buffer;
  /** From the inner MIME entity; application/octet-stream when the peer encrypted raw bytes. */
  readonly payloadContentType: string;
  readonly subject: string;
  /** Without angle brackets; null when the mail has none. */
  readonly messageId: string | null;
  /** The From mailbox, lower case. */
  readonly from: string;
  readonly to: readonly string[];
  readonly signerFingerprint: string;
  /** The CMS signing time (signed attribute); null when the signature has no signed attributes (openssl -noattr). */
  readonly signingTime: Date | null;
  /**
   * SHA-256 (hex) of the signed content exactly as the signature covers it: what the sender signed, the
   * basis of replay detection (the Message-ID and Date headers are not signed).
   */
  readonly signedDigest: string;
  /** What the peer used, for the audit log and the console. */
  readonly algorithms: {
    readonly digest: VerifiedSignature['digest'];
    readonly cipher: string;
    readonly keyTransport: DecryptedContent['keyTransport'];
    readonly signature: 'opaque' | 'multipart';
    readonly envelope: 'wrapped' | 'bare' | 'mime';
    readonly legacy: boolean;
  };
}

/** A refusal with its code (util/result.ts convention). */
export type OpenFailure = Failure<OpenErrorCode>;

export type OpenResult = OpenedMessage | OpenFailure;

const PKCS7_MIME = new Set(['application/pkcs7-mime', 'application/x-pkcs7-mime']);
const PKCS7_SIGNATURE = new Set(['application/pkcs7-signature', 'application/x-pkcs7-signature']);

function failure(code: OpenErrorCode, message: string): OpenFailure {
  return fail(code, message);
}

/** The EnvelopedData carried by an `application/pkcs7-mime; smime-type=enveloped-data` entity. */
function envelopedFromEntity(entity: MimeEntity, where: string): Buffer {
  if (!PKCS7_MIME.has(entity.contentType.mediaType)) {
    throw new SmimeError('MALFORMED_MIME', `${where}: expected application/pkcs7-mime enveloped-data, found ${entity.contentType.mediaType}`);
  }
  const smimeType = entity.contentType.params['smime-type']?.toLowerCase();
  if (smimeType !== undefined && smimeType !== 'enveloped-data') {
    throw new SmimeError('MALFORMED_MIME', `${where}: smime-type=${smimeType}, expected enveloped-data`);
  }
  return decodeBody(entity);
}

/**
 * Verify, then decrypt (Annex ch.1 §5): accepts an opaque `application/pkcs7-mime` signed-data and a
 * `multipart/signed` whose first part is an `application/pkcs7-mime` enveloped-data; inside the
 * signature, a ContentInfo-wrapped or bare EnvelopedData (or, with eContentType id-data, the
 * enveloped-data MIME entity). The decrypted content may be a MIME entity or the raw payload.
 * Never throws: bad input of any kind becomes `{ ok: false, error: { code, message } }`.
 */
export async function openMessage(rawMail: Buffer, opts: OpenOptions): Promise<OpenResult> {
  try {
    return await open(rawMail, opts);
  } catch (e) {
    if (e instanceof SmimeError) return failure(e.code as OpenErrorCode, e.message);
    // Parsers of untrusted bytes may throw anything (asn1js/pkijs internals): still a refusal, not a crash.
    return failure('MALFORMED_CMS', `unexpected structure: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function open(rawMail: Buffer, opts: OpenOptions): Promise<OpenResult> {
  if (rawMail.length > opts.maxBytes) return failure('OVERSIZED', `message of ${rawMail.length} bytes exceeds the limit of ${opts.maxBytes}`);
  const mail = parseMimeEntity(rawMail);
  const from = mailbox(mail.header('from') ?? '');
  const to = (mail.header('to') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(mailbox);
  const subject = decodeHeaderValue(mail.header('subject') ?? '');
  const rawId = mail.header('message-id');
  const messageId = rawId ? (/<([^<>]+)>/.exec(rawId)?.[1] ?? rawId.trim()) || null : null;

  let verified: VerifiedSignature & { content: Buffer };
  let envelopedBytes: Buffer;
  let envelope: OpenedMessage['algorithms']['envelope'];
  let signature: OpenedMessage['algorithms']['signature'];
  const type = mail.contentType.mediaType;

  if (PKCS7_MIME.has(type)) {
    signature = 'opaque';
    const smimeType = mail.contentType.params['smime-type']?.toLowerCase();
    if (smimeType === 'enveloped-data') return failure('NO_SIGNATURE', 'application/pkcs7-mime enveloped-data: encrypted but not signed');
    const signed = parseSignedData(decodeBody(mail));
    verified = verifySignedData(signed, { directory: opts.directory, now: opts.now });
    const eContentType = signed.eContentType;
    if (eContentType === OID.envelopedData) {
      envelopedBytes = verified.content;
      envelope = 'wrapped'; // refined below from what the bytes are
    } else if (eContentType === OID.data) {
      // MIME-level nesting: the signed content is the enveloped-data MIME entity.
      envelopedBytes = envelopedFromEntity(parseMimeEntity(verified.content), 'signed content');
      envelope = 'mime';
    } else {
      return failure('MALFORMED_CMS', `SignedData: eContentType ${eContentType} is neither envelopedData nor data`);
    }
  } else if (type === 'multipart/signed') {
    signature = 'multipart';
    const protocol = mail.contentType.params.protocol?.toLowerCase();
    if (!protocol || !PKCS7_SIGNATURE.has(protocol)) return failure('NOT_SMIME', `multipart/signed with protocol ${protocol ?? '(none)'}`);
    const parts = splitMultipart(mail);
    if (parts.length !== 2) return failure('MALFORMED_MIME', `multipart/signed with ${parts.length} parts, expected 2`);
    const signedPart = parts[0]!;
    const sigEntity = parseMimeEntity(parts[1]!);
    if (!PKCS7_SIGNATURE.has(sigEntity.contentType.mediaType)) {
      return failure('NO_SIGNATURE', `multipart/signed second part is ${sigEntity.contentType.mediaType}, not a pkcs7-signature`);
    }
    const signed = parseSignedData(decodeBody(sigEntity));
    if (signed.eContent) return failure('MALFORMED_CMS', 'multipart/signed: the signature part carries content of its own');
    const canonical = toCanonicalCrlf(signedPart);
    verified = verifySignedData(signed, { directory: opts.directory, now: opts.now, detached: canonical === signedPart ? [signedPart] : [signedPart, canonical] });
    envelopedBytes = envelopedFromEntity(parseMimeEntity(verified.content), 'multipart/signed first part');
    envelope = 'mime';
  } else {
    return failure('NOT_SMIME', `Content-Type ${type} is not S/MIME (expected application/pkcs7-mime or multipart/signed)`);
  }

  const claimed = from ? opts.directory.stateForAddress(from) : null;
  if (claimed !== null && claimed !== verified.peer.code) {
    return failure('SENDER_MISMATCH', `From ${from} belongs to ${claimed} but the message is signed by ${verified.peer.code}`);
  }

  const decrypted = await decryptEnvelopedData(envelopedBytes, opts.token);
  if (envelope !== 'mime') envelope = decrypted.wrapped ? 'wrapped' : 'bare';
  if (!decrypted.modernCipher && !verified.peer.crypto.allowLegacy) {
    return failure('LEGACY_NOT_ALLOWED', `content encrypted with ${decrypted.cipher} by ${verified.peer.code}, whose profile requires AES-256`);
  }

  let payload = decrypted.content;
  let payloadContentType = 'application/octet-stream';
  if (looksLikeMimeEntity(decrypted.content)) {
    const inner = parseMimeEntity(decrypted.content);
    payload = decodeBody(inner);
    payloadContentType = inner.header('content-type')?.trim() ?? inner.contentType.mediaType;
  }

  return {
    ok: true,
    sender: verified.peer.code,
    payload,
    payloadContentType,
    subject,
    messageId,
    from,
    to,
    signerFingerprint: verified.certificate.fingerprintSha256,
    signingTime: verified.signingTime,
    signedDigest: createHash('sha256').update(verified.content).digest('hex'),
    algorithms: {
      digest: verified.digest,
      cipher: decrypted.cipher,
      keyTransport: decrypted.keyTransport,
      signature,
      envelope,
      legacy: verified.legacy || !decrypted.modernCipher,
    },
  };
}

/** DER of the signingTime attribute's type and the start of its value set: OID 1.2.840.113549.1.9.5, then SET. */
const SIGNING_TIME_PREFIX = Buffer.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x05, 0x31]);

/** UTCTime (tag 0x17, YYMMDDHHMMSSZ) or GeneralizedTime (0x18, YYYYMMDDHHMMSS[.f]Z), as RFC 5280 §4.1.2.5 restricts them. */
function derTime(tag: number, text: string): Date | null {
  const m = tag === 0x17 ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text) : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d{1,9})?Z$/.exec(text);
  if (!m) return null;
  const y = Number(m[1]);
  const year = tag === 0x17 ? (y < 50 ? 2000 + y : 1900 + y) : y;
  const d = new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
  return Number.isNaN(d.getTime()) ? null : d;
}

/**
 * The signing time a mail's signature claims, found without parsing or verifying the CMS (the SMTP receiver
 * calls this before its 250; a full parse costs milliseconds): only for ordering the inbox by DNA-TIME. The
 * signed attributes are DER whatever the rest is, so the attribute is found by its encoding; more than one
 * candidate, or none, gives null. The pipeline compares it with the verified signing time and refuses a
 * message where they differ, so a planted copy cannot buy a place in the order. Never throws.
 */
export function signingTimeOf(rawMail: Buffer, maxBytes = 64 * 1024 * 1024): Date | null {
  try {
    if (rawMail.length > maxBytes) return null;
    const mail = parseMimeEntity(rawMail);
    const type = mail.contentType.mediaType;
    let der: Buffer;
    if (PKCS7_MIME.has(type)) der = decodeBody(mail);
    else if (type === 'multipart/signed') {
      const parts = splitMultipart(mail);
      if (parts.length !== 2) return null;
      der = decodeBody(parseMimeEntity(parts[1]!));
    } else return null;
    const at = der.indexOf(SIGNING_TIME_PREFIX);
    if (at < 0 || der.indexOf(SIGNING_TIME_PREFIX, at + 1) >= 0) return null;
    let i = at + SIGNING_TIME_PREFIX.length;
    const setLength = der[i++];
    const tag = der[i++];
    const length = der[i++];
    if (setLength === undefined || tag === undefined || length === undefined || (tag !== 0x17 && tag !== 0x18) || setLength !== length + 2 || length > 32) return null;
    return derTime(tag, der.subarray(i, i + length).toString('latin1'));
  } catch {
    return null;
  }
}
