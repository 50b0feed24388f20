/**
 * The consolidated answer of a multiple-country inquiry when States misbehave in different ways: one
 * never answers (timed out), one cannot be reached (queued), one answers with something that is not a
 * signed answer (failed), one answers with a fault. The "States" are small loopback servers doing
 * exactly that; our side is the real channel.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '../support/ports.js';
import { startAppliance, type Appliance } from './harness.js';
import { signEnvelope } from '../../appliance/vehicle/ws-security.js';
import { faultBody } from '../../appliance/vehicle/soap.js';
import { writeFaultDetail } from '../../appliance/vehicle/codec.js';
import type { TestIdentity } from './support.js';

let ro: Appliance;
const servers: Server[] = [];

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/vehicle`;
}

before(async () => {
  const silent = await serve(() => {}); // accepts, never answers
  const garbage = await serve((_req, res) => res.end('<html>proxy error</html>'));
  const closed = `http://127.0.0.1:${await freePort()}/vehicle`;
  let faulting = '';
  // FR answers every request with a properly signed fault (its key is made by the harness below).
  let frSigner: TestIdentity['signer'] | null = null;
  faulting = await serve((req, res) => {
    req.resume();
    req.on('end', () => {
      void signEnvelope({ body: faultBody('VRD-REGISTER-UNAVAILABLE', writeFaultDetail({ code: 'VRD-REGISTER-UNAVAILABLE', inReplyTo: null, respondingState: 'FR', schemaVersion: '1.1' })), signer: frSigner as TestIdentity['signer'], now: new Date(), bodyIsCanonical: true }).then((xml) => {
        res.writeHead(500, { 'Content-Type': 'text/xml; charset=utf-8' });
        res.end(xml);
      });
    });
  });
  ro = await startAppliance({
    partners: [
      { code: 'DE', authorised: [], url: silent },
      { code: 'AT', authorised: [], url: closed },
      { code: 'NL', authorised: [], url: garbage },
      { code: 'FR', authorised: [], url: faulting },
    ],
    vehicle: { deadlineSeconds: 2 },
  });
  frSigner = (ro.partners.FR as TestIdentity).signer;
  for (const id of ['RO-OFFICER-1', 'RO-PROSECUTOR-7']) {
    const g = ro.officers.grant({ officerId: id, name: 'Test', channels: ['vrd'], grantedBy: 'test' });
    assert.ok(g.ok);
  }
});
after(async () => {
  for (const s of servers) s.closeAllConnections(), s.close();
  await ro?.close();
});

test('a multiple-country inquiry: timed out, queued, failed and fault each listed, within the deadline', async () => {
  const started = Date.now();
  const r = await ro.channel.searches.submit({ officerId: 'RO-OFFICER-1', orderingOfficerId: 'RO-PROSECUTOR-7', reason: 'test: all States', vin: 'WVWZZZ1JZXW000001', targets: 'all' });
  const took = Date.now() - started;
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  const v = r.search;
  assert.deepEqual(v.timedOut, ['DE']);
  assert.deepEqual(v.queued, ['AT']);
  assert.deepEqual(v.failed, ['NL']);
  assert.deepEqual(v.faults, ['FR']);
  assert.equal(v.targets.find((t) => t.state === 'FR')?.fault?.code, 'VRD-REGISTER-UNAVAILABLE');
  assert.match(v.targets.find((t) => t.state === 'NL')?.detail ?? '', /VRD-NOT-SOAP|answer refused/);
  assert.deepEqual(v.answered, []);
  assert.equal(v.complete, false);
  assert.ok(took < 2_000 + 1_500, `answered after ${took} ms with a 2 s deadline`);
  assert.deepEqual(ro.channel.searches.queue().map((q) => q.state), ['AT']);
  // Requests that left are in the Art. 30 log with the officers and the reason; the queued one is not (yet).
  const sent = ro.db.prepare(`SELECT peer_state AS s FROM audit_entries WHERE channel = 'vrd' AND officer_id = 'RO-OFFICER-1' ORDER BY s`).all() as Array<{ s: string }>;
  assert.deepEqual(sent.map((x) => x.s), ['DE', 'FR', 'NL']);
});

test('officers not on the list, plates to several States and unknown States are refused before anything leaves', async () => {
  const bad = await ro.channel.searches.submit({ officerId: 'RO-NOBODY', orderingOfficerId: 'RO-PROSECUTOR-7', reason: 'test', vin: 'X', targets: ['DE'] });
  assert.equal(bad.ok ? null : bad.error.code, 'OFFICER_NOT_AUTHORISED');
  const plate = await ro.channel.searches.submit({ officerId: 'RO-OFFICER-1', orderingOfficerId: 'RO-PROSECUTOR-7', reason: 'test', licenceNumber: 'B 1 X', targets: ['DE', 'AT'] });
  assert.equal(plate.ok ? null : plate.error.code, 'INVALID_REQUEST');
  const none = await ro.channel.searches.submit({ officerId: 'RO-OFFICER-1', orderingOfficerId: 'RO-PROSECUTOR-7', reason: 'test', vin: 'X', targets: ['SE'] });
  assert.equal(none.ok ? null : none.error.code, 'NO_TARGET');
});

test('a State still being asked when the gateway stopped is failed at the next start, not left pending', () => {
  ro.db.prepare('INSERT INTO vehicle_searches VALUES (?, ?, ?, ?, ?, ?)').run('s-interrupted', Date.now(), 'RO-OFFICER-1', 'RO-PROSECUTOR-7', 'test', JSON.stringify({ kind: 'vin', vin: 'X' }));
  ro.db.prepare("INSERT INTO vehicle_search_targets (search_id, state, status, message_id, updated_at, schema_version) VALUES ('s-interrupted', 'DE', 'pending', 'RO-VRD-interrupted', ?, '1.1')").run(Date.now());
  assert.equal(ro.channel.searches.get('s-interrupted')?.complete, false);
  assert.equal(ro.channel.searches.recoverInterrupted(), 1);
  const v = ro.channel.searches.get('s-interrupted');
  assert.deepEqual(v?.failed, ['DE']);
  assert.equal(v?.complete, true);
});
