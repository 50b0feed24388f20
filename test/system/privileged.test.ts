import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { directPrivileged, privilegedActions, requestPrivileged, REQUEST_KINDS } from '../../appliance/system/privileged.js';
import { parseConfig } from '../../appliance/config/config.js';
import { execFileSync } from 'node:child_process';
import { AuditLog } from '../../appliance/audit/log.js';
import { exportToDevice } from '../../appliance/audit/usb.js';
import { run, runOk } from '../../appliance/util/exec.js';
import { TestClock, incomingRequest, makePki, openDb, softwareSigner } from '../audit/helpers.js';

/**
 * A tiny stand-in for the image's root helper: it watches the request folder (real files), reads a
 * request, deletes it and writes `<kind>.result` the way image/overlay/usr/lib/pruem/request.mjs does.
 * `answer` decides what to write; null: write nothing (a helper that never runs).
 */
function responder(dir: string, answer: (req: Record<string, unknown>) => Record<string, unknown> | null) {
  const seen: Record<string, unknown>[] = [];
  let stopped = false;
  const tick = (): void => {
    if (stopped) return;
    for (const kind of REQUEST_KINDS) {
      const path = join(dir, kind);
      if (!existsSync(path)) continue;
      const req = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
      rmSync(path);
      seen.push(req);
      const a = answer(req);
      if (a) writeFileSync(`${path}.result`, JSON.stringify({ id: req['id'], ...a }));
    }
    setTimeout(tick, 10);
  };
  tick();
  return { seen, stop: () => void (stopped = true) };
}

function tempDir(): { path: string; [Symbol.dispose](): void } {
  const path = mkdtempSync(join(tmpdir(), 'pruem-priv-'));
  return { path, [Symbol.dispose]: () => rmSync(path, { recursive: true, force: true }) };
}

test('requests: a mount request is written whole, answered by the helper, and leaves no files behind', async () => {
  using tmp = tempDir();
  const helper = responder(tmp.path, (req) => (req['kind'] === 'usb-mount' ? { ok: true, mountPoint: '/run/pruem/media/usb', dir: '/run/pruem/media/usb/pruem-export' } : { ok: true }));
  try {
    const p = requestPrivileged({ dir: tmp.path, timeoutMs: 10_000, pollMs: 5 });
    assert.equal(p.mode, 'requests');
    const m = await p.mountExportDevice('/dev/sdb1', 'rw');
    assert.ok(m.ok, m.ok ? '' : m.error.message);
    assert.deepEqual(m.value, { mountPoint: '/run/pruem/media/usb', dir: '/run/pruem/media/usb/pruem-export' });
    const u = await p.unmount(m.value);
    assert.ok(u.ok);
    const r = await p.reboot();
    assert.ok(r.ok);
    assert.deepEqual(helper.seen.map((s) => [s['kind'], s['device'], s['access']]), [['usb-mount', '/dev/sdb1', 'rw'], ['usb-unmount', undefined, undefined], ['reboot', undefined, undefined]]);
    assert.ok(helper.seen.every((s) => typeof s['id'] === 'string' && /^[0-9a-f]{16}$/.test(s['id'] as string)));
    assert.equal(new Set(helper.seen.map((s) => s['id'])).size, 3, 'every request has its own id');
    assert.deepEqual(readdirSync(tmp.path), [], 'no request, result or temp file left');
  } finally {
    helper.stop();
  }
});

test('requests: refusals and failures of the helper are error values with their codes', async () => {
  using tmp = tempDir();
  const helper = responder(tmp.path, (req) =>
    req['kind'] === 'usb-mount' ? { ok: false, code: 'refused', message: '/dev/sdb1 is not on a USB disk' } : { ok: false, code: 'failed', message: 'networkctl reload: exit 1' },
  );
  try {
    const p = requestPrivileged({ dir: tmp.path, timeoutMs: 10_000, pollMs: 5 });
    const m = await p.mountExportDevice('/dev/sdb1', 'ro');
    assert.equal(!m.ok && m.error.code, 'PRIVILEGED_REFUSED');
    assert.match(!m.ok ? m.error.message : '', /not on a USB disk/);
    const n = await p.applyNetwork({ interface: 'eth0', address: '10.1.2.3/24', gateway: '10.1.2.1', dns: ['10.1.2.2'] });
    assert.equal(!n.ok && n.error.code, 'PRIVILEGED_FAILED');
    assert.deepEqual(
      { ...helper.seen[1], id: 'x' },
      { id: 'x', kind: 'network-apply', interface: 'eth0', address: '10.1.2.3/24', gateway: '10.1.2.1', dns: ['10.1.2.2'] },
      'the network request carries the settings, not a unit text',
    );
  } finally {
    helper.stop();
  }
});

test('requests: arguments the helper would refuse are refused before a request is written', async () => {
  using tmp = tempDir();
  const p = requestPrivileged({ dir: tmp.path, timeoutMs: 10_000, pollMs: 5 });
  for (const device of ['/dev/sda1; reboot', '/dev/../etc/shadow', '/dev/nvme0n1p1', 'sdb1', '/dev/sdb1\n', '/dev/sdB1']) {
    const r = await p.mountExportDevice(device, 'rw');
    assert.equal(!r.ok && r.error.code, 'PRIVILEGED_INVALID', device);
  }
  for (const bad of [
    { interface: 'eth0\n[Network]', address: '10.0.0.2/24', gateway: null, dns: [] },
    { interface: 'eth0', address: '10.0.0.2', gateway: null, dns: [] },
    { interface: 'eth0', address: '10.0.0.256/24', gateway: null, dns: [] },
    { interface: 'eth0', address: '10.0.0.2/24', gateway: '10.0.0.1\nDNS=1.1.1.1', dns: [] },
    { interface: 'eth0', address: '10.0.0.2/24', gateway: null, dns: ['1.1.1.1', '1.1.1.2', '1.1.1.3', '1.1.1.4'] },
  ]) {
    const r = await p.applyNetwork(bad);
    assert.equal(!r.ok && r.error.code, 'PRIVILEGED_INVALID', JSON.stringify(bad));
  }
  assert.deepEqual(readdirSync(tmp.path), []);
});

test('requests: without a helper the wait ends at the timeout and the request is withdrawn', async () => {
  using tmp = tempDir();
  const p = requestPrivileged({ dir: tmp.path, timeoutMs: 300, pollMs: 20 });
  const r = await p.reboot();
  assert.equal(!r.ok && r.error.code, 'PRIVILEGED_TIMEOUT');
  assert.deepEqual(readdirSync(tmp.path), [], 'a helper that starts late finds nothing to do');
});

test('requests: a result left over from an earlier request is not taken for the answer', async () => {
  using tmp = tempDir();
  // A stale result (another id) is there before the request; the helper answers later.
  writeFileSync(join(tmp.path, 'reboot.result'), JSON.stringify({ id: '0000000000000000', ok: false, code: 'failed', message: 'stale' }));
  const helper = responder(tmp.path, () => ({ ok: true }));
  try {
    const r = await requestPrivileged({ dir: tmp.path, timeoutMs: 10_000, pollMs: 5 }).reboot();
    assert.ok(r.ok, r.ok ? '' : r.error.message);
  } finally {
    helper.stop();
  }
  // A result written for another id while waiting is dropped too; then the timeout.
  const p = requestPrivileged({ dir: tmp.path, timeoutMs: 400, pollMs: 5 });
  const other = responder(tmp.path, (req) => ({ ok: true, id: `${String(req['id'])}x` }));
  try {
    const r = await p.reboot();
    assert.equal(!r.ok && r.error.code, 'PRIVILEGED_TIMEOUT');
  } finally {
    other.stop();
  }
});

test('requests: an unreadable result and a missing request folder are error values', async () => {
  using tmp = tempDir();
  const garbage = setInterval(() => {
    if (existsSync(join(tmp.path, 'reboot'))) {
      rmSync(join(tmp.path, 'reboot'));
      writeFileSync(join(tmp.path, 'reboot.result'), 'ok\n');
    }
  }, 5);
  try {
    const r = await requestPrivileged({ dir: tmp.path, timeoutMs: 10_000, pollMs: 5 }).reboot();
    assert.equal(!r.ok && r.error.code, 'PRIVILEGED_FAILED');
  } finally {
    clearInterval(garbage);
  }
  writeFileSync(join(tmp.path, 'not-a-folder'), '');
  const r = await requestPrivileged({ dir: join(tmp.path, 'not-a-folder'), timeoutMs: 200 }).reboot();
  assert.equal(!r.ok && r.error.code, 'PRIVILEGED_UNAVAILABLE');
});

test('requests: concurrent actions are asked one at a time', async () => {
  using tmp = tempDir();
  let inFlight = 0;
  let most = 0;
  const helper = responder(tmp.path, () => ({ ok: true, mountPoint: '/m' }));
  // Count requests present at once: the next is written only after the previous result was taken.
  const watch = setInterval(() => {
    inFlight = REQUEST_KINDS.filter((k) => existsSync(join(tmp.path, k)) || existsSync(join(tmp.path, `${k}.result`))).length;
    most = Math.max(most, inFlight);
  }, 1);
  try {
    const p = requestPrivileged({ dir: tmp.path, timeoutMs: 10_000, pollMs: 5 });
    const all = await Promise.all([p.mountExportDevice('/dev/sdc', 'rw'), p.reboot(), p.applyNetwork({ interface: 'eth1', address: '192.168.7.2/24', gateway: null, dns: [] })]);
    assert.ok(all.every((r) => r.ok));
    assert.deepEqual(helper.seen.map((s) => s['kind']), ['usb-mount', 'reboot', 'network-apply']);
    assert.ok(most <= 1, `at most one request or result at a time (saw ${most})`);
  } finally {
    clearInterval(watch);
    helper.stop();
  }
});

test('direct: the network unit is written from the template into the configured folder', async () => {
  using tmp = tempDir();
  const p = directPrivileged({ networkDir: join(tmp.path, 'network') });
  const r = await p.applyNetwork({ interface: 'enp1s0', address: '10.9.8.7/16', gateway: '10.9.0.1', dns: [] });
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  assert.match(readFileSync(join(tmp.path, 'network', '10-pruem-enp1s0.network'), 'utf8'), /\[Match\]\nName=enp1s0\n\n\[Network\]\nAddress=10\.9\.8\.7\/16\nGateway=10\.9\.0\.1\n$/);
  const bad = await p.applyNetwork({ interface: '../x', address: '10.9.8.7/16', gateway: null, dns: [] });
  assert.equal(!bad.ok && bad.error.code, 'PRIVILEGED_INVALID');
  const none = await directPrivileged().applyNetwork({ interface: 'eth0', address: '10.9.8.7/16', gateway: null, dns: [] });
  assert.equal(!none.ok && none.error.code, 'PRIVILEGED_UNAVAILABLE');
  // A mount that fails removes its private mount point.
  mkdirSync(join(tmp.path, 'mnt'));
  const m = await directPrivileged({ mountRoot: join(tmp.path, 'mnt') }).mountExportDevice(join(tmp.path, 'nothing'), 'ro');
  assert.equal(!m.ok && m.error.code, 'PRIVILEGED_INVALID');
  const m2 = await directPrivileged({ mountRoot: join(tmp.path, 'mnt') }).mountExportDevice('/dev/pruem-no-such-device', 'ro');
  assert.equal(!m2.ok && m2.error.code, 'PRIVILEGED_FAILED');
  assert.deepEqual(readdirSync(join(tmp.path, 'mnt')), []);
});

test('the configuration chooses the implementation; direct is the default', () => {
  const plain = parseConfig({});
  assert.ok(plain.ok);
  assert.equal(plain.config.privileged.mode, 'direct');
  assert.equal(privilegedActions(plain.config.privileged).mode, 'direct');
  const image = parseConfig({ privileged: { mode: 'requests', networkDir: '/var/lib/pruem/network' } });
  assert.ok(image.ok);
  assert.deepEqual(image.config.privileged, { mode: 'requests', requestsDir: '/run/pruem/requests', timeoutSeconds: 120, networkDir: '/var/lib/pruem/network' });
  assert.equal(privilegedActions(image.config.privileged).mode, 'requests');
  assert.equal(parseConfig({ privileged: { mode: 'sudo' } }).ok, false);
});

test('an audit export to a real drive through request files: the responder mounts, the daemon writes, reads back and unmounts', async () => {
  using tmp = tempDir();
  const requests = join(tmp.path, 'requests');
  const media = join(tmp.path, 'media-usb');
  mkdirSync(requests);
  mkdirSync(media);
  const image = join(tmp.path, 'stick.img');
  await runOk('truncate', ['-s', '32M', image]);
  await runOk('mkfs.ext4', ['-q', '-L', 'DPA-REQ', image]);
  const loop = (await runOk('losetup', ['-f', '--show', image])).toString().trim();
  // The root side: "/dev/sdz" stands for the loop device (the helper accepts only /dev/sdX names), one fixed mount point.
  const helper = responder(requests, (req) => {
    try {
      if (req['kind'] === 'usb-mount') {
        if (req['device'] !== '/dev/sdz') return { ok: false, code: 'refused', message: 'unknown device' };
        execFileSync('mount', ['-o', `${req['access'] === 'ro' ? 'ro' : 'rw'},nosuid,nodev,noexec`, loop, media]);
        return { ok: true, mountPoint: media, dir: media };
      }
      if (req['kind'] === 'usb-unmount') {
        execFileSync('umount', [media]);
        return { ok: true };
      }
      return { ok: false, code: 'refused', message: 'unknown kind' };
    } catch (e) {
      return { ok: false, code: 'failed', message: e instanceof Error ? e.message : String(e) };
    }
  });
  try {
    const pki = await makePki(tmp.path);
    const clock = new TestClock('2026-11-05T08:00:00.000Z');
    const log = new AuditLog(openDb(tmp.path, 'req.sqlite'), { clock: clock.now, origin: 'RO/pruem-gateway' });
    for (let i = 0; i < 5; i++) log.append(incomingRequest(clock));
    const viaRequests = requestPrivileged({ dir: requests, timeoutMs: 30_000, pollMs: 10 });
    const privileged = { mountExportDevice: (_d: string, access: 'rw' | 'ro') => viaRequests.mountExportDevice('/dev/sdz', access), unmount: viaRequests.unmount };
    const filters = { from: new Date('2026-01-01T00:00:00.000Z'), to: new Date('2027-01-01T00:00:00.000Z') };
    const r = await exportToDevice(loop, log, { filters, actor: 'dpo-1', signer: softwareSigner(pki), allowNonRemovable: true }, { privileged });
    assert.ok(r.ok, r.ok ? '' : `${r.error.code}: ${r.error.message}`);
    assert.equal(r.value.readBack.ok, true);
    assert.deepEqual(helper.seen.map((s) => `${String(s['kind'])}${s['access'] ? ` ${String(s['access'])}` : ''}`), ['usb-mount rw', 'usb-unmount', 'usb-mount ro', 'usb-unmount']);
    assert.ok(!readFileSync('/proc/mounts', 'utf8').includes(`${loop} `), 'left unmounted');
    assert.deepEqual(readdirSync(requests), []);
    // The drive holds the bundle.
    execFileSync('mount', ['-o', 'ro', loop, media]);
    try {
      assert.ok(existsSync(join(media, r.value.folder, 'SHA256SUMS.p7s')));
    } finally {
      execFileSync('umount', [media]);
    }

    // A helper that refuses: MOUNT_FAILED carrying the helper's reason, nothing mounted.
    const refusing = { mountExportDevice: (_d: string, access: 'rw' | 'ro') => viaRequests.mountExportDevice('/dev/sdy', access), unmount: viaRequests.unmount };
    const no = await exportToDevice(loop, log, { filters, actor: 'dpo-1', signer: softwareSigner(pki), allowNonRemovable: true }, { privileged: refusing });
    assert.equal(!no.ok && no.error.code, 'MOUNT_FAILED');
    assert.match(!no.ok ? no.error.message : '', /PRIVILEGED_REFUSED/);
  } finally {
    helper.stop();
    await run('umount', [media]);
    await run('losetup', ['-d', loop]);
  }
});
