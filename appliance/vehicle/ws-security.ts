/**
 * WS-Security (SOAP Message Security 1.0, X.509 token profile) for the vehicle messages: every message
 * carries a wsu:Timestamp and an XML signature (RSA-SHA256, exclusive c14n, SHA-256 digests) over the
 * Body and the Timestamp, with the signer's certificate as a BinarySecurityToken that KeyInfo points at
 * (or, from peers whose toolkit does that, as X509Data in KeyInfo).
 *
 * Our key stays on the token: xml-crypto 6 takes an asynchronous SignatureAlgorithm, whose getSignature
 * hands SignedInfo to the token (building-blocks §8). Verification pins the certificate: the one the
 * peer directory holds for the sender, never one the message brings along, and reads the Body and the
 * Timestamp from what the signature covered (not from the document around it), so a wrapped element
 * cannot pass as signed.
 */
import { X509Certificate, createPrivateKey, randomUUID, sign as nodeSign, type KeyObject } from 'node:crypto';
import { SignedXml } from 'xml-crypto';
import type { SignatureAlgorithm, ErrorFirstCallback } from 'xml-crypto';
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

function pemOf(cert: X509Certificate): string {
  return cert.toString();
}

/** The signature algorithm xml-crypto calls: SignedInfo goes to the signer (the token), the result comes back by callback. */
function signerAlgorithm(signer: XmlSigner): new () => SignatureAlgorithm {
  return class TokenRsaSha256 {
    getSignature(signedInfo: unknown, _key: unknown, callback?: ErrorFirstCallback<string>): string {
      if (!callback) throw new Error('the token signs asynchronously: computeSignature needs a callback');
      signer.sign(Buffer.from(signedInfo as string, 'utf8')).then(
        (s) => callback(null, s.toString('base64')),
        (e: unknown) => callback(e instanceof Error ? e : new Error(String(e))),
      );
      return undefined as unknown as string;
    }
    verifySignature(): boolean {
      throw new Error('this algorithm only signs');
    }
    getAlgorithmName(): string {
      return RSA_SHA256;
    }
  } as unknown as new () => SignatureAlgorithm;
}

function xmlInstant(d: Date): string {
  return d.toISOString();
}

/**
 * A signed SOAP envelope around `body` (one element, our namespace declared on it): Timestamp from
 * `now` for MESSAGE_TTL_SECONDS, BinarySecurityToken with the signer's certificate, signature appended
 * to wsse:Security.
 */
export async function signEnvelope(opts: { body: string; signer: XmlSigner; now: Date; ttlSeconds?: number }): Promise<string> {
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
  const sig = new SignedXml({
    idMode: 'wssecurity',
    // Not a key: the algorithm below signs on the token; xml-crypto only wants something here.
    privateKey: 'token',
    canonicalizationAlgorithm: EXC_C14N,
    signatureAlgorithm: RSA_SHA256,
    getKeyInfoContent: () => `<wsse:SecurityTokenReference><wsse:Reference URI="#${tokenId}" ValueType="${X509V3}"/></wsse:SecurityTokenReference>`,
  });
  sig.SignatureAlgorithms = { ...sig.SignatureAlgorithms, [RSA_SHA256]: signerAlgorithm(opts.signer) };
  for (const xpath of [`//*[local-name()='Body' and namespace-uri()='${SOAP_NS}']`, `//*[local-name()='Timestamp' and namespace-uri()='${WSU_NS}']`]) {
    sig.addReference({ xpath, transforms: [EXC_C14N], digestAlgorithm: SHA256 });
  }
  await new Promise<void>((resolve, reject) =>
    sig.computeSignature(unsigned, { prefix: 'ds', location: { reference: `//*[local-name()='Security' and namespace-uri()='${WSSE_NS}']`, action: 'append' } }, (err) =>
      err ? reject(err) : resolve(),
    ),
  );
  return sig.getSignedXml();
}

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

function wsuId(e: Element): string | null {
  return e.getAttributeNS(WSU_NS, 'Id') || null;
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
      return new X509Certificate(Buffer.from((tokens[0]?.textContent ?? '').replace(/\s+/g, ''), 'base64'));
    }
    const data = one(keyInfo, DS_NS, 'X509Data');
    const cert = data ? one(data, DS_NS, 'X509Certificate') : null;
    if (!cert) return null;
    return new X509Certificate(Buffer.from((cert.textContent ?? '').replace(/\s+/g, ''), 'base64'));
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

  const sig = new SignedXml({ publicCert: pemOf(trusted.certificate), getCertFromKeyInfo: () => null, idMode: 'wssecurity' });
  let valid = false;
  try {
    sig.loadSignature(signature);
    valid = sig.checkSignature(text);
  } catch (e) {
    return { ok: false, fault: fault('VRD-SIGNATURE-INVALID', (e as Error).message.slice(0, 200)), soap: true };
  }
  if (!valid) return { ok: false, fault: fault('VRD-SIGNATURE-INVALID'), soap: true };

  // What the signature covered, element by element: the Body and the Timestamp must be among it.
  const bodyId = wsuId(body);
  const uris = sig.getReferences().map((r) => r.uri);
  const signedBody = bodyId !== null && uris.includes(`#${bodyId}`);
  if (!signedBody) return { ok: false, fault: fault('VRD-SIGNATURE-INVALID', 'the signature does not cover the Body'), soap: true };
  let signedPayload: Element | null = null;
  let timestamp: Element | null = null;
  for (const xml of sig.getSignedReferences()) {
    const parsed = parseXml(xml);
    if (!parsed.ok) continue;
    const root = parsed.value.documentElement as Element;
    if (root.namespaceURI === SOAP_NS && root.localName === 'Body') {
      const inside = childElements(root);
      if (inside.length === 1) signedPayload = inside[0] as Element;
    } else if (root.namespaceURI === WSU_NS && root.localName === 'Timestamp') timestamp = root;
  }
  if (!signedPayload) return { ok: false, fault: fault('VRD-SIGNATURE-INVALID', 'the signed Body holds no single element'), soap: true };
  if (!timestamp) return { ok: false, fault: fault('VRD-TIMESTAMP-MISSING'), soap: true, signer: trusted };
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
