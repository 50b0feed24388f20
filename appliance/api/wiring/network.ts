import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runOk } from '../../util/exec.js';
import { networkUnitFile, parseNetworkdUnit, renderNetworkdUnit } from '../../system/networkd.js';
import { directPrivileged, orThrow, type PrivilegedActions } from '../../system/privileged.js';
import type { NetworkPort } from '../deps.js';

export { parseNetworkdUnit, renderNetworkdUnit };

/**
 * The management interface as a systemd-networkd unit in `dir` (read back from there). Applying it
 * is a privileged action: by default this process writes the unit into `dir` and, with `reload`, asks
 * networkd to apply it (tests and development machines pass none); with `privileged` the action goes
 * through that port (the image: a request to the root helper, which writes the unit on the data partition).
 */
export function networkdPort(opts: { dir: string; interface: string; reload?: () => Promise<void>; privileged?: Pick<PrivilegedActions, 'applyNetwork'> }): NetworkPort {
  const path = join(opts.dir, networkUnitFile(opts.interface));
  const direct = directPrivileged({ networkDir: opts.dir });
  return {
    async current() {
      // The configured interface's unit, else the one the wizard last wrote (the helper keeps one).
      const other = existsSync(opts.dir) ? readdirSync(opts.dir).filter((f) => /^10-pruem-.+\.network$/.test(f)).sort()[0] : undefined;
      const file = existsSync(path) ? path : other ? join(opts.dir, other) : null;
      return file ? parseNetworkdUnit(readFileSync(file, 'utf8')) : null;
    },
    async apply(settings) {
      orThrow(await (opts.privileged ?? direct).applyNetwork(settings));
      if (!opts.privileged) await opts.reload?.();
    },
  };
}

export const networkctlReload = (): Promise<void> => runOk('networkctl', ['reload'], { timeoutMs: 15_000 }).then(() => undefined);
