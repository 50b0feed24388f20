#!/usr/lib/pruem/node/bin/node
// Root side of the gateway's privileged requests (appliance/system/privileged.ts, mode "requests").
// The unprivileged daemon writes /run/pruem/requests/<kind> (one JSON object, renamed into place);
// pruem-request@<kind>.path starts this as root with <kind>. Only four kinds exist, each with fixed,
// validated arguments; nothing from a request reaches a shell (execFileSync with argument arrays),
// the mount point is fixed and the network unit is rendered from a fixed template. The request is
// deleted first, then `<kind>.result` is written (renamed into place, root:pruem 0640):
//   { "id": <the request's>, "ok": true, … } or { "id", "ok": false, "code": "refused"|"failed", "message" }.
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const KINDS = ['usb-mount', 'usb-unmount', 'network-apply', 'reboot'];
export const PATHS = {
  requests: process.env.PRUEM_REQUESTS_DIR ?? '/run/pruem/requests',
  media: '/run/pruem/media/usb',
  network: '/var/lib/pruem/network',
  networkRun: '/run/systemd/network',
};
const DEVICE = /^\/dev\/sd[a-z][0-9]{0,3}$/;
const IFACE = /^[A-Za-z0-9._-]{1,15}$/;
const GATEWAY_UID = 900;

export function ipv4(text, withPrefix) {
  if (typeof text !== 'string') return false;
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(text);
  if (!m || (m[5] === undefined) === withPrefix) return false;
  return m.slice(1, 5).every((o) => Number(o) <= 255) && (!withPrefix || Number(m[5]) <= 32);
}

/** The request as this helper accepts it, or { error }. Pure: what the image test and the unit test check. */
export function validate(kind, text) {
  if (!KINDS.includes(kind)) return { error: `unknown request kind ${JSON.stringify(kind)}` };
  if (typeof text !== 'string' || text.length > 4096) return { error: 'request missing or too large' };
  let r;
  try {
    r = JSON.parse(text);
  } catch {
    return { error: 'request is not JSON' };
  }
  if (typeof r !== 'object' || r === null || Array.isArray(r)) return { error: 'request is not an object' };
  const id = typeof r.id === 'string' && /^[0-9a-f]{16}$/.test(r.id) ? r.id : null;
  if (!id) return { error: 'request has no valid id' };
  if (r.kind !== kind) return { id, error: `request kind ${JSON.stringify(r.kind)} in the ${kind} file` };
  switch (kind) {
    case 'usb-mount':
      if (typeof r.device !== 'string' || !DEVICE.test(r.device)) return { id, error: 'device is not /dev/sdX or /dev/sdXN' };
      if (r.access !== 'rw' && r.access !== 'ro') return { id, error: 'access is not rw or ro' };
      return { id, kind, device: r.device, access: r.access };
    case 'network-apply': {
      const dns = Array.isArray(r.dns) ? r.dns : null;
      if (typeof r.interface !== 'string' || !IFACE.test(r.interface)) return { id, error: 'interface name not allowed' };
      if (!ipv4(r.address, true)) return { id, error: 'address is not IPv4 with prefix' };
      if (r.gateway !== null && !ipv4(r.gateway, false)) return { id, error: 'gateway is not IPv4' };
      if (!dns || dns.length > 3 || !dns.every((d) => ipv4(d, false))) return { id, error: 'DNS servers are not up to three IPv4 addresses' };
      return { id, kind, interface: r.interface, address: r.address, gateway: r.gateway, dns };
    }
    default:
      return { id, kind };
  }
}

/**
 * The one template: the same text appliance/system/networkd.ts renders for the `direct` mode. Written out
 * here rather than imported from the gateway's build, so that root runs none of the gateway's code (or its
 * dependencies); test/image/request-helper.test.ts checks that both render the same units.
 */
export function renderUnit(s) {
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

const sh = (cmd, args, timeout = 60_000) => execFileSync(cmd, args, { encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'] });
const reason = (e) => (e && typeof e === 'object' && 'stderr' in e && String(e.stderr).trim()) || (e instanceof Error ? e.message : String(e));
const isMounted = (mp) => readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === mp);

function writeAtomic(path, text, mode, gid) {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, text, { mode });
  if (gid !== undefined && process.getuid?.() === 0) chownSync(tmp, 0, gid);
  renameSync(tmp, path);
}

function usbMount(req) {
  const mp = PATHS.media;
  // The device must be (a partition of) a disk on the USB bus, not mounted anywhere.
  const disk = sh('lsblk', ['-no', 'PKNAME', req.device]).split('\n')[0].trim() || req.device.slice(5);
  const tran = sh('lsblk', ['-dno', 'TRAN', `/dev/${disk}`]).trim();
  if (tran !== 'usb') return { ok: false, code: 'refused', message: `${req.device} is not on a USB drive (transport ${tran || 'none'})` };
  if (sh('lsblk', ['-no', 'MOUNTPOINT', req.device]).trim()) return { ok: false, code: 'refused', message: `${req.device} is mounted already` };
  if (isMounted(mp)) return { ok: false, code: 'refused', message: `another drive is mounted on ${mp}` };
  const fstype = sh('lsblk', ['-no', 'FSTYPE', req.device]).split('\n')[0].trim();
  const base = `${req.access},nosuid,nodev,noexec`;
  let opts;
  if (fstype === 'vfat' || fstype === 'exfat') opts = `${base},uid=${GATEWAY_UID},gid=${GATEWAY_UID},umask=0077`;
  else if (['ext4', 'ext3', 'ext2'].includes(fstype)) opts = base;
  else return { ok: false, code: 'refused', message: `file system ${fstype || 'none'} is not one the appliance writes (vfat, exfat, ext4)` };
  mkdirSync(mp, { recursive: true, mode: 0o755 });
  sh('mount', ['-t', fstype, '-o', opts, req.device, mp]);
  let dir = mp;
  try {
    if (fstype.startsWith('ext')) {
      // An ext file system's root belongs to root: the gateway writes into a folder of its own.
      dir = join(mp, 'pruem-export');
      if (req.access === 'rw' && !existsSync(dir)) {
        mkdirSync(dir, { mode: 0o700 });
        chownSync(dir, GATEWAY_UID, GATEWAY_UID);
      }
      if (!existsSync(dir)) dir = mp;
    }
  } catch (e) {
    sh('umount', [mp]); // nothing stays mounted when the request fails
    throw e;
  }
  return { ok: true, mountPoint: mp, dir, fstype };
}

function usbUnmount() {
  if (!isMounted(PATHS.media)) return { ok: true, note: 'nothing mounted' };
  sh('sync', ['-f', PATHS.media], 600_000);
  sh('umount', [PATHS.media], 120_000);
  return { ok: true };
}

/**
 * The unit lives on the data partition (/var/lib/pruem/network, root's; /etc is on the read-only root)
 * and is linked into /run/systemd/network, where networkd reads runtime units; pruem-firstboot links it
 * again at every boot. One management unit: older 10-pruem-* units are removed.
 */
function networkApply(req) {
  mkdirSync(PATHS.network, { recursive: true, mode: 0o755 });
  mkdirSync(PATHS.networkRun, { recursive: true, mode: 0o755 });
  const name = `10-pruem-${req.interface}.network`;
  writeAtomic(join(PATHS.network, name), renderUnit(req), 0o644);
  for (const dir of [PATHS.network, PATHS.networkRun]) {
    for (const f of readdirSync(dir)) if (/^10-pruem-.*\.network$/.test(f) && !(dir === PATHS.network && f === name)) rmSync(join(dir, f), { force: true });
  }
  symlinkSync(join(PATHS.network, name), join(PATHS.networkRun, name));
  sh('networkctl', ['reload'], 30_000);
  return { ok: true, unit: join(PATHS.network, name) };
}

function main(kind) {
  const requestPath = join(PATHS.requests, kind ?? '');
  let text = null;
  try {
    // Never follow a link planted in the drop box.
    if (lstatSync(requestPath).isFile()) text = readFileSync(requestPath, 'utf8');
  } catch {
    text = null;
  }
  rmSync(requestPath, { force: true });
  const req = validate(kind, text);
  const write = (result) => {
    if (!KINDS.includes(kind)) return;
    writeAtomic(`${requestPath}.result`, `${JSON.stringify({ id: req.id ?? '', ...result })}\n`, 0o640, GATEWAY_UID);
  };
  const log = (msg) => {
    try {
      sh('logger', ['-t', 'pruem-request', `${kind}: ${msg}`]);
    } catch {
      /* the journal is optional here */
    }
  };
  if (req.error) {
    log(`refused: ${req.error}`);
    write({ ok: false, code: 'refused', message: req.error });
    return;
  }
  let result;
  try {
    if (kind === 'usb-mount') result = usbMount(req);
    else if (kind === 'usb-unmount') result = usbUnmount();
    else if (kind === 'network-apply') result = networkApply(req);
    else result = { ok: true };
  } catch (e) {
    result = { ok: false, code: 'failed', message: reason(e).slice(0, 500) };
  }
  log(`${result.ok ? 'ok' : `${result.code}: ${result.message}`}${req.device ? ` (${req.device} ${req.access})` : ''}`);
  write(result);
  if (kind === 'reboot' && result.ok) sh('systemctl', ['--no-block', 'reboot']);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv[2]);
