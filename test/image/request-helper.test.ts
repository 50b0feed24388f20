import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { renderNetworkdUnit } from '../../appliance/system/networkd.js';

/** The image's root helper (image/overlay/usr/lib/pruem/request.mjs): its validation, its template, its files. */
const HELPER = resolve('image/overlay/usr/lib/pruem/request.mjs');
interface Helper {
  validate(kind: string, text: string | null): Record<string, unknown> & { error?: string };
  renderUnit(s: { interface: string; address: string; gateway: string | null; dns: string[] }): string;
}
const load = async (): Promise<Helper> => (await import(HELPER)) as Helper;
const ID = '0123456789abcdef';
const req = (o: Record<string, unknown>) => JSON.stringify({ id: ID, ...o });

test('the root helper accepts only its four kinds with checked arguments', async () => {
  const h = await load();
  assert.deepEqual(h.validate('usb-mount', req({ kind: 'usb-mount', device: '/dev/sdb1', access: 'rw' })), { id: ID, kind: 'usb-mount', device: '/dev/sdb1', access: 'rw' });
  assert.deepEqual(h.validate('reboot', req({ kind: 'reboot' })), { id: ID, kind: 'reboot' });
  const refused: Array<[string, string | null]> = [
    ['shell', req({ kind: 'shell', command: 'id' })],
    ['usb-mount', req({ kind: 'usb-mount', device: '/dev/sdb1;reboot', access: 'rw' })],
    ['usb-mount', req({ kind: 'usb-mount', device: '/dev/sda1 /etc', access: 'rw' })],
    ['usb-mount', req({ kind: 'usb-mount', device: '/dev/vda1', access: 'rw' })],
    ['usb-mount', req({ kind: 'usb-mount', device: '/dev/sdb1', access: 'rw,exec' })],
    ['usb-mount', req({ kind: 'reboot' })],
    ['reboot', JSON.stringify({ id: '../../x', kind: 'reboot' })],
    ['reboot', 'reboot now'],
    ['reboot', null],
    ['reboot', 'x'.repeat(5000)],
    ['network-apply', req({ kind: 'network-apply', interface: 'eth0\nDNS=1.1.1.1', address: '10.0.0.2/24', gateway: null, dns: [] })],
    ['network-apply', req({ kind: 'network-apply', interface: 'eth0', address: '10.0.0.2/24\n[Route]', gateway: null, dns: [] })],
    ['network-apply', req({ kind: 'network-apply', interface: 'eth0', address: '10.0.0.2/24', gateway: '10.0.0.1 ', dns: [] })],
    ['network-apply', req({ kind: 'network-apply', interface: 'eth0', address: '10.0.0.2/24', gateway: null, dns: 'x' })],
  ];
  for (const [kind, text] of refused) assert.ok(h.validate(kind, text).error, `${kind} ${text?.slice(0, 80)}`);
});

test('the root helper renders the same networkd unit as the daemon', async () => {
  const h = await load();
  for (const s of [
    { interface: 'enp1s0', address: '10.1.2.3/24', gateway: '10.1.2.1', dns: ['10.1.2.2', '10.1.2.3'] },
    { interface: 'eth0', address: '192.168.0.9/16', gateway: null, dns: [] },
  ]) {
    assert.equal(h.renderUnit(s), renderNetworkdUnit(s));
  }
});

test('run as the path unit runs it: the request is deleted and a refusal written; a planted link is not followed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pruem-helper-'));
  const run = (kind: string) => execFileSync(process.execPath, [HELPER, kind], { env: { ...process.env, PRUEM_REQUESTS_DIR: dir }, stdio: 'pipe' });
  try {
    writeFileSync(join(dir, 'usb-mount'), req({ kind: 'usb-mount', device: '/dev/sdb1; rm -rf /', access: 'rw' }));
    run('usb-mount');
    assert.equal(existsSync(join(dir, 'usb-mount')), false);
    const r = JSON.parse(readFileSync(join(dir, 'usb-mount.result'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual([r['id'], r['ok'], r['code']], [ID, false, 'refused']);

    writeFileSync(join(dir, 'secret'), req({ kind: 'usb-unmount' }));
    symlinkSync(join(dir, 'secret'), join(dir, 'usb-unmount'));
    run('usb-unmount');
    assert.equal(existsSync(join(dir, 'usb-unmount')), false, 'the link is removed');
    const l = JSON.parse(readFileSync(join(dir, 'usb-unmount.result'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual([l['ok'], l['code']], [false, 'refused']);
    assert.equal(existsSync(join(dir, 'secret')), true, 'what the link pointed to is untouched');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
