/**
 * The register behind HTTP (register-http.ts): a search answered over a kept connection, the deadline's
 * abort ending a search the register is slow to answer (promptly, and the connection pool still works
 * after), and a register that is not there reported as a failure, not a hang.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DemoVehicleRegister } from '../../appliance/vehicle/demo-register.js';
import { demoVin, seedDemoRegister } from '../../appliance/vehicle/demo-seed.js';
import { HttpVehicleRegister, serveRegisterOverHttp } from '../../appliance/vehicle/register-http.js';
import { searchWithDeadline } from '../../appliance/vehicle/register.js';

const dir = mkdtempSync(join(tmpdir(), 'pruem-vrd-http-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('searches over HTTP find the vehicle; the deadline abandons a slow register and the next search still works', async () => {
  const fast = new DemoVehicleRegister(join(dir, 'fast.sqlite'), { state: 'RO' });
  seedDemoRegister(fast, 'RO', { randomVehicles: 20 });
  const slow = new DemoVehicleRegister(join(dir, 'slow.sqlite'), { state: 'RO', simulatedDelayMs: 5_000 });
  seedDemoRegister(slow, 'RO', { randomVehicles: 20 });
  const fastServed = await serveRegisterOverHttp(fast);
  const slowServed = await serveRegisterOverHttp(slow);
  const client = new HttpVehicleRegister(fastServed.url);
  const slowClient = new HttpVehicleRegister(slowServed.url);
  try {
    const vin = demoVin('RO', 105);
    for (let i = 0; i < 3; i++) {
      const found = await client.search({ kind: 'vin', vin }, { signal: new AbortController().signal });
      assert.equal(found.length, 1);
      assert.equal(found[0]?.vehicle.vin, vin);
    }
    const none = await client.search({ kind: 'vin', vin: 'ZZZZZZZZZZZZZZZZZ' }, { signal: new AbortController().signal });
    assert.equal(none.length, 0);

    const late = await searchWithDeadline(slowClient, { kind: 'vin', vin }, 200);
    assert.equal(late.ok, false);
    if (!late.ok) assert.equal(late.failure, 'REGISTER-TIMEOUT');

    // An abort reaches the request itself: the promise rejects (waiting for the register would resolve it with the vehicle).
    const controller = new AbortController();
    const pending = slowClient.search({ kind: 'vin', vin }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(pending, /abandoned/);
    const aborted = new AbortController();
    aborted.abort();
    await assert.rejects(slowClient.search({ kind: 'vin', vin }, { signal: aborted.signal }), /abandoned/);

    const again = await searchWithDeadline(client, { kind: 'vin', vin }, 2_000);
    assert.ok(again.ok && again.matches.length === 1);
  } finally {
    client.close();
    slowClient.close();
    await fastServed.close();
    await slowServed.close();
    fast.close();
    slow.close();
  }
});

test('a register that is not listening is REGISTER-UNAVAILABLE', async () => {
  const served = await serveRegisterOverHttp(new DemoVehicleRegister(join(dir, 'gone.sqlite'), { state: 'RO' }));
  const url = served.url;
  await served.close();
  const client = new HttpVehicleRegister(url);
  try {
    const r = await searchWithDeadline(client, { kind: 'vin', vin: demoVin('RO', 101) }, 2_000);
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.failure, 'REGISTER-UNAVAILABLE');
  } finally {
    client.close();
  }
});
