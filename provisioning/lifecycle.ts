/**
 * After the first provisioning: peers added, removed and disabled; a signed configuration backup and
 * its verified restore; the factory reset. Every change goes to the audit sink with target and outcome.
 */
import { createHash, verify as rsaVerify, X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join, relative, isAbsolute } from 'node:path';
import Database from 'better-sqlite3';
import { loadConfig, type GatewayConfig } from '../appliance/config/config.js';
import { KEY_LABELS, type Token } from '../appliance/token/token.js';
import { acquireModule } from '../appliance/token/pkcs11-module.js';
import { pkcs11Name } from '../appliance/token/pkcs11-errors.js';
import { isMemberStateCode, type MemberStateCode } from '../appliance/peers/member-states.js';
import { ProvisioningError, importPeerCertificate } from './certificates.js';
import { developmentSofthsmConf, initUserPinAsSo, isSoftHsmModule } from './development-token.js';
import { caChainPath, initialiseToken, moduleOf, slotWithLabel, ownCertificatePath, setPeerCertificate, splitPem, updateConfigFile, type ProvisioningAuditSink } from './production.js';
import { writeFileDurable } from './state.js';

// ---------------------------------------------------------------------------------------------
// peers
// ---------------------------------------------------------------------------------------------

function checkState(code: string): MemberStateCode {
  if (!isMemberStateCode(code)) throw new ProvisioningError('BAD_CERTIFICATE', `unknown Member State code "${code}"`);
  return code;
}

export async function addPeer(
  configPath: string,
  audit: ProvisioningAuditSink,
  code: string,
  files: { signing?: string; encryption?: string },
): Promise<{ config: GatewayConfig; warnings: string[] }> {
  const state = checkState(code);
  let config = loadConfig(configPath);
  if (state === config.memberState) throw new ProvisioningError('BAD_CERTIFICATE', `${state} is our own Member State`);
  const warnings: string[] = [];
  for (const usage of ['signing', 'encryption'] as const) {
    const file = files[usage];
    if (!file) continue;
    try {
      const r = await importPeerCertificate({ dataDir: config.dataDir, state, usage, pem: readFileSync(file, 'utf8') });
      warnings.push(...r.warnings);
      config = setPeerCertificate(configPath, state, usage, r.path);
      audit({ action: 'certificate-change', target: `peer ${state} ${usage} certificate`, outcome: 'success', detail: `${r.info.subject}, SHA-256 ${r.info.fingerprintSha256}` });
    } catch (e) {
      audit({ action: 'certificate-change', target: `peer ${state} ${usage} certificate`, outcome: 'failure', detail: (e as Error).message });
      throw e;
    }
  }
  if (!files.signing && !files.encryption) {
    config = updateConfigFile(configPath, (raw) => {
      const peers = (Array.isArray(raw.peers) ? raw.peers : (raw.peers = [])) as Array<Record<string, unknown>>;
      if (!peers.some((p) => p.code === state)) peers.push({ code: state });
    });
    audit({ action: 'config-change', target: `peer ${state}`, outcome: 'success', detail: 'added without certificates' });
  }
  return { config, warnings };
}

export function removePeer(configPath: string, audit: ProvisioningAuditSink, code: string): GatewayConfig {
  const state = checkState(code);
  const before = loadConfig(configPath);
  if (!before.peers.some((p) => p.code === state)) throw new ProvisioningError('BAD_CERTIFICATE', `${state} is not a configured peer`);
  const config = updateConfigFile(configPath, (raw) => {
    raw.peers = ((raw.peers ?? []) as Array<{ code?: string }>).filter((p) => p.code !== state);
  });
  audit({ action: 'config-change', target: `peer ${state}`, outcome: 'success', detail: 'removed' });
  return config;
}

/** Disables (or enables) a peer's channels: `channels` absent = all of them. */
export function setPeerEnabled(configPath: string, audit: ProvisioningAuditSink, code: string, enabled: boolean, channels: readonly ('dna' | 'fp' | 'vrd')[] = ['dna', 'fp']): GatewayConfig {
  const state = checkState(code);
  const config = updateConfigFile(configPath, (raw) => {
    const peer = ((raw.peers ?? []) as Array<Record<string, unknown>>).find((p) => p.code === state);
    if (!peer) throw new ProvisioningError('BAD_CERTIFICATE', `${state} is not a configured peer`);
    const ch = (peer.channels ?? (peer.channels = {})) as Record<string, Record<string, unknown>>;
    for (const c of channels) ch[c] = { ...(ch[c] ?? {}), enabled };
  });
  audit({ action: 'config-change', target: `peer ${state} ${channels.join('+')}`, outcome: 'success', detail: enabled ? 'enabled' : 'disabled' });
  return config;
}

// ---------------------------------------------------------------------------------------------
// backup and restore
// ---------------------------------------------------------------------------------------------

export interface BackupBody {
  readonly format: 'pruem-config-backup/1';
  readonly createdAt: string;
  readonly memberState: MemberStateCode;
  /** The configuration, paths inside the data folder made relative to it, secrets removed. */
  readonly config: Record<string, unknown>;
  /** Public files the configuration points to: peers' certificates, the national CA chain (relative to the data folder). */
  readonly files: Record<string, string>;
  /** The audit certificate whose key signed this backup. */
  readonly signerCertificate: string;
}

export interface BackupFile extends BackupBody {
  /** RSASSA-PKCS1-v1_5 SHA-256 over the canonical JSON of the body, by the token's audit key. */
  readonly signature: string;
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** `path` under `dataDir` as `@data/<rel>`; anything else as it is. */
function toPortable(dataDir: string, path: string): string {
  const rel = relative(dataDir, path);
  return !rel.startsWith('..') && !isAbsolute(rel) ? `@data/${rel}` : path;
}
function fromPortable(dataDir: string, path: string): string {
  return path.startsWith('@data/') ? join(dataDir, path.slice('@data/'.length)) : path;
}

/**
 * The configuration as a signed file: never private keys, PINs or passwords (a literal PIN or POP3
 * password is replaced by a placeholder the restore asks for). Signed on the token with the audit key.
 */
export async function createBackup(configPath: string, token: Token, audit: ProvisioningAuditSink, now = new Date()): Promise<BackupFile> {
  const config = loadConfig(configPath);
  const raw = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  const dataDir = config.dataDir;
  const files: Record<string, string> = {};
  const out: Record<string, unknown> = structuredClone(raw);
  out.dataDir = '@data';
  const tok = { ...((out.token as Record<string, unknown> | undefined) ?? {}) };
  if (tok.pin && typeof tok.pin === 'object' && 'value' in tok.pin) tok.pin = { file: 'token.pin' };
  else if (tok.pin && typeof tok.pin === 'object' && 'file' in tok.pin) tok.pin = { file: toPortable(dataDir, config.token.pin && 'file' in config.token.pin ? config.token.pin.file : String((tok.pin as { file: string }).file)) };
  out.token = tok;
  const pop3 = out.pop3 as Record<string, unknown> | null | undefined;
  if (pop3 && typeof pop3.password === 'object' && pop3.password && 'value' in pop3.password) out.pop3 = { ...pop3, password: { env: 'PRUEM_POP3_PASSWORD' } };
  // Peers' certificates travel with the backup; paths inside the data folder become portable.
  out.peers = config.peers.map((p, i) => {
    const rawPeer = ((raw.peers as Array<Record<string, unknown>> | undefined) ?? [])[i] ?? { code: p.code };
    const certificates: Record<string, string> = {};
    for (const usage of ['signing', 'encryption'] as const) {
      const path = p.certificates[usage];
      if (!path) continue;
      const portable = toPortable(dataDir, path).startsWith('@data/') ? toPortable(dataDir, path) : `@data/certs/peers/${p.code.toLowerCase()}-${usage}.pem`;
      certificates[usage] = portable;
      if (existsSync(path)) files[portable] = readFileSync(path, 'utf8');
    }
    return { ...rawPeer, certificates };
  });
  // Own certificates stay out (their keys do not survive a reset); the listener TLS paths likewise.
  const listen = out.listen as Record<string, Record<string, unknown>> | undefined;
  if (listen?.api && typeof listen.api.tls === 'object') delete listen.api.tls;
  if (existsSync(caChainPath(dataDir))) files['@data/certs/ca-chain.pem'] = readFileSync(caChainPath(dataDir), 'utf8');
  const signerCertificate = readFileSync(ownCertificatePath(dataDir, KEY_LABELS.audit), 'utf8');
  const body: BackupBody = { format: 'pruem-config-backup/1', createdAt: now.toISOString(), memberState: config.memberState, config: out, files, signerCertificate };
  const signature = await token.sign(KEY_LABELS.audit, Buffer.from(canonical(body)), 'SHA-256');
  audit({ action: 'export', target: 'configuration backup', outcome: 'success', detail: `${Object.keys(files).length} certificate file(s), SHA-256 ${createHash('sha256').update(canonical(body)).digest('hex').slice(0, 16)}` });
  return { ...body, signature: signature.toString('base64') };
}

export type RestoreErrorCode = 'BACKUP_MALFORMED' | 'BACKUP_SIGNATURE' | 'BACKUP_SIGNER_UNTRUSTED';
export class RestoreError extends Error {
  constructor(
    readonly code: RestoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RestoreError';
  }
}

/**
 * Checks a backup: its signature under the certificate it carries, and that certificate against the
 * national CA (`caPem`) or a fingerprint the technician read off the old box (`signerSha256`).
 */
export function verifyBackup(text: string, trust: { caPem?: string; signerSha256?: string }): { body: BackupBody; signer: X509Certificate } {
  let file: BackupFile;
  try {
    file = JSON.parse(text) as BackupFile;
  } catch (e) {
    throw new RestoreError('BACKUP_MALFORMED', `not a backup file: ${(e as Error).message}`);
  }
  if (file.format !== 'pruem-config-backup/1' || typeof file.signature !== 'string' || typeof file.signerCertificate !== 'string') {
    throw new RestoreError('BACKUP_MALFORMED', 'not a pruem configuration backup (format pruem-config-backup/1)');
  }
  const { signature, ...body } = file;
  const signer = new X509Certificate(body.signerCertificate);
  if (!rsaVerify('sha256', Buffer.from(canonical(body)), signer.publicKey, Buffer.from(signature, 'base64'))) {
    throw new RestoreError('BACKUP_SIGNATURE', 'the backup\'s signature does not verify: it was changed after it was made');
  }
  const fp = signer.fingerprint256.replace(/:/g, '').toLowerCase();
  const byCa = trust.caPem ? splitPem(trust.caPem).some((p) => { const ca = new X509Certificate(p); return signer.checkIssued(ca) && signer.verify(ca.publicKey); }) : false;
  const byFp = trust.signerSha256 ? trust.signerSha256.replace(/:/g, '').toLowerCase() === fp : false;
  if (!byCa && !byFp) {
    throw new RestoreError('BACKUP_SIGNER_UNTRUSTED', `the backup is signed by "${signer.subject.replace(/\n/g, ', ')}" (SHA-256 ${fp}), which is neither issued by the given national CA nor the fingerprint given`);
  }
  return { body: body as BackupBody, signer };
}

/** Writes the configuration and certificate files of a verified backup (keys are provisioned again afterwards). */
export function restoreBackup(configPath: string, text: string, trust: { caPem?: string; signerSha256?: string }, audit: ProvisioningAuditSink): GatewayConfig {
  let verified: { body: BackupBody; signer: X509Certificate };
  try {
    verified = verifyBackup(text, trust);
  } catch (e) {
    audit({ action: 'config-change', target: 'configuration restore', outcome: 'failure', detail: (e as Error).message });
    throw e;
  }
  const current = loadConfig(configPath);
  const dataDir = current.dataDir;
  const { body } = verified;
  for (const [portable, pem] of Object.entries(body.files)) writeFileDurable(fromPortable(dataDir, portable), pem, 0o644);
  const raw = structuredClone(body.config);
  raw.dataDir = dataDir;
  const tok = raw.token as Record<string, unknown> | undefined;
  if (tok?.pin && typeof tok.pin === 'object' && 'file' in tok.pin) tok.pin = { file: fromPortable(dataDir, String((tok.pin as { file: string }).file)) };
  raw.peers = ((raw.peers as Array<Record<string, unknown>> | undefined) ?? []).map((p) => {
    const certs = (p.certificates ?? {}) as Record<string, string>;
    return { ...p, certificates: Object.fromEntries(Object.entries(certs).map(([k, v]) => [k, fromPortable(dataDir, v)])) };
  });
  writeFileDurable(configPath, `${JSON.stringify(raw, null, 2)}\n`, 0o600);
  const config = loadConfig(configPath);
  audit({ action: 'config-change', target: 'configuration restore', outcome: 'success', detail: `backup of ${body.createdAt}, signed by ${verified.signer.subject.replace(/\n/g, ', ')}` });
  return config;
}

// ---------------------------------------------------------------------------------------------
// factory reset
// ---------------------------------------------------------------------------------------------

export function resetConfirmation(config: GatewayConfig): string {
  return `ERASE ${config.memberState}`;
}

/**
 * Zeroises the token (C_InitToken with the SO PIN erases every key and certificate on it) and wipes the
 * data folder, only when `typed` is exactly `ERASE <our Member State>`. The configuration file keeps
 * only what reaches the token (module, label, PIN source) and the data folder.
 */
export async function factoryReset(configPath: string, opts: { soPin: string; typed: string; audit?: ProvisioningAuditSink; discardAudit?: boolean }): Promise<string[]> {
  const config = loadConfig(configPath);
  const expected = resetConfirmation(config);
  if (opts.typed !== expected) throw new ProvisioningError('TOKEN_INIT_FAILED', `factory reset not confirmed: type exactly "${expected}"`);
  // The Art. 30 record must be kept two years: exchanges not yet exported block the wipe.
  const unexported = unexportedExchanges(config.dataDir);
  if (unexported > 0 && !opts.discardAudit) {
    throw new ProvisioningError('TOKEN_INIT_FAILED', `the audit log holds ${unexported} exchange record(s) not exported since the last export: export it first (pruem audit export), or confirm their loss with --discard-audit`);
  }
  const done: string[] = [];
  // The SO PIN must be right before anything is wiped (C_InitToken checks it).
  try {
    initialiseToken(config, config.token.label, opts.soPin, null, true);
  } catch (e) {
    opts.audit?.({ action: 'token-operation', target: `token "${config.token.label}"`, outcome: 'failure', detail: `factory reset: ${(e as Error).message}` });
    throw e;
  }
  // The audit log itself is wiped below: its last entry is the reset, for as long as it exists.
  opts.audit?.({ action: 'token-operation', target: `token "${config.token.label}"`, outcome: 'success', detail: 'factory reset: token zeroised' });
  done.push(`token "${config.token.label}" zeroised (every key and certificate erased)`);
  const keep = new Set<string>([basename(configPath)]);
  const conf = config.token.softhsmConf ?? developmentSofthsmConf(config);
  if (isSoftHsmModule(config.token.module) && relative(config.dataDir, conf).split('/')[0] === 'softhsm') keep.add('softhsm');
  if (existsSync(config.dataDir)) {
    for (const name of readdirSync(config.dataDir)) {
      if (keep.has(name) && join(config.dataDir, name) !== config.dataDir) continue;
      rmSync(join(config.dataDir, name), { recursive: true, force: true });
    }
  }
  done.push(`data folder ${config.dataDir} wiped`);
  const raw = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
  const tok = (raw.token ?? {}) as Record<string, unknown>;
  const minimal = {
    dataDir: raw.dataDir ?? config.dataDir,
    token: { ...(tok.module ? { module: tok.module } : {}), ...(tok.label ? { label: tok.label } : {}), ...(tok.softhsmConf ? { softhsmConf: tok.softhsmConf } : {}), ...(tok.pin ? { pin: tok.pin } : {}) },
    ...(raw.listen ? { listen: raw.listen } : {}),
  };
  writeFileDurable(configPath, `${JSON.stringify(minimal, null, 2)}\n`, 0o600);
  done.push(`configuration ${configPath} reset`);
  return done;
}

function unexportedExchanges(dataDir: string): number {
  const path = join(dataDir, 'gateway.sqlite');
  if (!existsSync(path)) return 0;
  const db = new Database(path, { readonly: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('audit_entries', 'audit_exports')").all() as Array<{ name: string }>;
    if (!tables.some((t) => t.name === 'audit_entries')) return 0;
    const since = tables.some((t) => t.name === 'audit_exports') ? ((db.prepare('SELECT MAX(created_at) AS at FROM audit_exports').get() as { at: string | null }).at ?? '') : '';
    return (db.prepare("SELECT COUNT(*) AS n FROM audit_entries WHERE kind = 'exchange' AND recorded_at > ?").get(since) as { n: number }).n;
  } finally {
    db.close();
  }
}

/** A token whose user PIN is not initialised (after a reset): C_InitPIN as SO. */
export function initialiseUserPin(config: GatewayConfig, soPin: string, userPin: string): void {
  const opts = moduleOf(config);
  const lease = acquireModule(opts.module, opts.softhsmConf);
  try {
    const slot = slotWithLabel(lease.module, config.token.label);
    if (!slot) throw new ProvisioningError('TOKEN_INIT_FAILED', `no token labelled "${config.token.label}"`);
    try {
      initUserPinAsSo(slot, soPin, userPin);
    } catch (e) {
      throw new ProvisioningError('TOKEN_INIT_FAILED', `C_InitPIN: ${pkcs11Name(e)}`);
    }
  } finally {
    lease.release();
  }
}
