/**
 * What the bundle's text fields must look like, and bounds for attacker-supplied sizes (each
 * says why it is large enough). Everything in a bundle is attacker-controlled input.
 */
export const BUNDLE_FORMAT = 'pruem-audit-export/1';
export const CHECKPOINT_HEADER = 'pruem-audit-checkpoint/1';

export const LIMITS = Object.freeze({
  /** A tree of 2^53 leaves cannot exist; proofs are at most ~64 hashes for any real size. */
  maxProofHashes: 64,
  /** manifest.json, checkpoints, proofs/consistency.json, certs: small files; 64 MiB is generous. */
  maxSmallFileBytes: 64 * 1024 * 1024,
  /** One audit entry is well under 64 KiB (bounded fields); 1 MiB leaves room. */
  maxLineBytes: 1024 * 1024,
  maxChainLength: 8,
});

export const PERIOD_RE = /^[0-9]{4}-(0[1-9]|1[0-2])$/;
export const HEX64_RE = /^[0-9a-f]{64}$/;
export const TIME_RE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$/;
export const ORIGIN_RE = /^[A-Za-z0-9._\/-]{1,100}$/;
export const SIZE_RE = /^(0|[1-9][0-9]{0,15})$/;
/** Relative paths inside the bundle: no absolute paths, no `..`, no hidden leading dot. */
export const SAFE_PATH_RE = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;

/** `re` tested against a value of unknown type: only strings can match. */
export function matches(re: RegExp, value: unknown): value is string {
  return typeof value === 'string' && re.test(value);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Field access on parsed JSON of unknown shape (`x?.f` of the plain-JS verifier). */
export function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

export function oneLine(s: unknown): string {
  return String(s).replace(/\n/g, ', ');
}
