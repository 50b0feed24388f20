import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../../util/fs.js';
import { join } from 'node:path';
import { runOk } from '../../util/exec.js';
import type { NetworkPort } from '../deps.js';
import type { NetworkSettings } from '../wire.js';

const FILE = (iface: string) => `10-pruem-${iface}.network`;

/** The management interface as a systemd-networkd unit (the appliance image uses networkd). Pure. */
export function renderNetworkdUnit(s: NetworkSettings): string {
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

export function parseNetworkdUnit(text: string): NetworkSettings | null {
  const value = (key: string) => [...text.matchAll(new RegExp(`^${key}=(.+)$`, 'gm'))].map((m) => (m[1] ?? '').trim());
  const name = value('Name')[0];
  const address = value('Address')[0];
  if (!name || !address) return null;
  return { interface: name, address, gateway: value('Gateway')[0] ?? null, dns: value('DNS') };
}

/**
 * Writes the unit into `dir` (/etc/systemd/network on the appliance) and asks networkd to apply
 * it. The reload is a parameter: tests and development machines pass none.
 */
export function networkdPort(opts: { dir: string; interface: string; reload?: () => Promise<void> }): NetworkPort {
  const path = join(opts.dir, FILE(opts.interface));
  return {
    async current() {
      return existsSync(path) ? parseNetworkdUnit(readFileSync(path, 'utf8')) : null;
    },
    async apply(settings) {
      writeFileAtomic(join(opts.dir, FILE(settings.interface)), renderNetworkdUnit(settings), 0o644);
      await opts.reload?.();
    },
  };
}

export const networkctlReload = (): Promise<void> => runOk('networkctl', ['reload'], { timeoutMs: 15_000 }).then(() => undefined);
