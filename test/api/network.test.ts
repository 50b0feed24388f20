import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { networkdPort, parseNetworkdUnit, renderNetworkdUnit } from '../../appliance/api/wiring/network.js';
import { isIpv4 } from '../../appliance/api/routes/setup.js';
import { createHarness } from './harness.js';

test('the management interface is written as a systemd-networkd unit and read back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pruem-net-'));
  try {
    let reloads = 0;
    const port = networkdPort({ dir, interface: 'eth0', reload: async () => void reloads++ });
    assert.equal(await port.current(), null);
    const settings = { interface: 'eth0', address: '10.20.30.40/24', gateway: '10.20.30.1', dns: ['10.20.30.2', '10.20.30.3'] };
    await port.apply(settings);
    assert.equal(reloads, 1);
    const text = readFileSync(join(dir, '10-pruem-eth0.network'), 'utf8');
    assert.match(text, /^\[Match\]\nName=eth0\n\n\[Network\]\nAddress=10\.20\.30\.40\/24\nGateway=10\.20\.30\.1\nDNS=10\.20\.30\.2\nDNS=10\.20\.30\.3\n$/m);
    assert.deepEqual(await port.current(), settings);
    assert.deepEqual(parseNetworkdUnit(renderNetworkdUnit({ ...settings, gateway: null, dns: [] })), { ...settings, gateway: null, dns: [] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('addresses are checked octet by octet', () => {
  assert.equal(isIpv4('10.0.0.2/24', true), true);
  assert.equal(isIpv4('10.0.0.256/24', true), false);
  assert.equal(isIpv4('10.0.0.2/33', true), false);
  assert.equal(isIpv4('10.0.0.2', true), false);
  assert.equal(isIpv4('192.168.1.1', false), true);
  assert.equal(isIpv4('192.168.1', false), false);
});

test('the wizard\'s network step writes the unit through the port and audits the interface', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pruem-net-'));
  const h = createHarness({ network: networkdPort({ dir, interface: 'eth0' }) });
  try {
    const b = h.browser();
    await b.session();
    await b.request('POST', '/api/setup/unlock', { code: h.setupCodes[0] ?? '' });
    const bad = await b.request('PUT', '/api/setup/network', { network: { interface: 'eth0', address: '10.0.0.300/24', gateway: null, dns: [] }, relay: null });
    assert.equal(bad.status, 400);
    const ok = await b.request('PUT', '/api/setup/network', { network: { interface: 'eth0', address: '10.0.0.3/24', gateway: '10.0.0.1', dns: [] }, relay: null });
    assert.equal(ok.status, 200, ok.text);
    assert.match(readFileSync(join(dir, '10-pruem-eth0.network'), 'utf8'), /Address=10\.0\.0\.3\/24/);
    assert.ok(h.audited.some((e) => e.action === 'setup.network' && e.target === 'interface eth0' && e.outcome === 'success'));
  } finally {
    h.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
