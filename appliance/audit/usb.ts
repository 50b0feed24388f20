import { createHash, randomBytes } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, relative } from 'node:path';
import { run as defaultRun } from '../util/exec.js';
import { directPrivileged, type MountedDrive, type PrivilegedActions } from '../system/privileged.js';
import { fail, ok, type Outcome } from './errors.js';
import { exportBundle, type ExportOptions, type ExportResult } from './export.js';
import type { AuditLog } from './log.js';
import { verifyBundle, type VerifyReport } from './verify-audit.mjs';

/**
 * Writing an export to a removable drive: detect removable block devices, mount the chosen one
 * on a private mount point, write the bundle, flush, unmount, mount again read-only and verify
 * what the drive now holds (the remount drops the page cache, so the check reads the device),
 * unmount. The mounts go through the privileged port (appliance/system/privileged.ts).
 */

export const LSBLK_COLUMNS = 'NAME,PATH,RM,HOTPLUG,TRAN,SIZE,TYPE,MOUNTPOINT,FSTYPE,LABEL';

export interface BlockDevice {
  name: string;
  path: string;
  removable: boolean;
  hotplug: boolean;
  /** usb, sata, nvme… or null (virtual devices). */
  transport: string | null;
  sizeBytes: number;
  /** disk, part, loop, rom… */
  type: string;
  mountpoint: string | null;
  fstype: string | null;
  label: string | null;
  /** The whole disk a partition belongs to. */
  parent: string | null;
  /** Partitions of a disk. */
  children: string[];
}

type Runner = typeof defaultRun;

export interface DeviceDeps {
  run?: Runner;
  /** Who mounts and unmounts (default: this process, with mount/umount). */
  privileged?: Pick<PrivilegedActions, 'mountExportDevice' | 'unmount'>;
}

/** Paths of mounted file systems the appliance itself runs from; their disks are never offered. */
const SYSTEM_MOUNTS = new Set(['/', '/boot', '/boot/efi', '/efi', '/usr', '/var', '/home', '[SWAP]']);

function bool(v: unknown): boolean {
  return v === true || v === 1 || v === '1' || v === 'true';
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 ? v : null;
}

/**
 * Parses `lsblk -J -b -o NAME,PATH,RM,HOTPLUG,TRAN,SIZE,TYPE,MOUNTPOINT,FSTYPE,LABEL` (nested
 * children) into a flat list. util-linux 2.38 writes booleans and numbers; older versions write
 * "0"/"1" and strings — both are accepted.
 */
export function parseLsblk(json: string): Outcome<BlockDevice[]> {
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch {
    return fail('DEVICE_LIST_FAILED', 'lsblk output is not JSON');
  }
  const top = (doc as { blockdevices?: unknown }).blockdevices;
  if (!Array.isArray(top)) return fail('DEVICE_LIST_FAILED', 'lsblk output has no blockdevices');
  const out: BlockDevice[] = [];
  const walk = (items: unknown[], parent: BlockDevice | null): void => {
    for (const raw of items) {
      if (typeof raw !== 'object' || raw === null) continue;
      const r = raw as Record<string, unknown>;
      const name = str(r.name);
      if (!name) continue;
      const size = typeof r.size === 'number' ? r.size : Number(r.size);
      const d: BlockDevice = {
        name,
        path: str(r.path) ?? `/dev/${name}`,
        // A partition inherits "removable" from its disk on some kernels only.
        removable: bool(r.rm) || (parent?.removable ?? false),
        hotplug: bool(r.hotplug) || (parent?.hotplug ?? false),
        transport: str(r.tran) ?? parent?.transport ?? null,
        sizeBytes: Number.isFinite(size) ? size : 0,
        type: str(r.type) ?? 'unknown',
        mountpoint: str(r.mountpoint),
        fstype: str(r.fstype),
        label: str(r.label),
        parent: parent?.path ?? null,
        children: [],
      };
      parent?.children.push(d.path);
      out.push(d);
      if (Array.isArray(r.children)) walk(r.children, d);
    }
  };
  walk(top, null);
  return ok(out);
}

export function isRemovable(d: BlockDevice): boolean {
  return d.removable || d.hotplug || d.transport === 'usb';
}

/** Disks (and their partitions) that hold a file system the appliance runs from. */
function systemDisks(all: BlockDevice[]): Set<string> {
  const byPath = new Map(all.map((d) => [d.path, d]));
  const root = (d: BlockDevice): string => (d.parent ? root(byPath.get(d.parent) ?? d) : d.path);
  return new Set(all.filter((d) => d.mountpoint !== null && SYSTEM_MOUNTS.has(d.mountpoint)).map(root));
}

/**
 * Candidate targets for an export: removable disks and partitions with a non-zero size, never
 * anything on a disk the system runs from. The console shows them; the officer chooses one.
 */
export async function listRemovableDevices(deps: DeviceDeps = {}): Promise<Outcome<BlockDevice[]>> {
  const all = await lsblk(undefined, deps);
  if (!all.ok) return all;
  const system = systemDisks(all.value);
  const byPath = new Map(all.value.map((d) => [d.path, d]));
  const diskOf = (d: BlockDevice): string => (d.parent ? diskOf(byPath.get(d.parent) ?? d) : d.path);
  return ok(all.value.filter((d) => (d.type === 'disk' || d.type === 'part') && d.sizeBytes > 0 && isRemovable(d) && !system.has(diskOf(d))));
}

async function lsblk(device: string | undefined, deps: DeviceDeps): Promise<Outcome<BlockDevice[]>> {
  const run = deps.run ?? defaultRun;
  try {
    const r = await run('lsblk', ['-J', '-b', '-o', LSBLK_COLUMNS, ...(device ? [device] : [])], { timeoutMs: 10_000 });
    if (r.code !== 0) {
      return device
        ? fail('DEVICE_NOT_FOUND', `${device} is not a block device (${r.stderr.trim()})`)
        : fail('DEVICE_LIST_FAILED', `lsblk failed: ${r.stderr.trim()}`);
    }
    return parseLsblk(r.stdout.toString('utf8'));
  } catch (e) {
    return fail('DEVICE_LIST_FAILED', `cannot run lsblk: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export interface DeviceExportOptions extends ExportOptions {
  /** Where private mount points are made (default /run/pruem-audit). */
  mountRoot?: string;
  /** Accept a device that is not removable (loop devices in tests; never from the console). */
  allowNonRemovable?: boolean;
}

export interface DeviceExportResult extends ExportResult {
  device: string;
  /** The bundle's folder on the drive. */
  folder: string;
  /** The verification of what was read back from the drive. */
  readBack: VerifyReport;
}

/**
 * Exports to a removable device: mount, write, sync, read back and verify, unmount.
 * Every failure is an error value; the device is left unmounted whatever happens.
 */
export async function exportToDevice(device: string, log: AuditLog, options: DeviceExportOptions, deps: DeviceDeps = {}): Promise<Outcome<DeviceExportResult>> {
  const run = deps.run ?? defaultRun;
  const info = await lsblk(device, deps);
  if (!info.ok) return info;
  const d = info.value.find((x) => x.path === device) ?? info.value[0];
  if (!d) return fail('DEVICE_NOT_FOUND', `${device} is not a block device`);
  if (!isRemovable(d) && !options.allowNonRemovable) return fail('DEVICE_NOT_REMOVABLE', `${device} is not a removable drive`);
  const mounted = info.value.filter((x) => x.mountpoint !== null);
  if (mounted.length > 0) return fail('DEVICE_MOUNTED', `${mounted.map((x) => `${x.path} is mounted on ${x.mountpoint}`).join('; ')}; unmount it first`);
  if (d.type === 'disk' && d.children.length > 0) return fail('DEVICE_HAS_PARTITIONS', `${device} has partitions (${d.children.join(', ')}); choose one of them`);

  // Mounting needs root: the privileged port does it (appliance/system/privileged.ts) — the daemon itself
  // on a development machine, the image's root helper through a request file.
  const privileged = deps.privileged ?? directPrivileged({ mountRoot: options.mountRoot ?? '/run/pruem-audit', run });
  const progress = options.onProgress ?? (() => undefined);
  let drive: MountedDrive | null = null;
  const mount = async (mode: 'rw' | 'ro'): Promise<Outcome<MountedDrive>> => {
    const r = await privileged.mountExportDevice(device, mode);
    if (!r.ok) return fail('MOUNT_FAILED', `mount ${device}: ${r.error.message} (${r.error.code})`);
    drive = r.value;
    return ok(r.value);
  };
  const unmount = async (): Promise<Outcome<void>> => {
    if (!drive) return ok(undefined);
    const r = await privileged.unmount(drive);
    if (!r.ok) return fail('UNMOUNT_FAILED', `umount ${drive.mountPoint}: ${r.error.message} (${r.error.code})`);
    drive = null;
    return ok(undefined);
  };

  try {
    const m = await mount('rw');
    if (!m.ok) return m;
    const mp = m.value.dir;
    const folder = `pruem-audit-${log.now().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
    const written = await exportBundle(log, join(mp, folder), { ...options, destination: `device ${device}${d.label ? ` (${d.label})` : ''}` });
    if (!written.ok) return written;
    const s = await run('sync', ['-f', join(mp, folder)], { timeoutMs: 600_000 });
    if (s.code !== 0) return fail('EXPORT_WRITE_FAILED', `sync failed: ${s.stderr.trim()}`);
    const u = await unmount();
    if (!u.ok) return u;

    progress({ phase: 'verifying', done: 0, total: written.value.entries });
    const m2 = await mount('ro');
    if (!m2.ok) return m2;
    const sums = await readFile(join(m2.value.dir, folder, 'SHA256SUMS')).catch(() => Buffer.alloc(0));
    const readBack = await verifyBundle(join(m2.value.dir, folder), { trustAnchorSha256: written.value.trustAnchorsSha256 });
    const u2 = await unmount();
    if (!u2.ok) return u2;
    if (createHash('sha256').update(sums).digest('hex') !== written.value.sumsSha256 || !readBack.ok) {
      return fail('READBACK_FAILED', `the drive does not hold what was written: ${readBack.errors.map((e) => e.message).join('; ') || 'SHA256SUMS differs'}`, {
        errors: readBack.errors,
      });
    }
    progress({ phase: 'done', done: written.value.entries, total: written.value.entries });
    return ok({ ...written.value, dir: folder, device, folder, readBack });
  } catch (e) {
    return fail('EXPORT_WRITE_FAILED', `export to ${device} failed: ${e instanceof Error ? e.message : String(e)}`);
  } finally {
    await unmount().catch(() => undefined);
  }
}

/** Where an export goes: a removable drive (mounted, written, flushed, read back, unmounted here) or a folder. */
export type ExportTarget = { readonly kind: 'device'; readonly device: string } | { readonly kind: 'directory'; readonly path: string };

export interface ExportPolicy {
  /**
   * Folders a directory export may be written below (configuration `audit.exportRoots`); absent:
   * anywhere (tests, a bare library use). Devices are not limited by it: they are mounted here.
   */
  readonly roots?: readonly string[];
  readonly mountRoot?: string;
  readonly allowNonRemovable?: boolean;
}

export type TargetExportResult = ExportResult & { readonly readBack: VerifyReport; readonly device?: string };

/**
 * Whether `path` is one of `roots` or lies below one, judged on real paths (symlinks resolved on the part that
 * exists), so neither ".." nor a link planted in an allowed folder leads out of it.
 */
export function isAllowedExportPath(path: string, roots: readonly string[]): boolean {
  if (!isAbsolute(path) || path.split('/').includes('..')) return false;
  const real = (p: string): string => {
    let existing = normalize(p);
    const rest: string[] = [];
    while (!existsSync(existing) && dirname(existing) !== existing) {
      rest.unshift(existing.slice(dirname(existing).length + (dirname(existing) === '/' ? 0 : 1)));
      existing = dirname(existing);
    }
    return join(realpathSync(existing), ...rest);
  };
  const target = real(path);
  return roots.some((root) => {
    if (!isAbsolute(root)) return false;
    const r = relative(real(root), target);
    return r === '' || (!r.startsWith('..') && !isAbsolute(r));
  });
}

/**
 * The one way an export is written, for the console and the CLI: to a removable drive through
 * exportToDevice, or to a new folder below an allowed root, read back and verified either way.
 */
export async function exportTo(target: ExportTarget, log: AuditLog, options: ExportOptions, policy: ExportPolicy = {}, deps: DeviceDeps = {}): Promise<Outcome<TargetExportResult>> {
  if (target.kind === 'device') {
    return exportToDevice(
      target.device,
      log,
      { ...options, ...(policy.mountRoot ? { mountRoot: policy.mountRoot } : {}), ...(policy.allowNonRemovable ? { allowNonRemovable: true } : {}) },
      deps,
    );
  }
  if (policy.roots && !isAllowedExportPath(target.path, policy.roots)) {
    return fail('EXPORT_TARGET_NOT_ALLOWED', `${target.path} is not below an allowed export folder (${policy.roots.join(', ') || 'none configured'})`);
  }
  const written = await exportBundle(log, target.path, { ...options, destination: options.destination ?? `directory ${target.path}` });
  if (!written.ok) return written;
  options.onProgress?.({ phase: 'verifying', done: 0, total: written.value.entries });
  const readBack = await verifyBundle(target.path, { trustAnchorSha256: written.value.trustAnchorsSha256 });
  if (!readBack.ok) return fail('READBACK_FAILED', `the folder does not hold what was written: ${readBack.errors.map((e) => e.message).join('; ')}`, { errors: readBack.errors });
  options.onProgress?.({ phase: 'done', done: written.value.entries, total: written.value.entries });
  return ok({ ...written.value, readBack });
}
