/** Object identifiers used by the S/MIME code (RFC 5652, 5754, 3565, 4055, 8017). */
export const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  envelopedData: '1.2.840.113549.1.7.3',

  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',

  rsaEncryption: '1.2.840.113549.1.1.1',
  sha1WithRSA: '1.2.840.113549.1.1.5',
  rsaesOaep: '1.2.840.113549.1.1.7',
  mgf1: '1.2.840.113549.1.1.8',
  pSpecified: '1.2.840.113549.1.1.9',
  rsaPss: '1.2.840.113549.1.1.10',
  sha256WithRSA: '1.2.840.113549.1.1.11',
  sha384WithRSA: '1.2.840.113549.1.1.12',
  sha512WithRSA: '1.2.840.113549.1.1.13',

  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',

  aes128Cbc: '2.16.840.1.101.3.4.1.2',
  aes192Cbc: '2.16.840.1.101.3.4.1.22',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
  desEde3Cbc: '1.2.840.113549.3.7',
} as const;

export type DigestName = 'sha1' | 'sha256' | 'sha384' | 'sha512';

export const DIGEST_BY_OID: Readonly<Record<string, DigestName>> = {
  [OID.sha1]: 'sha1',
  [OID.sha256]: 'sha256',
  [OID.sha384]: 'sha384',
  [OID.sha512]: 'sha512',
};

export const DIGEST_OID: Readonly<Record<DigestName, string>> = {
  sha1: OID.sha1,
  sha256: OID.sha256,
  sha384: OID.sha384,
  sha512: OID.sha512,
};

/** sha*WithRSAEncryption signature algorithms and the digest they imply. */
export const RSA_SIGNATURE_DIGEST: Readonly<Record<string, DigestName>> = {
  [OID.sha1WithRSA]: 'sha1',
  [OID.sha256WithRSA]: 'sha256',
  [OID.sha384WithRSA]: 'sha384',
  [OID.sha512WithRSA]: 'sha512',
};

/** Content-encryption algorithms we decrypt: Node cipher name, key length, and whether it meets the Annex (AES-256). */
export const CONTENT_CIPHERS: Readonly<Record<string, { cipher: string; keyLength: number; ivLength: number; modern: boolean }>> = {
  [OID.aes256Cbc]: { cipher: 'aes-256-cbc', keyLength: 32, ivLength: 16, modern: true },
  [OID.aes192Cbc]: { cipher: 'aes-192-cbc', keyLength: 24, ivLength: 16, modern: false },
  [OID.aes128Cbc]: { cipher: 'aes-128-cbc', keyLength: 16, ivLength: 16, modern: false },
  [OID.desEde3Cbc]: { cipher: 'des-ede3-cbc', keyLength: 24, ivLength: 8, modern: false },
};

export const TOKEN_HASH: Readonly<Record<DigestName, 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512'>> = {
  sha1: 'SHA-1',
  sha256: 'SHA-256',
  sha384: 'SHA-384',
  sha512: 'SHA-512',
};
