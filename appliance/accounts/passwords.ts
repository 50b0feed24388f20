import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Password hashing with scrypt (memory-hard, in node:crypto, no native addon to build).
 *
 * Default cost: N = 2^16, r = 8, p = 2. One hash touches 128·N·r = 64 MiB of memory and takes
 * ~0.3 s on this 2-core VM; that is one of OWASP's equivalent scrypt settings (2^17/8/1,
 * 2^16/8/2, …) and makes a GPU/ASIC guess cost the same memory. A sign-in happens a few times
 * a day on an appliance, so 0.3 s is invisible to people and expensive for guessing.
 * Hashes run on libuv's thread pool (async scrypt), never on the event loop, and at most
 * MAX_CONCURRENT_HASHES at a time so a burst of sign-in attempts cannot take
 * 4 × 64 MiB of the box's memory.
 *
 * Stored as a PHC-style string `$scrypt$ln=16,r=8,p=2$<salt>$<hash>` so the cost can be raised
 * later: old hashes still verify with their own parameters and are re-hashed at next sign-in.
 */
export interface ScryptCost {
  /** log2 of N. */
  readonly ln: number;
  readonly r: number;
  readonly p: number;
}

export const DEFAULT_SCRYPT_COST: ScryptCost = { ln: 16, r: 8, p: 2 };
const KEY_BYTES = 32;
const SALT_BYTES = 16;
/** Two hashes at once bound the memory taken by sign-in to ~128 MiB. */
const MAX_CONCURRENT_HASHES = 2;
/** Parameters read back from the database are bounded too, so a corrupted row cannot ask for gigabytes. */
const MAX_LN = 20;

let running = 0;
const waiting: Array<() => void> = [];

async function withHashSlot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT_HASHES) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await work();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function derive(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  const N = 2 ** cost.ln;
  const maxmem = 128 * N * cost.r + 128 * cost.r * cost.p + 16 * 1024 * 1024;
  return withHashSlot(
    () =>
      new Promise<Buffer>((resolve, reject) => {
        scrypt(password.normalize('NFC'), salt, KEY_BYTES, { N, r: cost.r, p: cost.p, maxmem }, (error, key) =>
          error ? reject(error) : resolve(key),
        );
      }),
  );
}

export async function hashPassword(password: string, cost: ScryptCost = DEFAULT_SCRYPT_COST): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, cost);
  return `$scrypt$ln=${cost.ln},r=${cost.r},p=${cost.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export interface ParsedHash {
  readonly cost: ScryptCost;
  readonly salt: Buffer;
  readonly key: Buffer;
}

export function parseHash(encoded: string): ParsedHash | null {
  const m = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9_-]{16,})\$([A-Za-z0-9_-]{40,})$/.exec(encoded);
  if (!m) return null;
  const cost = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  if (cost.ln < 10 || cost.ln > MAX_LN || cost.r < 1 || cost.p < 1) return null;
  return { cost, salt: Buffer.from(m[4] ?? '', 'base64url'), key: Buffer.from(m[5] ?? '', 'base64url') };
}

/** True when the password matches. A malformed stored hash never matches (and never throws). */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = parseHash(encoded);
  if (!parsed) return false;
  const key = await derive(password, parsed.salt, parsed.cost);
  return key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
}

export function needsRehash(encoded: string, cost: ScryptCost): boolean {
  const parsed = parseHash(encoded);
  return !parsed || parsed.cost.ln < cost.ln || parsed.cost.r < cost.r || parsed.cost.p < cost.p;
}

/**
 * Spends the same time as a real verification, for unknown user names, so the response time
 * does not tell which accounts exist.
 */
export async function burnVerification(password: string, cost: ScryptCost): Promise<void> {
  await derive(password, Buffer.alloc(SALT_BYTES), cost);
}

export type PasswordProblem = 'PASSWORD_TOO_SHORT' | 'PASSWORD_TOO_LONG' | 'PASSWORD_CONTAINS_USERNAME';

export const PASSWORD_MIN_LENGTH = 12;
/** scrypt takes any length, but a megabyte "password" is a denial-of-service attempt, not a secret. */
export const PASSWORD_MAX_LENGTH = 256;

/** Length over composition rules (NIST SP 800-63B): long passphrases beat forced symbols. */
export function checkPasswordPolicy(password: string, username: string): PasswordProblem | null {
  if ([...password].length < PASSWORD_MIN_LENGTH) return 'PASSWORD_TOO_SHORT';
  if (password.length > PASSWORD_MAX_LENGTH) return 'PASSWORD_TOO_LONG';
  if (username.length >= 3 && password.toLowerCase().includes(username.toLowerCase())) return 'PASSWORD_CONTAINS_USERNAME';
  return null;
}
