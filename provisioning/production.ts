/**
 * The production provisioning of a box: one implementation for `pruem provision`, the serial console
 * and the console's first-run wizard. A sequence of idempotent steps (config → token → keys → CSRs →
 * national CA chain → own certificates → peers → summary), recorded in state.ts after each change and
 * written to the Art. 30 audit log with target and outcome. Rerunning after an interruption at any
 * point completes the run: a key is adopted from its recorded intent, a certificate imported again.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import * as graphene from 'graphene-pk11';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, webcrypto, X509Certificate, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type GatewayConfig } from '../appliance/config/config.js';
import { Token, TokenError, derToPem } from '../appliance/token/token.js';
import { acquireModule } from '../appliance/token/pkcs11-module.js';
import { pkcs11Name } from '../appliance/token/pkcs11-errors.js';
import { keyIdentifier } from '../appliance/token/rsa.js';
import { isMemberStateCode, type MemberStateCode } from '../appliance/peers/member-states.js';
import { certificateInfo, countryOf, importPeerCertificate, ProvisioningError, type CertificateInfo } from './certificates.js';
import { developmentSofthsmConf, initUserPinAsSo, isSoftHsmModule, tokenOptionsFromConfig } from './development-token.js';
import { initialiseUserPin } from './lifecycle.js';
import { enabledPurposes, CONSOLE_TLS_LABEL, type Purpose } from './purposes.js';
import { emptyRecord, readRecord, writeFileDurable, writeRecord, type ProvisioningRecord, type StepId } from './state.js';

// ---------------------------------------------------------------------------------------------
// inputs, outputs, audit
// ---------------------------------------------------------------------------------------------

export interface NetworkInput {
  readonly interface: string;
  readonly address: string;
  readonly gateway: string | null;
  readonly dns: readonly string[];
}

export interface ProvisionInput {
  readonly memberState?: MemberStateCode;
  readonly agency?: string;
  readonly relay?: { host: string; port: number; requireTls: boolean } | null;
  readonly network?: NetworkInput | null;
  /** Initialise the token (when it does not exist) and/or set the PIN source the daemon uses. */
  readonly token?: {
    readonly soPin?: string;
    readonly userPin: string;
    /** Never a literal in production: a file (mode 0600) or an environment variable. */
    readonly pinSource: { file: string } | { env: string };
    readonly label?: string;
    readonly module?: string;
  };
  /** Generate the keys (and CSRs) for every enabled purpose. */
  readonly keys?: boolean;
  readonly subject?: { organization?: string; organizationalUnit?: string };
  /** The national CA chain (PEM bundles): the only way a CA certificate becomes trusted here. */
  readonly caFiles?: readonly string[];
  /** The same as PEM text (the console's upload). */
  readonly caPems?: readonly string[];
  /** The issued certificates (PEM, may be bundles; CA certificates in them join the chain). `label=path` picks the key. */
  readonly certificateFiles?: readonly string[];
  /** The same as PEM text (the console's upload). */
  readonly certificatePems?: readonly string[];
  /** Peer certificates (PEM bundles); `CC=path` names the State when the certificate does not say it. */
  readonly peerFiles?: readonly string[];
  /** Asked for each peer certificate (interactive); absent: accepted (scripted, the summary lists them). */
  readonly confirmPeer?: (p: PeerCandidate) => Promise<boolean>;
}

export interface PeerCandidate {
  readonly state: MemberStateCode;
  readonly usage: 'signing' | 'encryption' | 'both';
  readonly info: CertificateInfo;
  readonly pem: string;
}

export interface ProvisioningAuditEvent {
  readonly action: 'token-operation' | 'certificate-change' | 'config-change' | 'export';
  readonly target: string;
  readonly outcome: 'success' | 'failure';
  readonly detail?: string;
}

export type ProvisioningAuditSink = (e: ProvisioningAuditEvent) => void;

export interface ProvisionContext {
  /** The configuration file the daemon starts with; the config step writes it. */
  readonly configPath: string | null;
  readonly config: GatewayConfig;
  readonly audit: ProvisioningAuditSink;
  readonly out?: (line: string) => void;
  /** The daemon's open Token (serial console / wizard); absent: opened here and closed at the end. */
  readonly token?: Token;
  readonly now?: () => Date;
}

export interface ProvisionResult {
  readonly config: GatewayConfig;
  readonly record: ProvisioningRecord;
  readonly state: ProvisioningState;
  readonly csrs: ReadonlyArray<{ label: string; path: string; subject: string }>;
  readonly summary: string;
}

/** Test hook: `PRUEM_PROVISION_CRASH_AT=<point>` SIGKILLs this process there (a power cut, deterministically). */
function crashPoint(point: string): void {
  if (process.env.PRUEM_PROVISION_CRASH_AT === point) process.kill(process.pid, 'SIGKILL');
}

// ---------------------------------------------------------------------------------------------
// paths
// ---------------------------------------------------------------------------------------------

export function csrPath(dataDir: string, label: string): string {
  return join(dataDir, 'provisioning', 'csr', `${label}.csr`);
}
export function keyFilePath(dataDir: string, label: string): string {
  return join(dataDir, 'tls', `${label}-key.pem`);
}
export function ownCertificatePath(dataDir: string, label: string): string {
  return join(dataDir, 'certs', `${label}.pem`);
}
export function caChainPath(dataDir: string): string {
  return join(dataDir, 'certs', 'ca-chain.pem');
}

// ---------------------------------------------------------------------------------------------
// configuration file
// ---------------------------------------------------------------------------------------------

/** Changes the configuration file (raw JSON, so comments-free defaults stay implicit) durably; returns it reloaded. */
export function updateConfigFile(configPath: string, mutate: (raw: Record<string, unknown>) => void): GatewayConfig {
  const raw = existsSync(configPath) ? (JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>) : {};
  mutate(raw);
  writeFileDurable(configPath, `${JSON.stringify(raw, null, 2)}\n`, 0o600);
  return loadConfig(configPath);
}

function obj(raw: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = raw[key];
  if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  const fresh: Record<string, unknown> = {};
  raw[key] = fresh;
  return fresh;
}

// ---------------------------------------------------------------------------------------------
// helpers: certificates, keys
// ---------------------------------------------------------------------------------------------

export function splitPem(text: string): string[] {
  return [...text.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map((m) => `${m[0]}\n`);
}

function spkiSha256(key: KeyObject): string {
  return createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex');
}

function short(hex: string): string {
  return hex.slice(0, 16);
}

const KU_FLAG: Record<Purpose['keyUsage'][number], number> = {
  digitalSignature: x509.KeyUsageFlags.digitalSignature,
  nonRepudiation: x509.KeyUsageFlags.nonRepudiation,
  keyEncipherment: x509.KeyUsageFlags.keyEncipherment,
};
const EKU_OID: Record<Purpose['extendedKeyUsage'][number], string> = {
  emailProtection: x509.ExtendedKeyUsage.emailProtection,
  serverAuth: x509.ExtendedKeyUsage.serverAuth,
  clientAuth: x509.ExtendedKeyUsage.clientAuth,
};

/** Key usage bits of a certificate (null: no extension). */
export function keyUsageOf(pem: string): number | null {
  const ext = new x509.X509Certificate(pem).getExtension(x509.KeyUsagesExtension);
  return ext ? ext.usages : null;
}

/** The public key of a purpose's key, wherever it is; null when there is none yet. */
async function publicKeyOf(token: Token | null, dataDir: string, store: 'token' | 'file', label: string): Promise<KeyObject | null> {
  if (store === 'file') {
    const path = keyFilePath(dataDir, label);
    return existsSync(path) ? createPublicKey(createPrivateKey(readFileSync(path))) : null;
  }
  if (!token || !(await token.hasPrivateKey(label))) return null;
  return token.publicKey(label);
}

function subjectFor(config: GatewayConfig, purpose: Purpose, subject: ProvisionInput['subject']): x509.JsonName {
  const cn = `${config.memberState} NCP ${purpose.title}`.slice(0, 64);
  return [
    { C: [countryOf(config.memberState)] },
    { O: [subject?.organization ?? config.agency] },
    ...(subject?.organizationalUnit ? [{ OU: [subject.organizationalUnit] }] : []),
    { CN: [cn] },
  ];
}

function extensionsFor(purpose: Purpose, ski: Buffer): x509.Extension[] {
  const ext: x509.Extension[] = [
    new x509.KeyUsagesExtension(purpose.keyUsage.reduce((a, k) => a | KU_FLAG[k], 0), true),
    new x509.SubjectKeyIdentifierExtension(ski.toString('hex')),
  ];
  if (purpose.extendedKeyUsage.length) ext.push(new x509.ExtendedKeyUsageExtension(purpose.extendedKeyUsage.map((e) => EKU_OID[e])));
  const names: x509.JsonGeneralName[] = [
    ...purpose.emails.map((value) => ({ type: 'email' as const, value })),
    ...purpose.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...purpose.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
  ];
  if (names.length) ext.push(new x509.SubjectAlternativeNameExtension(names));
  return ext;
}

/** PKCS#10 request for a purpose's key (`keyLabel`: the key, which differs from the purpose's label during a renewal), signed by that key. */
export async function purposeCsr(
  token: Token | null,
  config: GatewayConfig,
  purpose: Purpose,
  keyLabel: string,
  subject?: ProvisionInput['subject'],
): Promise<{ pem: string; subject: string; spkiSha256: string }> {
  const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;
  let keys: { publicKey: CryptoKey; privateKey: CryptoKey };
  let crypto: Crypto;
  let pub: KeyObject;
  if (purpose.store === 'file') {
    const priv = createPrivateKey(readFileSync(keyFilePath(config.dataDir, keyLabel)));
    pub = createPublicKey(priv);
    const pkcs8 = priv.export({ type: 'pkcs8', format: 'der' });
    keys = {
      privateKey: (await webcrypto.subtle.importKey('pkcs8', pkcs8, alg, false, ['sign'])) as unknown as CryptoKey,
      publicKey: (await webcrypto.subtle.importKey('spki', pub.export({ type: 'spki', format: 'der' }), alg, true, ['verify'])) as unknown as CryptoKey,
    };
    crypto = webcrypto as unknown as Crypto;
  } else {
    if (!token) throw new ProvisioningError('CERT_MISMATCH', 'no token to sign the request with');
    pub = await token.publicKey(keyLabel);
    keys = {
      privateKey: token.privateKey(keyLabel, 'RSASSA-PKCS1-v1_5', 'SHA-256') as unknown as CryptoKey,
      publicKey: (await webcrypto.subtle.importKey('spki', pub.export({ type: 'spki', format: 'der' }), alg, true, ['verify'])) as unknown as CryptoKey,
    };
    crypto = token.webcrypto();
  }
  const name = subjectFor(config, purpose, subject);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name, keys, signingAlgorithm: alg, extensions: extensionsFor(purpose, keyIdentifier(pub)) }, crypto);
  return { pem: `${csr.toString('pem')}\n`, subject: csr.subject, spkiSha256: spkiSha256(pub) };
}

// ---------------------------------------------------------------------------------------------
// token initialisation (any PKCS#11 module: C_InitToken on an uninitialised token, C_InitPIN)
// ---------------------------------------------------------------------------------------------

function slots(module: graphene.Module): graphene.Slot[] {
  const list = module.getSlots(true);
  const out: graphene.Slot[] = [];
  for (let i = 0; i < list.length; i++) out.push(list.items(i));
  return out;
}

export function slotWithLabel(module: graphene.Module, label: string): graphene.Slot | null {
  return slots(module).find((s) => s.getToken().flags & graphene.TokenFlag.TOKEN_INITIALIZED && s.getToken().label.trim() === label) ?? null;
}

/** The module and SoftHSM2 configuration, without reading the PIN. */
export function moduleOf(config: GatewayConfig): { module: string; softhsmConf: string | undefined } {
  const dev = developmentSofthsmConf(config);
  const softhsmConf = config.token.softhsmConf ?? (isSoftHsmModule(config.token.module) && existsSync(dev) ? dev : undefined);
  return { module: config.token.module, softhsmConf };
}

/** Whether a token with `label` exists (initialised) on the module. */
export function tokenExists(config: GatewayConfig): boolean {
  const opts = moduleOf(config);
  const lease = acquireModule(opts.module, opts.softhsmConf);
  try {
    return slotWithLabel(lease.module, config.token.label) !== null;
  } finally {
    lease.release();
  }
}

/**
 * C_InitToken (SO PIN, label) then C_InitPIN. `slot`: re-initialise that token (factory reset: erases
 * every object on it); otherwise the first uninitialised token (a new card, a free SoftHSM2 slot).
 */
export function initialiseToken(config: GatewayConfig, label: string, soPin: string, userPin: string | null, reinitialise = false): void {
  const opts = moduleOf(config);
  const lease = acquireModule(opts.module, opts.softhsmConf);
  try {
    const target = reinitialise ? slotWithLabel(lease.module, config.token.label) : (slots(lease.module).find((s) => !(s.getToken().flags & graphene.TokenFlag.TOKEN_INITIALIZED)) ?? null);
    if (!target) throw new ProvisioningError('TOKEN_INIT_FAILED', reinitialise ? `no token labelled "${config.token.label}"` : 'no uninitialised token: insert a new card, or the token already exists under another label');
    try {
      // graphene's Slot.initToken() mishandles pkcs11js's return value; call the module directly.
      target.lib.C_InitToken(target.handle, soPin, label);
    } catch (e) {
      throw new ProvisioningError('TOKEN_INIT_FAILED', `C_InitToken refused: ${pkcs11Name(e)}${/PIN_INCORRECT/.test(pkcs11Name(e)) ? ' (wrong SO PIN)' : ''}`);
    }
    if (userPin === null) return;
    const slot = slotWithLabel(lease.module, label);
    if (!slot) throw new ProvisioningError('TOKEN_INIT_FAILED', `token "${label}" not visible after C_InitToken`);
    initUserPinAsSo(slot, soPin, userPin);
  } finally {
    lease.release();
  }
}

// ---------------------------------------------------------------------------------------------
// state: what is missing
// ---------------------------------------------------------------------------------------------

export interface ProvisioningState {
  /** The daemon may open the TESTA side: mail keys and the audit key with their certificates. */
  readonly ready: boolean;
  readonly mode: 'production' | 'development' | 'none';
  /** Exactly what is missing, one line each. */
  readonly missing: readonly string[];
  /** Certificates expiring within 30 days (or expired), one line each. */
  readonly expiring: readonly string[];
}

const REQUIRED = new Set(['mail-sign', 'mail-decrypt', 'audit']);
export const EXPIRY_WARNING_DAYS = 30;

/**
 * What the appliance still lacks to exchange with TESTA, checked against the token (keys) and the
 * certificate files: each enabled purpose needs its key and a certificate for exactly that key.
 */
export async function provisioningState(config: GatewayConfig, token: Token | null, now = new Date()): Promise<ProvisioningState> {
  const record = readRecord(config.dataDir);
  const missing: string[] = [];
  const expiring: string[] = [];
  let blocking = false;
  const tokenState = token?.status();
  if (record?.mode === 'production' && 'value' in config.token.pin) {
    // A PIN written into the configuration travels with every copy of it (backups, support bundles).
    missing.push('token.pin: a literal PIN in the configuration is for development only — use a PIN file or an environment variable (pruem provision --pin-file/--pin-env)');
    blocking = true;
  }
  if (!token || tokenState?.state !== 'ready') {
    missing.push(`token "${config.token.label}": ${tokenState ? `${tokenState.state}: ${tokenState.detail}` : 'not open'}`);
    blocking = true;
  }
  for (const p of enabledPurposes(config)) {
    let key: KeyObject | null = null;
    try {
      key = p.store === 'token' && tokenState?.state !== 'ready' ? null : await publicKeyOf(token, config.dataDir, p.store, p.label);
    } catch {
      key = null;
    }
    const certPath = ownCertificatePath(config.dataDir, p.label);
    if (!key) {
      if (p.store === 'file' || tokenState?.state === 'ready') missing.push(`key ${p.label} (${p.title}): not generated`);
      if (REQUIRED.has(p.id)) blocking = true;
      continue;
    }
    if (!existsSync(certPath)) {
      const csr = csrPath(config.dataDir, p.label);
      missing.push(`certificate ${p.label} (${p.title}): not imported${existsSync(csr) ? ` — request waiting for the CA: ${csr}` : ''}`);
      if (REQUIRED.has(p.id)) blocking = true;
      continue;
    }
    try {
      const pem = readFileSync(certPath, 'utf8');
      const cert = new X509Certificate(pem);
      if (!cert.publicKey.equals(key)) {
        missing.push(`certificate ${p.label} (${p.title}): ${certPath} is not for the key on the token`);
        if (REQUIRED.has(p.id)) blocking = true;
        continue;
      }
      const info = certificateInfo(pem, now);
      if (info.daysLeft < 0) {
        missing.push(`certificate ${p.label} (${p.title}): expired on ${info.notAfter.slice(0, 10)}`);
        if (REQUIRED.has(p.id)) blocking = true;
      } else if (info.daysLeft < EXPIRY_WARNING_DAYS) {
        expiring.push(`certificate ${p.label} (${p.title}) expires in ${info.daysLeft} days (${info.notAfter.slice(0, 10)})${record?.renewals[p.label] ? ': renewal requested' : ': renew it (pruem provision renew)'}`);
      }
    } catch (e) {
      missing.push(`certificate ${p.label}: ${(e as Error).message}`);
      if (REQUIRED.has(p.id)) blocking = true;
    }
  }
  return { ready: !blocking, mode: record?.mode ?? (existsSync(ownCertificatePath(config.dataDir, 'ncp-sign')) ? 'development' : 'none'), missing, expiring };
}

// ---------------------------------------------------------------------------------------------
// the run
// ---------------------------------------------------------------------------------------------

class Run {
  record: ProvisioningRecord;
  config: GatewayConfig;
  token: Token | null;
  /** The PIN the token step was given (an env PIN source may not be set in this process). */
  pin: string | null = null;
  readonly ownToken: boolean;
  readonly csrs: Array<{ label: string; path: string; subject: string }> = [];

  constructor(
    readonly ctx: ProvisionContext,
    token: Token | null,
  ) {
    this.config = ctx.config;
    this.token = token;
    this.ownToken = !ctx.token;
    const existing = readRecord(ctx.config.dataDir);
    this.record = existing ?? emptyRecord('production');
  }

  now(): Date {
    return this.ctx.now?.() ?? new Date();
  }
  say(line: string): void {
    this.ctx.out?.(line);
  }
  save(): void {
    writeRecord(this.config.dataDir, this.record);
  }
  /** Production steps never mix with development keys and certificates. */
  refuseDevelopment(): void {
    if (this.record.mode === 'development') {
      throw new ProvisioningError('TOKEN_INIT_FAILED', 'this appliance was provisioned with DEVELOPMENT certificates; a factory reset comes first (pruem provision reset)');
    }
  }
  done(step: StepId, detail: string): void {
    this.record.steps[step] = { at: this.now().toISOString(), detail };
    this.save();
    crashPoint(`after:${step}`);
  }

  /** Runs `work`, writes its audit entry (success or the failure's message) and rethrows failures. */
  async audited<T>(action: ProvisioningAuditEvent['action'], target: string, work: () => Promise<T> | T, detail?: (r: T) => string): Promise<T> {
    try {
      const r = await work();
      const d = detail?.(r);
      this.ctx.audit({ action, target, outcome: 'success', ...(d ? { detail: d } : {}) });
      return r;
    } catch (e) {
      this.ctx.audit({ action, target, outcome: 'failure', detail: (e as Error).message.slice(0, 900) });
      throw e;
    }
  }

  async openToken(): Promise<Token> {
    if (this.token && this.token.status().state === 'ready') return this.token;
    if (this.token && !this.ownToken) {
      // The daemon's Token: with the PIN the token step was given (it may have had none), else as it is.
      const s = this.pin !== null ? await this.token.setPin(this.pin) : await this.token.reconnect();
      if (s.state === 'ready') return this.token;
      throw new TokenError('TOKEN_LOCKED', `token "${this.config.token.label}": ${s.state}: ${s.detail}`);
    }
    await this.token?.close();
    this.token = await Token.open(tokenOptionsFromConfig(this.config, this.pin !== null ? { pin: this.pin } : {}));
    return this.token;
  }
}

/**
 * Runs the steps whose inputs are given, in order, each idempotent; safe to rerun with the same inputs
 * after an interruption. Throws ProvisioningError / TokenError with a message for the technician.
 */
export async function provision(ctx: ProvisionContext, input: ProvisionInput): Promise<ProvisionResult> {
  const run = new Run(ctx, ctx.token ?? null);
  try {
    const steps = input.memberState !== undefined || input.agency !== undefined || input.relay !== undefined || input.network !== undefined || input.token || input.keys || input.caFiles?.length || input.caPems?.length || input.certificateFiles?.length || input.certificatePems?.length || input.peerFiles?.length;
    if (steps) run.refuseDevelopment();
    await stepConfig(run, input);
    if (input.token) await stepToken(run, input.token);
    if (input.keys) {
      await stepKeys(run);
      await stepCsrs(run, input.subject);
    }
    if (input.caFiles?.length || input.caPems?.length) await stepCa(run, [...(input.caFiles ?? []).map((f) => readFileSync(f, 'utf8')), ...(input.caPems ?? [])]);
    if (input.certificateFiles?.length || input.certificatePems?.length) await stepCertificates(run, input.certificateFiles ?? [], input.certificatePems ?? []);
    if (input.peerFiles?.length) await stepPeers(run, input.peerFiles, input.confirmPeer);
    const token = await run.openToken().catch(() => null);
    const state = await provisioningState(run.config, token, run.now());
    const summary = renderSummary(run.config, run.record, state);
    if (steps) run.done('summary', state.ready ? 'operational' : `missing: ${state.missing.length}`);
    return { config: run.config, record: run.record, state, csrs: run.csrs, summary };
  } finally {
    if (run.ownToken) await run.token?.close();
  }
}

async function stepConfig(run: Run, input: ProvisionInput): Promise<void> {
  const changes: string[] = [];
  const path = run.ctx.configPath;
  const wanted = input.memberState !== undefined || input.agency !== undefined || input.relay !== undefined || input.network !== undefined;
  if (!wanted) return;
  if (!path) throw new ProvisioningError('TOKEN_INIT_FAILED', 'no configuration file to write the settings to (--config)');
  if (input.memberState !== undefined && input.memberState !== run.config.memberState) changes.push(`memberState ${input.memberState}`);
  if (input.agency !== undefined && input.agency !== run.config.agency) changes.push(`agency ${input.agency}`);
  if (input.relay !== undefined && JSON.stringify(input.relay) !== JSON.stringify(run.config.relay)) changes.push(`relay ${input.relay ? `${input.relay.host}:${input.relay.port}` : 'none'}`);
  if (input.network !== undefined && JSON.stringify(input.network) !== JSON.stringify(run.config.network)) changes.push(`network ${input.network ? `${input.network.interface} ${input.network.address}` : 'none'}`);
  if (changes.length) {
    run.config = await run.audited('config-change', `configuration ${path}`, () =>
      updateConfigFile(path, (raw) => {
        if (input.memberState !== undefined) {
          raw.memberState = input.memberState;
          if (Array.isArray(raw.peers)) raw.peers = (raw.peers as Array<{ code?: string }>).filter((p) => p.code !== input.memberState);
        }
        if (input.agency !== undefined) raw.agency = input.agency;
        if (input.relay !== undefined) raw.relay = input.relay;
        if (input.network !== undefined) raw.network = input.network;
      }),
      () => changes.join(', '),
    );
    run.say(`configuration: ${changes.join(', ')}`);
  }
  run.done('config', changes.join(', ') || 'unchanged');
}

async function stepToken(run: Run, t: NonNullable<ProvisionInput['token']>): Promise<void> {
  if ('value' in (t.pinSource as object)) throw new ProvisioningError('PIN_FILE_MISSING', 'a literal PIN in the configuration is for development only: use a PIN file or an environment variable');
  if (!/^[0-9A-Za-z_-]{4,64}$/.test(t.userPin)) throw new ProvisioningError('TOKEN_INIT_FAILED', 'the user PIN must be 4 to 64 letters, digits, - or _');
  const path = run.ctx.configPath;
  const label = t.label ?? run.config.token.label;
  run.pin = t.userPin;
  const source = t.pinSource;
  const writePin = () => {
    if ('file' in source) writeFileDurable(source.file, `${t.userPin}\n`, 0o600);
  };
  const sameSource = JSON.stringify(run.config.token.pin) === JSON.stringify(source);
  if (path && (!sameSource || label !== run.config.token.label || (t.module !== undefined && t.module !== run.config.token.module))) {
    run.config = await run.audited('config-change', 'token PIN source', () =>
      updateConfigFile(path, (raw) => {
        const tok = obj(raw, 'token');
        tok.pin = source;
        tok.label = label;
        if (t.module) tok.module = t.module;
      }),
      () => ('file' in source ? `PIN file ${source.file}` : `environment variable ${source.env}`),
    );
  }
  if ('env' in source && process.env[source.env] !== t.userPin) {
    run.say(`note: set ${source.env} to the user PIN in the daemon's environment (systemd EnvironmentFile=), it is not stored`);
  }
  const exists = tokenExists(run.config);
  if (!exists) {
    if (!t.soPin) throw new ProvisioningError('TOKEN_INIT_FAILED', `no token labelled "${label}": give the SO PIN to initialise one`);
    if (!/^[0-9A-Za-z_-]{4,64}$/.test(t.soPin)) throw new ProvisioningError('TOKEN_INIT_FAILED', 'the SO PIN must be 4 to 64 letters, digits, - or _');
    // The PIN source first: the daemon must find the PIN the token will have (a crash after C_InitToken
    // must not strand a token whose PIN nobody wrote down).
    writePin();
    await run.audited('token-operation', `token "${label}"`, () => initialiseToken(run.config, label, t.soPin!, t.userPin), () => 'initialised (SO PIN and user PIN set)');
    run.say(`token "${label}" initialised`);
  }
  if (exists && t.soPin) {
    // A token zeroised by a factory reset keeps its label but has no user PIN yet. Probed without a PIN
    // (no login is tried, so a card does not count a wrong try).
    const probe = await Token.open(tokenOptionsFromConfig(run.config, { pin: '', allowNotReady: true }));
    const detail = probe.status().detail;
    await probe.close();
    if (/not initialised/.test(detail)) {
      writePin();
      await run.audited('token-operation', `token "${label}"`, () => initialiseUserPin(run.config, t.soPin!, t.userPin), () => 'user PIN set (SO PIN)');
    }
  }
  // The PIN must log in (an existing token: the technician's PIN is checked before the daemon relies on it).
  const token = await run.openToken().catch((e: Error) => {
    run.ctx.audit({ action: 'token-operation', target: `token "${label}"`, outcome: 'failure', detail: `login: ${e.message}` });
    throw e;
  });
  if (!(await token.verifyPin(t.userPin))) {
    run.ctx.audit({ action: 'token-operation', target: `token "${label}"`, outcome: 'failure', detail: 'the user PIN does not log in' });
    throw new TokenError('TOKEN_LOCKED', `the user PIN does not log in to token "${label}"`);
  }
  // An existing token: the PIN file is written only once the PIN is known to be right (a typo must not replace a good file).
  writePin();
  run.done('token', exists ? 'existing token, PIN verified' : 'initialised');
}

async function stepKeys(run: Run): Promise<void> {
  const token = await run.openToken();
  const made: string[] = [];
  for (const p of enabledPurposes(run.config)) {
    if (await ensureKey(run, token, p, p.label)) made.push(p.label);
  }
  run.done('keys', made.length ? `generated ${made.join(', ')}` : 'all present');
}

/** One key, through intent → generate → record; adopts a key whose intent was recorded. Returns whether it generated. */
async function ensureKey(run: Run, token: Token, p: Purpose, label: string): Promise<boolean> {
  const dataDir = run.config.dataDir;
  const present = await publicKeyOf(token, dataDir, p.store, label);
  const rec = run.record.keys[label];
  if (present) {
    if (rec?.state === 'generated' && rec.spkiSha256 === spkiSha256(present)) return false;
    // Generated before a power cut hit between the key and its record (intent present), or a card that
    // came with its keys (no intent): either way it is this box's key now and gets its record.
    run.record.keys[label] = { label, store: p.store, spkiSha256: spkiSha256(present), state: 'generated', at: run.now().toISOString() };
    run.save();
    run.ctx.audit({ action: 'token-operation', target: `key ${label}`, outcome: 'success', detail: rec ? 'recorded after an interrupted run' : 'adopted a key already on the token' });
    run.say(`key ${label}: ${rec ? 'recorded after an interrupted run' : 'adopted (already present)'}`);
    return false;
  }
  run.record.keys[label] = { label, store: p.store, spkiSha256: null, state: 'intended', at: run.now().toISOString() };
  run.save();
  const pub = await run.audited(
    'token-operation',
    `key ${label} (${p.title})`,
    async () => {
      if (p.store === 'file') {
        const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        writeFileDurable(keyFilePath(dataDir, label), privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600);
        return createPublicKey(privateKey);
      }
      return (await token.generateKeyPair(label, { usage: p.tokenUsage, bits: 2048, signsOwnRequest: p.tokenUsage === 'decrypt' })).publicKey;
    },
    (k) => `RSA-2048 ${p.store === 'token' ? 'on the token, not extractable' : `in ${keyFilePath(dataDir, label)} (0600)`}, SPKI SHA-256 ${short(spkiSha256(k))}`,
  );
  crashPoint(`key-generated:${label}`);
  run.record.keys[label] = { label, store: p.store, spkiSha256: spkiSha256(pub), state: 'generated', at: run.now().toISOString() };
  run.save();
  run.say(`key ${label} generated (${p.title})`);
  return true;
}

async function stepCsrs(run: Run, subject: ProvisionInput['subject']): Promise<void> {
  const token = await run.openToken();
  for (const p of enabledPurposes(run.config)) {
    await writeCsr(run, token, p, p.label, subject);
  }
  run.done('csrs', run.csrs.map((c) => c.label).join(', '));
}

async function writeCsr(run: Run, token: Token, p: Purpose, keyLabel: string, subject: ProvisionInput['subject']): Promise<void> {
  const path = csrPath(run.config.dataDir, keyLabel);
  const key = await publicKeyOf(token, run.config.dataDir, p.store, keyLabel);
  if (!key) throw new ProvisioningError('CERT_MISMATCH', `no key ${keyLabel} to make a request for`);
  const existing = run.record.csrs[keyLabel];
  if (existing && existsSync(path) && existing.spkiSha256 === spkiSha256(key)) {
    const have = new x509.Pkcs10CertificateRequest(readFileSync(path, 'utf8')).subject;
    // The same key and subject: the request stands (a rerun); a new subject (organisation) makes a new one.
    if (have === new x509.Name(subjectFor(run.config, p, subject)).toString()) {
      run.csrs.push({ label: keyLabel, path, subject: have });
      return;
    }
  }
  const csr = await run.audited('certificate-change', `certificate request ${keyLabel} (${p.title})`, () => purposeCsr(token, run.config, p, keyLabel, subject), (c) => c.subject);
  writeFileDurable(path, csr.pem, 0o644);
  run.record.csrs[keyLabel] = { path, spkiSha256: csr.spkiSha256, at: run.now().toISOString() };
  run.save();
  run.csrs.push({ label: keyLabel, path, subject: csr.subject });
  run.say(`request ${path}: ${csr.subject}`);
}

async function stepCa(run: Run, texts: readonly string[]): Promise<void> {
  const certs = texts.flatMap((t) => splitPem(t));
  if (!certs.length) throw new ProvisioningError('BAD_CERTIFICATE', 'no PEM certificate in the CA chain given');
  await importCaChain(run, certs);
  run.done('ca', `${certs.length} certificate(s)`);
}

async function importCaChain(run: Run, pems: readonly string[]): Promise<void> {
  if (!pems.length) return;
  const path = caChainPath(run.config.dataDir);
  const have = existsSync(path) ? splitPem(readFileSync(path, 'utf8')) : [];
  const fps = new Set(have.map((p) => new X509Certificate(p).fingerprint256));
  const added: string[] = [];
  for (const pem of pems) {
    const cert = new X509Certificate(pem);
    if (!cert.ca) throw new ProvisioningError('BAD_CERTIFICATE', `${cert.subject.replace(/\n/g, ', ')} is not a CA certificate (basicConstraints CA:TRUE missing)`);
    if (fps.has(cert.fingerprint256)) continue;
    fps.add(cert.fingerprint256);
    have.push(pem);
    added.push(cert.subject.replace(/\n/g, ', '));
  }
  if (!added.length) return;
  await run.audited('certificate-change', 'national CA chain', () => writeFileDurable(path, have.join(''), 0o644), () => `added ${added.join('; ')}`);
  run.say(`national CA chain: added ${added.join('; ')}`);
}

/** Whether `leaf` was issued by a certificate of the chain (signature checked). */
function issuedByChain(leaf: X509Certificate, chain: readonly X509Certificate[]): X509Certificate | null {
  return chain.find((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey)) ?? null;
}

async function stepCertificates(run: Run, files: readonly string[], pems: readonly string[]): Promise<void> {
  const token = await run.openToken();
  const items: Array<{ label: string | null; pem: string }> = pems.flatMap((text) => splitPem(text).map((pem) => ({ label: null, pem })));
  for (const spec of files) {
    const m = /^([a-z][a-z0-9.~-]*)=(.+)$/.exec(spec);
    const file = m ? m[2]! : spec;
    for (const pem of splitPem(readFileSync(file, 'utf8'))) items.push({ label: m ? m[1]! : null, pem });
  }
  if (!items.length) throw new ProvisioningError('BAD_CERTIFICATE', `no PEM certificate in ${files.join(', ') || 'the text given'}`);
  // A CA certificate is trusted only through the explicit CA step; in a bundle of answers it must be one already trusted.
  const chainFile = caChainPath(run.config.dataDir);
  const trusted = new Set(existsSync(chainFile) ? splitPem(readFileSync(chainFile, 'utf8')).map((p) => new X509Certificate(p).fingerprint256) : []);
  for (const item of items) {
    const cert = new X509Certificate(item.pem);
    if (cert.ca && !trusted.has(cert.fingerprint256)) {
      const message = `CA certificate "${cert.subject.replace(/\n/g, ', ')}" (SHA-256 ${cert.fingerprint256.replace(/:/g, '').toLowerCase().slice(0, 16)}…) is not in the national CA chain: import the chain explicitly (--ca) after checking it`;
      run.ctx.audit({ action: 'certificate-change', target: 'national CA chain', outcome: 'failure', detail: message });
      throw new ProvisioningError('BAD_CERTIFICATE', message);
    }
  }
  const imported: string[] = [];
  for (const item of items.filter((i) => !new X509Certificate(i.pem).ca)) {
    imported.push(await importOwnCertificate(run, token, item.pem, item.label));
  }
  run.done('certificates', imported.join(', '));
}

/** Finds the key a certificate is for, checks it (validity, key usage, chain) and stores it. */
async function importOwnCertificate(run: Run, token: Token, pem: string, wanted: string | null): Promise<string> {
  const now = run.now();
  const cert = new X509Certificate(pem);
  const info = certificateInfo(pem, now);
  const dataDir = run.config.dataDir;
  const purposes = enabledPurposes(run.config);
  const certKey = spkiSha256(cert.publicKey);
  const describe = `certificate "${info.subject}" (SHA-256 ${info.fingerprintSha256.slice(0, 16)}…)`;
  const fail = (code: ConstructorParameters<typeof ProvisioningError>[0], message: string): never => {
    run.ctx.audit({ action: 'certificate-change', target: describe, outcome: 'failure', detail: message });
    throw new ProvisioningError(code, message);
  };
  // Candidates: each purpose's key, and a renewal's new key.
  const candidates: Array<{ purpose: Purpose; keyLabel: string }> = [];
  for (const p of purposes) {
    candidates.push({ purpose: p, keyLabel: p.label });
    const next = run.record.renewals[p.label]?.next;
    if (next) candidates.push({ purpose: p, keyLabel: next });
  }
  let match: { purpose: Purpose; keyLabel: string } | null = null;
  const keys: string[] = [];
  for (const c of candidates) {
    if (wanted && c.purpose.label !== wanted && c.keyLabel !== wanted) continue;
    const key = await publicKeyOf(token, dataDir, c.purpose.store, c.keyLabel);
    if (!key) continue;
    keys.push(`${c.keyLabel} (key SHA-256 ${short(spkiSha256(key))})`);
    if (spkiSha256(key) === certKey) {
      match = c;
      break;
    }
  }
  if (!match) {
    return fail(
      'CERT_MISMATCH',
      wanted
        ? `${describe} is not for the key "${wanted}": its public key (SHA-256 ${short(certKey)}) differs from ${keys.join(', ') || `the token's (no key "${wanted}")`} — the CA must answer this appliance's request ${csrPath(dataDir, wanted)}`
        : `${describe} matches none of this appliance's keys (its public key SHA-256 ${short(certKey)}; keys here: ${keys.join(', ') || 'none'}) — it was issued for another key; send the CA this appliance's requests in ${join(dataDir, 'provisioning', 'csr')}`,
    );
  }
  const { purpose, keyLabel } = match!;
  if (now > new Date(cert.validTo)) fail('CERT_EXPIRED', `${describe} expired on ${info.notAfter}`);
  if (now < new Date(cert.validFrom)) fail('CERT_NOT_YET_VALID', `${describe} is valid only from ${info.notBefore}`);
  const ku = keyUsageOf(pem);
  const needs = purpose.keyUsage.includes('keyEncipherment') && purpose.id === 'mail-decrypt' ? x509.KeyUsageFlags.keyEncipherment : x509.KeyUsageFlags.digitalSignature;
  if (ku !== null && !(ku & needs)) fail('BAD_CERTIFICATE', `${describe} lacks the key usage ${purpose.id === 'mail-decrypt' ? 'keyEncipherment' : 'digitalSignature'} that ${purpose.title} needs`);
  // The decryption key signed its own request only as proof of possession: its certificate must not let it sign.
  if (purpose.id === 'mail-decrypt' && (ku === null || ku & (x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation))) {
    fail('BAD_CERTIFICATE', `${describe} lets the decryption key sign (key usage must be keyEncipherment only)`);
  }
  const chainFile = caChainPath(dataDir);
  if (run.record.mode === 'production' && existsSync(chainFile)) {
    const chain = splitPem(readFileSync(chainFile, 'utf8')).map((p) => new X509Certificate(p));
    if (!issuedByChain(cert, chain)) fail('CERT_MISMATCH', `${describe} was not issued by the national CA chain in ${chainFile} (issuer "${info.issuer}")`);
  }
  const current = run.record.certificates[purpose.label];
  if (current?.fingerprintSha256 === info.fingerprintSha256 && existsSync(current.path) && keyLabel === purpose.label) return purpose.label;

  await run.audited(
    'certificate-change',
    `certificate ${purpose.label} (${purpose.title})`,
    async () => {
      if (keyLabel !== purpose.label) await switchRenewedKey(run, token, purpose, keyLabel);
      if (purpose.store === 'token') await token.storeCertificate(purpose.label, cert.raw);
      crashPoint(`cert-stored:${purpose.label}`);
      const path = ownCertificatePath(dataDir, purpose.label);
      writeFileDurable(path, derToPem(cert.raw), 0o644);
      run.record.certificates[purpose.label] = { label: purpose.label, fingerprintSha256: info.fingerprintSha256, notAfter: info.notAfter, path, at: now.toISOString() };
      delete run.record.renewals[purpose.label];
      run.save();
      if (purpose.label === CONSOLE_TLS_LABEL && run.ctx.configPath) {
        run.config = updateConfigFile(run.ctx.configPath, (raw) => {
          const api = obj(obj(raw, 'listen'), 'api');
          api.tls = { certificate: path, key: keyFilePath(dataDir, purpose.label) };
        });
      }
    },
    () => `${info.subject}, issuer ${info.issuer}, valid to ${info.notAfter.slice(0, 10)}, SHA-256 ${info.fingerprintSha256}`,
  );
  run.say(`certificate ${purpose.label}: ${info.subject}, valid to ${info.notAfter.slice(0, 10)}`);
  return purpose.label;
}

/**
 * The renewal's switch: the old key and certificate go, the new key takes the purpose's label. Recorded
 * first (`switching`), so a power cut in the middle is finished by the rerun (old gone, new still "…~next").
 */
async function switchRenewedKey(run: Run, token: Token, purpose: Purpose, next: string): Promise<void> {
  const renewal = run.record.renewals[purpose.label];
  if (renewal) {
    renewal.switching = true;
    run.save();
  }
  const dataDir = run.config.dataDir;
  if (purpose.store === 'file') {
    writeFileDurable(keyFilePath(dataDir, purpose.label), readFileSync(keyFilePath(dataDir, next)), 0o600);
  } else {
    await token.destroyObjects(purpose.label);
    crashPoint(`renew-old-destroyed:${purpose.label}`);
    await token.relabel(next, purpose.label);
  }
  const pub = await publicKeyOf(token, dataDir, purpose.store, purpose.label);
  run.record.keys[purpose.label] = { label: purpose.label, store: purpose.store, spkiSha256: pub ? spkiSha256(pub) : null, state: 'generated', at: run.now().toISOString() };
  delete run.record.keys[next];
  run.save();
}

async function stepPeers(run: Run, files: readonly string[], confirm: ProvisionInput['confirmPeer']): Promise<void> {
  const candidates: PeerCandidate[] = [];
  for (const spec of files) {
    const m = /^([A-Z]{2})=(.+)$/.exec(spec);
    const file = m ? m[2]! : spec;
    for (const pem of splitPem(readFileSync(file, 'utf8'))) {
      const c = peerCandidate(pem, m && isMemberStateCode(m[1]!) ? (m[1] as MemberStateCode) : null, run.now());
      if (c.state === run.config.memberState) throw new ProvisioningError('BAD_CERTIFICATE', `${c.info.subject}: that is our own Member State, not a peer`);
      candidates.push(c);
    }
  }
  const added: string[] = [];
  for (const c of candidates) {
    const line = `${c.state} ${c.usage}: ${c.info.subject} — issuer ${c.info.issuer} — valid ${c.info.notBefore.slice(0, 10)} to ${c.info.notAfter.slice(0, 10)} — SHA-256 ${c.info.fingerprintSha256}`;
    run.say(`peer certificate ${line}`);
    if (confirm && !(await confirm(c))) {
      run.say('  skipped');
      continue;
    }
    const usages: Array<'signing' | 'encryption'> = c.usage === 'both' ? ['signing', 'encryption'] : [c.usage];
    for (const usage of usages) {
      const r = await run.audited('certificate-change', `peer ${c.state} ${usage} certificate`, () => importPeerCertificate({ dataDir: run.config.dataDir, state: c.state, usage, pem: c.pem, now: run.now() }), () => `${c.info.subject}, SHA-256 ${c.info.fingerprintSha256}`);
      for (const w of r.warnings) run.say(`  warning: ${w}`);
      if (run.ctx.configPath) run.config = setPeerCertificate(run.ctx.configPath, c.state, usage, r.path);
    }
    added.push(`${c.state} ${c.usage}`);
  }
  run.done('peers', added.join(', '));
}

/** State (SAN e-mail address in a Prüm domain, else the subject's C) and use (key usage) of a peer's certificate. */
export function peerCandidate(pem: string, state: MemberStateCode | null, now = new Date()): PeerCandidate {
  const info = certificateInfo(pem, now);
  let code = state;
  if (!code) {
    for (const e of info.emails) {
      const m = /@(?:dna|fp|vrd)\.pruem\.([a-z]{2})\./i.exec(e);
      const cc = m?.[1]?.toUpperCase();
      const mapped = cc === 'GR' ? 'EL' : cc === 'GB' ? 'UK' : cc;
      if (mapped && isMemberStateCode(mapped)) code = mapped;
    }
  }
  if (!code) {
    const c = /(?:^|, )C=([A-Z]{2})/.exec(info.subject)?.[1];
    const mapped = c === 'GR' ? 'EL' : c === 'GB' ? 'UK' : c;
    if (mapped && isMemberStateCode(mapped)) code = mapped;
  }
  if (!code) throw new ProvisioningError('BAD_CERTIFICATE', `${info.subject}: cannot tell the Member State (no Prüm address, no C=); name it: CC=file`);
  const ku = keyUsageOf(pem);
  const signs = ku === null || (ku & (x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation)) !== 0;
  const encrypts = ku === null || (ku & x509.KeyUsageFlags.keyEncipherment) !== 0;
  return { state: code, usage: signs && encrypts ? 'both' : signs ? 'signing' : 'encryption', info, pem };
}

/** Adds the peer (or changes its certificate path) in the configuration file. */
export function setPeerCertificate(configPath: string, state: MemberStateCode, usage: 'signing' | 'encryption', path: string): GatewayConfig {
  return updateConfigFile(configPath, (raw) => {
    const peers = (Array.isArray(raw.peers) ? raw.peers : (raw.peers = [])) as Array<Record<string, unknown>>;
    let peer = peers.find((p) => p.code === state);
    if (!peer) {
      peer = { code: state };
      peers.push(peer);
    }
    const certs = obj(peer, 'certificates');
    certs[usage] = path;
  });
}

// ---------------------------------------------------------------------------------------------
// renewal
// ---------------------------------------------------------------------------------------------

/**
 * Renewal without downtime: a new key under `<label>~next` and its CSR, while the current key and
 * certificate keep serving. Importing the new certificate (provision with certificateFiles) switches.
 */
export async function renew(ctx: ProvisionContext, labels: readonly string[], subject?: ProvisionInput['subject']): Promise<ProvisionResult> {
  const run = new Run(ctx, ctx.token ?? null);
  try {
    run.refuseDevelopment();
    const token = await run.openToken();
    for (const label of labels) {
      const p = enabledPurposes(run.config).find((x) => x.label === label);
      if (!p) throw new ProvisioningError('CERT_MISMATCH', `no key "${label}" for this configuration (keys: ${enabledPurposes(run.config).map((x) => x.label).join(', ')})`);
      const next = run.record.renewals[label]?.next ?? `${label}~next`;
      run.record.renewals[label] = { next, at: run.now().toISOString() };
      run.save();
      await ensureKey(run, token, p, next);
      await writeCsr(run, token, p, next, subject);
    }
    const state = await provisioningState(run.config, token, run.now());
    return { config: run.config, record: run.record, state, csrs: run.csrs, summary: renderSummary(run.config, run.record, state) };
  } finally {
    if (run.ownToken) await run.token?.close();
  }
}

// ---------------------------------------------------------------------------------------------
// summary
// ---------------------------------------------------------------------------------------------

export function renderSummary(config: GatewayConfig, record: ProvisioningRecord, state: ProvisioningState): string {
  const lines: string[] = [];
  lines.push(`Prüm gateway ${config.memberState} (${config.agency}) — ${record.mode === 'development' ? 'DEVELOPMENT certificates, not for TESTA' : 'production'}`);
  lines.push(`token: "${config.token.label}" (${config.token.module}), PIN from ${'file' in config.token.pin ? `file ${config.token.pin.file}` : 'env' in config.token.pin ? `$${config.token.pin.env}` : 'the configuration (development)'}`);
  for (const p of enabledPurposes(config)) {
    const cert = record.certificates[p.label];
    const key = record.keys[p.label];
    const path = ownCertificatePath(config.dataDir, p.label);
    let certText = 'no certificate';
    if (existsSync(path)) {
      try {
        const i = certificateInfo(readFileSync(path, 'utf8'));
        certText = `${i.subject}, valid to ${i.notAfter.slice(0, 10)} (${i.daysLeft} days)`;
      } catch {
        certText = 'unreadable certificate';
      }
    }
    lines.push(`  ${p.label.padEnd(12)} ${p.title}: key ${key?.state ?? (existsSync(path) ? 'present' : 'missing')} (${p.store}), ${cert || existsSync(path) ? certText : 'no certificate'}${record.renewals[p.label] ? ' — renewal requested' : ''}`);
  }
  const chain = caChainPath(config.dataDir);
  lines.push(`national CA chain: ${existsSync(chain) ? `${splitPem(readFileSync(chain, 'utf8')).length} certificate(s)` : 'not imported'}`);
  lines.push(`peers: ${config.peers.map((p) => `${p.code}${p.certificates.signing || p.certificates.encryption ? '' : ' (no certificate)'}`).join(', ') || 'none'}`);
  lines.push(state.ready ? 'state: ready — the TESTA side is open' : 'state: NOT ready — missing:');
  for (const m of state.missing) lines.push(`  - ${m}`);
  for (const e of state.expiring) lines.push(`  ! ${e}`);
  return lines.join('\n');
}
