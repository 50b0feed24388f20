/**
 * What lets the daemon start before it is provisioned and follow provisioning without a restart:
 *  - liveCertificate: the appliance's own certificate read from its file when used, re-read when the
 *    file changes (an import, a renewal's switch), absent until it is imported;
 *  - liveAuditSigner: the audit signer over such a certificate;
 *  - provisioningGate: holds the TESTA side (SMTP receiver, POP3, pipeline) closed until the keys and
 *    certificates are there, says what is missing, and opens it the moment they are.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { readSecret, type GatewayConfig } from '../appliance/config/config.js';
import type { Token } from '../appliance/token/token.js';
import type { AuditSigner } from '../appliance/audit/signer.js';
import { provisioningState, type ProvisioningState } from './production.js';

export class CertificateMissingError extends Error {
  readonly code = 'CERTIFICATE_MISSING';
}

/** Reads `path` when it changed since the last read (size + mtime); throws CertificateMissingError when absent. */
export function certificateFile(path: string): () => { pem: string; x509: X509Certificate } {
  let cached: { stamp: string; pem: string; x509: X509Certificate } | null = null;
  return () => {
    let stamp: string;
    try {
      const s = statSync(path);
      stamp = `${s.size}:${s.mtimeMs}:${s.ino}`;
    } catch {
      throw new CertificateMissingError(`certificate ${path} is not imported yet (pruem provision)`);
    }
    if (cached?.stamp !== stamp) {
      const pem = readFileSync(path, 'utf8');
      cached = { stamp, pem, x509: new X509Certificate(pem) };
    }
    return cached;
  };
}

/**
 * An X509Certificate that is always the file's current one. It passes `instanceof X509Certificate`,
 * so code that takes a parsed certificate once (the sealer) follows an import or a renewal.
 */
export function liveCertificate(path: string): X509Certificate {
  const current = certificateFile(path);
  return new Proxy(Object.create(X509Certificate.prototype) as X509Certificate, {
    get(_target, prop) {
      const real = current().x509;
      const value: unknown = Reflect.get(real, prop, real);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(real) : value;
    },
  });
}

/** The audit signer over the current audit certificate (`make` builds the token-backed signer for a certificate). */
export function liveAuditSigner(path: string, make: (certificatePem: string) => AuditSigner): AuditSigner {
  const current = certificateFile(path);
  let made: { pem: string; signer: AuditSigner } | null = null;
  const signer = (): AuditSigner => {
    const { pem } = current();
    if (made?.pem !== pem) made = { pem, signer: make(pem) };
    return made.signer;
  };
  return {
    get certificatePem() {
      return signer().certificatePem;
    },
    get chainPem() {
      return signer().chainPem;
    },
    signRaw: (data) => signer().signRaw(data),
    signCmsDetached: (data) => signer().signCmsDetached(data),
  };
}

export interface ProvisioningGate {
  /** The last check: ready, or what is missing. */
  current(): ProvisioningState;
  /** Checks now (after an import from the console or the serial console) and opens the TESTA side when ready. */
  check(): Promise<ProvisioningState>;
  stop(): void;
}

const POLL_MS = 5_000;
/** Once open, the state (expiry) is refreshed every this many polls (an hour). */
const REFRESH_EVERY = 720;

/**
 * Runs `open` once provisioning is complete: at once when it is, otherwise after the check that finds it
 * complete (polled every few seconds, so `pruem provision` in another process is noticed too).
 */
export async function provisioningGate(opts: {
  config: GatewayConfig;
  token: Token;
  open: () => Promise<void>;
  onWaiting?: (state: ProvisioningState) => void;
  onOpened?: () => void;
  onError?: (e: Error) => void;
  pollMs?: number;
}): Promise<ProvisioningGate> {
  let state = await provisioningState(opts.config, opts.token);
  let opened = false;
  let opening: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  const stop = () => {
    if (timer) clearInterval(timer);
    timer = null;
  };
  let ticks = 0;
  let lastPin: string | null = null;
  const check = async (): Promise<ProvisioningState> => {
    if (!opened && opts.token.status().state !== 'ready') {
      // The PIN source may have been written meanwhile (pruem provision): a PIN not tried yet is tried once;
      // a refused one is never retried (the Token keeps it locked), so a card is not walked into PIN lock.
      let pin: string | null = null;
      try {
        pin = readSecret(opts.config.token.pin);
      } catch {
        pin = null;
      }
      if (pin && pin !== lastPin) {
        lastPin = pin;
        await opts.token.setPin(pin).catch(() => undefined);
      } else await opts.token.reconnect().catch(() => undefined);
    }
    state = await provisioningState(opts.config, opts.token);
    if (state.ready && !opened) {
      opening ??= opts
        .open()
        .then(() => {
          opened = true;
          opts.onOpened?.();
        })
        .catch((e: Error) => {
          opts.onError?.(e);
        })
        .finally(() => {
          opening = null;
        });
      await opening;
    } else if (!state.ready) opts.onWaiting?.(state);
    return state;
  };
  if (state.ready) {
    await opts.open();
    opened = true;
  } else {
    opts.onWaiting?.(state);
  }
  // Until open: every few seconds. After: now and then, so expiry warnings in the status stay current.
  timer = setInterval(() => {
    ticks++;
    if (!opened || ticks % REFRESH_EVERY === 0) void check().catch(() => undefined);
  }, opts.pollMs ?? POLL_MS);
  timer.unref();
  return { current: () => state, check, stop };
}
