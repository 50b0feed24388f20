/**
 * The officer role (issue 11 item 5): the console's vehicle search goes through the same VehicleSearches as the
 * officers' API, records the signed-in account as the officer, logs reading answers back; and an officer's
 * session opens no other route of the console API — walked over the server's whole route table.
 *
 * Our side is the real vehicle channel (SoftHSM2 token, SQLite, audit log); DE and AT are small loopback
 * services signing real answers from a demo register with their own keys (AT starts unreachable).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHarness, withAccounts, type Browser, type Harness } from './harness.js';
import { freePort } from '../support/ports.js';
import { startAppliance, type Appliance } from '../vehicle/harness.js';
import type { TestIdentity } from '../vehicle/support.js';
import { insideFence } from '../../appliance/accounts/roles.js';
import type { AuditEvent } from '../../appliance/audit/events.js';
import { vehicleConsoleRoutes } from '../../appliance/vehicle/console-routes.js';
import { dnaValidationRoutes } from '../../appliance/dna-exchange/validation-routes.js';
import { dnaComparisonRoutes } from '../../appliance/dna-exchange/comparison-routes.js';
import { HitValidations } from '../../appliance/dna-exchange/hit-validation.js';
import { DnaComparisons } from '../../appliance/dna-exchange/comparisons.js';
import { ProfileStore } from '../../appliance/dna/store.js';
import { DemoVehicleRegister } from '../../appliance/vehicle/demo-register.js';
import { demoVin, seedDemoRegister } from '../../appliance/vehicle/demo-seed.js';
import { resultOf } from '../../appliance/vehicle/register.js';
import { parseEnvelope } from '../../appliance/vehicle/soap.js';
import { parseRequest, writeResponse } from '../../appliance/vehicle/codec.js';
import { signEnvelope } from '../../appliance/vehicle/ws-security.js';
import type { MemberStateCode } from '../../appliance/peers/member-states.js';
import type { VehicleSearchView } from '../../appliance/vehicle/searches.js';

const OFFICER = { username: 'RO-OFFICER-1', password: 'blue-lorry-plate-77' };
const UNLISTED = { username: 'RO-OFFICER-2', password: 'green-lorry-plate-88' };
const PROSECUTOR = 'RO-PROSECUTOR-7';

let ro: Appliance;
let h: Harness;
let tech: Browser;
let operator: Browser;
let auditor: Browser;
let officer: Browser;
let dir: string;
let atPort: number;
const servers: Server[] = [];
const registers: DemoVehicleRegister[] = [];

/** A partner State's vehicle service: reads our signed request, searches its demo register, signs the answer. */
async function partnerService(state: MemberStateCode, signer: () => TestIdentity['signer'], port = 0): Promise<number> {
  const register = new DemoVehicleRegister(join(dir, `${state}.sqlite`), { state });
  seedDemoRegister(register, state, { randomVehicles: 5 });
  registers.push(register);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const env = parseEnvelope(Buffer.concat(chunks).toString('utf8'));
        if (!env.ok) throw new Error(env.error.message);
        const request = parseRequest(env.value.payload);
        if (!request.ok) throw new Error(request.error.message);
        const matches = await register.search(request.value.query, { signal: new AbortController().signal });
        const body = writeResponse({
          schemaVersion: request.value.schemaVersion,
          header: { messageId: `${state}-ANSWER-${request.value.header.messageId}`, inReplyTo: request.value.header.messageId, sent: new Date().toISOString(), respondingState: state, requestingState: request.value.header.requestingState },
          result: resultOf(matches),
        });
        const xml = await signEnvelope({ body, signer: signer(), now: new Date(), bodyIsCanonical: true });
        res.writeHead(200, { 'Content-Type': 'text/xml; charset=utf-8' });
        res.end(xml);
      })().catch((e: Error) => {
        res.writeHead(500);
        res.end(e.message);
      });
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
}

function entries(): AuditEvent[] {
  return (ro.db.prepare('SELECT leaf FROM audit_entries ORDER BY idx').all() as Array<{ leaf: string }>).map((r) => (JSON.parse(r.leaf) as { event: AuditEvent }).event);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pruem-officer-'));
  atPort = await freePort();
  let deSigner: TestIdentity['signer'] | null = null;
  const dePort = await partnerService('DE', () => deSigner as TestIdentity['signer']);
  ro = await startAppliance({
    partners: [
      { code: 'DE', authorised: [], url: `http://127.0.0.1:${dePort}/vehicle` },
      { code: 'AT', authorised: [], url: `http://127.0.0.1:${atPort}/vehicle` },
    ],
  });
  deSigner = (ro.partners.DE as TestIdentity).signer;
  for (const id of [OFFICER.username, PROSECUTOR]) assert.ok(ro.officers.grant({ officerId: id, name: 'Test', channels: ['vrd'], grantedBy: 'test' }).ok);
  h = createHarness({
    extraRoutes: [
      dnaValidationRoutes(new HitValidations(ro.db)),
      dnaComparisonRoutes(new DnaComparisons(ro.db, ProfileStore.open(':memory:'), [])),
      vehicleConsoleRoutes({ searches: ro.channel.searches, partners: ro.channel.partners, ourState: 'RO', officers: ro.officers, audit: ro.audit }),
    ],
  });
  ({ tech, operator, auditor } = await withAccounts(h));
  for (const who of [OFFICER, UNLISTED]) {
    const r = await tech.request('POST', '/api/accounts', { username: who.username, displayName: `Officer ${who.username}`, role: 'officer', password: who.password });
    assert.equal(r.status, 201, r.text);
  }
  officer = h.browser();
  assert.equal((await officer.signIn(OFFICER.username, OFFICER.password)).status, 200);
});

after(async () => {
  for (const s of servers) s.closeAllConnections(), s.close();
  for (const r of registers) await r.close();
  h?.close();
  await ro?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A concrete URL for a route pattern. */
function concrete(path: string): string {
  return path.replace(/:code\b/, 'DE').replace(/:channel\b/, 'dna').replace(/:year\b/, '2025').replace(/:[a-zA-Z]+/g, 'x1');
}

test('an officer session gets 403 on every console API route except its search routes, sign-in/out and its own account', async () => {
  const routes = h.server.routes();
  const paths = new Set(routes.map((r) => `${r.method} ${r.path}`));
  // The walk covers the built-in modules and the daemon's extra routes alike.
  for (const known of ['GET /api/status', 'GET /api/accounts', 'GET /api/audit/entries', 'PUT /api/config/relay', 'POST /api/system/restart', 'GET /api/dna/validations', 'GET /api/dna/comparisons', 'POST /api/vrd/searches', 'GET /api/vrd/searches/:id']) {
    assert.ok(paths.has(known), `route table lacks ${known}`);
  }
  assert.ok(routes.length >= 40, `only ${routes.length} routes walked`);
  let refused = 0;
  let open = 0;
  for (const r of routes) {
    if (r.method === 'DELETE' && r.path === '/api/session') continue; // signing out is tried last
    const url = concrete(r.path);
    const res = await officer.request(r.method, url, r.method === 'GET' ? undefined : {});
    const label = `officer ${r.method} ${url}`;
    if (insideFence('officer', r.path.slice('/api'.length))) {
      assert.notEqual(res.status, 403, `${label} is the officer's own: ${res.text}`);
      assert.notEqual(res.status, 401, `${label}: still signed in`);
      open++;
    } else {
      assert.equal(res.status, 403, `${label} should be refused, got ${res.status} ${res.text}`);
      assert.equal(res.json<{ error: { code: string } }>().error.code, 'FORBIDDEN_ROLE', label);
      refused++;
    }
  }
  assert.ok(open >= 8 && refused >= 30, `${open} open, ${refused} refused`);
  // Public for monitoring without a session; an officer's session is still fenced off it.
  assert.equal((await h.browser().request('GET', '/api/status')).status, 200);
  // Refusals of changes are in the log, as for every role.
  assert.ok(h.audited.some((e) => e.action === 'access.denied' && e.actor === OFFICER.username));
  // The other roles do not search vehicles from the console (the role is new; they keep what they had).
  for (const [role, b] of [['technician', tech], ['operator', operator], ['auditor', auditor]] as const) {
    assert.equal((await b.request('GET', '/api/vrd/searches')).status, 403, role);
    assert.equal((await b.request('POST', '/api/vrd/searches', { orderingOfficerId: PROSECUTOR, reason: 'x', vin: 'X', targets: 'all' })).status, 403, role);
    assert.equal((await b.request('GET', '/api/status')).status, 200, `${role} keeps the status`);
  }
  assert.equal((await tech.request('GET', '/api/accounts')).status, 200, 'the technician keeps the accounts');
  const session = (await officer.request('GET', '/api/session')).json<{ permissions: string[]; user: { role: string } }>();
  assert.deepEqual(session.permissions, ['vrd.search']);
  assert.equal(session.user.role, 'officer');
});

test('a console search: the same service as the officers\' API, the account recorded as officer, reading back logged, AT queued then delivered', async () => {
  const vin = demoVin('DE', 1);
  // The officer is the signed-in account: a body naming another officer is refused.
  const spoof = await officer.request('POST', '/api/vrd/searches', { officerId: 'RO-OTHER', orderingOfficerId: PROSECUTOR, reason: 'case 2026/17: stolen vehicle check', vin, targets: 'all' });
  assert.equal(spoof.status, 400, spoof.text);
  const plateEverywhere = await officer.request('POST', '/api/vrd/searches', { orderingOfficerId: PROSECUTOR, reason: 'case 2026/17', licenceNumber: 'M PR 1002', targets: 'all' });
  assert.equal(plateEverywhere.json<{ error: { code: string } }>().error.code, 'VALIDATION_FAILED', 'a plate goes to one State');

  const res = await officer.request('POST', '/api/vrd/searches', { orderingOfficerId: PROSECUTOR, reason: 'case 2026/17: stolen vehicle check', vin, targets: 'all' });
  assert.equal(res.status, 201, res.text);
  const search = res.json<VehicleSearchView>();
  assert.equal(search.officerId, OFFICER.username);
  assert.deepEqual(search.answered, ['DE']);
  assert.deepEqual(search.queued, ['AT']);
  assert.equal(search.complete, false);
  const de = search.targets.find((x) => x.state === 'DE');
  assert.equal(de?.result?.kind, 'full');
  if (de?.result?.kind === 'full') {
    assert.equal(de.result.dataSet.vehicle.vin, vin);
    assert.match(de.result.dataSet.holders[0]?.name.printable ?? '', /Παπαδοπούλου/, 'Greek survives signing, the record and JSON');
  }
  // The Art. 30 record of the request that left names the account as the officer, with the ordering officer and reason.
  const sent = entries().filter((e) => e.kind === 'exchange' && e.direction === 'sent' && e.role === 'request' && e.channel === 'vrd');
  assert.equal(sent.length, 1, 'DE asked; AT queued, not yet sent');
  const record = sent[0] as AuditEvent & { officerId: string; orderingOfficerId: string; reason: string };
  assert.equal(record.officerId, OFFICER.username);
  assert.equal(record.orderingOfficerId, PROSECUTOR);
  assert.equal(record.reason, 'case 2026/17: stolen vehicle check');

  // The queue row of the status (the daemon adds it to /api/status's queues).
  const q = ro.channel.searches.queueStatus();
  assert.equal(q.channel, 'vrd');
  assert.equal(q.depth, 1);
  assert.deepEqual(q.waitingFor, ['AT']);
  assert.ok(q.nearestDeadline && Date.parse(q.nearestDeadline) > Date.now() + 23 * 3_600_000, 'given up only after 24 h');

  // Polling the progress carries no answers and records nothing; reading the search back is recorded first.
  const readsBefore = entries().filter((e) => e.kind === 'admin' && e.action === 'result-read').length;
  const progress = await officer.request('GET', `/api/vrd/searches/${search.id}/progress`);
  assert.equal(progress.status, 200);
  assert.ok(!progress.text.includes('Παπαδοπούλου') && !progress.text.includes('dataSet'), 'no holder data in the progress');
  const list = await officer.request('GET', '/api/vrd/searches');
  assert.deepEqual(list.json<{ searches: Array<{ id: string }> }>().searches.map((s) => s.id), [search.id]);
  assert.ok(!list.text.includes('Παπαδοπούλου'));
  assert.equal(entries().filter((e) => e.kind === 'admin' && e.action === 'result-read').length, readsBefore);
  const again = await officer.request('GET', `/api/vrd/searches/${search.id}`);
  assert.equal(again.status, 200);
  assert.match(again.text, /Παπαδοπούλου/);
  const reads = entries().filter((e) => e.kind === 'admin' && e.action === 'result-read');
  assert.equal(reads.length, readsBefore + 1);
  const read = reads.at(-1) as AuditEvent & { actor: string; target: string; details: Record<string, unknown> };
  assert.equal(read.actor, OFFICER.username);
  assert.equal(read.target, `vehicle search ${search.id}`);
  assert.equal(read.details['client'], 'console');

  // Another officer neither sees it nor, off the authorised list, may search at all.
  const other = h.browser();
  assert.equal((await other.signIn(UNLISTED.username, UNLISTED.password)).status, 200);
  assert.equal((await other.request('GET', `/api/vrd/searches/${search.id}`)).status, 404);
  assert.equal((await other.request('GET', `/api/vrd/searches/${search.id}/progress`)).status, 404);
  const refused = await other.request('POST', '/api/vrd/searches', { orderingOfficerId: PROSECUTOR, reason: 'case 2026/17', vin, targets: ['DE'] });
  assert.equal(refused.json<{ error: { code: string } }>().error.code, 'OFFICER_NOT_AUTHORISED');

  // AT comes back: the queued request is delivered and the search shows its answer.
  await partnerService('AT', () => (ro.partners.AT as TestIdentity).signer, atPort);
  ro.db.prepare("UPDATE vehicle_search_targets SET next_attempt_at = 0 WHERE status = 'queued'").run();
  assert.equal(await ro.channel.searches.deliverDue(), 1);
  const done = (await officer.request('GET', `/api/vrd/searches/${search.id}/progress`)).json<VehicleSearchView>();
  assert.deepEqual(done.answered, ['AT', 'DE']);
  assert.equal(done.targets.find((x) => x.state === 'AT')?.result?.kind, 'no-match');
  assert.equal(done.complete, true);
  assert.equal(ro.channel.searches.queueStatus().depth, 0);
});

test('a console search by plate in one State gets the refine-search set; a past date where no history is kept gets current data, flagged', async () => {
  const plate = await officer.request('POST', '/api/vrd/searches', { orderingOfficerId: PROSECUTOR, reason: 'case 2026/18: plate seen', licenceNumber: 'M PR 1004', targets: ['DE'] });
  assert.equal(plate.status, 201, plate.text);
  const refine = plate.json<VehicleSearchView>().targets[0]?.result;
  assert.equal(refine?.kind, 'refine');
  if (refine?.kind === 'refine') assert.deepEqual(refine.vehicles.map((v) => v.vin).sort(), [demoVin('DE', 3), demoVin('DE', 4)]);
  // Refining: the same plate with one of the VINs.
  const one = await officer.request('POST', '/api/vrd/searches', { orderingOfficerId: PROSECUTOR, reason: 'case 2026/18: plate seen', licenceNumber: 'M PR 1004', vin: demoVin('DE', 4), targets: ['DE'] });
  const full = one.json<VehicleSearchView>().targets[0]?.result;
  assert.equal(full?.kind === 'full' ? full.dataSet.vehicle.vin : null, demoVin('DE', 4));
  const past = await officer.request('POST', '/api/vrd/searches', { orderingOfficerId: PROSECUTOR, reason: 'case 2026/19', vin: demoVin('DE', 2), referenceDateTime: '2025-01-01T00:00:00Z', targets: ['DE'] });
  const current = past.json<VehicleSearchView>().targets[0]?.result;
  assert.equal(current?.kind === 'full' ? current.dataSet.dataIsCurrent : null, true);
});

test('the officer can sign out', async () => {
  assert.equal((await officer.request('DELETE', '/api/session')).status, 204);
  assert.equal((await officer.request('GET', '/api/vrd/searches')).status, 401);
});

