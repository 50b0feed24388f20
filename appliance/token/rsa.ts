import { createHash, createPublicKey, type KeyObject } from 'node:crypto';

export type TokenHash = 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512';

export const NODE_HASH: Record<TokenHash, string> = {
  'SHA-1': 'sha1',
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
};

/**
 * DER DigestInfo prefixes (RFC 8017 §9.2 note 1). Used when the token offers only raw CKM_RSA_PKCS
 * (common on smartcards): we hash on the host and let the card do the private-key operation.
 */
const DIGEST_INFO_PREFIX: Record<TokenHash, string> = {
  'SHA-1': '3021300906052b0e03021a05000414',
  'SHA-256': '3031300d060960864801650304020105000420',
  'SHA-384': '3041300d060960864801650304020205000430',
  'SHA-512': '3051300d060960864801650304020305000440',
};

export function digestInfo(hash: TokenHash, data: Uint8Array): Buffer {
  const digest = createHash(NODE_HASH[hash]).update(data).digest();
  return Buffer.concat([Buffer.from(DIGEST_INFO_PREFIX[hash], 'hex'), digest]);
}

function b64url(bytes: Buffer): string {
  return bytes.toString('base64url');
}

/** Public key from the token's CKA_MODULUS / CKA_PUBLIC_EXPONENT. */
export function rsaPublicKey(modulus: Buffer, publicExponent: Buffer): KeyObject {
  const strip = (b: Buffer): Buffer => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    return b.subarray(i);
  };
  return createPublicKey({ key: { kty: 'RSA', n: b64url(strip(modulus)), e: b64url(strip(publicExponent)) }, format: 'jwk' });
}

/**
 * RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING contents (the PKCS#1
 * RSAPublicKey). We use it both as CKA_ID on the token and as the certificate's
 * subjectKeyIdentifier, so tools that pair keys and certificates by id (OpenSC, libp11) agree.
 */
export function keyIdentifier(key: KeyObject): Buffer {
  return createHash('sha1').update(key.export({ type: 'pkcs1', format: 'der' })).digest();
}

export function rsaBits(key: KeyObject): number {
  return key.asymmetricKeyDetails?.modulusLength ?? 0;
}

const HASH_LEN: Record<TokenHash, number> = { 'SHA-1': 20, 'SHA-256': 32, 'SHA-384': 48, 'SHA-512': 64 };

function mgf1(seed: Buffer, length: number, hash: TokenHash): Buffer {
  const out: Buffer[] = [];
  let have = 0;
  for (let counter = 0; have < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    const block = createHash(NODE_HASH[hash]).update(seed).update(c).digest();
    out.push(block);
    have += block.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

/**
 * EME-OAEP decoding (RFC 8017 §7.1.2 step 3) of a raw RSA result, for tokens whose CKM_RSA_PKCS_OAEP
 * supports SHA-1 only (SoftHSM2 2.6 answers CKR_ARGUMENTS_BAD for SHA-256): the token does the
 * private-key operation with CKM_RSA_X_509 and we strip the padding here. Every check runs to the
 * end and the verdict is combined without early exit, so timing does not tell which check failed
 * (Manger's attack); a single null is returned for any failure.
 */
export function oaepDecode(raw: Buffer, modulusBytes: number, hash: TokenHash, mgfHash: TokenHash = hash, label: Buffer = Buffer.alloc(0)): Buffer | null {
  const hLen = HASH_LEN[hash];
  const k = modulusBytes;
  if (raw.length > k || k < 2 * hLen + 2) return null;
  const em = Buffer.alloc(k);
  raw.copy(em, k - raw.length);
  const maskedSeed = em.subarray(1, 1 + hLen);
  const maskedDb = em.subarray(1 + hLen);
  const seed = Buffer.from(maskedSeed);
  const seedMask = mgf1(maskedDb, hLen, mgfHash);
  for (let i = 0; i < hLen; i++) seed[i] = seed[i]! ^ seedMask[i]!;
  const db = Buffer.from(maskedDb);
  const dbMask = mgf1(seed, db.length, mgfHash);
  for (let i = 0; i < db.length; i++) db[i] = db[i]! ^ dbMask[i]!;
  const lHash = createHash(NODE_HASH[hash]).update(label).digest();
  let bad = em[0]!;
  for (let i = 0; i < hLen; i++) bad |= db[i]! ^ lHash[i]!;
  // Find the 0x01 separator after the zero padding, in constant time.
  let found = 0;
  let index = 0;
  let paddingBad = 0;
  for (let i = hLen; i < db.length; i++) {
    const b = db[i]!;
    const isOne = b === 1 ? 1 : 0;
    const isZero = b === 0 ? 1 : 0;
    const first = isOne & (found ^ 1);
    index = first ? i : index;
    paddingBad |= (found ^ 1) & (isZero ^ 1) & (isOne ^ 1);
    found |= isOne;
  }
  if ((bad | paddingBad | (found ^ 1)) !== 0) return null;
  return Buffer.from(db.subarray(index + 1));
}
