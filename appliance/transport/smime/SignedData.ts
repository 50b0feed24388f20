import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { X509Certificate, constants, createHash, verify as cryptoVerify } from 'node:crypto';
import type { Token } from '../../token/token.js';
import type { Peer, PeerCertificate, PeerDirectory } from '../../peers/directory.js';
import { SmimeError } from './errors.js';
import { DIGEST_BY_OID, DIGEST_OID, OID, RSA_SIGNATURE_DIGEST, TOKEN_HASH, type DigestName } from './oids.js';
import { octets, parseBer, wrapContentInfo } from './ContentInfo.js';
import { pkijsCertificate } from './Certificate.js';

/**
 * CMS SignedData (RFC 5652 §5) with one SignerInfo: signed attributes contentType, signingTime and
 * messageDigest (RFC 8551 §2.5), signature RSASSA-PKCS1-v1_5 computed on the token over their DER.
 * The signer's certificate is included so any verifier (openssl cms -verify) finds it.
 */
export async function createSignedData(opts: {
  eContentType: string;
  eContent: Uint8Array;
  signerCertDer: Uint8Array;
  token: Token;
  keyLabel: string;
  digest: DigestName;
  now: Date;
  /** Leave eContent out (a detached signature, e.g. SHA256SUMS.p7s of an audit export). */
  detached?: boolean;
}): Promise<Buffer> {
  const cert = pkijsCertificate(opts.signerCertDer);
  const digestAlgorithm = new pkijs.AlgorithmIdentifier({ algorithmId: DIGEST_OID[opts.digest] });
  const messageDigest = createHash(opts.digest).update(opts.eContent).digest();
  const attributes = [
    new pkijs.Attribute({ type: OID.contentType, values: [new asn1js.ObjectIdentifier({ value: opts.eContentType })] }),
    new pkijs.Attribute({ type: OID.signingTime, values: [new asn1js.UTCTime({ valueDate: opts.now })] }),
    new pkijs.Attribute({ type: OID.messageDigest, values: [new asn1js.OctetString({ valueHex: messageDigest })] }),
  ];
  // DER: a SET OF is sorted by the encodings of its elements (X.690 §11.6).
  const sorted = attributes
    .map((a) => ({ a, der: Buffer.from(a.toSchema().toBER(false)) }))
    .sort((x, y) => Buffer.compare(x.der, y.der))
    .map((x) => x.a);
  const signedAttrs = new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes: sorted });
  const toSign = new Uint8Array(signedAttrs.toSchema().toBER(false));
  toSign[0] = 0x31; // signed over as SET OF, not as the [0] IMPLICIT it is carried in (RFC 5652 §5.4)
  const signature = await opts.token.sign(opts.keyLabel, toSign, TOKEN_HASH[opts.digest]);

  const eci = new pkijs.EncapsulatedContentInfo({ eContentType: opts.eContentType });
  // Assigned after construction: the constructor would split it into 64 KiB BER chunks; we emit DER.
  if (!opts.detached) eci.eContent = new asn1js.OctetString({ valueHex: opts.eContent });
  const signerInfo = new pkijs.SignerInfo({
    version: 1,
    sid: new pkijs.IssuerAndSerialNumber({ issuer: cert.issuer, serialNumber: cert.serialNumber }),
    digestAlgorithm,
    signedAttrs,
    signatureAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID.rsaEncryption, algorithmParams: new asn1js.Null() }),
    signature: new asn1js.OctetString({ valueHex: signature }),
  });
  const signed = new pkijs.SignedData({
    // 3 because eContentType is not id-data (RFC 5652 §5.1).
    version: opts.eContentType === OID.data ? 1 : 3,
    digestAlgorithms: [digestAlgorithm],
    encapContentInfo: eci,
    signerInfos: [signerInfo],
  });
  const schema = signed.toSchema(true);
  // certificates [0] IMPLICIT CertificateSet, between encapContentInfo and signerInfos, written as the
  // certificate's own DER: pkijs would re-parse and re-encode the certificate on every message.
  schema.valueBlock.value.splice(3, 0, new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [new EncodedElement(opts.signerCertDer)] }));
  return wrapContentInfo(OID.signedData, schema);
}

/** An element that is already DER, written as it is when the structure around it is encoded. */
class EncodedElement extends asn1js.Sequence {
  private readonly der: Uint8Array;

  constructor(der: Uint8Array) {
    super();
    this.der = new Uint8Array(der);
  }

  override toBER(_sizeOnly?: boolean, writer?: asn1js.ViewWriter): ArrayBuffer {
    if (writer) {
      writer.write(this.der);
      return new ArrayBuffer(0);
    }
    return this.der.slice().buffer;
  }
}

/**
 * The parts of a received SignedData that verification uses. Parsed with asn1js by hand rather than
 * through pkijs's SignedData schema: that one also parses every embedded certificate (≈2.5 ms a
 * message), and we never trust embedded certificates anyway — the signer is looked up in the
 * peer directory by its SignerIdentifier.
 */
export interface SignedDataView {
  readonly eContentType: string;
  readonly eContent: Buffer | null;
  /** DER of each embedded X.509 certificate (only used to name an unknown signer). */
  readonly certificates: readonly Buffer[];
  readonly signerInfos: readonly pkijs.SignerInfo[];
}

function malformed(message: string): never {
  throw new SmimeError('MALFORMED_CMS', `SignedData: ${message}`);
}

/** SignedData from a ContentInfo; a ContentInfo of another type is NO_SIGNATURE (EnvelopedData alone) or MALFORMED_CMS. */
export function parseSignedData(bytes: Uint8Array): SignedDataView {
  const ci = parseBer(bytes, 'ContentInfo');
  if (!(ci instanceof asn1js.Sequence) || ci.valueBlock.value.length !== 2) throw new SmimeError('MALFORMED_CMS', 'ContentInfo: not a SEQUENCE of two');
  const [type, explicit] = ci.valueBlock.value as [asn1js.AsnType, asn1js.AsnType];
  if (!(type instanceof asn1js.ObjectIdentifier)) throw new SmimeError('MALFORMED_CMS', 'ContentInfo: contentType is not an OID');
  const contentType = type.valueBlock.toString();
  if (contentType === OID.envelopedData) throw new SmimeError('NO_SIGNATURE', 'ContentInfo holds an EnvelopedData: encrypted but not signed');
  if (contentType !== OID.signedData) throw new SmimeError('MALFORMED_CMS', `ContentInfo: expected signedData, found ${contentType}`);
  if (!(explicit instanceof asn1js.Constructed) || explicit.idBlock.tagClass !== 3 || explicit.idBlock.tagNumber !== 0) {
    throw new SmimeError('MALFORMED_CMS', 'ContentInfo: content is not [0] EXPLICIT');
  }
  const sd = explicit.valueBlock.value[0];
  if (!(sd instanceof asn1js.Sequence)) malformed('not a SEQUENCE');
  const fields = sd.valueBlock.value;
  if (!(fields[0] instanceof asn1js.Integer)) malformed('version is not an INTEGER');
  if (!(fields[1] instanceof asn1js.Set)) malformed('digestAlgorithms is not a SET');
  const eci = fields[2];
  if (!(eci instanceof asn1js.Sequence)) malformed('encapContentInfo is not a SEQUENCE');
  const [eType, eWrapped] = eci.valueBlock.value;
  if (!(eType instanceof asn1js.ObjectIdentifier)) malformed('eContentType is not an OID');
  let eContent: Buffer | null = null;
  if (eWrapped !== undefined) {
    if (!(eWrapped instanceof asn1js.Constructed) || eWrapped.idBlock.tagClass !== 3 || eWrapped.idBlock.tagNumber !== 0) malformed('eContent is not [0] EXPLICIT');
    const os = eWrapped.valueBlock.value[0];
    if (!(os instanceof asn1js.OctetString)) malformed('eContent is not an OCTET STRING');
    eContent = octets(os);
  }
  const certificates: Buffer[] = [];
  let i = 3;
  for (; i < fields.length - 1; i++) {
    const f = fields[i]!;
    if (f.idBlock.tagClass !== 3 || (f.idBlock.tagNumber !== 0 && f.idBlock.tagNumber !== 1) || !(f instanceof asn1js.Constructed)) {
      malformed('unexpected field between encapContentInfo and signerInfos');
    }
    if (f.idBlock.tagNumber === 0) {
      for (const c of f.valueBlock.value) if (c instanceof asn1js.Sequence) certificates.push(Buffer.from(c.valueBeforeDecodeView));
    }
  }
  const infos = fields[i];
  if (!(infos instanceof asn1js.Set)) malformed('signerInfos is not a SET');
  const signerInfos = infos.valueBlock.value.map((schema) => {
    try {
      return new pkijs.SignerInfo({ schema });
    } catch (e) {
      throw new SmimeError('MALFORMED_CMS', `SignerInfo: ${(e as Error).message}`);
    }
  });
  return { eContentType: eType.valueBlock.toString(), eContent, certificates, signerInfos };
}

export interface VerifiedSignature {
  readonly peer: Peer;
  readonly certificate: PeerCertificate;
  readonly digest: DigestName;
  /** SHA-1 or an RSA key below 2048 bits: accepted only when the peer's profile allows legacy. */
  readonly legacy: boolean;
  readonly signingTime: Date | null;
}

/** The OCTET STRING content of a [0] IMPLICIT SubjectKeyIdentifier (primitive, or constructed BER). */
function skiOf(block: asn1js.BaseBlock): Uint8Array {
  const v = (block as unknown as { valueBlock: { valueHexView?: Uint8Array; value?: asn1js.BaseBlock[] } }).valueBlock;
  if (v.valueHexView && v.valueHexView.byteLength) return v.valueHexView;
  const inner = v.value?.[0] as unknown as { valueBlock?: { valueHexView?: Uint8Array } } | undefined;
  return inner?.valueBlock?.valueHexView ?? new Uint8Array();
}

function attributeValue(attrs: pkijs.SignedAndUnsignedAttributes, type: string): unknown {
  const found = attrs.attributes.filter((a) => a.type === type);
  if (found.length > 1 || (found[0] && found[0].values.length !== 1)) {
    throw new SmimeError('MALFORMED_CMS', `SignerInfo: attribute ${type} must occur once with one value (RFC 5652 §11)`);
  }
  return found[0]?.values[0];
}

/**
 * Verifies the one SignerInfo of `signed` against the peer directory: the signer must be a configured
 * peer's signing certificate (pinned), valid at `now`; the message digest and the signature must
 * verify; SHA-1 and short keys only for peers that allow legacy. `detached` is the signed content of
 * a multipart/signed message; each candidate byte form is tried (as sent, then CRLF-canonical).
 */
export function verifySignedData(
  signed: SignedDataView,
  opts: { directory: PeerDirectory; now: Date; detached?: readonly Buffer[] },
): VerifiedSignature & { content: Buffer } {
  if (signed.signerInfos.length !== 1) {
    throw new SmimeError(signed.signerInfos.length === 0 ? 'NO_SIGNATURE' : 'MALFORMED_CMS', `SignedData: ${signed.signerInfos.length} signers, expected one`);
  }
  const si = signed.signerInfos[0]!;

  // Who signed: the certificate the SignerIdentifier names must be a peer's signing certificate in the
  // directory (pinned); embedded certificates are not trusted, only used to name a stranger.
  const sid = si.sid;
  const found =
    sid instanceof pkijs.IssuerAndSerialNumber
      ? opts.directory.findBySignerId(sid)
      : sid instanceof asn1js.BaseBlock && sid.idBlock.tagClass === 3 && sid.idBlock.tagNumber === 0
        ? opts.directory.findBySignerId({ subjectKeyIdentifier: skiOf(sid) })
        : null;
  if (!found) {
    let who = 'the signer';
    for (const der of signed.certificates) {
      try {
        who = `certificate ${new X509Certificate(der).subject.replace(/\n/g, ', ')}`;
        break;
      } catch {
        // only for the message
      }
    }
    throw new SmimeError('UNKNOWN_SIGNER', `SignerInfo: ${who} is not a configured peer signing certificate`);
  }
  const peer: Peer = found.peer;
  const certificate: PeerCertificate | null = found.certificate;
  if (!certificate) throw new SmimeError('UNKNOWN_SIGNER', `SignerInfo: no signing certificate configured for ${peer.code}`);
  if (opts.now < certificate.notBefore || opts.now > certificate.notAfter) {
    throw new SmimeError(
      'EXPIRED_SIGNER',
      `SignerInfo: ${peer.code} signing certificate valid ${certificate.notBefore.toISOString()} – ${certificate.notAfter.toISOString()}, not at ${opts.now.toISOString()}`,
    );
  }

  // Algorithms.
  const digest = DIGEST_BY_OID[si.digestAlgorithm.algorithmId];
  if (!digest) throw new SmimeError('UNSUPPORTED_ALGORITHM', `SignerInfo: digest ${si.digestAlgorithm.algorithmId}`);
  const sigAlg = si.signatureAlgorithm.algorithmId;
  if (sigAlg !== OID.rsaEncryption) {
    const implied = RSA_SIGNATURE_DIGEST[sigAlg];
    if (!implied) throw new SmimeError('UNSUPPORTED_ALGORITHM', `SignerInfo: signature algorithm ${sigAlg}`);
    if (implied !== digest) throw new SmimeError('BAD_SIGNATURE', `SignerInfo: signature algorithm ${sigAlg} disagrees with digest ${digest}`);
  }

  // The signed content and its digest.
  const eContentType = signed.eContentType;
  const attached = signed.eContent;
  const candidates = attached ? [attached] : (opts.detached ?? []);
  if (candidates.length === 0) throw new SmimeError('NO_SIGNATURE', 'SignedData: a detached signature without its content');
  let content: Buffer | null = null;
  let toVerify: Uint8Array;
  if (si.signedAttrs) {
    const ct = attributeValue(si.signedAttrs, OID.contentType);
    if (!(ct instanceof asn1js.ObjectIdentifier) || ct.valueBlock.toString() !== eContentType) {
      throw new SmimeError('BAD_SIGNATURE', 'SignerInfo: contentType attribute missing or not the eContentType');
    }
    const md = attributeValue(si.signedAttrs, OID.messageDigest);
    if (!(md instanceof asn1js.OctetString)) throw new SmimeError('BAD_SIGNATURE', 'SignerInfo: messageDigest attribute missing');
    const expected = Buffer.from(md.valueBlock.valueHexView);
    content = candidates.find((c) => createHash(digest).update(c).digest().equals(expected)) ?? null;
    if (!content) throw new SmimeError('BAD_SIGNATURE', 'SignerInfo: message digest does not match the content (tampered)');
    toVerify = new Uint8Array(si.signedAttrs.encodedValue);
  } else {
    // No signed attributes (openssl cms -noattr): the signature covers the content itself.
    content = candidates[0]!;
    toVerify = content;
  }
  const signature = Buffer.from(si.signature.valueBlock.valueHexView);
  let ok = false;
  for (const candidate of si.signedAttrs ? [toVerify] : candidates) {
    if (cryptoVerify(digest, candidate, { key: certificate.x509.publicKey, padding: constants.RSA_PKCS1_PADDING }, signature)) {
      ok = true;
      if (!si.signedAttrs) content = Buffer.from(candidate);
      break;
    }
  }
  if (!ok) throw new SmimeError('BAD_SIGNATURE', `SignerInfo: the RSA signature does not verify with ${peer.code}'s certificate`);

  const legacy = digest === 'sha1' || certificate.keyBits < 2048;
  if (legacy && !peer.crypto.allowLegacy) {
    throw new SmimeError(
      'LEGACY_NOT_ALLOWED',
      `SignerInfo: ${digest === 'sha1' ? 'SHA-1' : `RSA-${certificate.keyBits}`} from ${peer.code}, whose profile does not allow legacy algorithms`,
    );
  }
  let signingTime: Date | null = null;
  if (si.signedAttrs) {
    const t = attributeValue(si.signedAttrs, OID.signingTime);
    if (t instanceof asn1js.UTCTime || t instanceof asn1js.GeneralizedTime) signingTime = t.toDate();
  }
  return { peer, certificate, digest, legacy, signingTime, content };
}
