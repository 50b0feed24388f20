import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { constants, createCipheriv, createDecipheriv, publicEncrypt, randomBytes, type X509Certificate } from 'node:crypto';
import type { Token, DecryptScheme, TokenHash } from '../../token/token.js';
import { TokenError } from '../../token/token.js';
import { SmimeError } from './errors.js';
import { CONTENT_CIPHERS, DIGEST_BY_OID, OID, TOKEN_HASH, type DigestName } from './oids.js';
import { octets, unwrapEnvelopedData, wrapContentInfo } from './ContentInfo.js';
import { pkijsCertificate } from './Certificate.js';

export type KeyTransport = 'rsa-pkcs1' | 'rsa-oaep-sha256';

/**
 * CMS EnvelopedData (RFC 5652 §6) with one KeyTransRecipientInfo: AES-256-CBC content encryption
 * (RFC 3565), the content key wrapped to the recipient's RSA key with PKCS#1 v1.5 or RSAES-OAEP
 * SHA-256 (RFC 8017, RFC 4055). Returned ContentInfo-wrapped, the form openssl cms -decrypt reads.
 * Encryption uses only the recipient's public key, so Node's crypto does it (RSA_PKCS1_PADDING
 * encryption is unaffected by the Marvin restriction on private decryption).
 */
export function createEnvelopedData(content: Uint8Array, recipient: { der: Uint8Array; x509: X509Certificate }, keyTransport: KeyTransport): Buffer {
  const cert = pkijsCertificate(recipient.der);
  const cek = randomBytes(32);
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-cbc', cek, iv);
  const encrypted = Buffer.concat([cipher.update(content), cipher.final()]);

  let keyEncryptionAlgorithm: pkijs.AlgorithmIdentifier;
  let encryptedKey: Buffer;
  if (keyTransport === 'rsa-oaep-sha256') {
    encryptedKey = publicEncrypt({ key: recipient.x509.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, cek);
    const sha256 = new pkijs.AlgorithmIdentifier({ algorithmId: OID.sha256 });
    const params = new pkijs.RSAESOAEPParams({
      hashAlgorithm: sha256,
      maskGenAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID.mgf1, algorithmParams: sha256.toSchema() }),
    });
    keyEncryptionAlgorithm = new pkijs.AlgorithmIdentifier({ algorithmId: OID.rsaesOaep, algorithmParams: params.toSchema() });
  } else {
    encryptedKey = publicEncrypt({ key: recipient.x509.publicKey, padding: constants.RSA_PKCS1_PADDING }, cek);
    keyEncryptionAlgorithm = new pkijs.AlgorithmIdentifier({ algorithmId: OID.rsaEncryption, algorithmParams: new asn1js.Null() });
  }
  const ktri = new pkijs.KeyTransRecipientInfo({
    version: 0,
    rid: new pkijs.IssuerAndSerialNumber({ issuer: cert.issuer, serialNumber: cert.serialNumber }),
    keyEncryptionAlgorithm,
    encryptedKey: new asn1js.OctetString({ valueHex: encryptedKey }),
  });
  const enveloped = new pkijs.EnvelopedData({
    version: 0,
    recipientInfos: [new pkijs.RecipientInfo({ variant: 1, value: ktri })],
    encryptedContentInfo: new pkijs.EncryptedContentInfo({
      contentType: OID.data,
      contentEncryptionAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID.aes256Cbc, algorithmParams: new asn1js.OctetString({ valueHex: iv }) }),
      encryptedContent: new asn1js.OctetString({ valueHex: encrypted }),
      disableSplit: true,
    }),
  });
  cek.fill(0);
  return wrapContentInfo(OID.envelopedData, enveloped.toSchema());
}

export interface DecryptedContent {
  readonly content: Buffer;
  /** openssl-style cipher name, e.g. aes-256-cbc. */
  readonly cipher: string;
  /** AES-256 as the Annex requires; false for AES-128/192 and 3DES (legacy peers only). */
  readonly modernCipher: boolean;
  readonly keyTransport: 'rsa-pkcs1' | `rsa-oaep-${DigestName}`;
  /** The EnvelopedData came wrapped in a ContentInfo (true) or bare (false). */
  readonly wrapped: boolean;
  /** Label of the token key that decrypted it. */
  readonly keyLabel: string;
}

function subjectKeyIdentifier(cert: pkijs.Certificate): Buffer | null {
  const ext = cert.extensions?.find((e) => e.extnID === '2.5.29.14');
  const v = ext?.parsedValue as { valueBlock?: { valueHexView?: Uint8Array } } | undefined;
  return v?.valueBlock?.valueHexView ? Buffer.from(v.valueBlock.valueHexView) : null;
}

function keyTransportScheme(alg: pkijs.AlgorithmIdentifier): { scheme: DecryptScheme; name: DecryptedContent['keyTransport'] } {
  if (alg.algorithmId === OID.rsaEncryption) return { scheme: { name: 'RSAES-PKCS1-v1_5' }, name: 'rsa-pkcs1' };
  if (alg.algorithmId !== OID.rsaesOaep) {
    throw new SmimeError('UNSUPPORTED_ALGORITHM', `KeyTransRecipientInfo: key transport ${alg.algorithmId} is not RSA`);
  }
  // Parsed by hand: pkijs fills an absent pSourceAlgorithm with SHA-1("") instead of the empty label
  // RFC 8017 §A.2.1 specifies, which would make every default-label message look labelled.
  let hash: DigestName | undefined = 'sha1';
  let mgfHash: DigestName | undefined = 'sha1';
  let emptyLabel = true;
  const p = alg.algorithmParams;
  if (p instanceof asn1js.Sequence) {
    for (const field of p.valueBlock.value) {
      const inner = field.idBlock.tagClass === 3 && field instanceof asn1js.Constructed ? field.valueBlock.value[0] : undefined;
      if (!inner) throw new SmimeError('MALFORMED_CMS', 'RSAES-OAEP-params: unexpected field');
      let ai: pkijs.AlgorithmIdentifier;
      try {
        ai = new pkijs.AlgorithmIdentifier({ schema: inner });
      } catch (e) {
        throw new SmimeError('MALFORMED_CMS', `RSAES-OAEP-params: ${(e as Error).message}`);
      }
      if (field.idBlock.tagNumber === 0) hash = DIGEST_BY_OID[ai.algorithmId];
      else if (field.idBlock.tagNumber === 1) {
        if (ai.algorithmId !== OID.mgf1) throw new SmimeError('UNSUPPORTED_ALGORITHM', `RSAES-OAEP-params: mask generation ${ai.algorithmId}`);
        // pkijs throws on a hash parameter that is no AlgorithmIdentifier (found by test/fuzz): malformed input.
        const mgfParams = ai.algorithmParams;
        mgfHash = mgfParams instanceof asn1js.Sequence ? DIGEST_BY_OID[pkijsPart('RSAES-OAEP-params MGF1 hash', () => new pkijs.AlgorithmIdentifier({ schema: mgfParams })).algorithmId] : 'sha1';
      } else if (field.idBlock.tagNumber === 2) {
        const label = ai.algorithmParams;
        emptyLabel = ai.algorithmId === OID.pSpecified && (!(label instanceof asn1js.OctetString) || label.valueBlock.valueHexView.byteLength === 0);
      }
    }
  } else if (p !== undefined && !(p instanceof asn1js.Null)) {
    throw new SmimeError('MALFORMED_CMS', 'RSAES-OAEP-params: not a SEQUENCE');
  }
  if (!hash || !mgfHash || !emptyLabel) {
    throw new SmimeError('UNSUPPORTED_ALGORITHM', 'KeyTransRecipientInfo: RSAES-OAEP with an unknown hash or a label');
  }
  const tokenHash: TokenHash = TOKEN_HASH[hash];
  return { scheme: { name: 'RSA-OAEP', hash: tokenHash, mgfHash: TOKEN_HASH[mgfHash] }, name: `rsa-oaep-${hash}` };
}

/** The parts of a received EnvelopedData that decryption uses. */
interface EnvelopedView {
  readonly recipients: readonly pkijs.KeyTransRecipientInfo[];
  readonly contentEncryption: pkijs.AlgorithmIdentifier;
  readonly ciphertext: Buffer;
}

function malformed(message: string): never {
  throw new SmimeError('MALFORMED_CMS', `EnvelopedData: ${message}`);
}

function pkijsPart<T>(what: string, make: () => T): T {
  try {
    return make();
  } catch (e) {
    throw new SmimeError('MALFORMED_CMS', `${what}: ${(e as Error).message}`);
  }
}

/**
 * Walks the EnvelopedData fields (RFC 5652 §6.1) by hand and hands only the small parts to pkijs.
 * pkijs's EnvelopedData schema match cost 1.3 ms a message — more than the RSA unwrap on the token —
 * and a tenth of the whole per-request budget at 100 requests/s (docs/bench.md).
 * Recipient kinds other than KeyTransRecipientInfo (kari, kekri, pwri, ori: tagged [1]–[4]) are skipped:
 * none of them can be addressed to the RSA key on our token.
 */
function readEnveloped(schema: asn1js.AsnType): EnvelopedView {
  if (!(schema instanceof asn1js.Sequence)) malformed('not a SEQUENCE');
  const fields = schema.valueBlock.value;
  if (!(fields[0] instanceof asn1js.Integer)) malformed('version is not an INTEGER');
  let i = 1;
  const isContext = (b: asn1js.AsnType | undefined, tag: number) => b !== undefined && b.idBlock.tagClass === 3 && b.idBlock.tagNumber === tag;
  if (isContext(fields[i], 0)) i++; // originatorInfo: certificates for key agreement, not used by key transport
  const infos = fields[i++];
  if (!(infos instanceof asn1js.Set)) malformed('recipientInfos is not a SET');
  const recipients = infos.valueBlock.value
    .filter((ri) => ri instanceof asn1js.Sequence)
    .map((ri) => pkijsPart('KeyTransRecipientInfo', () => new pkijs.KeyTransRecipientInfo({ schema: ri })));
  const eci = fields[i++];
  if (!(eci instanceof asn1js.Sequence)) malformed('encryptedContentInfo is not a SEQUENCE');
  const [contentType, algorithm, content] = eci.valueBlock.value;
  if (!(contentType instanceof asn1js.ObjectIdentifier)) malformed('encryptedContentInfo contentType is not an OID');
  if (!(algorithm instanceof asn1js.Sequence)) malformed('contentEncryptionAlgorithm is not a SEQUENCE');
  const contentEncryption = pkijsPart('contentEncryptionAlgorithm', () => new pkijs.AlgorithmIdentifier({ schema: algorithm }));
  if (content === undefined) throw new SmimeError('MALFORMED_CMS', 'EncryptedContentInfo: no encryptedContent (detached content is not used here)');
  if (!isContext(content, 0)) malformed('encryptedContent is not [0] IMPLICIT OCTET STRING');
  const rest = fields.slice(i);
  if (rest.length > 1 || (rest[0] !== undefined && !isContext(rest[0], 1))) malformed('unexpected fields after encryptedContentInfo');
  return { recipients, contentEncryption, ciphertext: implicitOctets(content!) };
}

/** The octets of a [0] IMPLICIT OCTET STRING: primitive, or constructed from OCTET STRING chunks (BER, `openssl cms -stream`). */
function implicitOctets(block: asn1js.AsnType): Buffer {
  if (!block.idBlock.isConstructed) return Buffer.from((block as asn1js.Primitive).valueBlock.valueHexView);
  const chunks: Buffer[] = [];
  for (const inner of (block as asn1js.Constructed).valueBlock.value) {
    if (!(inner instanceof asn1js.OctetString)) malformed('constructed encryptedContent with a chunk that is not an OCTET STRING');
    chunks.push(octets(inner));
  }
  return Buffer.concat(chunks);
}

/**
 * Decrypts an EnvelopedData (ContentInfo-wrapped or bare) addressed to one of the certificates on
 * our token; the content key is unwrapped on the token, the content decrypted here.
 */
export async function decryptEnvelopedData(bytes: Uint8Array, token: Token): Promise<DecryptedContent> {
  const { schema, wrapped } = unwrapEnvelopedData(bytes);
  const env = readEnveloped(schema);
  let ours: ReadonlyArray<{ label: string; der: Buffer }>;
  try {
    ours = await token.certificates();
  } catch (e) {
    throw new SmimeError('TOKEN_UNAVAILABLE', `token: ${(e as Error).message}`);
  }
  let match: { ktri: pkijs.KeyTransRecipientInfo; label: string } | null = null;
  for (const ktri of env.recipients) {
    for (const mine of ours) {
      const cert = pkijsCertificate(mine.der);
      const rid = ktri.rid;
      const hit =
        rid instanceof pkijs.IssuerAndSerialNumber
          ? cert.issuer.isEqual(rid.issuer) && cert.serialNumber.isEqual(rid.serialNumber)
          : rid instanceof asn1js.OctetString && Buffer.from(rid.valueBlock.valueHexView).equals(subjectKeyIdentifier(cert) ?? Buffer.alloc(0));
      if (hit) {
        match = { ktri, label: mine.label };
        break;
      }
    }
    if (match) break;
  }
  if (!match) throw new SmimeError('UNDECRYPTABLE', 'EnvelopedData: no RecipientInfo for a certificate on our token (not addressed to us)');

  const { scheme, name } = keyTransportScheme(match.ktri.keyEncryptionAlgorithm);
  const spec = CONTENT_CIPHERS[env.contentEncryption.algorithmId];
  if (!spec) throw new SmimeError('UNSUPPORTED_ALGORITHM', `EncryptedContentInfo: content encryption ${env.contentEncryption.algorithmId}`);
  const ivParam = env.contentEncryption.algorithmParams;
  if (!(ivParam instanceof asn1js.OctetString) || ivParam.valueBlock.valueHexView.byteLength !== spec.ivLength) {
    throw new SmimeError('MALFORMED_CMS', 'EncryptedContentInfo: missing or wrong-size IV');
  }
  const ciphertext = env.ciphertext;

  let cek: Buffer;
  try {
    cek = await token.decrypt(match.label, octets(match.ktri.encryptedKey), scheme);
  } catch (e) {
    if (e instanceof TokenError && (e.code === 'DECRYPT_FAILED' || e.code === 'KEY_NOT_FOUND')) {
      throw new SmimeError('UNDECRYPTABLE', `KeyTransRecipientInfo: ${e.message}`);
    }
    throw new SmimeError('TOKEN_UNAVAILABLE', `token: ${(e as Error).message}`);
  }
  if (cek.length !== spec.keyLength) {
    cek.fill(0);
    throw new SmimeError('UNDECRYPTABLE', `KeyTransRecipientInfo: content key of ${cek.length} bytes for ${spec.cipher}`);
  }
  try {
    const decipher = createDecipheriv(spec.cipher, cek, Buffer.from(ivParam.valueBlock.valueHexView));
    const content = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    return { content, cipher: spec.cipher, modernCipher: spec.modern, keyTransport: name, wrapped, keyLabel: match.label };
  } catch (e) {
    throw new SmimeError('UNDECRYPTABLE', `EncryptedContentInfo: ${(e as Error).message}`);
  } finally {
    cek.fill(0);
  }
}

