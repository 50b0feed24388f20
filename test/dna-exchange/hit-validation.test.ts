/**
 * The DNA staff's validation list (issue 15): hits read from real PRUEMDNA exchanges (our answer to a partner's
 * request, a partner's answer to ours), the decision with its reason, the follow-up export only for a confirmed
 * hit, the purge of the partner's profile on exclusion; and the management API that records each step in the
 * Art. 30 log.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../appliance/db/database.js';
import { ProfileStore } from '../../appliance/dna/store.js';
import { MatchEngine } from '../../appliance/dna/engine.js';
import { answerDnaRequest, buildDnaRequest } from '../../appliance/dna/handler.js';
import { normaliseProfile } from '../../appliance/dna/normalise.js';
import { DEMO_PROFILE } from '../../appliance/demo/seed.js';
import { HitValidations, hitsOfExchange } from '../../appliance/dna-exchange/hit-validation.js';
import { dnaValidationRoutes } from '../../appliance/dna-exchange/validation-routes.js';
import type { PruemDnaMessage } from '../../appliance/dna/message.js';
import type { DnaLoci } from '../../appliance/dna/profile.js';
import { createHarness, withAccounts } from '../api/harness.js';

const NOW = new Date('2026-11-23T10:00:00Z');
const demo = Object.fromEntries(Object.entries(DEMO_PROFILE).map(([k, v]) => [k, [...v]])) as unknown as DnaLoci;

/** DE's national database holds the demo profile and a near copy; AT asks with the demo profile. */
async function exchange(): Promise<{ request: PruemDnaMessage; answer: PruemDnaMessage }> {
  const store = ProfileStore.open(':memory:');
  await store.importLines(
    [
      JSON.stringify({ id: 'DE-DEMO-0001', type: 'S', agency: 'DE-BKA', loci: demo }),
      JSON.stringify({ id: 'DE-NEAR-0002', type: 'S', agency: 'DE-BKA', loci: { ...demo, vwa: [demo.vwa![0], '21'] } }),
    ],
    { today: '2026-11-01' },
  );
  const engine = MatchEngine.build(store);
  const normalised = normaliseProfile({ type: 'S', loci: demo });
  assert.ok(normalised.ok);
  const built = buildDnaRequest({
    reqtype: 3, requestingState: 'AT', requestedState: 'DE', requestId: 'AT-REQ-1', generator: 'test', now: NOW,
    profiles: [{ profileIdent: 'AT-S-1', agency: 'AT-BK', date: '2026-11-23', profile: normalised.profile }],
  });
  assert.ok(built.ok);
  const request = built.messages[0]!;
  const { answers } = answerDnaRequest(request, { engine, ourState: 'DE', now: NOW, requestingState: 'AT', generator: 'test' });
  return { request, answer: answers[0]! };
}

test('hits are read from both sides of a real exchange, with the profiles side by side and their statistics', async () => {
  const { request, answer } = await exchange();
  // DE's view: AT's request hit two of our profiles.
  const incoming = hitsOfExchange('in', 'AT', request, answer);
  assert.deepEqual(incoming.map((h) => [h.ourProfileId, h.theirProfileRef, h.quality]).sort(), [['DE-DEMO-0001', 'AT-S-1', 1], ['DE-NEAR-0002', 'AT-S-1', 4]]);
  assert.ok(incoming.every((h) => h.ourProfile && h.theirProfile && h.hitcount !== null));
  // AT's view of the same answer: our echoed profile against DE's hit profiles.
  const outgoing = hitsOfExchange('out', 'DE', null, answer);
  assert.deepEqual(outgoing.map((h) => [h.ourProfileId, h.theirProfileRef]).sort(), [['AT-S-1', 'DE-DEMO-0001'], ['AT-S-1', 'DE-NEAR-0002']]);
  assert.ok(outgoing.every((h) => h.ourProfile !== null), 'our profile comes back in the quality-0 echo');

  const db = openDatabase(join(mkdtempSync(join(tmpdir(), 'pruem-hitval-')), 'gateway.sqlite'));
  const list = new HitValidations(db, () => NOW);
  list.record(incoming);
  const pending = list.list({ status: 'pending' });
  assert.equal(pending.length, 2);
  assert.equal(pending[0]!.quality, 4, 'near matches first: they are the ones that need a look');
  const near = list.get(pending[0]!.id)!;
  assert.deepEqual(near.differingLoci, ['vwa']);
  assert.equal(near.statistics?.loci.find((l) => l.locus === 'vwa')?.verdict, 'differs');
  assert.ok(near.matchedLoci! >= 6 && near.randomMatchProbability! > 0 && near.randomMatchProbability! < 1e-3);
  assert.deepEqual(list.workload().byQuality.map((q) => [q.quality, q.pending]), [[1, 1], [4, 1]]);

  // Nothing follows from an unconfirmed hit; a decision needs a reason; a decision stands.
  assert.equal(list.followUp(near.id).ok, false);
  const noReason = list.decide(near.id, { status: 'excluded', reason: '  ', by: 'dna1' });
  assert.ok(!noReason.ok && noReason.error.code === 'REASON_REQUIRED');
  const excluded = list.decide(near.id, { status: 'excluded', reason: 'vWA 21 confirmed by re-typing: different person', by: 'dna1' });
  assert.ok(excluded.ok && excluded.value.status === 'excluded');
  assert.equal(list.get(near.id)!.theirProfile, null, "the partner's profile is purged with the exclusion");
  assert.ok(list.get(near.id)!.ourProfile);
  const again = list.decide(near.id, { status: 'confirmed', reason: 'changed my mind', by: 'dna2' });
  assert.ok(!again.ok && again.error.code === 'ALREADY_DECIDED');
  const notBasis = list.followUp(near.id);
  assert.ok(!notBasis.ok && notBasis.error.code === 'NOT_CONFIRMED');

  const full = pending[1]!;
  assert.ok(list.decide(full.id, { status: 'confirmed', reason: 'all 16 loci, case 12/2026', by: 'dna1' }).ok);
  const basis = list.followUp(full.id);
  assert.ok(basis.ok);
  assert.deepEqual([basis.value.ourProfileId, basis.value.theirProfileRef, basis.value.partner, basis.value.confirmedBy], ['DE-DEMO-0001', 'AT-S-1', 'AT', 'dna1']);
  assert.ok(!JSON.stringify(basis.value).includes('"vwa"'), 'the follow-up basis carries references, never profiles');
  assert.equal(list.prune(new Date(NOW.getTime() + 1)), 2);
  db.close();
});

test('the management API: the DNA staff (operators) list, read, decide and export; each step is in the Art. 30 log', async () => {
  const { request, answer } = await exchange();
  const db = openDatabase(join(mkdtempSync(join(tmpdir(), 'pruem-hitval-api-')), 'gateway.sqlite'));
  const list = new HitValidations(db);
  list.record(hitsOfExchange('in', 'AT', request, answer));
  const h = createHarness({ extraRoutes: [dnaValidationRoutes(list)] });
  try {
    const { tech, operator, auditor } = await withAccounts(h);
    assert.equal((await tech.request('GET', '/api/dna/validations')).status, 403, 'technicians do not see profiles');
    assert.equal((await auditor.request('GET', '/api/dna/validations')).status, 403);
    const listed = await operator.request('GET', '/api/dna/validations?status=pending');
    assert.equal(listed.status, 200, listed.text);
    const hits = (listed.json() as { hits: Array<{ id: string; quality: number }> }).hits;
    assert.equal(hits.length, 2);
    const id = hits.find((x) => x.quality === 1)!.id;

    const read = await operator.request('GET', `/api/dna/validations/${id}`);
    assert.equal(read.status, 200);
    assert.ok((read.json() as { hit: { ourProfile: unknown; theirProfile: unknown } }).hit.theirProfile);
    const early = await operator.request('GET', `/api/dna/validations/${id}/follow-up`);
    assert.equal(early.status, 409);
    assert.equal((early.json() as { error: { code: string } }).error.code, 'HIT_NOT_CONFIRMED');
    const bad = await operator.request('POST', `/api/dna/validations/${id}/decision`, { status: 'confirmed' });
    assert.equal(bad.status, 400);
    const decided = await operator.request('POST', `/api/dna/validations/${id}/decision`, { status: 'confirmed', reason: 'full match on 16 loci' });
    assert.equal(decided.status, 200, decided.text);
    const twice = await operator.request('POST', `/api/dna/validations/${id}/decision`, { status: 'excluded', reason: 'x' });
    assert.equal(twice.status, 409);
    const basis = await operator.request('GET', `/api/dna/validations/${id}/follow-up`);
    assert.equal(basis.status, 200);
    assert.equal((basis.json() as { ourProfileId: string }).ourProfileId, 'DE-DEMO-0001');

    const actions = h.audited.filter((e) => e.actor === 'operator').map((e) => `${e.action}:${e.outcome}`);
    assert.deepEqual(actions.filter((a) => a.startsWith('dna.hit')), [
      'dna.hit.read:success', 'dna.hit.follow-up:failure', 'dna.hit.confirm:success', 'dna.hit.exclude:failure', 'dna.hit.follow-up:success',
    ]);
    assert.ok(h.audited.some((e) => e.action === 'dna.hit.confirm' && e.detail === 'full match on 16 loci'));
  } finally {
    h.close();
    db.close();
  }
});
