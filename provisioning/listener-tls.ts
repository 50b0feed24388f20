/**
 * The certificate the appliance's HTTPS listeners are served with: the management interface (console
 * and API) and the officers' API on the police LAN (it carries DNA profiles and officers' names).
 *
 * Either the operator's own (a certificate from the agency's CA, configured by path, per listener), or
 * one the appliance makes for itself on first start and both listeners share: an ECDSA P-256 key and a
 * self-signed certificate in `<dataDir>/tls/`, naming the addresses of both (and of the vehicle service's listener). A self-signed certificate is
 * trusted by checking its SHA-256 fingerprint, which the daemon logs at every start and the console's
 * Certificates page shows, against what the browser or client sees.
 * This key is a software key on purpose: it protects HTTPS sessions on the appliance's own LANs, not Prüm
 * traffic, and the token's keys may only sign and decrypt Prüm messages.
 */
import 'reflect-metadata';
import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import type { GatewayConfig } from '../appliance/config/config.js';
import { writeFileAtomic } from './certificates.js';

export interface ListenerTls {
  readonly key: Buffer;
  readonly cert: Buffer;
  /** SHA-256 of the certificate, colon-separated hex as browsers show it. */
  readonly fingerprint: string;
  readonly source: 'configured' | 'self-signed';
  readonly certificatePath: string;
}

export type ListenerTlsResult = { readonly ok: true; readonly tls: ListenerTls | null } | { readonly ok: false; readonly error: string };

const LOOPBACK = /^(127\.|::1$|localhost$)/i;

type Listener = GatewayConfig['listen']['api'];

/** Whether a listener is served over HTTPS, and with which certificate. */
export function listenerTlsMode(listener: Listener): 'off' | 'self-signed' | { certificate: string; key: string } {
  // Unset: plain HTTP only on loopback (a development machine, or behind the box's own console);
  // on any other address passwords, session cookies and DNA profiles would cross the network in clear.
  if (listener.tls === undefined) return LOOPBACK.test(listener.host) ? 'off' : 'self-signed';
  return listener.tls;
}

export function selfSignedPaths(dataDir: string): { key: string; certificate: string } {
  return { key: join(dataDir, 'tls', 'management-key.pem'), certificate: join(dataDir, 'tls', 'management-cert.pem') };
}

/**
 * The TLS key and certificate for a listener (default: the management interface; null: plain HTTP),
 * making the self-signed pair on first use. A configured pair is checked: readable, a certificate valid
 * now, and the key its own.
 */
export async function loadListenerTls(config: GatewayConfig, now = new Date(), listener: Listener = config.listen.api): Promise<ListenerTlsResult> {
  const mode = listenerTlsMode(listener);
  if (mode === 'off') return { ok: true, tls: null };
  const paths = mode === 'self-signed' ? selfSignedPaths(config.dataDir) : mode;
  if (mode === 'self-signed' && !usable(paths, now, addressesOf(config))) await createSelfSigned(config, paths, now);
  let key: Buffer;
  let cert: Buffer;
  try {
    key = readFileSync(paths.key);
    cert = readFileSync(paths.certificate);
  } catch (e) {
    return { ok: false, error: `management TLS: ${(e as Error).message}` };
  }
  let parsed: X509Certificate;
  try {
    parsed = new X509Certificate(cert);
  } catch (e) {
    return { ok: false, error: `management TLS: ${paths.certificate} is not a PEM certificate (${(e as Error).message})` };
  }
  if (now < new Date(parsed.validFrom) || now > new Date(parsed.validTo)) {
    return { ok: false, error: `management TLS: ${paths.certificate} is valid ${parsed.validFrom} – ${parsed.validTo}, not now` };
  }
  try {
    if (!parsed.checkPrivateKey(createPrivateKey(key))) return { ok: false, error: `management TLS: ${paths.key} is not the key of ${paths.certificate}` };
  } catch (e) {
    return { ok: false, error: `management TLS: ${paths.key} is not a PEM private key (${(e as Error).message})` };
  }
  return { ok: true, tls: { key, cert, fingerprint: parsed.fingerprint256, source: mode === 'self-signed' ? 'self-signed' : 'configured', certificatePath: paths.certificate } };
}

/** The addresses a self-signed certificate must name: every listener's that is one (not a wildcard or loopback). */
function addressesOf(config: GatewayConfig): x509.JsonGeneralName[] {
  // The vehicle service's TESTA-side listener shares the self-signed pair: partners connect to its address.
  const hosts = [config.listen.api.host, config.listen.officers?.host, config.vehicle.listen?.host].filter((h): h is string => h !== undefined);
  const out: x509.JsonGeneralName[] = [];
  for (const host of new Set(hosts)) {
    if (LOOPBACK.test(host) || host === '0.0.0.0' || host === '::') continue;
    out.push(isIP(host) ? { type: 'ip', value: host } : { type: 'dns', value: host });
  }
  return out;
}

/**
 * A self-signed pair exists, stays valid for another month and names every listener's address; otherwise a
 * new one is made (a new fingerprint, logged).
 */
function usable(paths: { key: string; certificate: string }, now: Date, addresses: readonly x509.JsonGeneralName[]): boolean {
  if (!existsSync(paths.key) || !existsSync(paths.certificate)) return false;
  try {
    const cert = new X509Certificate(readFileSync(paths.certificate));
    const names = cert.subjectAltName ?? '';
    const named = addresses.every((a) => names.includes(a.type === 'ip' ? `IP Address:${a.value}` : `DNS:${a.value}`));
    return named && now >= new Date(cert.validFrom) && now.getTime() + 30 * 86_400_000 < new Date(cert.validTo).getTime();
  } catch {
    return false;
  }
}

async function createSelfSigned(config: GatewayConfig, paths: { key: string; certificate: string }, now: Date): Promise<void> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const names: x509.JsonGeneralName[] = [
    { type: 'dns', value: hostname() },
    { type: 'dns', value: `gateway.${config.memberState.toLowerCase()}.pruem.local` },
    { type: 'dns', value: 'localhost' },
    { type: 'ip', value: '127.0.0.1' },
    // The addresses technicians and officers' systems connect to.
    ...addressesOf(config),
  ];
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: `01${Buffer.from(webcrypto.getRandomValues(new Uint8Array(15))).toString('hex')}`,
      name: `CN=${config.memberState} Prüm gateway`,
      notBefore: new Date(now.getTime() - 3_600_000),
      // Browsers refuse server certificates valid for more than 398 days.
      notAfter: new Date(now.getTime() + 397 * 86_400_000),
      keys,
      signingAlgorithm: algorithm,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(names),
      ],
    },
    webcrypto as unknown as Crypto,
  );
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
  writeFileAtomic(paths.key, keyPem, 0o600);
  writeFileAtomic(paths.certificate, `${cert.toString('pem')}\n`);
}
