/**
 * Four gateway processes (RO, DE, AT, FR) as `pruem demo` provisions them, each with its vehicle service on
 * its own HTTPS listener and its demo register. RO's officer asks every State by VIN while AT is down: the
 * consolidated answer comes within the 10-second deadline (DE has the vehicle, FR has not, AT is queued);
 * once AT is back, the queued request is delivered and the search shows AT's answer.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateways, eventually, officersApi, type Gateways } from '../support/gateways.js';
import { demoVin, DEMO_CASES } from '../../appliance/vehicle/demo-seed.js';
import type { VehicleSearchView } from '../../appliance/vehicle/searches.js';
import { vehicleExample } from '../../appliance/demo/vehicle-example.js';
import { demoClientKeyPath } from '../../appliance/demo/network.js';

let net: Gateways;

before(async () => {
  net = await startGateways(['RO', 'DE', 'AT', 'FR'], { relay: 'demo', syntheticProfiles: 20 });
});
after(async () => {
  await net?.close();
});

test('a multiple-country VIN inquiry with one State down: consolidated answer within the deadline, the queued request delivered when the State is back', async () => {
  await net.stop('AT');
  const started = Date.now();
  const res = await officersApi(net, 'RO').post('/vrd/searches', {
    officerId: 'RO-OFFICER-1',
    orderingOfficerId: 'RO-PROSECUTOR-7',
    reason: 'test: vehicle seen leaving a robbery',
    vin: demoVin('DE', DEMO_CASES.history.vin),
    targets: 'all',
  });
  const took = Date.now() - started;
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const view = res.body as unknown as VehicleSearchView;
  assert.ok(took < 10_000, `consolidated answer after ${took} ms (Annex: at most 10 s)`);
  assert.deepEqual([...view.answered].sort(), ['DE', 'FR']);
  assert.deepEqual(view.queued, ['AT']);
  assert.deepEqual(view.failed, []);
  assert.deepEqual(view.timedOut, []);
  assert.equal(view.complete, false);
  const de = view.targets.find((t) => t.state === 'DE');
  assert.equal(de?.result?.kind, 'full');
  if (de?.result?.kind === 'full') {
    assert.equal(de.result.dataSet.vehicle.countryOfRegistration, 'DE');
    assert.equal(de.result.dataSet.holders[0]?.name.surname, 'Παπαδοπούλου');
  }
  assert.equal(view.targets.find((t) => t.state === 'FR')?.result?.kind, 'no-match');

  const queue = await officersApi(net, 'RO').get<{ queued: Array<{ state: string; searchId: string }> }>('/vrd/queue');
  assert.deepEqual(queue.queued.map((q) => [q.state, q.searchId]), [['AT', view.id]]);

  // A plate search goes to one State only.
  const plateToAll = await officersApi(net, 'RO').post('/vrd/searches', { officerId: 'RO-OFFICER-1', orderingOfficerId: 'RO-PROSECUTOR-7', reason: 'test', licenceNumber: 'M PR 1002', targets: 'all' });
  assert.equal(plateToAll.status, 400);

  await net.start('AT');
  await eventually(async () => (await officersApi(net, 'RO').get<VehicleSearchView>(`/vrd/searches/${view.id}`)).complete, 'the queued request delivered to AT', 60_000);
  const later = await officersApi(net, 'RO').get<VehicleSearchView>(`/vrd/searches/${view.id}`);
  assert.deepEqual([...later.answered].sort(), ['AT', 'DE', 'FR']);
  assert.deepEqual(later.queued, []);
  assert.equal(later.targets.find((t) => t.state === 'AT')?.result?.kind, 'no-match');
  assert.deepEqual(await officersApi(net, 'RO').get('/vrd/queue'), { queued: [] });

  // Both ends recorded it: RO's request and AT's answer in their Art. 30 logs, under the same message id.
  const atId = later.targets.find((t) => t.state === 'AT')?.messageId ?? '';
  const roSent = net.query<{ n: number }>('RO', `SELECT count(*) AS n FROM audit_entries WHERE channel = 'vrd' AND peer_state = 'AT' AND leaf LIKE ?`, `%${atId}%`);
  const atReceived = net.query<{ n: number }>('AT', `SELECT count(*) AS n FROM audit_entries WHERE channel = 'vrd' AND peer_state = 'RO' AND leaf LIKE ?`, `%${atId}%`);
  assert.ok((roSent[0]?.n ?? 0) >= 2, 'RO: request sent and answer received');
  assert.ok((atReceived[0]?.n ?? 0) >= 2, 'AT: request received and answer sent');
  // Statistics per partner and direction.
  const stats = net.query<{ state: string; direction: string; requests: number }>('RO', `SELECT state, direction, requests FROM exchange_statistics WHERE channel = 'vrd' ORDER BY state`);
  assert.deepEqual(stats.map((s) => [s.state, s.direction, s.requests]), [['AT', 'out', 1], ['DE', 'out', 1], ['FR', 'out', 1]]);

  // Reading an answer again is recorded, as for DNA.
  const reads = net.query<{ n: number }>('RO', `SELECT count(*) AS n FROM audit_entries WHERE kind = 'admin' AND leaf LIKE ?`, `%vehicle search ${view.id}%`);
  assert.ok((reads[0]?.n ?? 0) >= 1, 'result reads recorded');

  // What `make run` prints: the demo's example search, run against this network.
  const lines = await vehicleExample(demoClientKeyPath(net.node('RO')), `http://127.0.0.1:${net.node('RO').spec.officersPort}`);
  assert.ok(lines.some((l) => /DE: answered \(full\) — M PR 1002, Dacia Duster, holder Παπαδοπούλου/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /AT: answered \(no-match\)/.test(l)), lines.join('\n'));
});
