import { webcrypto } from 'node:crypto';
import type { Token } from './token.js';
import type { TokenHash } from './rsa.js';

/**
 * A CryptoKey-shaped handle naming a private key on the token. It carries no key material, so
 * libraries that take a CryptoKey (pkijs, @peculiar/x509) can sign or decrypt on the token
 * through tokenWebCrypto() without node-webcrypto-p11's key objects (whose PKCS#11 `label` inside
 * `algorithm` collides with RSA-OAEP's `label`, see building-blocks §2 gotcha 2).
 */
export class TokenCryptoKey implements CryptoKey {
  readonly type = 'private' as const;
  readonly extractable = false;
  readonly algorithm: RsaHashedKeyAlgorithm;
  readonly usages: KeyUsage[];

  constructor(
    readonly token: Token,
    readonly keyLabel: string,
    name: 'RSASSA-PKCS1-v1_5' | 'RSA-OAEP' | 'RSAES-PKCS1-v1_5',
    hash: TokenHash,
  ) {
    // modulusLength/publicExponent are informative only: nothing reads them for private-key operations.
    this.algorithm = { name, hash: { name: hash }, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) };
    this.usages = name === 'RSASSA-PKCS1-v1_5' ? ['sign'] : ['decrypt'];
  }
}

const HASHES: readonly TokenHash[] = ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512'];

function hashOf(algorithm: unknown, fallback: KeyAlgorithm): TokenHash {
  const pick = (a: unknown): string | undefined => {
    if (typeof a !== 'object' || a === null || !('hash' in a)) return undefined;
    const h = (a as { hash: unknown }).hash;
    if (typeof h === 'string') return h;
    if (typeof h === 'object' && h !== null && 'name' in h) return String((h as { name: unknown }).name);
    return undefined;
  };
  const name = (pick(algorithm) ?? pick(fallback) ?? 'SHA-256').toUpperCase();
  const found = HASHES.find((h) => h === name);
  if (!found) throw new Error(`unsupported hash ${name} for a token key`);
  return found;
}

function algorithmName(algorithm: unknown): string {
  if (typeof algorithm === 'string') return algorithm;
  if (typeof algorithm === 'object' && algorithm !== null && 'name' in algorithm) return String((algorithm as { name: unknown }).name);
  return '';
}

function bytes(data: BufferSource): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function toArrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/**
 * WebCrypto whose sign and decrypt go to the token for TokenCryptoKey handles; every other call
 * (digest, verify, encrypt, importKey…) is Node's own implementation. Token calls go through the
 * Token's mutex, so this object may be used concurrently.
 */
export function tokenWebCrypto(token: Token): Crypto {
  const soft = webcrypto.subtle as unknown as SubtleCrypto;
  const subtle: SubtleCrypto = {
    sign: async (algorithm, key, data) => {
      if (!(key instanceof TokenCryptoKey)) return soft.sign(algorithm, key, data);
      if (algorithmName(algorithm) !== 'RSASSA-PKCS1-v1_5') throw new Error(`token keys sign with RSASSA-PKCS1-v1_5 only, not ${algorithmName(algorithm)}`);
      return toArrayBuffer(await token.sign(key.keyLabel, bytes(data), hashOf(algorithm, key.algorithm)));
    },
    decrypt: async (algorithm, key, data) => {
      if (!(key instanceof TokenCryptoKey)) return soft.decrypt(algorithm, key, data);
      const name = algorithmName(algorithm);
      const scheme = name === 'RSA-OAEP' ? { name: 'RSA-OAEP' as const, hash: hashOf(algorithm, key.algorithm) } : { name: 'RSAES-PKCS1-v1_5' as const };
      return toArrayBuffer(await token.decrypt(key.keyLabel, bytes(data), scheme));
    },
    deriveBits: soft.deriveBits.bind(soft),
    deriveKey: soft.deriveKey.bind(soft),
    digest: soft.digest.bind(soft),
    encrypt: soft.encrypt.bind(soft),
    exportKey: soft.exportKey.bind(soft) as SubtleCrypto['exportKey'],
    generateKey: soft.generateKey.bind(soft) as SubtleCrypto['generateKey'],
    importKey: soft.importKey.bind(soft) as SubtleCrypto['importKey'],
    unwrapKey: soft.unwrapKey.bind(soft),
    verify: soft.verify.bind(soft),
    wrapKey: soft.wrapKey.bind(soft),
  } as SubtleCrypto;
  return {
    subtle,
    getRandomValues: <T extends ArrayBufferView | null>(array: T): T => webcrypto.getRandomValues(array as never) as T,
    randomUUID: () => webcrypto.randomUUID(),
  } as Crypto;
}
