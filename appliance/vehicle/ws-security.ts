/**
 * WS-Security (SOAP Message Security 1.0, X.509 token profile) for the vehicle messages: every message
 * carries a wsu:Timestamp and an XML signature (RSA-SHA256, exclusive c14n, SHA-256 digests) over the
 * Body and the Timestamp, with the signer's certificate as a BinarySecurityToken that KeyInfo points at
 * (or, from peers whose toolkit does that, as X509Data in KeyInfo).
 *
 * Our key stays on the token: the canonical SignedInfo goes to the token to be signed. Verification pins
 * the certificate: the one the peer directory holds for the sender, never one the message brings along.
 *
 * References are resolved by our own walk of the document, not by XPath: xml-crypto's SignedXml looks
 * each reference up with XPath over the whole document, which cost ~13 ms per verification and ~10 ms
 * per signature here — most of a request's budget (docs/vehicles.md, benchmark). We use xml-crypto's
 * exclusive canonicalization and do the rest: every wsu:Id in the document must be unique, the exact Body
 * and Timestamp elements of the envelope must be among the digested references (so a wrapped copy
 * elsewhere cannot pass as signed), and only exclusive c14n, SHA-256 digests and RSA-SHA256 are accepted.
 */
import { X509Certificate, createHash, createPrivateKey, randomUUID, sign as nodeSign, timingSafeEqual, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { ExclusiveCanonicalization } from 'xml-crypto';
import type { Token } from '../token/token.js';
import { childElements, parseXml } from './codec.js';
import { envelope, parseEnvelope, DS_NS, SOAP_NS, WSSE_NS, WSU_NS } from './soap.js';
import { fault, type VehicleFault } from './faults.js';

export const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
export const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
export const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';
const X509V3 = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-x509-token-profile-1.0#X509v3';
const BASE64 = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary';

/** How long a message we sign stays valid (wsu:Expires − wsu:Created). */
export const MESSAGE_TTL_SECONDS = 300;

/** Who signs: RSASSA-PKCS1-v1_5 with SHA-256 over the bytes given, and the certificate of that key. */
export interface XmlSigner {
  readonly certificate: X509Certificate;
  sign(data: Buffer): Promise<Buffer>;
}

/** Our signing key on the token. */
export function tokenXmlSigner(token: Token, keyLabel: string, certificate: X509Certificate): XmlSigner {
  return { certificate, sign: (data) => token.sign(keyLabel, data, 'SHA-256') };
}

/** A software key (a peer in tests and benchmarks; never the appliance's own key). */
export function keyXmlSigner(keyPem: string | KeyObject, certificate: X509Certificate): XmlSigner {
  const key = typeof keyPem === 'string' ? createPrivateKey(keyPem) : keyPem;
  return { certificate, sign: async (data) => nodeSign('sha256', data, key) };
}

const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

/** The namespaces declared on `el`'s ancestors (nearest first wins), for InclusiveNamespaces prefix lists. */
function ancestorNamespaces(el: Element): Array<{ prefix: string; namespaceURI: string }> {
  const seen = new Map<string, string>();
  for (let n = el.parentNode; n && n.nodeType === 1; n = n.parentNode) {
    const attrs = (n as Element).attributes;
    for (let i = 0; i < attrs.length; i++) {
      const a = attrs.item(i);
      if (a && a.namespaceURI === XMLNS_NS && a.prefix === 'xmlns' && !seen.has(a.localName)) seen.set(a.localName, a.value);
    }
  }
  return [...seen].map(([prefix, namespaceURI]) => ({ prefix, namespaceURI }));
}

/** Exclusive XML canonicalization (xml-crypto's implementation) of one element. */
function excC14n(el: Element, prefixList: string[] = []): string {
  const out = new ExclusiveCanonicalization().process(el, { inclusiveNamespacesPrefixList: prefixList, ancestorNamespaces: prefixList.length ? ancestorNamespaces(el) : [] });
  return typeof out === 'string' ? out : String(out);
}

function sha256b64(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64');
}

function xmlInstant(d: Date): string {
  return d.toISOString();
}

/**
 * A signed SOAP envelope around `body` (one element, our namespace declared on it): Timestamp from
 * `now` for MESSAGE_TTL_SECONDS, BinarySecurityToken with the signer's certificate, signature appended
 * to wsse:Security.
 */
export async function signEnvelope(opts: { body: string; signer: XmlSigner; now: Date; ttlSeconds?: number; bodyIsCanonical?: boolean }): Promise<string> {
  const id = randomUUID();
  const bodyId = `Body-${id}`;
  const tsId = `TS-${id}`;
  const tokenId = `X509-${id}`;
  const expires = new Date(opts.now.getTime() + (opts.ttlSeconds ?? MESSAGE_TTL_SECONDS) * 1000);
  const certB64 = opts.signer.certificate.raw.toString('base64');
  const security =
    `<wsse:BinarySecurityToken EncodingType="${BASE64}" ValueType="${X509V3}" wsu:Id="${tokenId}">${certB64}</wsse:BinarySecurityToken>` +
    `<wsu:Timestamp wsu:Id="${tsId}"><wsu:Created>${xmlInstant(opts.now)}</wsu:Created><wsu:Expires>${xmlInstant(expires)}</wsu:Expires></wsu:Timestamp>`;
  const unsigned = envelope({ bodyId, body: opts.body, security });
  // Exclusive c14n of the Body and the Timestamp: written out directly when the body is known to be canonical
  // (our codec's output), otherwise by parsing the envelope and canonicalising.
  let bodyC14n: string;
  let tsC14n: string;
  if (opts.bodyIsCanonical) {
    bodyC14n = `<soap:Body xmlns:soap="${SOAP_NS}" xmlns:wsu="${WSU_NS}" wsu:Id="${bodyId}">${opts.body}</soap:Body>`;
    tsC14n = `<wsu:Timestamp xmlns:wsu="${WSU_NS}" wsu:Id="${tsId}"><wsu:Created>${xmlInstant(opts.now)}</wsu:Created><wsu:Expires>${xmlInstant(expires)}</wsu:Expires></wsu:Timestamp>`;
  } else {
    const doc = parseXml(unsigned);
    if (!doc.ok) throw new Error(`cannot sign: ${doc.error.message}`);
    const env = doc.value.documentElement as Element;
    const body = childElements(env, SOAP_NS, 'Body')[0];
    const header = childElements(env, SOAP_NS, 'Header')[0];
    const sec = header ? childElements(header, WSSE_NS, 'Security')[0] : undefined;
    const ts = sec ? childElements(sec, WSU_NS, 'Timestamp')[0] : undefined;
    if (!body || !ts) throw new Error('cannot sign: envelope without Body or Timestamp');
    bodyC14n = excC14n(body);
    tsC14n = excC14n(ts);
  }
  const reference = (id: string, c14n: string) =>
    `<ds:Reference URI="#${id}"><ds:Transforms><ds:Transform Algorithm="${EXC_C14N}"></ds:Transform></ds:Transforms><ds:DigestMethod Algorithm="${SHA256}"></ds:DigestMethod><ds:DigestValue>${sha256b64(c14n)}</ds:DigestValue></ds:Reference>`;
  // SignedInfo in its canonical form: what is signed is exactly what we embed (verifiers canonicalise it to the same bytes).
  const signedInfo =
    `<ds:SignedInfo xmlns:ds="${DS_NS}"><ds:CanonicalizationMethod Algorithm="${EXC_C14N}"></ds:CanonicalizationMethod><ds:SignatureMethod Algorithm="${RSA_SHA256}"></ds:SignatureMethod>` +
    `${reference(bodyId, bodyC14n)}${reference(tsId, tsC14n)}</ds:SignedInfo>`;
  const signatureValue = await opts.signer.sign(Buffer.from(signedInfo, 'utf8'));
  const signature =
    `<ds:Signature xmlns:ds="${DS_NS}">${signedInfo}<ds:SignatureValue>${signatureValue.toString('base64')}</ds:SignatureValue>` +
    `<ds:KeyInfo><wsse:SecurityTokenReference><wsse:Reference URI="#${tokenId}" ValueType="${X509V3}"/></wsse:SecurityTokenReference></ds:KeyInfo></ds:Signature>`;
  // The signature goes after the Timestamp inside wsse:Security; exclusive c14n of Body and Timestamp does not see it.
  const at = unsigned.indexOf('</wsse:Security>');
  return `${unsigned.slice(0, at)}${signature}${unsigned.slice(at)}`;
}

/** Exposed for the tests: the canonical form our signer assumes for codec output. */
export function canonicalBody(bodyId: string, body: string): string {
  return `<soap:Body xmlns:soap="${SOAP_NS}" xmlns:wsu="${WSU_NS}" wsu:Id="${bodyId}">${body}</soap:Body>`;
}

export { excC14n };

export interface VerifiedMessage {
  /** The certificate the signature verified with (the pinned one). */
  readonly certificate: X509Certificate;
  /** What `trust` returned for it (the peer). */
  readonly signer: TrustedSigner;
  /** The element inside the signed Body, parsed from exactly what was signed. */
  readonly payload: Element;
  readonly created: Date;
  readonly expires: Date;
}

export interface TrustedSigner {
  /** The certificate we pinned for this sender; verification uses it, not the message's. */
  readonly certificate: X509Certificate;
  readonly label: string;
}

export interface VerifyOptions {
  /**
   * The pinned certificate for the certificate a message presents (null when it presents none);
   * null: not a partner (VRD-UNKNOWN-SENDER).
   */
  readonly trust: (presented: X509Certificate | null) => TrustedSigner | null;
  readonly now: Date;
  /** Accepted clock difference between the sender and us, in both directions. */
  readonly skewSeconds: number;
  /** Oldest acceptable wsu:Created (the timestamp window), whatever Expires says. */
  readonly maxAgeSeconds: number;
}

export type VerifyOutcome =
  | { readonly ok: true; readonly message: VerifiedMessage }
  /** `signer`: set when the signature verified and a later check (the timestamp) failed. */
  | { readonly ok: false; readonly fault: VehicleFault; readonly soap: boolean; readonly signer?: TrustedSigner };

function one(parent: Element, ns: string, local: string): Element | null {
  const found = childElements(parent, ns, local);
  return found.length === 1 ? (found[0] as Element) : null;
}

/** The PrefixList of an InclusiveNamespaces child (exclusive c14n with inclusive prefixes, as WSS4J writes it). */
function prefixListOf(method: Element): string[] {
  const inc = childElements(method).find((e) => e.localName === 'InclusiveNamespaces');
  return (inc?.getAttribute('PrefixList') ?? '').split(/\s+/).filter(Boolean);
}

function wsuId(e: Element): string | null {
  return e.getAttributeNS(WSU_NS, 'Id') || null;
}

/** Certificates seen in messages, parsed once: every partner sends the same one with each message (~0.5 ms to parse). */
const parsedCertificates = new Map<string, X509Certificate>();
function certificateFromBase64(b64: string): X509Certificate {
  const key = b64.replace(/\s+/g, '');
  let cert = parsedCertificates.get(key);
  if (!cert) {
    cert = new X509Certificate(Buffer.from(key, 'base64'));
    if (parsedCertificates.size >= 64) parsedCertificates.clear();
    parsedCertificates.set(key, cert);
  }
  return cert;
}

/** The certificate the signature's KeyInfo names: a BinarySecurityToken by reference, or X509Data. */
function presentedCertificate(security: Element, signature: Element): X509Certificate | null | 'bad' {
  const keyInfo = one(signature, DS_NS, 'KeyInfo');
  if (!keyInfo) return null;
  try {
    const str = one(keyInfo, WSSE_NS, 'SecurityTokenReference');
    if (str) {
      const ref = one(str, WSSE_NS, 'Reference');
      const uri = ref?.getAttribute('URI') ?? '';
      if (!uri.startsWith('#')) return 'bad';
      const tokens = childElements(security, WSSE_NS, 'BinarySecurityToken').filter((t) => wsuId(t) === uri.slice(1));
      if (tokens.length !== 1) return 'bad';
      return certificateFromBase64(tokens[0]?.textContent ?? '');
    }
    const data = one(keyInfo, DS_NS, 'X509Data');
    const cert = data ? one(data, DS_NS, 'X509Certificate') : null;
    if (!cert) return null;
    return certificateFromBase64(cert.textContent ?? '');
  } catch {
    return 'bad';
  }
}

/**
 * Verifies a SOAP message's WS-Security: signature present, made with the pinned certificate of a
 * partner, covering the Body and the Timestamp, with the algorithms we require; timestamp inside the
 * window. Replay and authorisation are the caller's (they need the message id and the service).
 */
export function verifyEnvelope(text: string, opts: VerifyOptions): VerifyOutcome {
  const env = parseEnvelope(text);
  if (!env.ok) return { ok: false, fault: fault('VRD-NOT-SOAP', env.error.message), soap: false };
  const { header, body } = env.value;
  const securities = header ? childElements(header, WSSE_NS, 'Security') : [];
  if (securities.length > 1) return { ok: false, fault: fault('VRD-SIGNATURE-INVALID', 'more than one wsse:Security header'), soap: true };
  const security = securities[0];
  const signatures = security ? childElements(security, DS_NS, 'Signature') : [];
  if (!security || signatures.length === 0) return { ok: false, fault: fault('VRD-SIGNATURE-MISSING'), soap: true };
  if (signatures.length > 1) return { ok: false, fault: fault('VRD-SIGNATURE-INVALID', 'more than one signature'), soap: true };
  const signature = signatures[0] as Element;

  const signedInfo = one(signature, DS_NS, 'SignedInfo');
  const method = signedInfo ? one(signedInfo, DS_NS, 'SignatureMethod')?.getAttribute('Algorithm') : null;
  const c14n = signedInfo ? one(signedInfo, DS_NS, 'CanonicalizationMethod')?.getAttribute('Algorithm') : null;
  if (method !== RSA_SHA256 || c14n !== EXC_C14N) return { ok: false, fault: fault('VRD-SIGNATURE-INVALID', `signature must be rsa-sha256 with exclusive c14n (got ${method ?? '?'}, ${c14n ?? '?'})`), soap: true };
  for (const ref of signedInfo ? childElements(signedInfo, DS_NS, 'Reference') : []) {
    const digest = one(ref, DS_NS, 'DigestMethod')?.getAttribute('Algorithm');
    if (digest !== SHA256) return { ok: false, fault: fault('VRD-SIGNATURE-INVALID', 'references must use SHA-256 digests'), soap: true };
  }

  const presented = presentedCertificate(security, signature);
  if (presented === 'bad') return { ok: false, fault: fault('VRD-SIGNATURE-INVALID', 'KeyInfo names no readable certificate'), soap: true };
  const trusted = opts.trust(presented);
  if (!trusted) return { ok: false, fault: fault('VRD-UNKNOWN-SENDER', presented ? `certificate ${presented.subject.replace(/\n/g, ', ')} is not a partner's` : 'the signature names no certificate'), soap: true };

  // Every element with a wsu:Id, once: a duplicate id is how a wrapping attack points a reference elsewhere.
  const byId = new Map<string, Element>();
  const stack: Element[] = [env.value.envelope];
  while (stack.length) {
    const e = stack.pop() as Element;
    const id = wsuId(e);
    if (id !== null) {
      if (byId.has(id)) return { ok: false, fault: fault('VRD-SIGNATURE-INVALID', `wsu:Id ${id.slice(0, 60)} appears twice`), soap: true };
      byId.set(id, e);
    }
    stack.push(...childElements(e));
  }
  const digested = new Set<Element>();
  for (const ref of childElements(signedInfo as Element, DS_NS, 'Reference')) {
    const uri = ref.getAttribute('URI') ?? '';
    const target = uri.startsWith('#') ? byId.get(uri.slice(1)) : undefined;
    if (!target) return { ok: false, fault: fault('VRD-SIGNATURE-INVALID', `reference ${uri.slice(0, 60)} names no element`), soap: true };
    const transforms = one(ref, DS_NS, 'Transforms');
    const list = transforms ? childElements(transforms, DS_NS, 'Transform') : [];
    if (list.length !== 1 || list[0]?.getAttribute('Algorithm') !== EXC_C14N) return { ok: false, fault: fault('VRD-SIGNATURE-INVALID', 'each reference must have exactly the exclusive c14n transform'), soap: true };
    const digest = (one(ref, DS_NS, 'DigestValue')?.textContent ?? '').replace(/\s+/g, '');
    const computed = sha256b64(excC14n(target, prefixListOf(list[0] as Element)));
    if (digest.length !== computed.length || !timingSafeEqual(Buffer.from(digest), Buffer.from(computed))) {
      return { ok: false, fault: fault('VRD-SIGNATURE-INVALID', `digest of ${uri.slice(0, 60)} does not match`), soap: true };
    }
    digested.add(target);
  }
  const c14nMethod = one(signedInfo as Element, DS_NS, 'CanonicalizationMethod') as Element;
  const signatureValue = Buffer.from((one(signature, DS_NS, 'SignatureValue')?.textContent ?? '').replace(/\s+/g, ''), 'base64');
  let valid = false;
  try {
    valid = nodeVerify('sha256', Buffer.from(excC14n(signedInfo as Element, prefixListOf(c14nMethod)), 'utf8'), trusted.certificate.publicKey, signatureValue);
  } catch {
    valid = false;
  }
  if (!valid) return { ok: false, fault: fault('VRD-SIGNATURE-INVALID'), soap: true };
  if (!digested.has(body)) return { ok: false, fault: fault('VRD-SIGNATURE-INVALID', 'the signature does not cover the Body'), soap: true };
  const signedPayload = env.value.payload;
  const timestamps = childElements(security, WSU_NS, 'Timestamp');
  const timestamp = timestamps.length === 1 ? (timestamps[0] as Element) : null;
  if (!timestamp || !digested.has(timestamp)) return { ok: false, fault: fault('VRD-TIMESTAMP-MISSING', 'no single wsu:Timestamp covered by the signature'), soap: true, signer: trusted };
  const created = Date.parse((one(timestamp, WSU_NS, 'Created')?.textContent ?? '').trim());
  const expiresText = one(timestamp, WSU_NS, 'Expires')?.textContent;
  const expires = expiresText ? Date.parse(expiresText.trim()) : created + MESSAGE_TTL_SECONDS * 1000;
  if (Number.isNaN(created) || Number.isNaN(expires)) return { ok: false, fault: fault('VRD-TIMESTAMP-MISSING', 'wsu:Created or wsu:Expires is not a date-time'), soap: true, signer: trusted };
  const now = opts.now.getTime();
  const skew = opts.skewSeconds * 1000;
  if (created > now + skew) return { ok: false, fault: fault('VRD-TIMESTAMP-EXPIRED', `created ${new Date(created).toISOString()} is in the future`), soap: true, signer: trusted };
  if (now > expires + skew) return { ok: false, fault: fault('VRD-TIMESTAMP-EXPIRED', `expired at ${new Date(expires).toISOString()}`), soap: true, signer: trusted };
  if (now - created > opts.maxAgeSeconds * 1000 + skew) return { ok: false, fault: fault('VRD-TIMESTAMP-EXPIRED', `created ${new Date(created).toISOString()}, older than the ${opts.maxAgeSeconds} s window`), soap: true, signer: trusted };
  return { ok: true, message: { certificate: trusted.certificate, signer: trusted, payload: signedPayload, created: new Date(created), expires: new Date(expires) } };
}
