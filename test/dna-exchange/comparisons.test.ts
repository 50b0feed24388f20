/**
 * Art. 4 comparison runs (issue 15): which profiles a nightly and a bulk run send, in batches within the
 * agreed message size and the partner's daily limit, resumable without sending a batch twice. The batches go to
 * a recorder here, committed in a transaction as the pipeline's originateAll does; the real submission through
 * gateways is in test/integration/dna-comparisons.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../appliance/db/database.js';
import { ProfileStore } from '../../appliance/dna/store.js';
import { syntheticProfiles } from '../../appliance/demo/seed.js';
import { DnaComparisons, type ComparisonAgreement, type SubmitBatch } from '../../appliance/dna-exchange/comparisons.js';

const AGREEMENT: ComparisonAgreement = {
  partner: 'DE', types: ['S'], hourUtc: 2, maxProfilesPerMessage: 100, maxProfilesPerDay: 100_000,
  officerId: 'RO-DNA-1', orderingOfficerId: 'RO-HEAD-1', reason: 'Art. 4 agreement RO-DE',
};

async function setUp(agreement: ComparisonAgreement = AGREEMENT) {
  const dir = mkdtempSync(join(tmpdir(), 'pruem-comparisons-'));
  const db = openDatabase(join(dir, 'gateway.sqlite'));
  const store = ProfileStore.open(join(dir, 'dna.sqlite'));
  await store.importLines(syntheticProfiles('RO', 1500), { today: '2026-11-01' });
  const clock = { now: new Date('2026-12-01T10:00:00Z') };
  const sent: Array<{ targets: unknown; ids: string[]; reqtype: unknown }> = [];
  let n = 0;
  /** Commits the batch and the run's progress together, as originateAll does; `failAt` throws before a commit (a crash). */
  const recorder = (failAt?: number): SubmitBatch => async (raw, alsoInTransaction) => {
    const body = raw as { targets: unknown; reqtype: unknown; profiles: Array<{ id: string }> };
    if (failAt !== undefined && sent.length === failAt) throw new Error('power cut');
    (db as Db).transaction(() => {
      sent.push({ targets: body.targets, reqtype: body.reqtype, ids: body.profiles.map((p) => p.id) });
      alsoInTransaction(`search-${++n}`);
    })();
    return { ok: true };
  };
  const comparisons = () => new DnaComparisons(db, store, [agreement], () => clock.now);
  return { db, store, clock, sent, recorder, comparisons };
}

const stainsOf = (store: ProfileStore) => {
  const ids: string[] = [];
  for (let slot = 0, page; (page = store.pageOfType('S', -1, store.generation(), slot, 1000)).length; slot = page[page.length - 1]!.slot) ids.push(...page.map((p) => p.id));
  return ids;
};

test('a bulk run sends every stain once, in messages of the agreed size, and marks the partner compared', async () => {
  const { store, sent, recorder, comparisons } = await setUp();
  const c = comparisons();
  assert.equal(c.startBulk('AT', 'S').ok, false, 'no agreement with AT');
  assert.equal(c.startBulk('DE', 'P').ok, false, 'persons are not in the agreement');
  const run = c.startBulk('DE', 'S');
  assert.ok(run.ok);
  const stains = stainsOf(store);
  assert.equal(run.value.total, stains.length);
  const again = c.startBulk('DE', 'S');
  assert.ok(!again.ok && again.error.code === 'ALREADY_RUNNING');
  while ((await c.tick(recorder())) > 0);
  assert.ok(sent.every((b) => b.ids.length <= 100 && b.reqtype === 4 && JSON.stringify(b.targets) === '["DE"]'));
  assert.deepEqual(sent.flatMap((b) => b.ids).sort(), [...stains].sort(), 'every stain exactly once, no person');
  const report = c.report(run.value.id)!;
  assert.equal(report.state, 'done');
  assert.equal(report.sent, stains.length);
  assert.equal(report.messages, Math.ceil(stains.length / 100));
  assert.equal(c.sentThrough('DE', 'S'), store.generation());
});

test('the daily limit: what does not fit today waits for tomorrow, visibly', async () => {
  const { sent, recorder, comparisons, clock } = await setUp({ ...AGREEMENT, maxProfilesPerDay: 150 });
  const c = comparisons();
  const run = c.startBulk('DE', 'S');
  assert.ok(run.ok);
  await c.tick(recorder());
  assert.ok(run.value.total > 300, 'more than two days of stains');
  assert.deepEqual(sent.map((b) => b.ids.length), [100, 50]);
  assert.equal(await c.tick(recorder()), 0);
  assert.equal(c.report(run.value.id)!.state, 'waiting-for-tomorrow');
  clock.now = new Date('2026-12-02T00:05:00Z');
  await c.tick(recorder());
  assert.equal(sent.reduce((a, b) => a + b.ids.length, 0), 300, "the second day's 150");
  assert.equal(c.report(run.value.id)!.state, 'waiting-for-tomorrow', 'and again');
  assert.equal(c.report(run.value.id)!.sent, 300);
});

test('a crash between batches: the restarted run resumes after the last committed batch, none sent twice', async () => {
  const { store, sent, recorder, comparisons } = await setUp();
  const first = comparisons();
  assert.ok(first.startBulk('DE', 'S').ok);
  await assert.rejects(first.tick(recorder(4)), /power cut/);
  assert.equal(sent.length, 4);
  const restarted = comparisons();
  while ((await restarted.tick(recorder())) > 0);
  const ids = sent.flatMap((b) => b.ids);
  assert.equal(new Set(ids).size, ids.length, 'no profile twice');
  assert.deepEqual([...ids].sort(), stainsOf(store).sort());
});

test('nightly: the first run starts the agreement; later ones send what was added or changed since, not what was deleted', async () => {
  const { store, sent, recorder, comparisons, clock } = await setUp();
  const c = comparisons();
  clock.now = new Date('2026-12-01T02:00:00Z');
  await c.tick(recorder());
  assert.equal(sent.length, 0, 'a new agreement does not send the existing database (that is a bulk run)');
  assert.equal(c.runs()[0]?.state, 'done');
  assert.equal(await c.tick(recorder()), 0, 'one nightly run a night');
  const delta = syntheticProfiles('PL', 40).map((l) => l.replace('"type":"P"', '"type":"S"'));
  await store.importLines(
    [...delta, JSON.stringify({ id: 'RO-000003', op: 'delete' }), JSON.stringify({ id: 'RO-000004', type: 'S', agency: 'RO-FORENSIC', loci: store.getById('RO-000010')!.profile.loci })],
    { today: '2026-12-01' },
  );
  assert.equal(c.overview()[0]!.pending, 41);
  clock.now = new Date('2026-12-02T02:30:00Z');
  await c.tick(recorder());
  const ids = sent.flatMap((b) => b.ids);
  assert.deepEqual(ids.sort(), [...delta.map((l) => (JSON.parse(l) as { id: string }).id), 'RO-000004'].sort());
  assert.equal(c.overview()[0]!.pending, 0);
});
