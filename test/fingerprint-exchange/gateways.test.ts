import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { startGateways, eventually, type Gateways, officersApi as sharedOfficersApi } from '../support/gateways.js';
import { demoClientKeyPath, demoOfficer } from '../../appliance/demo/network.js';
import { composeGateway } from '../../appliance/main.js';
import { loadConfig } from '../../appliance/config/config.js';
import type { MemberStateCode } from '../../appliance/peers/member-states.js';
import { makeTcn, makeType2, parseTransaction, readType1, type1, withContents, writeTransaction, type TaggedRecord } from '../../appliance/fingerprint/index.js';
import type { RequestTot } from '../../appliance/fingerprint/tot.js';
import { DEMO_SUBJECT_REFERENCE, demoSearchTransaction, demoSubjectProbe } from '../../appliance/fingerprint/afis/demo-seed.js';
import { randomFinger, seededRandom } from '../../appliance/fingerprint/afis/synthetic.js';
import { FP_CONTENT_TYPE } from '../../appliance/fingerprint-exchange/channel.js';
import type { FpSearchView } from '../../appliance/fingerprint-exchange/searches.js';
import { cps as realImageCps } from '../fingerprint/samples.js';

/**
 * Issue 10: three gateway processes (RO, DE, AT), each with its own token and demo AFIS, exchange
 * fingerprint searches through a real Postfix relay: CPS, MPS and PMS with SRE hits and no-hits,
 * ERR answers (from the AFIS, and for an invalid file), all filed by TCR; and the daily capacity on
 * both sides (DE refuses what exceeds its figure; RO holds back what exceeds AT's).
 */
let net: Gateways;

before(async () => {
  net = await startGateways(['RO', 'DE', 'AT'], {
    relay: 'postfix',
    syntheticProfiles: 20,
    config: {
      fingerprint: {
        afis: 'demo',
        demoPopulation: { persons: 40, latents: 15 },
        // Every gateway answers one MMS a day per peer; RO believes DE takes five (DE refuses the second),
        // and knows AT takes one CPS a day (RO keeps the second back).
        capacity: { ours: { CPS: 100, PMS: 100, MPS: 100, MMS: 1 }, peers: { DE: { MMS: 5 }, AT: { CPS: 1 } } },
      },
    },
  });
});
after(async () => {
  await net?.close();
});

const officersApi = (state: MemberStateCode) => sharedOfficersApi(net, state);

const officers = { officerId: 'RO-OFFICER-1', orderingOfficerId: 'RO-PROSECUTOR-7', reason: 'burglary case 123/2026' };

function file(tot: RequestTot, probe: 'subject' | 'stranger' = 'subject'): string {
  const latent = tot === 'MPS' || tot === 'MMS';
  const fingers = probe === 'subject' ? demoSubjectProbe(latent ? 'latent' : 'tenprint') : [randomFinger(seededRandom(Date.now() & 0xffff), 0)];
  return demoSearchTransaction({ tot, from: 'RO', agency: 'IGPR_AFIS', destination: 'DE/NCP', tcn: makeTcn(2026, 1), priority: 3, now: new Date(), reference: 'CASE-123', fingers }).toString('base64');
}

async function submit(tot: RequestTot, targets: MemberStateCode[] | 'all', probe: 'subject' | 'stranger' = 'subject', transaction = file(tot, probe)): Promise<FpSearchView> {
  const created = await officersApi('RO').post('/fp/searches', { ...officers, targets, transaction });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body as unknown as FpSearchView;
}

async function complete(id: string): Promise<FpSearchView> {
  let view: FpSearchView | null = null;
  await eventually(async () => {
    view = await officersApi('RO').get<FpSearchView>(`/fp/searches/${id}`);
    return view.complete;
  }, `fingerprint search ${id} answered`);
  return view!;
}

/** Every result is filed under a TCN we sent to that State (correlation by TCR). */
function assertCorrelated(view: FpSearchView): void {
  for (const r of view.results) assert.ok(view.targets.some((t) => t.tcn === r.tcn && t.state === r.state), `result ${r.state}/${r.tcn} matches no target`);
  assert.equal(new Set(view.targets.map((t) => t.tcn)).size, view.targets.length, 'one TCN per requested State');
}

test('MPS to all: an SRE hit from DE naming its record, an SRE no-hit from AT', async () => {
  assert.equal(officers.officerId, demoOfficer('RO'));
  const created = await submit('MPS', 'all');
  assert.deepEqual(created.targets.map((t) => `${t.state}:${t.status}`), ['AT:sent', 'DE:sent']);
  const view = await complete(created.id);
  assertCorrelated(view);
  const de = view.results.filter((r) => r.state === 'DE');
  const at = view.results.filter((r) => r.state === 'AT');
  assert.deepEqual(de.map((r) => [r.result, r.reference, r.candidate]), [['hit', DEMO_SUBJECT_REFERENCE.DE, '001/001']], JSON.stringify(view.results));
  assert.ok(Number(de[0]!.score) >= 45);
  assert.deepEqual(at.map((r) => r.result), ['no-hit']);
  // DE counted the request it answered, per TOT and partner.
  const year = new Date().getUTCFullYear();
  const deStats = await officersApi('DE').get<Array<{ state: string; direction: string; messageType: string; requests: number; hits: number }>>(`/fp/statistics/${year}`);
  assert.deepEqual(deStats.filter((s) => s.state === 'RO' && s.direction === 'in' && s.messageType === 'MPS').map((s) => [s.requests, s.hits]), [[1, 1]]);
  const roStats = await officersApi('RO').get<typeof deStats>(`/fp/statistics/${year}`);
  assert.deepEqual(roStats.filter((s) => s.messageType === 'MPS').map((s) => [s.state, s.direction, s.requests, s.hits]), [['AT', 'out', 1, 0], ['DE', 'out', 1, 1]]);
  // Art. 30 on DE: the request received and the SRE sent, by reference (TCN), never the minutiae.
  const audit = net
    .query<{ leaf: string }>('DE', `SELECT leaf FROM audit_entries WHERE kind = 'exchange' ORDER BY idx`)
    .map((r) => (JSON.parse(r.leaf) as { event: { channel?: string; messageType?: string; dataSupplied?: { recordIds: string[] } } }).event);
  const fp = audit.filter((e) => e.channel === 'fp');
  assert.ok(fp.some((e) => e.messageType === 'MPS' && e.dataSupplied?.recordIds.includes('type-9:1')), JSON.stringify(fp.slice(0, 3)));
  assert.ok(fp.some((e) => e.messageType === 'SRE'));
});

test('CPS to DE: one candidate (Table 11 TP/TP); PMS to AT: the unsolved latent AT holds, with the finger in 2.063', async () => {
  const [cps, pms] = await Promise.all([submit('CPS', ['DE']), submit('PMS', ['AT'])]);
  const [cpsView, pmsView] = await Promise.all([complete(cps.id), complete(pms.id)]);
  assertCorrelated(cpsView);
  assertCorrelated(pmsView);
  assert.deepEqual(cpsView.results.map((r) => [r.state, r.result, r.reference, r.candidate]), [['DE', 'hit', DEMO_SUBJECT_REFERENCE.DE, '001/001']]);
  assert.deepEqual(pmsView.results.map((r) => [r.state, r.result, r.reference, r.info]), [['AT', 'hit', DEMO_SUBJECT_REFERENCE.AT, '03']]);
});

test('ERR answers: the AFIS cannot encode real WSQ images (501); an invalid file is refused at once — both filed by TCR', async () => {
  // A valid CPS whose images are real WSQ (no demo minutiae): DE's demo AFIS answers 501.
  const real = realImageCps();
  const afisErr = await submit('CPS', ['DE'], 'subject', writeTransaction(real).toString('base64'));
  const afisView = await complete(afisErr.id);
  assertCorrelated(afisView);
  assert.deepEqual(afisView.results.map((r) => r.result), ['error']);
  assert.match(afisView.results[0]!.errors[0]!, /^501: IDC -1 FIELD 1\.004 /);

  // An invalid file cannot leave through the officers' API (it is checked first)…
  const parsed = parseTransaction(Buffer.from(file('CPS'), 'base64'));
  assert.ok(parsed.ok);
  const broken = writeTransaction(withContents({ records: [type1(parsed.value), { ...makeType2({ idc: 0, expectedCandidates: 1 }), fields: makeType2({ idc: 0, expectedCandidates: 1 }).fields.map((f) => (f.number === 3 ? { ...f, value: '0421' } : f)) } as TaggedRecord, ...parsed.value.records.slice(2)] }));
  const refused = await officersApi('RO').post('/fp/searches', { ...officers, targets: ['DE'], transaction: broken.toString('base64') });
  assert.equal(refused.status, 422);
  const problem = refused.body.error as { code: string; issues: string[] };
  assert.equal(problem.code, 'NIST_TRANSACTION_INVALID');
  assert.ok(problem.issues.some((l) => /FIELD 2\.010/.test(l)), JSON.stringify(refused.body));
  // …so it is sent as a foreign State's faulty AFIS would, from a process next to RO's daemon.
  const core = await composeGateway(loadConfig(net.node('RO').configPath), { log: pino({ level: 'warn' }) });
  let searchId = '';
  const tcn = makeTcn(new Date().getUTCFullYear(), 99_000_001);
  try {
    searchId = core.fingerprint.searches.create({ tot: 'CPS', officerId: officers.officerId, orderingOfficerId: officers.orderingOfficerId, reason: 'invalid-file test', payload: broken });
    core.fingerprint.searches.addTarget(searchId, 'DE', tcn, null);
    const header = readType1(type1(parsed.value));
    assert.equal(header.tot, 'CPS');
    const { routeSearch } = await import('../../appliance/fingerprint-exchange/outgoing.js');
    await core.pipeline.originate({
      peer: 'DE',
      channel: 'fp',
      reply: { payload: routeSearch(broken, { peer: 'DE', origin: 'RO/NCP', tcn, now: new Date() }), payloadContentType: FP_CONTENT_TYPE, subject: 'RO/CPS' },
      correlation: searchId,
      records: [],
      persist: (_db, messageId) => core.fingerprint.searches.sent(tcn, messageId, new Date()),
    });
  } finally {
    await core.close();
  }
  const view = await complete(searchId);
  assert.deepEqual(view.results.map((r) => [r.tcn, r.result]), [[tcn, 'error']]);
  const lines = view.results[0]!.errors;
  assert.ok(lines.some((l) => /^115: IDC 0 FIELD 2\.003 /.test(l)) && lines.some((l) => /^101: IDC 0 FIELD 2\.010 /.test(l)), lines.join(' | '));
});

test('daily capacity, both sides: DE refuses the MMS beyond its figure with an ERR; RO keeps the CPS beyond AT\'s figure waiting', async () => {
  const first = await complete((await submit('MMS', ['DE'], 'stranger')).id);
  assert.deepEqual(first.results.map((r) => r.result), ['no-hit']);
  const second = await complete((await submit('MMS', ['DE'], 'stranger')).id);
  assert.deepEqual(second.results.map((r) => r.result), ['error']);
  assert.match(second.results[0]!.errors[0]!, /^999: IDC -1 FIELD 1\.004 DAILY CAPACITY REACHED: 1 MMS PER DAY FOR RO/);

  const sentToAt = await submit('CPS', ['AT'], 'stranger');
  assert.deepEqual(sentToAt.targets.map((t) => t.status), ['sent']);
  const held = await submit('CPS', ['AT'], 'stranger');
  assert.deepEqual(held.targets.map((t) => t.status), ['waiting']);
  assert.match(held.targets[0]!.waitingFor ?? '', /AT declared 1 CPS searches per day .* sent after \d{4}-\d\d-\d\dT00:00:00\.000Z/);
  // Visible to the operator on the status page.
  const status = (await (await fetch(`${net.node('RO').url}/api/status`)).json()) as { services: Array<{ name: string; state: string; detail: string }> };
  await eventually(async () => {
    const s = ((await (await fetch(`${net.node('RO').url}/api/status`)).json()) as typeof status).services.find((x) => x.name === 'fp-capacity');
    return s?.state === 'degraded' && /1 CPS to AT/.test(s.detail);
  }, 'fp-capacity on the status page', 30_000);
  await complete(sentToAt.id);
  // AT saw exactly one CPS from RO today.
  assert.deepEqual(net.query<{ n: number }>('AT', `SELECT COUNT(*) AS n FROM fp_requests WHERE peer = 'RO' AND tot = 'CPS'`), [{ n: 1 }]);
});

test('the officers\' API checks before anything leaves: bearer key, authorised officer, a configured target; unknown searches are 404', async () => {
  const node = net.node('RO');
  const base = `http://127.0.0.1:${node.spec.officersPort}/api`;
  const noKey = await fetch(`${base}/fp/searches`, { method: 'POST', body: '{}' });
  assert.equal(noKey.status, 401);
  const api = officersApi('RO');
  const notAuthorised = await api.post('/fp/searches', { ...officers, officerId: 'RO-NOBODY', targets: ['DE'], transaction: file('MPS') });
  assert.equal(notAuthorised.status, 403);
  assert.equal((notAuthorised.body.error as { code: string }).code, 'OFFICER_NOT_AUTHORISED');
  const noReason = await api.post('/fp/searches', { officerId: officers.officerId, orderingOfficerId: officers.orderingOfficerId, targets: ['DE'], transaction: file('MPS') });
  assert.equal(noReason.status, 400);
  const notAPeer = await api.post('/fp/searches', { ...officers, targets: ['FR'], transaction: file('MPS') });
  assert.equal(notAPeer.status, 422);
  assert.equal((notAPeer.body.error as { code: string }).code, 'NO_TARGET');
  // The ordering officer must be on the list too.
  const orderedByNobody = await api.post('/fp/searches', { ...officers, orderingOfficerId: 'RO-NOBODY', targets: ['DE'], transaction: file('MPS') });
  assert.equal(orderedByNobody.status, 403);
  const missing = await fetch(`${base}/fp/searches/00000000-0000-0000-0000-000000000000`, { headers: { authorization: `Bearer ${readFileSync(demoClientKeyPath(node), 'utf8').trim()}` } });
  assert.equal(missing.status, 404);
});
