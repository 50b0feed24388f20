/**
 * What the appliance needs a key and a certificate for, and which of those the configuration enables.
 * One entry per key: its label (on the token, or a file for TLS), the certificate's key usage and
 * extended key usage, and the names the certificate must carry.
 *
 * Choices:
 *  - DNA and fingerprint mail share the NCP keys (`ncp-sign`, `ncp-decrypt`): the pipeline signs and
 *    decrypts every mail channel with one certificate, which names the dna. and (when the fingerprint
 *    channel is used) the fp. address.
 *  - TLS keys (vehicle channel, console) are files, mode 0600: Node's TLS stack cannot hand a handshake
 *    signature to a PKCS#11 token. They protect a transport, not a Prüm message; the vehicle XML
 *    signing key (the message) is on the token.
 */
import { isIP } from 'node:net';
import type { GatewayConfig } from '../appliance/config/config.js';
import { KEY_LABELS } from '../appliance/token/token.js';
import { channelAddress } from '../appliance/peers/member-states.js';
import { listenerTlsMode } from './listener-tls.js';

export type PurposeId = 'mail-sign' | 'mail-decrypt' | 'audit' | 'vehicle-tls' | 'vehicle-sign' | 'console-tls';

export interface Purpose {
  readonly id: PurposeId;
  readonly label: string;
  readonly title: string;
  readonly store: 'token' | 'file';
  /** On the token: 'sign' keys sign; 'decrypt' keys decrypt and may sign only their own CSR (see token.generateKeyPair). */
  readonly tokenUsage: 'sign' | 'decrypt';
  readonly keyUsage: readonly ('digitalSignature' | 'nonRepudiation' | 'keyEncipherment')[];
  readonly extendedKeyUsage: readonly ('emailProtection' | 'serverAuth' | 'clientAuth')[];
  readonly emails: readonly string[];
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
}

export const VEHICLE_TLS_LABEL = 'vrd-tls';
export const VEHICLE_SIGN_LABEL = 'vrd-sign';
export const CONSOLE_TLS_LABEL = 'console-tls';

/** Whether any peer asks for the vehicle channel (set explicitly, since the Annex gives it no address). */
export function vehicleEnabled(config: GatewayConfig): boolean {
  return config.peers.some((p) => p.channels.vrd !== undefined && p.channels.vrd.enabled);
}

function fpEnabled(config: GatewayConfig): boolean {
  return config.peers.length === 0 || config.peers.some((p) => p.channels.fp?.enabled ?? true);
}

export function enabledPurposes(config: GatewayConfig): Purpose[] {
  const ms = config.memberState;
  const emails = [channelAddress('dna', ms), ...(fpEnabled(config) ? [channelAddress('fp', ms)] : [])];
  const gateway = `gateway.${ms.toLowerCase()}.pruem.local`;
  const out: Purpose[] = [
    { id: 'mail-sign', label: KEY_LABELS.sign, title: 'DNA and fingerprint mail signing', store: 'token', tokenUsage: 'sign', keyUsage: ['digitalSignature', 'nonRepudiation'], extendedKeyUsage: ['emailProtection'], emails, dnsNames: [], ipAddresses: [] },
    { id: 'mail-decrypt', label: KEY_LABELS.decrypt, title: 'DNA and fingerprint mail decryption', store: 'token', tokenUsage: 'decrypt', keyUsage: ['keyEncipherment'], extendedKeyUsage: ['emailProtection'], emails, dnsNames: [], ipAddresses: [] },
    { id: 'audit', label: KEY_LABELS.audit, title: 'audit log signing', store: 'token', tokenUsage: 'sign', keyUsage: ['digitalSignature', 'nonRepudiation'], extendedKeyUsage: [], emails: [], dnsNames: [], ipAddresses: [] },
  ];
  if (vehicleEnabled(config)) {
    out.push(
      { id: 'vehicle-tls', label: VEHICLE_TLS_LABEL, title: 'vehicle channel TLS', store: 'file', tokenUsage: 'sign', keyUsage: ['digitalSignature', 'keyEncipherment'], extendedKeyUsage: ['serverAuth', 'clientAuth'], emails: [], dnsNames: [`vrd.${gateway}`], ipAddresses: [] },
      { id: 'vehicle-sign', label: VEHICLE_SIGN_LABEL, title: 'vehicle XML signing', store: 'token', tokenUsage: 'sign', keyUsage: ['digitalSignature', 'nonRepudiation'], extendedKeyUsage: [], emails: [], dnsNames: [], ipAddresses: [] },
    );
  }
  if (listenerTlsMode(config.listen.api) !== 'off') {
    const host = config.listen.api.host;
    const named = host !== '0.0.0.0' && host !== '::';
    out.push({
      id: 'console-tls',
      label: CONSOLE_TLS_LABEL,
      title: 'console TLS',
      store: 'file',
      tokenUsage: 'sign',
      keyUsage: ['digitalSignature', 'keyEncipherment'],
      extendedKeyUsage: ['serverAuth'],
      emails: [],
      dnsNames: [gateway, ...(named && !isIP(host) ? [host] : [])],
      ipAddresses: named && isIP(host) ? [host] : [],
    });
  }
  return out;
}

export function purposeByLabel(config: GatewayConfig, label: string): Purpose | undefined {
  return enabledPurposes(config).find((p) => p.label === label || p.id === label);
}
