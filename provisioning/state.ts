/**
 * The provisioning record: which steps are done, which keys this provisioning made (and is about to
 * make), which CSRs and certificates exist. One JSON file, `<dataDir>/provisioning/state.json`,
 * replaced atomically (temp file, fsync, rename, fsync of the folder) after every change, so a power
 * cut leaves either the old or the new record, never half of one.
 *
 * Order of writes (what makes an interrupted run resumable):
 *  - a key: intent recorded → key generated on the token → key recorded. A kill after the generation
 *    leaves an intent whose key is on the token: the rerun adopts it (records it), never a second key.
 *  - a certificate: checked against its key on the token → stored on the token → PEM file → recorded.
 *    A kill in between leaves a certificate whose key is there; the rerun imports it again (idempotent).
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type StepId = 'config' | 'token' | 'keys' | 'csrs' | 'ca' | 'certificates' | 'peers' | 'summary';
export const STEP_ORDER: readonly StepId[] = ['config', 'token', 'keys', 'csrs', 'ca', 'certificates', 'peers', 'summary'];

export interface KeyRecord {
  readonly label: string;
  /** Where the private key lives: on the token, or a file (TLS keys Node's TLS stack must read). */
  readonly store: 'token' | 'file';
  /** SHA-256 of the SubjectPublicKeyInfo (hex); null while only intended. */
  readonly spkiSha256: string | null;
  readonly state: 'intended' | 'generated';
  readonly at: string;
}

export interface CertificateRecord {
  readonly label: string;
  readonly fingerprintSha256: string;
  readonly notAfter: string;
  readonly path: string;
  readonly at: string;
}

export interface ProvisioningRecord {
  readonly version: 1;
  /** production: keys and CSRs for the national CA; development: self-signed development certificates. */
  mode: 'production' | 'development';
  steps: Partial<Record<StepId, { at: string; detail: string }>>;
  keys: Record<string, KeyRecord>;
  csrs: Record<string, { path: string; spkiSha256: string; at: string }>;
  certificates: Record<string, CertificateRecord>;
  /** A renewal in progress: the new key's label per purpose label (switched when its certificate is imported). */
  renewals: Record<string, { next: string; at: string; switching?: boolean }>;
}

export function statePath(dataDir: string): string {
  return join(dataDir, 'provisioning', 'state.json');
}

export function emptyRecord(mode: ProvisioningRecord['mode']): ProvisioningRecord {
  return { version: 1, mode, steps: {}, keys: {}, csrs: {}, certificates: {}, renewals: {} };
}

export function readRecord(dataDir: string): ProvisioningRecord | null {
  const path = statePath(dataDir);
  if (!existsSync(path)) return null;
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as ProvisioningRecord;
  parsed.renewals ??= {};
  return parsed;
}

/** temp + fsync + rename + fsync(dir): durable and atomic on ext4/xfs. */
export function writeFileDurable(path: string, data: string | Uint8Array, mode = 0o600): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', mode);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

export function writeRecord(dataDir: string, record: ProvisioningRecord): void {
  writeFileDurable(statePath(dataDir), `${JSON.stringify(record, null, 2)}\n`);
}
