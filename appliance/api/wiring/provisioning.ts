import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import type { GatewayConfig } from '../../config/config.js';
import { channelAddress, type MailChannel } from '../../peers/member-states.js';
import { KEY_LABELS, type Token, type TokenStatus } from '../../token/token.js';
import {
  certificateInfo,
  certsDir,
  generateCsr,
  importCertificate,
  importPeerCertificate,
  ProvisioningError,
  setupDevelopmentToken,
  writeFileAtomic,
  type CertificateInfo as PemInfo,
} from '../../../provisioning/index.js';
import type { ProvisioningPort } from '../deps.js';
import { listenerTlsMode, selfSignedPaths } from '../../../provisioning/listener-tls.js';
import { provision, splitPem, type ProvisionContext, type ProvisioningAuditSink } from '../../../provisioning/production.js';
import { readRecord } from '../../../provisioning/state.js';
import type { CertificateInfo, CertificateUsage, CsrRequest, TokenState } from '../wire.js';

const LABEL_OF: Record<CsrRequest['usage'], string> = { signing: KEY_LABELS.sign, encryption: KEY_LABELS.decrypt, audit: KEY_LABELS.audit };
const USAGE_OF: Record<string, CertificateUsage> = { [KEY_LABELS.sign]: 'signing', [KEY_LABELS.decrypt]: 'encryption', [KEY_LABELS.audit]: 'audit' };

/** An error the API reports with one of its own codes (validate.ts passes these through). */
function coded(code: 'CERTIFICATE_INVALID' | 'TOKEN_PIN_INVALID' | 'TOKEN_UNAVAILABLE' | 'VALIDATION_FAILED' | 'NOT_CONFIGURED', message: string): Error {
  return Object.assign(new Error(message), { code });
}

function mapProvisioningError(e: unknown): unknown {
  if (e instanceof ProvisioningError) {
    switch (e.code) {
      case 'BAD_CERTIFICATE':
      case 'CERT_EXPIRED':
      case 'CERT_NOT_YET_VALID':
      case 'CERT_MISMATCH':
      case 'WEAK_KEY':
        return coded('CERTIFICATE_INVALID', `${e.code}: ${e.message}`);
      case 'TOKEN_NOT_SOFTHSM':
        return coded('NOT_CONFIGURED', e.message);
      default:
        return coded('TOKEN_UNAVAILABLE', `${e.code}: ${e.message}`);
    }
  }
  const code = (e as { code?: unknown })?.code;
  if (code === 'PIN_INCORRECT' || code === 'PIN_INVALID' || /CKR_PIN_(INCORRECT|INVALID|LEN_RANGE)/.test(String((e as Error)?.message))) {
    return coded('TOKEN_PIN_INVALID', (e as Error).message);
  }
  return e;
}

async function mapped<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    throw mapProvisioningError(e);
  }
}

function view(info: PemInfo, extra: { id: string; owner: 'own' | 'peer'; state: CertificateInfo['state']; usage: CertificateUsage; keyOnToken: boolean }): CertificateInfo {
  return {
    ...extra,
    subject: info.subject,
    issuer: info.issuer,
    serialNumber: info.serialNumber,
    notBefore: info.notBefore,
    notAfter: info.notAfter,
    fingerprintSha256: info.fingerprintSha256,
    development: info.development,
  };
}

export interface ProvisioningWiring {
  readonly token: Token;
  /** The configuration file (production provisioning writes it). */
  readonly configPath?: string | null;
  /** Production provisioning steps for the audit log (the routes record the console action itself). */
  readonly audit?: ProvisioningAuditSink;
  /** After an import: the daemon checks at once whether the TESTA side can open. */
  readonly onProvisioned?: () => void;
  /** The configuration as it is now (it changes through the console). */
  readonly config: () => GatewayConfig;
  readonly now?: () => Date;
}

function productionContext(w: ProvisioningWiring): ProvisionContext {
  return { configPath: w.configPath ?? null, config: w.config(), token: w.token, audit: w.audit ?? (() => undefined) };
}

/** The console's token and certificate operations, on the provisioning/ library and the daemon's Token. */
export function provisioningPort(w: ProvisioningWiring): ProvisioningPort {
  const now = w.now ?? (() => new Date());
  return {
    tokenState: async () => toTokenState(w.token.status()),

    async certificates(): Promise<CertificateInfo[]> {
      const out: CertificateInfo[] = [];
      const config = w.config();
      for (const label of Object.values(KEY_LABELS)) {
        const pem = await w.token.certificatePem(label).catch(() => null);
        if (!pem) continue;
        out.push(view(certificateInfo(pem, now()), { id: `own:${label}`, owner: 'own', state: config.memberState, usage: USAGE_OF[label] ?? 'other', keyOnToken: true }));
      }
      // The console's HTTPS certificate: listed so its expiry is watched like the others (a self-signed one
      // is renewed by the daemon; the agency's own must be replaced by hand).
      const tls = listenerTlsMode(config.listen.api);
      if (tls !== 'off') {
        const path = tls === 'self-signed' ? selfSignedPaths(config.dataDir).certificate : tls.certificate;
        try {
          out.push(view(certificateInfo(readFileSync(path, 'utf8'), now()), { id: 'own:management-tls', owner: 'own', state: config.memberState, usage: 'management', keyOnToken: false }));
        } catch {
          // Not made yet (the daemon makes it when it starts) or unreadable: the daemon reports that at start.
        }
      }
      for (const peer of config.peers) {
        for (const usage of ['signing', 'encryption'] as const) {
          const path = peer.certificates[usage];
          if (!path) continue;
          try {
            out.push(view(certificateInfo(readFileSync(path, 'utf8'), now()), { id: `peer:${peer.code}:${usage}`, owner: 'peer', state: peer.code, usage, keyOnToken: false }));
          } catch {
            // A missing or unreadable peer file is the peer directory's problem to report; not listed here.
          }
        }
      }
      return out;
    },

    generateCsr: (request) =>
      mapped(async () => {
        const label = LABEL_OF[request.usage];
        if (readRecord(w.config().dataDir)?.mode === 'production') {
          // A production box: the keys and requests of provisioning/production.ts (the decryption key signs its own).
          const r = await provision(productionContext(w), { keys: true, subject: { organization: request.organization } });
          const csr = r.csrs.find((c) => c.label === label);
          if (!csr) throw coded('VALIDATION_FAILED', `no ${request.usage} key in this configuration`);
          return { usage: request.usage, subject: csr.subject, pem: readFileSync(csr.path, 'utf8'), keyLabel: label };
        }
        if (request.usage === 'encryption') {
          // ncp-decrypt is decrypt-only on the token (key separation): it cannot sign the PKCS#10
          // proof of possession (CKR_KEY_FUNCTION_NOT_PERMITTED). Said plainly instead of a PKCS#11 code.
          throw coded('VALIDATION_FAILED', 'the encryption key is decrypt-only on the token and cannot sign a certificate request; its certificate is issued against the signing key\'s request (see provisioning/)');
        }
        const exists = await w.token.hasPrivateKey(label);
        if (exists && request.newKey) {
          throw coded('VALIDATION_FAILED', `the token already holds the ${request.usage} key "${label}"; renew with the existing key (key roll-over is not done from the console)`);
        }
        if (!exists) await w.token.generateKeyPair(label, { usage: 'sign', bits: 3072 });
        const config = w.config();
        const emails = request.usage === 'audit' ? [] : (['dna', 'fp'] as MailChannel[]).map((c) => channelAddress(c, config.memberState));
        const subject: Array<Record<string, string[]>> = [{ C: [request.country] }, { O: [request.organization] }, { CN: [request.commonName] }];
        const pem = await generateCsr(w.token, label, subject, { emails });
        return { usage: request.usage, subject: `C=${request.country}, O=${request.organization}, CN=${request.commonName}`, pem, keyLabel: label };
      }),

    importCertificate: (pem) =>
      mapped(async () => {
        if (readRecord(w.config().dataDir)?.mode === 'production') {
          // The upload may carry the national chain with the answer: the administrator imports both, explicitly.
          const parts = splitPem(pem);
          const isCa = (p: string) => new X509Certificate(p).ca;
          const r = await provision(productionContext(w), { caPems: parts.filter(isCa), certificatePems: parts.filter((p) => !isCa(p)) });
          const uploaded = new Set(splitPem(pem).map((p) => certificateInfo(p).fingerprintSha256));
          const changed = Object.values(r.record.certificates).find((c) => uploaded.has(c.fingerprintSha256));
          if (!changed) throw coded('CERTIFICATE_INVALID', 'only CA certificates were uploaded: the national chain is stored, now upload the appliance\'s own certificate');
          w.onProvisioned?.();
          return view(certificateInfo(readFileSync(changed.path, 'utf8'), now()), { id: `own:${changed.label}`, owner: 'own', state: w.config().memberState, usage: USAGE_OF[changed.label] ?? 'other', keyOnToken: true });
        }
        const r = await importCertificate(w.token, null, pem, { certsDir: certsDir(w.config()), now: now() });
        return view(r.info, { id: `own:${r.label}`, owner: 'own', state: w.config().memberState, usage: USAGE_OF[r.label] ?? 'other', keyOnToken: true });
      }),

    importPeerCertificate: (state, usage, pem) =>
      mapped(async () => {
        const r = await importPeerCertificate({ dataDir: w.config().dataDir, state, usage, pem, now: now() });
        return { certificate: view(r.info, { id: `peer:${state}:${usage}`, owner: 'peer', state, usage, keyOnToken: false }), path: r.path, warnings: r.warnings };
      }),

    setupToken: (pin) =>
      mapped(async () => {
        const config = w.config();
        try {
          await setupDevelopmentToken(config, pin);
        } catch (e) {
          if (!(e instanceof ProvisioningError && e.code === 'TOKEN_NOT_SOFTHSM')) throw e;
          // A smartcard or HSM comes initialised: the PIN must log in, then it is stored for the daemon.
          const status = await w.token.setPin(pin);
          if (status.state !== 'ready') throw coded('TOKEN_PIN_INVALID', status.detail);
          if ('file' in config.token.pin) writeFileAtomic(config.token.pin.file, `${pin}\n`, 0o600);
        }
        const status = await w.token.setPin(pin);
        if (status.state !== 'ready') throw coded(status.state === 'pin-blocked' || status.state === 'locked' ? 'TOKEN_PIN_INVALID' : 'TOKEN_UNAVAILABLE', status.detail);
        return toTokenState(status);
      }),
  };
}

export function toTokenState(s: TokenStatus): TokenState {
  return {
    present: s.state !== 'absent',
    initialized: s.state !== 'absent',
    loggedIn: s.state === 'ready',
    pinLocked: s.state === 'pin-blocked',
    label: s.label,
    manufacturer: s.manufacturer,
    model: s.model,
    serial: s.serialNumber,
    detail: `${s.state}: ${s.detail}`,
  };
}
