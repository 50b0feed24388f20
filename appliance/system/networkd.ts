/**
 * The management interface as a systemd-networkd unit: one fixed template, filled only from checked
 * values. Pure; shared by the daemon's `direct` network action and mirrored by the image's root helper
 * (image/overlay/usr/lib/pruem/request.mjs renders the same text from a request it validated itself).
 */
import { ipv4 } from '../config/config.js';

export interface NetworkUnitSettings {
  readonly interface: string;
  /** CIDR, e.g. 10.1.2.3/24 */
  readonly address: string;
  readonly gateway: string | null;
  readonly dns: readonly string[];
}

export const INTERFACE_NAME = /^[A-Za-z0-9._-]{1,15}$/;

/** Why the settings cannot become a unit, or null when they can. */
export function networkSettingsProblem(s: NetworkUnitSettings): string | null {
  if (!INTERFACE_NAME.test(s.interface)) return `interface name ${JSON.stringify(s.interface)} is not a network interface name`;
  if (!ipv4(s.address, true)) return `address ${JSON.stringify(s.address)} is not an IPv4 address with prefix`;
  if (s.gateway !== null && !ipv4(s.gateway, false)) return `gateway ${JSON.stringify(s.gateway)} is not an IPv4 address`;
  if (s.dns.length > 3) return 'at most three DNS servers';
  const bad = s.dns.find((d) => !ipv4(d, false));
  return bad === undefined ? null : `DNS server ${JSON.stringify(bad)} is not an IPv4 address`;
}

export const networkUnitFile = (iface: string): string => `10-pruem-${iface}.network`;

export function renderNetworkdUnit(s: NetworkUnitSettings): string {
  return [
    '# Written by the Prüm gateway console (first-run wizard). Changes here are overwritten there.',
    '[Match]',
    `Name=${s.interface}`,
    '',
    '[Network]',
    `Address=${s.address}`,
    ...(s.gateway ? [`Gateway=${s.gateway}`] : []),
    ...s.dns.map((d) => `DNS=${d}`),
    '',
  ].join('\n');
}

export function parseNetworkdUnit(text: string): NetworkUnitSettings | null {
  const value = (key: string) => [...text.matchAll(new RegExp(`^${key}=(.+)$`, 'gm'))].map((m) => (m[1] ?? '').trim());
  const name = value('Name')[0];
  const address = value('Address')[0];
  if (!name || !address) return null;
  return { interface: name, address, gateway: value('Gateway')[0] ?? null, dns: value('DNS') };
}
