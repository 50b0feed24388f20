import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { eventually, startGateways, type Gateways, officersApi as sharedOfficersApi } from '../support/gateways.js';
import { demoOfficer, runPruem } from '../../appliance/demo/network.js';
import { DEMO_PROFILE } from '../../appliance/demo/seed.js';
import { composeGateway } from '../../appliance/main.js';
import { loadConfig } from '../../appliance/config/config.js';
import { writePruemDna } from '../../appliance/dna/codec.js';
import type { SearchView } from '../../appliance/dna-exchange/searches.js';
import type { MemberStateCode } from '../../appliance/peers/member-states.js';

/**
 * Issue 4: three gateway processes (RO, DE, AT) with their own tokens and synthetic national
 * databases exchange Art. 3 and Art. 4 DNA searches through a real Postfix relay.
 * DE holds the demo profile exactly (quality 1); AT holds it with one allele different (quality 4).
 */
let net: Gateways;

before(async () => {
  net = await startGateways(['RO', 'DE', 'AT'], { relay: 'postfix', syntheticProfiles: 300 });
});
after(async () => {
  await net?.close();
});

const officersApi = (state: MemberStateCode) => sharedOfficersApi(net, state);

const NO_MATCH = { vwa: ['30', '31'], th01: ['20', '21'], d21s11: ['40', '41'], fga: ['40', '41'], d8s1179: ['25', '26'], d3s1358: ['25', '26'], d18s51: ['30', '31'] };

async function complete(state: MemberStateCode, id: string): Promise<SearchView> {
  const api = officersApi(state);
  let view: SearchView | null = null;
  const until = Date.now() + 120_000;
  while (Date.now() < until) {
    view = await api.get<SearchView>(`/dna/searches/${id}`);
    if (view.complete) return view;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`search ${id} not answered: ${JSON.stringify(view?.requests)}`);
}

const search = { officerId: 'RO-OFFICER-1', orderingOfficerId: 'RO-PROSECUTOR-7', reason: 'burglary case 123/2026' };

test('Art. 3: a hit from DE, a near hit from AT, each correlated to the search', async () => {
  assert.equal(search.officerId, demoOfficer('RO'));
  const created = await officersApi('RO').post('/dna/searches', { ...search, targets: 'all', profiles: [{ id: 'RO-S-1', type: 'S', loci: DEMO_PROFILE }] });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const view = await complete('RO', String(created.body.id));
  assert.equal(view.reqtype, 3);
  assert.deepEqual(view.requests.map((r) => r.state).sort(), ['AT', 'DE']);
  const de = view.results.filter((r) => r.state === 'DE' && r.hit);
  const at = view.results.filter((r) => r.state === 'AT' && r.hit);
  assert.ok(de.some((r) => r.hit!.profileIdent === 'DE-DEMO-0001' && r.hit!.quality === 1 && r.profileRef === 'RO-S-1'), JSON.stringify(view.results));
  assert.ok(at.some((r) => r.hit!.profileIdent === 'AT-DEMO-0001' && r.hit!.quality === 4), JSON.stringify(view.results));
  // The quality-0 echo says H for both.
  assert.deepEqual(view.results.filter((r) => !r.hit).map((r) => `${r.state}:${r.result}`).sort(), ['AT:H', 'DE:H']);

  // DE noted that RO hit its profile (Art. 9(2)); counters were kept on both sides.
  const notes = await officersApi('DE').get<Array<{ profileId: string; state: string }>>('/dna/notes');
  assert.ok(notes.some((n) => n.profileId === 'DE-DEMO-0001' && n.state === 'RO'));
  const year = new Date().getUTCFullYear();
  const deStats = await officersApi('DE').get<Array<{ state: string; direction: string; requests: number; hits: number }>>(`/statistics/${year}`);
  assert.ok(deStats.some((s) => s.state === 'RO' && s.direction === 'in' && s.requests >= 1 && s.hits >= 1));
  const roStats = await officersApi('RO').get<Array<{ state: string; direction: string; hits: number }>>(`/statistics/${year}`);
  assert.ok(roStats.some((s) => s.state === 'AT' && s.direction === 'out' && s.hits >= 1));
});

test('Art. 4: a batch to DE gets a hit and a no-hit, correlated per profile', async () => {
  const created = await officersApi('RO').post('/dna/searches', {
    ...search,
    targets: ['DE'],
    profiles: [
      { id: 'RO-U-1', type: 'S', loci: DEMO_PROFILE },
      { id: 'RO-U-2', type: 'S', loci: NO_MATCH },
    ],
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const view = await complete('RO', String(created.body.id));
  assert.equal(view.reqtype, 4);
  const echo = Object.fromEntries(view.results.filter((r) => !r.hit).map((r) => [r.profileRef, r.result]));
  assert.deepEqual(echo, { 'RO-U-1': 'H', 'RO-U-2': 'N' });
  assert.ok(view.results.some((r) => r.hit?.profileIdent === 'DE-DEMO-0001' && r.profileRef === 'RO-U-1'));
});

test('the officers API refuses an unauthorised officer and a profile below the inclusion minimum', async () => {
  const unauthorised = await officersApi('RO').post('/dna/searches', { ...search, officerId: 'RO-NOBODY', targets: 'all', profiles: [{ id: 'x', type: 'S', loci: DEMO_PROFILE }] });
  assert.equal(unauthorised.status, 403);
  assert.equal((unauthorised.body.error as { code: string }).code, 'OFFICER_NOT_AUTHORISED');
  const tooSmall = await officersApi('RO').post('/dna/searches', { ...search, targets: 'all', profiles: [{ id: 'x', type: 'S', loci: { vwa: ['14', '17'], th01: ['6', '7'] } }] });
  assert.equal(tooSmall.status, 422);
  assert.equal((tooSmall.body.error as { code: string }).code, 'PROFILE_REFUSED');
  const missingReason = await officersApi('RO').post('/dna/searches', { officerId: 'RO-OFFICER-1', orderingOfficerId: 'x', targets: 'all', profiles: [] });
  assert.equal(missingReason.status, 400);
});

test('an invalid request is answered with result E and a message, never silence', async () => {
  // Act as a requester that skips our own checks: a profile with two loci, sent through RO's real pipeline.
  const core = await composeGateway(loadConfig(net.node('RO').configPath), { log: pino({ level: 'warn' }) });
  let searchId = '';
  try {
    const created = core.dna.searches.create({ reqtype: 3, officerId: 'RO-OFFICER-1', orderingOfficerId: 'RO-PROSECUTOR-7', reason: 'invalid-request test', profileIds: ['RO-BAD-1'] });
    searchId = created.id;
    const requestId = `RO-BAD-${created.id.slice(0, 8)}`;
    const xml = writePruemDna({
      header: {
        direction: 'R', ref: requestId, generator: 'test', schemaVersion: '1.0',
        requesting: { sourceIsocode: 'RO', destinationIsocode: 'DE', requestId, date: '2026-11-23', time: '10:00:00Z' },
        requested: { sourceIsocode: 'DE', destinationIsocode: 'RO', requestId, date: '2026-11-23', time: '10:00:00Z' },
      },
      datas: [{ reqtype: 3, date: '2026-11-23', type: 'S', result: 'U', agency: 'RO', profileIdent: 'RO-BAD-1', profile: { loci: { vwa: ['14', '17'], th01: ['6', '7'] } } }],
    });
    await core.pipeline.originate({
      peer: 'DE', channel: 'dna',
      reply: { payload: Buffer.from(xml), payloadContentType: 'application/xml', subject: 'RO/DNA' },
      correlation: created.id,
      records: [],
      persist: (_db, messageId) => core.dna.searches.requestSent(created.id, 'DE', requestId, messageId),
    });
  } finally {
    await core.close();
  }
  const view = await complete('RO', searchId);
  const echo = view.results.find((r) => r.profileRef === 'RO-BAD-1');
  assert.equal(echo?.result, 'E');
  assert.match(echo?.message ?? '', /refused/);
});

type Leaf = { event: Record<string, unknown> & { kind: string; direction?: string; role?: string } };
const exchanges = (state: MemberStateCode): Leaf['event'][] =>
  net.query<{ leaf: string }>(state, `SELECT leaf FROM audit_entries WHERE kind = 'exchange' ORDER BY idx`).map((r) => (JSON.parse(r.leaf) as Leaf).event);

test('Art. 30: the exchange is recorded with the required fields on the requesting and the requested appliance', () => {
  const sent = exchanges('RO').find((e) => e.direction === 'sent' && e.role === 'request' && e.peerState === 'DE' && (e.dataSupplied as { recordIds: string[] }).recordIds.includes('RO-S-1'));
  assert.ok(sent, 'RO logged its search to DE');
  assert.equal(sent.reason, 'burglary case 123/2026');
  assert.equal(sent.officerId, 'RO-OFFICER-1');
  assert.equal(sent.orderingOfficerId, 'RO-PROSECUTOR-7');
  assert.deepEqual(sent.searchingBody, { state: 'RO', agency: 'NCP' });
  assert.equal((sent.fileManagingBody as { state: string }).state, 'DE');
  assert.match(String(sent.occurredAt), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.match(String((sent.dataSupplied as { sha256: string }).sha256), /^[0-9a-f]{64}$/);
  const answer = exchanges('RO').find((e) => e.direction === 'received' && e.role === 'response' && e.peerState === 'DE' && e.result === 'hit');
  assert.ok(answer, 'RO logged the hit it received from DE');

  const deIn = exchanges('DE').find((e) => e.direction === 'received' && e.role === 'request' && e.peerState === 'RO' && (e.dataSupplied as { recordIds: string[] }).recordIds.includes('RO-S-1'));
  assert.ok(deIn, 'DE logged the request it received');
  assert.equal((deIn.searchingBody as { state: string }).state, 'RO');
  assert.equal((deIn.fileManagingBody as { state: string }).state, 'DE');
  assert.equal(deIn.result, 'hit');
  const deOut = exchanges('DE').find((e) => e.direction === 'sent' && e.role === 'response' && e.peerState === 'RO' && (e.dataSupplied as { recordIds: string[] }).recordIds.includes('DE-DEMO-0001'));
  assert.ok(deOut, 'DE logged the answer it sent, with the hit profile reference');
  // The record holds references and a digest, never the profile itself (DP-PURPOSE).
  assert.doesNotMatch(JSON.stringify(exchanges('DE')), /low_allele|"loci"|"9\.3"/);
});

test('DP-PURPOSE: supplied data are purged from working storage once answered', () => {
  for (const state of ['RO', 'DE', 'AT'] as const) {
    const kept = net.query<{ n: number }>(state, `SELECT count(*) AS n FROM queue_inbox WHERE status != 'pending' AND raw IS NOT NULL`)[0]!.n;
    assert.equal(kept, 0, `${state} keeps no answered mail`);
    const sealed = net.query<{ n: number }>(state, `SELECT count(*) AS n FROM queue_outbox WHERE status = 'sent' AND raw IS NOT NULL`)[0]!.n;
    assert.equal(sealed, 0, `${state} keeps no sent mail`);
    const done = net.query<{ n: number }>(state, `SELECT count(*) AS n FROM queue_inbox WHERE status = 'done'`)[0]!.n;
    assert.ok(done > 0, `${state} did answer or receive something`);
  }
});

test('issue 15: a delta imported with `pruem dna import` reaches the running daemon\'s index without a rebuild', async () => {
  // A profile DE's synthetic database cannot hold (alleles outside the generator's ranges).
  const fresh = { vwa: ['21', '22'], th01: ['11', '12'], d21s11: ['35', '36'], fga: ['28', '29'], d8s1179: ['18', '19'], d3s1358: ['21', '22'], d18s51: ['23', '24'] };
  const before = await officersApi('RO').post('/dna/searches', { ...search, targets: ['DE'], profiles: [{ id: 'RO-D-1', type: 'S', loci: fresh }] });
  assert.equal(before.status, 201, JSON.stringify(before.body));
  const first = await complete('RO', String(before.body.id));
  assert.deepEqual(first.results.filter((r) => r.hit).map((r) => r.hit!.profileIdent), [], 'not in DE before the import');

  const de = net.node('DE');
  const delta = join(de.dataDir, 'delta.jsonl');
  writeFileSync(delta, `${JSON.stringify({ id: 'DE-DELTA-1', type: 'S', agency: 'DE-BKA', loci: fresh })}\n${JSON.stringify({ id: 'DE-DEMO-0001', op: 'delete' })}\n`);
  await runPruem(['dna', 'import', '--db', join(de.dataDir, 'dna.sqlite'), delta], join(de.dataDir, 'delta-import.log'));

  // The daemon checks the store every 2 s; the search is answered from the index it updated in place.
  const gateway = () => readFileSync(join(de.dataDir, 'gateway.log'), 'utf8');
  await eventually(() => gateway().includes('DNA index updated from an import'), 'DE applies the delta', 30_000);
  const after = await officersApi('RO').post('/dna/searches', { ...search, targets: ['DE'], profiles: [{ id: 'RO-D-2', type: 'S', loci: fresh }, { id: 'RO-D-3', type: 'S', loci: DEMO_PROFILE }] });
  assert.equal(after.status, 201, JSON.stringify(after.body));
  const view = await complete('RO', String(after.body.id));
  const hits = view.results.filter((r) => r.hit).map((r) => `${r.profileRef}:${r.hit!.profileIdent}:${r.hit!.quality}`);
  assert.deepEqual(hits, ['RO-D-2:DE-DELTA-1:1'], 'the added profile is found, the deleted one is gone');
  assert.doesNotMatch(gateway(), /DNA index rebuilt after an import/, 'no full rebuild');
});

test('issue 15: every hit above is on the validation lists of both sides, waiting for the DNA staff', () => {
  type Row = { direction: string; partner: string; quality: number; status: string; their_profile: string | null };
  const ro = net.query<Row>('RO', 'SELECT direction, partner, quality, status, their_profile FROM dna_hit_validations');
  assert.ok(ro.some((r) => r.direction === 'out' && r.partner === 'DE' && r.quality === 1 && r.status === 'pending' && r.their_profile), JSON.stringify(ro));
  assert.ok(ro.some((r) => r.direction === 'out' && r.partner === 'AT' && r.quality === 4), JSON.stringify(ro));
  const de = net.query<Row>('DE', 'SELECT direction, partner, quality, status, their_profile FROM dna_hit_validations');
  assert.ok(de.some((r) => r.direction === 'in' && r.partner === 'RO' && r.quality === 1 && r.their_profile), JSON.stringify(de));
});
