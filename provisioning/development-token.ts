import * as graphene from 'graphene-pk11';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, mkdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { GatewayConfig } from '../appliance/config/config.js';
import { readSecret } from '../appliance/config/config.js';
import { Token, TokenError, KEY_LABELS, derToPem, type TokenOpenOptions } from '../appliance/token/token.js';
import { acquireModule } from '../appliance/token/pkcs11-module.js';
import { readRecord } from './state.js';
import { pkcs11Name } from '../appliance/token/pkcs11-errors.js';
import {
  ProvisioningError,
  certificateInfo,
  createDevelopmentCertificate,
  parseCertificate,
  writeFileAtomic,
  type CertificateInfo,
} from './certificates.js';

/** Development certificates are renewed (same key) when fewer days than this are left. */
const RENEW_DAYS = 30;

export function isSoftHsmModule(module: string): boolean {
  return /softhsm/i.test(basename(module));
}

/** Where a development token lives when the configuration names no SoftHSM2 configuration. */
export function developmentSofthsmConf(config: GatewayConfig): string {
  return join(config.dataDir, 'softhsm', 'softhsm2.conf');
}

export function certsDir(config: GatewayConfig): string {
  return join(config.dataDir, 'certs');
}

/**
 * The options for Token.open from the configuration: the configured SoftHSM2 configuration, or
 * the development one in `<dataDir>/softhsm/` once ensureDevelopmentToken has made it.
 */
export function tokenOptionsFromConfig(config: GatewayConfig, extra: Partial<TokenOpenOptions> = {}): TokenOpenOptions {
  const t = config.token;
  let softhsmConf = t.softhsmConf;
  if (!softhsmConf && isSoftHsmModule(t.module) && existsSync(developmentSofthsmConf(config))) softhsmConf = developmentSofthsmConf(config);
  let pin: string;
  let pinUnavailable: string | undefined;
  try {
    pin = extra.pin ?? readSecret(t.pin);
  } catch (e) {
    // The daemon starts anyway (allowNotReady) and says why the token is locked; other callers need the PIN.
    if (!extra.allowNotReady) throw e;
    pin = '';
    pinUnavailable = `no PIN: ${(e as Error).message}`;
  }
  return {
    module: t.module,
    label: t.label,
    ...(t.slot !== undefined ? { slot: t.slot } : {}),
    pin,
    ...(pinUnavailable ? { pinUnavailable } : {}),
    ...(softhsmConf ? { softhsmConf } : {}),
    ...extra,
  };
}

export interface DevelopmentTokenResult {
  readonly status: 'created' | 'existing' | 'not-softhsm' | 'production';
  /** The SoftHSM2 configuration the daemon must open the token with (null when not SoftHSM2). */
  readonly softhsmConf: string | null;
  /** What this call changed, for the first-start log ("generated key ncp-sign", …). */
  readonly actions: readonly string[];
  readonly certificates: ReadonlyArray<{ label: string; path: string; info: CertificateInfo }>;
}

function writeConf(conf: string): void {
  const tokens = join(dirname(conf), 'tokens');
  mkdirSync(tokens, { recursive: true, mode: 0o700 });
  writeFileAtomic(conf, `# Development token of the Prüm gateway (made by provisioning/)\ndirectories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`, 0o600);
}

/** Random PIN of digits and letters; SoftHSM2 accepts 4–255 characters. */
function randomPin(): string {
  return randomBytes(12).toString('base64url').slice(0, 16);
}

/** The PIN: from the configured source, or generated into the configured PIN file (mode 0600) when allowed. */
function obtainPin(config: GatewayConfig, mayCreate: boolean, actions: string[]): string {
  const source = config.token.pin;
  if ('file' in source) {
    if (existsSync(source.file)) return readFileSync(source.file, 'utf8').trim();
    if (!mayCreate) {
      throw new ProvisioningError('PIN_FILE_MISSING', `token "${config.token.label}" exists but its PIN file ${source.file} is missing`);
    }
    const pin = randomPin();
    writeFileAtomic(source.file, `${pin}\n`, 0o600);
    actions.push(`wrote a random PIN to ${source.file} (mode 0600)`);
    return pin;
  }
  return readSecret(source);
}

function findSlotByLabel(module: graphene.Module, label: string): graphene.Slot | null {
  const slots = module.getSlots(true);
  for (let i = 0; i < slots.length; i++) {
    const s = slots.items(i);
    const t = s.getToken();
    if (t.flags & graphene.TokenFlag.TOKEN_INITIALIZED && t.label.trim() === label) return s;
  }
  return null;
}

/**
 * C_InitToken on a free SoftHSM2 slot, then C_InitPIN as SO. In-process (not softhsm2-util) because
 * SoftHSM2 sees tokens another process created only after C_Finalize/C_Initialize.
 */
function initialiseToken(module: graphene.Module, label: string, soPin: string, pin: string): void {
  const slots = module.getSlots(true);
  let free: graphene.Slot | null = null;
  for (let i = 0; i < slots.length && !free; i++) {
    const s = slots.items(i);
    if (!(s.getToken().flags & graphene.TokenFlag.TOKEN_INITIALIZED)) free = s;
  }
  if (!free) throw new ProvisioningError('TOKEN_INIT_FAILED', 'SoftHSM2 offers no free slot');
  // graphene's Slot.initToken() crashes on pkcs11js's return value; call the module directly.
  free.lib.C_InitToken(free.handle, soPin, label);
  const slot = findSlotByLabel(module, label);
  if (!slot) throw new ProvisioningError('TOKEN_INIT_FAILED', `token "${label}" not visible after C_InitToken`);
  initUserPinAsSo(slot, soPin, pin);
}

/** C_InitPIN: the Security Officer sets the user PIN of a freshly initialised (or reset) token. */
export function initUserPinAsSo(slot: graphene.Slot, soPin: string, pin: string): void {
  const session = slot.open(graphene.SessionFlag.SERIAL_SESSION | graphene.SessionFlag.RW_SESSION);
  try {
    session.login(soPin, graphene.UserType.SO);
    session.initPin(pin);
    session.logout();
  } finally {
    session.close();
  }
}

/**
 * First start with SoftHSM2: make the token in `<dataDir>/softhsm/` (private softhsm2.conf), a random
 * PIN in the configured PIN file, the three key pairs (ncp-sign, ncp-decrypt, audit) on the token and
 * self-signed DEVELOPMENT certificates for them (on the token and in `<dataDir>/certs/`).
 * Idempotent: later starts only repair what is missing (a key, a certificate, a PEM file) and renew
 * development certificates close to expiry; certificates imported from a CA are never touched.
 * Not for other modules (smartcards, HSMs): those are provisioned with generateCsr/importCertificate.
 */
export async function ensureDevelopmentToken(config: GatewayConfig, opts: { now?: Date; explicit?: boolean } = {}): Promise<DevelopmentTokenResult> {
  const now = opts.now ?? new Date();
  const actions: string[] = [];
  if (!isSoftHsmModule(config.token.module)) return { status: 'not-softhsm', softhsmConf: null, actions, certificates: [] };
  // A box provisioned for production (pruem provision) never gets development keys or certificates,
  // even on SoftHSM2: what is missing is reported instead.
  const record = readRecord(config.dataDir);
  if (record?.mode === 'production') return { status: 'production', softhsmConf: config.token.softhsmConf ?? null, actions, certificates: [] };
  // A SoftHSM2 token at a configured location is an installation's token (the appliance image's): development
  // keys and certificates only when asked for (pruem provision --development), never by a daemon's start.
  if (!opts.explicit && config.token.softhsmConf !== undefined && record?.mode !== 'development') {
    return { status: 'production', softhsmConf: config.token.softhsmConf, actions, certificates: [] };
  }

  const conf = config.token.softhsmConf ?? developmentSofthsmConf(config);
  if (!existsSync(conf)) {
    writeConf(conf);
    actions.push(`wrote ${conf}`);
  }
  let status: DevelopmentTokenResult['status'] = 'existing';
  const lease = acquireModule(config.token.module, conf);
  let pin: string;
  try {
    const exists = findSlotByLabel(lease.module, config.token.label) !== null;
    pin = obtainPin(config, !exists, actions);
    if (!exists) {
      const soPinFile = join(dirname(conf), 'so.pin');
      let soPin: string;
      if (existsSync(soPinFile)) soPin = readFileSync(soPinFile, 'utf8').trim();
      else {
        soPin = randomPin();
        writeFileAtomic(soPinFile, `${soPin}\n`, 0o600);
      }
      try {
        initialiseToken(lease.module, config.token.label, soPin, pin);
      } catch (e) {
        if (e instanceof ProvisioningError) throw e;
        throw new ProvisioningError('TOKEN_INIT_FAILED', `cannot initialise SoftHSM2 token "${config.token.label}": ${pkcs11Name(e)}`);
      }
      status = 'created';
      actions.push(`initialised SoftHSM2 token "${config.token.label}" in ${dirname(conf)}`);
    }
  } finally {
    lease.release();
  }

  const token = await Token.open({
    module: config.token.module,
    label: config.token.label,
    ...(config.token.slot !== undefined ? { slot: config.token.slot } : {}),
    pin,
    softhsmConf: conf,
  });
  try {
    const certificates = await provisionDevelopmentKeys(token, { memberState: config.memberState, certsDir: certsDir(config), now }, actions);
    return { status, softhsmConf: conf, actions, certificates };
  } finally {
    await token.close();
  }
}

/**
 * On an open token: the gateway's three key pairs and a development certificate for each one that has
 * none (or whose development certificate expires within 30 days), mirrored as `<certsDir>/<label>.pem`.
 * Also usable by tests and the console's "development setup" on any SoftHSM2 token.
 */
export async function provisionDevelopmentKeys(
  token: Token,
  opts: { memberState: GatewayConfig['memberState']; certsDir: string; now?: Date },
  actions: string[] = [],
): Promise<Array<{ label: string; path: string; info: CertificateInfo }>> {
  const now = opts.now ?? new Date();
  const out: Array<{ label: string; path: string; info: CertificateInfo }> = [];
  for (const label of [KEY_LABELS.sign, KEY_LABELS.decrypt, KEY_LABELS.audit]) {
    if (!(await token.hasPrivateKey(label))) {
      await token.generateKeyPair(label, { usage: label === KEY_LABELS.decrypt ? 'decrypt' : 'sign', bits: 2048 });
      actions.push(`generated RSA-2048 key pair "${label}" on the token`);
    }
    let pem = await token.certificatePem(label);
    const current = pem ? certificateInfo(pem, now) : null;
    const keyMatches = pem ? (await token.publicKey(label)).equals(parseCertificate(pem).publicKey) : false;
    const signCert = out.find((c) => c.label === KEY_LABELS.sign);
    if (!pem || !keyMatches || (current?.development && current.daysLeft < RENEW_DAYS)) {
      const issuer = label === KEY_LABELS.decrypt && signCert ? { label: KEY_LABELS.sign, pem: readFileSync(signCert.path, 'utf8') } : undefined;
      pem = await createDevelopmentCertificate(token, label, { memberState: opts.memberState, now, ...(issuer ? { issuer } : {}) });
      await token.storeCertificate(label, parseCertificate(pem).raw);
      actions.push(`${current ? 'renewed' : 'created'} development certificate "${label}"`);
    }
    const path = join(opts.certsDir, `${label}.pem`);
    const normalised = derToPem(parseCertificate(pem).raw);
    if (!existsSync(path) || readFileSync(path, 'utf8') !== normalised) {
      writeFileAtomic(path, normalised);
      actions.push(`wrote ${path}`);
    }
    out.push({ label, path, info: certificateInfo(pem, now) });
  }
  return out;
}

/**
 * The console's first-run "set up the token" step on SoftHSM2: store `pin` where the daemon reads it
 * (the configured PIN file) when no token exists yet, then ensureDevelopmentToken. On an existing
 * token the PIN must log in; it is then written to the PIN file.
 */
export async function setupDevelopmentToken(config: GatewayConfig, pin: string): Promise<DevelopmentTokenResult> {
  if (!isSoftHsmModule(config.token.module)) {
    throw new ProvisioningError('TOKEN_NOT_SOFTHSM', `${config.token.module} is not SoftHSM2: initialise the card with its own tools`);
  }
  const source = config.token.pin;
  if (!('file' in source)) return ensureDevelopmentToken(config, { explicit: true });
  const conf = config.token.softhsmConf ?? developmentSofthsmConf(config);
  if (existsSync(conf)) {
    const lease = acquireModule(config.token.module, conf);
    const exists = (() => {
      try {
        return findSlotByLabel(lease.module, config.token.label) !== null;
      } finally {
        lease.release();
      }
    })();
    if (exists) {
      // Not just a login: in a daemon whose Token is already logged in, any PIN would "log in".
      const t = await Token.open({ module: config.token.module, label: config.token.label, pin, softhsmConf: conf });
      try {
        if (!(await t.verifyPin(pin))) throw new TokenError('TOKEN_LOCKED', 'login refused: CKR_PIN_INCORRECT');
      } finally {
        await t.close();
      }
    }
  }
  writeFileAtomic(source.file, `${pin}\n`, 0o600);
  return ensureDevelopmentToken(config, { explicit: true });
}

// Kept for callers that want to write the SoftHSM2 configuration themselves (image build).
export { writeConf as writeSofthsmConf };
