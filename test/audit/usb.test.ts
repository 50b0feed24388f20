import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AuditLog } from '../../appliance/audit/log.js';
import { exportToDevice, listRemovableDevices, parseLsblk, type BlockDevice } from '../../appliance/audit/usb.js';
import { verifyBundle } from '../../appliance/audit/verify-audit.mjs';
import { run, runOk } from '../../appliance/util/exec.js';
import { TestClock, incomingRequest, makePki, openDb, outgoingSearch, runVerifyTxt, softwareSigner, tempDir, type TestPki } from './helpers.js';

const tmp = tempDir();
let pki: TestPki;
before(async () => {
  pki = await makePki(tmp.path);
});
after(() => tmp.cleanup());

// Captured on the build VM (util-linux 2.38.1, no USB attached): a zram swap device and the
// virtio system disk mounted on /.
const VM_LSBLK = `{"blockdevices":[{"name":"zram0","path":"/dev/zram0","rm":false,"hotplug":false,"tran":null,"size":0,"type":"disk","mountpoint":null,"fstype":null,"label":null},{"name":"vda","path":"/dev/vda","rm":false,"hotplug":false,"tran":null,"size":274877906944,"type":"disk","mountpoint":"/","fstype":null,"label":null}]}`;
// Same columns, shaped as util-linux 2.38 prints a USB stick with one partition, plus a
// hot-pluggable disk that carries /boot (must never be offered) and an older lsblk's strings.
const WITH_USB = `{"blockdevices":[
 {"name":"sda","path":"/dev/sda","rm":false,"hotplug":true,"tran":"sata","size":512110190592,"type":"disk","mountpoint":null,"fstype":null,"label":null,
  "children":[{"name":"sda1","path":"/dev/sda1","rm":false,"hotplug":true,"tran":null,"size":536870912,"type":"part","mountpoint":"/boot","fstype":"vfat","label":null}]},
 {"name":"sdb","path":"/dev/sdb","rm":true,"hotplug":true,"tran":"usb","size":16008609792,"type":"disk","mountpoint":null,"fstype":null,"label":null,
  "children":[{"name":"sdb1","path":"/dev/sdb1","rm":true,"hotplug":true,"tran":null,"size":16007561216,"type":"part","mountpoint":null,"fstype":"vfat","label":"DPA-2026"}]},
 {"name":"sdc","rm":"1","hotplug":"1","tran":"usb","size":"8004304896","type":"disk","mountpoint":null,"fstype":"ext4","label":"OLD"},
 {"name":"sr0","path":"/dev/sr0","rm":true,"hotplug":true,"tran":"sata","size":0,"type":"rom","mountpoint":null,"fstype":null,"label":null}
]}`;

const fakeRun = (stdout: string) => (async () => ({ code: 0, stdout: Buffer.from(stdout), stderr: '' })) as unknown as typeof run;

test('lsblk output is parsed and only removable, non-system drives are offered', async () => {
  const vm = parseLsblk(VM_LSBLK);
  assert.ok(vm.ok);
  assert.deepEqual(vm.value.map((d) => [d.path, d.removable, d.mountpoint]), [['/dev/zram0', false, null], ['/dev/vda', false, '/']]);
  const none = await listRemovableDevices({ run: fakeRun(VM_LSBLK) });
  assert.ok(none.ok);
  assert.deepEqual(none.value, []);

  const usb = await listRemovableDevices({ run: fakeRun(WITH_USB) });
  assert.ok(usb.ok);
  assert.deepEqual(usb.value.map((d: BlockDevice) => [d.path, d.label, d.sizeBytes]), [
    ['/dev/sdb', null, 16008609792],
    ['/dev/sdb1', 'DPA-2026', 16007561216],
    ['/dev/sdc', 'OLD', 8004304896],
  ]);
  assert.equal(usb.value[1]?.transport, 'usb', 'a partition inherits its disk\'s transport');
  assert.deepEqual(usb.value[0]?.children, ['/dev/sdb1']);

  const bad = parseLsblk('not json');
  assert.equal(!bad.ok && bad.error.code, 'DEVICE_LIST_FAILED');
  const real = await listRemovableDevices();
  assert.ok(real.ok, 'the real lsblk runs on this machine');
});

test('export to a loop-device-backed ext4 drive: mount, write, sync, read back, verify, unmount', async () => {
  const clock = new TestClock('2026-11-05T08:00:00.000Z');
  const log = new AuditLog(openDb(tmp.path, 'usb.sqlite'), { clock: clock.now, origin: 'RO/pruem-gateway' });
  const signer = softwareSigner(pki);
  for (let i = 0; i < 20; i++) log.append(i % 2 ? outgoingSearch(clock) : incomingRequest(clock));
  const image = join(tmp.path, 'stick.img');
  await runOk('truncate', ['-s', '64M', image]);
  await runOk('mkfs.ext4', ['-q', '-L', 'DPA-STICK', image]);
  const loop = (await runOk('losetup', ['-f', '--show', image])).toString().trim();
  const mountRoot = join(tmp.path, 'mnt');
  const check = join(tmp.path, 'check');
  mkdirSync(check);
  try {
    const filters = { from: new Date('2026-01-01T00:00:00.000Z'), to: new Date('2027-01-01T00:00:00.000Z') };
    // A loop device is not removable: refused unless the caller says otherwise.
    const refused = await exportToDevice(loop, log, { filters, actor: 'dpo-1', signer, mountRoot });
    assert.equal(!refused.ok && refused.error.code, 'DEVICE_NOT_REMOVABLE');

    const phases: string[] = [];
    const r = await exportToDevice(loop, log, { filters, actor: 'dpo-1', signer, mountRoot, allowNonRemovable: true, onProgress: (p) => phases.push(p.phase) });
    assert.ok(r.ok, r.ok ? '' : `${r.error.code}: ${r.error.message}`);
    assert.equal(r.value.readBack.ok, true);
    assert.ok(phases.includes('verifying') && phases.at(-1) === 'done');
    // Left unmounted, private mount point removed.
    assert.ok(!readFileSync('/proc/mounts', 'utf8').includes(`${loop} `));
    assert.deepEqual(readdirSync(mountRoot), []);

    // What an auditor sees when they plug the drive in elsewhere.
    await runOk('mount', ['-o', 'ro', loop, check]);
    try {
      const dir = join(check, r.value.folder);
      assert.ok(existsSync(join(dir, 'SHA256SUMS.p7s')));
      const rep = await verifyBundle(dir, { trustAnchorSha256: r.value.trustAnchorsSha256 });
      assert.deepEqual(rep.errors, []);
      for (const s of await runVerifyTxt(dir)) assert.equal(s.code, 0, `${s.command}\n${s.output}`);
      const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
      assert.equal(manifest.entryCount, 21);
    } finally {
      await runOk('umount', [check]);
    }

    // A mounted drive is refused rather than mounted twice.
    await runOk('mount', ['-o', 'ro', loop, check]);
    try {
      const busy = await exportToDevice(loop, log, { filters, actor: 'dpo-1', signer, mountRoot, allowNonRemovable: true });
      assert.equal(!busy.ok && busy.error.code, 'DEVICE_MOUNTED');
    } finally {
      await runOk('umount', [check]);
    }
  } finally {
    await run('umount', [check]);
    await run('losetup', ['-d', loop]);
  }
});

test('devices that cannot take an export are error values, and nothing stays mounted', async () => {
  const clock = new TestClock('2026-11-05T08:00:00.000Z');
  const log = new AuditLog(openDb(tmp.path, 'usb2.sqlite'), { clock: clock.now });
  const signer = softwareSigner(pki);
  const filters = { from: new Date('2026-01-01T00:00:00.000Z'), to: new Date('2027-01-01T00:00:00.000Z') };
  const mountRoot = join(tmp.path, 'mnt2');
  const notBlock = await exportToDevice('/etc/hostname', log, { filters, actor: 'dpo-1', signer, mountRoot });
  assert.equal(!notBlock.ok && notBlock.error.code, 'DEVICE_NOT_FOUND');

  // A blank drive (no file system): mount fails cleanly.
  const image = join(tmp.path, 'blank.img');
  await runOk('truncate', ['-s', '8M', image]);
  const loop = (await runOk('losetup', ['-f', '--show', image])).toString().trim();
  try {
    const r = await exportToDevice(loop, log, { filters, actor: 'dpo-1', signer, mountRoot, allowNonRemovable: true });
    assert.equal(!r.ok && r.error.code, 'MOUNT_FAILED');
    assert.deepEqual(readdirSync(mountRoot), []);
    assert.ok(!readFileSync('/proc/mounts', 'utf8').includes(`${loop} `));
  } finally {
    await run('losetup', ['-d', loop]);
  }
});
