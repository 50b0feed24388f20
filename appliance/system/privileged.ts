/**
 * The daemon's one port for what needs root: mounting a USB drive for an audit export, unmounting it,
 * applying the management network, rebooting. Two implementations, chosen by `privileged.mode`:
 *
 * - `direct`: the daemon runs mount/umount/networkctl/systemctl itself (development machines, the
 *   demo, tests) — it must be root for the mount and the reboot;
 * - `requests`: the daemon, unprivileged in the image's sandbox, writes a request file into
 *   /run/pruem/requests/<kind> (atomically: a temp name, then a rename, so the path unit never sees
 *   half a file); `pruem-request@<kind>.path` starts the root helper (image/overlay/usr/lib/pruem/request.mjs),
 *   which accepts only these kinds with validated arguments, writes `<kind>.result` and deletes the request.
 *   The daemon waits for the result with a bounded timeout.
 *
 * Every outcome is a value with a code from a closed list; nothing here throws or hangs.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { run as defaultRun } from '../util/exec.js';
import { writeFileAtomic } from '../util/fs.js';
import { Mutex } from '../util/mutex.js';
import { fail, messageOf, ok, type Result } from '../util/result.js';
import { networkSettingsProblem, networkUnitFile, renderNetworkdUnit, type NetworkUnitSettings } from './networkd.js';

export const PRIVILEGED_ERROR_CODES = [
  /** The argument was refused before anything was asked (a device path that is not a USB disk's, a bad address). */
  'PRIVILEGED_INVALID',
  /** The root helper refused the request (not a USB drive, a file system it does not mount, an unknown kind). */
  'PRIVILEGED_REFUSED',
  /** The action ran and failed (mount error, networkctl error). */
  'PRIVILEGED_FAILED',
  /** No result within the timeout: the helper is not running or is stuck. */
  'PRIVILEGED_TIMEOUT',
  /** The request could not be made at all (request folder missing or not writable; no network folder configured). */
  'PRIVILEGED_UNAVAILABLE',
] as const;
export type PrivilegedErrorCode = (typeof PRIVILEGED_ERROR_CODES)[number];
export type PrivilegedResult<T> = Result<T, PrivilegedErrorCode>;

/** A mounted export drive: where it is mounted and the folder the daemon may write into. */
export interface MountedDrive {
  readonly mountPoint: string;
  /** The mount point itself, or a folder on it the helper made for the daemon (an ext4 drive's root is root's). */
  readonly dir: string;
}

export interface PrivilegedActions {
  readonly mode: 'direct' | 'requests';
  mountExportDevice(device: string, access: 'rw' | 'ro'): Promise<PrivilegedResult<MountedDrive>>;
  unmount(drive: MountedDrive): Promise<PrivilegedResult<void>>;
  applyNetwork(settings: NetworkUnitSettings): Promise<PrivilegedResult<void>>;
  /** Success means the reboot was accepted; the process is about to be stopped. */
  reboot(): Promise<PrivilegedResult<void>>;
}

/** The request kinds the image's helper knows (one path unit each). */
export const REQUEST_KINDS = ['usb-mount', 'usb-unmount', 'network-apply', 'reboot'] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

/** The devices the root helper mounts: a SCSI/USB disk or one of its partitions. */
export const EXPORT_DEVICE = /^\/dev\/sd[a-z][0-9]{0,3}$/;

type Runner = typeof defaultRun;

export interface DirectOptions {
  /** Where private mount points are made (default /run/pruem-audit). */
  readonly mountRoot?: string;
  /** Where the networkd unit is written (/etc/systemd/network on a plain Debian host); null: no network action. */
  readonly networkDir?: string | null;
  /** Run `networkctl reload` after writing the unit. */
  readonly networkReload?: boolean;
  readonly run?: Runner;
}

const why = (r: { code: number; stderr: string }): string => r.stderr.trim() || `exit ${r.code}`;

/** Today's behaviour: the daemon runs the tools itself (it must be root for mount and reboot). */
export function directPrivileged(opts: DirectOptions = {}): PrivilegedActions {
  const run = opts.run ?? defaultRun;
  const mountRoot = opts.mountRoot ?? '/run/pruem-audit';
  const attempt = async <T>(code: PrivilegedErrorCode, what: string, work: () => Promise<PrivilegedResult<T>>): Promise<PrivilegedResult<T>> => {
    try {
      return await work();
    } catch (e) {
      return fail(code, `${what}: ${messageOf(e)}`);
    }
  };
  return {
    mode: 'direct',
    mountExportDevice: (device, access) =>
      attempt('PRIVILEGED_FAILED', `mount ${device}`, async () => {
        if (!device.startsWith('/dev/') || device.includes('..')) return fail('PRIVILEGED_INVALID', `${device} is not a device path`);
        let mp: string;
        try {
          mkdirSync(mountRoot, { recursive: true, mode: 0o700 });
          mp = await mkdtemp(join(mountRoot, 'usb-'));
        } catch (e) {
          return fail('PRIVILEGED_UNAVAILABLE', `cannot create a mount point under ${mountRoot}: ${messageOf(e)}`);
        }
        const r = await run('mount', ['-o', `${access},nosuid,nodev,noexec`, device, mp], { timeoutMs: 60_000 });
        if (r.code !== 0) {
          await rmdir(mp).catch(() => undefined);
          return fail('PRIVILEGED_FAILED', `mount ${device}: ${why(r)}`);
        }
        return ok({ mountPoint: mp, dir: mp });
      }),
    unmount: (drive) =>
      attempt('PRIVILEGED_FAILED', `umount ${drive.mountPoint}`, async () => {
        const r = await run('umount', [drive.mountPoint], { timeoutMs: 120_000 });
        if (r.code !== 0) return fail('PRIVILEGED_FAILED', `umount ${drive.mountPoint}: ${why(r)}`);
        await rmdir(drive.mountPoint).catch(() => undefined);
        return ok(undefined);
      }),
    applyNetwork: (settings) =>
      attempt('PRIVILEGED_FAILED', 'network', async () => {
        const problem = networkSettingsProblem(settings);
        if (problem) return fail('PRIVILEGED_INVALID', problem);
        if (!opts.networkDir) return fail('PRIVILEGED_UNAVAILABLE', 'no network folder configured (privileged.networkDir)');
        writeFileAtomic(join(opts.networkDir, networkUnitFile(settings.interface)), renderNetworkdUnit(settings), 0o644);
        if (opts.networkReload) {
          const r = await run('networkctl', ['reload'], { timeoutMs: 15_000 });
          if (r.code !== 0) return fail('PRIVILEGED_FAILED', `networkctl reload: ${why(r)}`);
        }
        return ok(undefined);
      }),
    reboot: () =>
      attempt('PRIVILEGED_FAILED', 'reboot', async () => {
        const r = await run('systemctl', ['reboot'], { timeoutMs: 30_000 });
        return r.code === 0 ? ok(undefined) : fail('PRIVILEGED_FAILED', `systemctl reboot: ${why(r)}`);
      }),
  };
}

export interface RequestsOptions {
  /** The drop box the path units watch (default /run/pruem/requests). */
  readonly dir?: string;
  /** How long to wait for a result (default 120 s; a mount of a large drive may take a while). */
  readonly timeoutMs?: number;
  /** How often the result file is looked for (default 100 ms). */
  readonly pollMs?: number;
}

/** What the helper writes into `<kind>.result` (one JSON object). */
interface HelperResult {
  readonly id: string;
  readonly ok: boolean;
  readonly code?: string;
  readonly message?: string;
  readonly mountPoint?: string;
  readonly dir?: string;
}

function parseHelperResult(text: string): HelperResult | null {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null) return null;
    const r = v as Record<string, unknown>;
    if (typeof r['id'] !== 'string' || typeof r['ok'] !== 'boolean') return null;
    const s = (k: string) => (typeof r[k] === 'string' ? { [k]: r[k] as string } : {});
    return { id: r['id'], ok: r['ok'], ...s('code'), ...s('message'), ...s('mountPoint'), ...s('dir') };
  } catch {
    return null;
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The image's way: request files to the root helper. One request at a time (a mutex): the helper's
 * files are per kind, and an export's mount–write–unmount is sequential anyway.
 */
export function requestPrivileged(opts: RequestsOptions = {}): PrivilegedActions {
  const dir = opts.dir ?? '/run/pruem/requests';
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const pollMs = opts.pollMs ?? 100;
  const mutex = new Mutex();

  const ask = (kind: RequestKind, args: Record<string, unknown>): Promise<PrivilegedResult<HelperResult>> =>
    mutex.run(async () => {
      const id = randomBytes(8).toString('hex');
      const requestPath = join(dir, kind);
      const resultPath = `${requestPath}.result`;
      try {
        await rm(resultPath, { force: true });
        writeFileAtomic(requestPath, `${JSON.stringify({ id, kind, ...args })}\n`, 0o640);
      } catch (e) {
        return fail('PRIVILEGED_UNAVAILABLE', `cannot write the ${kind} request into ${dir}: ${messageOf(e)}`);
      }
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        let text: string | null = null;
        try {
          text = await readFile(resultPath, 'utf8');
        } catch {
          text = null; // not there yet
        }
        if (text !== null) {
          const r = parseHelperResult(text);
          // A result for another request (left over from before a restart) is not ours: drop it, keep waiting.
          if (r === null || r.id === id) {
            await unlink(resultPath).catch(() => undefined);
            if (r === null) return fail('PRIVILEGED_FAILED', `the ${kind} helper wrote an unreadable result`);
            if (r.ok) return ok(r);
            const message = r.message ?? 'no reason given';
            return fail(r.code === 'refused' ? 'PRIVILEGED_REFUSED' : 'PRIVILEGED_FAILED', `${kind}: ${message}`);
          }
          await unlink(resultPath).catch(() => undefined);
        }
        if (Date.now() >= deadline) {
          // Withdraw the request so a helper that starts late does not act on it.
          await unlink(requestPath).catch(() => undefined);
          return fail('PRIVILEGED_TIMEOUT', `no answer to the ${kind} request within ${Math.round(timeoutMs / 1000)} s (is pruem-request@${kind}.path active?)`);
        }
        await delay(Math.min(pollMs, Math.max(1, deadline - Date.now())));
      }
    });

  return {
    mode: 'requests',
    async mountExportDevice(device, access) {
      if (!EXPORT_DEVICE.test(device)) return fail('PRIVILEGED_INVALID', `${device} is not a USB disk or partition (/dev/sdX or /dev/sdXN)`);
      const r = await ask('usb-mount', { device, access });
      if (!r.ok) return r;
      if (!r.value.mountPoint) return fail('PRIVILEGED_FAILED', 'usb-mount: the helper did not say where it mounted the drive');
      return ok({ mountPoint: r.value.mountPoint, dir: r.value.dir ?? r.value.mountPoint });
    },
    async unmount() {
      const r = await ask('usb-unmount', {});
      return r.ok ? ok(undefined) : r;
    },
    async applyNetwork(settings) {
      const problem = networkSettingsProblem(settings);
      if (problem) return fail('PRIVILEGED_INVALID', problem);
      const r = await ask('network-apply', { interface: settings.interface, address: settings.address, gateway: settings.gateway, dns: [...settings.dns] });
      return r.ok ? ok(undefined) : r;
    },
    async reboot() {
      const r = await ask('reboot', {});
      return r.ok ? ok(undefined) : r;
    },
  };
}

export interface PrivilegedSettings {
  readonly mode: 'direct' | 'requests';
  readonly requestsDir: string;
  readonly timeoutSeconds: number;
  readonly networkDir: string | null;
}

/** The implementation the configuration names (`privileged` in config.json). */
export function privilegedActions(settings: PrivilegedSettings, direct: DirectOptions = {}): PrivilegedActions {
  return settings.mode === 'requests'
    ? requestPrivileged({ dir: settings.requestsDir, timeoutMs: settings.timeoutSeconds * 1000 })
    : directPrivileged({ networkDir: settings.networkDir, networkReload: settings.networkDir !== null, ...direct });
}

/** Turns a failed result into a thrown Error for ports whose callers expect exceptions (the API's callDependency). */
export function orThrow<T>(r: PrivilegedResult<T>): T {
  if (!r.ok) throw Object.assign(new Error(r.error.message), { code: r.error.code });
  return r.value;
}
