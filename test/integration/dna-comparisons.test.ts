/**
 * Issue 15, Art. 4 comparisons by agreement between two gateway processes through a real Postfix relay:
 *  - a nightly run (started by hand with --changes, as the timer does at its hour) sends only what was imported
 *    since the last run, and the partner's hits come back into the run's report and the validation list;
 *  - a bulk run SIGKILLed half-way resumes after a restart: every stain sent exactly once, and the hits are those
 *    a match engine over the partner's database computes on its own.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, startGateways, type Gateways } from '../support/gateways.js';
import { demoOfficer, demoOrderingOfficer, runPruem } from '../../appliance/demo/network.js';
import { DEMO_PROFILE } from '../../appliance/demo/seed.js';
import { ProfileStore } from '../../appliance/dna/store.js';
import { MatchEngine } from '../../appliance/dna/engine.js';

let net: Gateways;
const demo = Object.fromEntries(Object.entries(DEMO_PROFILE).map(([k, v]) => [k, [...v]]));

before(async () => {
  const neverTonight = (new Date().getUTCHours() + 12) % 24;
  net = await startGateways(['RO', 'DE'], {
    relay: 'postfix',
    syntheticProfiles: 2000,
    config: {
      // In DE's configuration too (the option is per network); DE's own run would need its hour, which never comes.
      dnaComparisons: [{ partner: 'DE', types: ['S'], hourUtc: neverTonight, maxProfilesPerMessage: 40, officerId: demoOfficer('RO'), orderingOfficerId: demoOrderingOfficer('RO') }],
    },
  });
});
after(async () => {
  await net?.close();
});

type RunRow = { id: string; kind: string; state: string; total: number; sent: number; messages: number };
const runs = () => net.query<RunRow>('RO', 'SELECT id, kind, state, total, sent, messages FROM dna_comparison_runs ORDER BY started_at');
const latest = () => runs()[runs().length - 1]!;
const compare = (...args: string[]) => runPruem(['dna', 'compare', '--config', net.node('RO').configPath, '--partner', 'DE', '--type', 'S', ...args]);
const hitsOfRun = (id: string) =>
  net.query<{ profile_ref: string; hit_profile_ident: string; quality: number }>(
    'RO',
    'SELECT s.profile_ref, s.hit_profile_ident, s.quality FROM dna_search_results s JOIN dna_comparison_searches c ON c.search_id = s.search_id WHERE c.run_id = ? AND s.quality BETWEEN 1 AND 4',
    id,
  );
const answered = (id: string) =>
  net.query<{ n: number; a: number }>(
    'RO',
    'SELECT count(*) AS n, count(r.answered_at) AS a FROM dna_search_requests r JOIN dna_comparison_searches c ON c.search_id = r.search_id WHERE c.run_id = ?',
    id,
  )[0]!;

test('nightly: only what changed since the last run is sent; the partner\'s hit comes back to the report and the validation list', async () => {
  await compare('--changes');
  await eventually(() => latest().state === 'done', 'the first nightly run (the agreement starts) ends', 60_000);
  assert.equal(latest().total, 0, 'a new agreement does not send the existing database');

  const ro = net.node('RO');
  const delta = join(ro.dataDir, 'tonight.jsonl');
  writeFileSync(delta, `${JSON.stringify({ id: 'RO-NIGHT-1', type: 'S', agency: 'RO-IGPR', loci: demo })}\n${JSON.stringify({ id: 'RO-NIGHT-2', type: 'P', agency: 'RO-IGPR', loci: demo })}\n`);
  await runPruem(['dna', 'import', '--db', join(ro.dataDir, 'dna.sqlite'), delta]);
  await compare('--changes');
  const run = latest();
  assert.equal(run.total, 1, 'the new stain; the person profile is not in the agreement');
  await eventually(() => answered(run.id).n > 0 && answered(run.id).a === answered(run.id).n, 'DE answers the nightly run', 120_000);
  assert.deepEqual(hitsOfRun(run.id).map((h) => `${h.profile_ref}:${h.hit_profile_ident}:${h.quality}`), ['RO-NIGHT-1:DE-DEMO-0001:1']);
  const listed = net.query<{ direction: string; our_profile_id: string; their_profile_ref: string }>('RO', "SELECT direction, our_profile_id, their_profile_ref FROM dna_hit_validations WHERE our_profile_id = 'RO-NIGHT-1'");
  assert.deepEqual(listed, [{ direction: 'out', our_profile_id: 'RO-NIGHT-1', their_profile_ref: 'DE-DEMO-0001' }]);
});

test('bulk: SIGKILLed half-way, restarted, every stain sent once; the hits are what the partner\'s database gives', async () => {
  await compare();
  const run = latest();
  assert.equal(run.kind, 'bulk');
  assert.ok(run.total > 400, `${run.total} stains`);
  await eventually(() => latest().sent > 0, 'the run sends its first batches', 60_000);
  await net.kill('RO');
  const atKill = latest();
  assert.ok(atKill.sent < atKill.total, `killed half-way (${atKill.sent} of ${atKill.total})`);
  await net.start('RO');
  await eventually(() => latest().state === 'done', 'the run resumes and ends', 180_000);
  assert.equal(latest().sent, run.total);

  // Every stain exactly once across the run's searches.
  const sentIds = net
    .query<{ profile_ids: string }>('RO', 'SELECT s.profile_ids FROM dna_searches s JOIN dna_comparison_searches c ON c.search_id = s.id WHERE c.run_id = ?', run.id)
    .flatMap((r) => JSON.parse(r.profile_ids) as string[]);
  assert.equal(sentIds.length, run.total);
  assert.equal(new Set(sentIds).size, sentIds.length, 'no stain sent twice');

  await eventually(() => answered(run.id).a === answered(run.id).n, 'DE answers every batch', 180_000);
  // The same comparison done here, from the two stores on disk, without the network.
  const ours = ProfileStore.open(join(net.node('RO').dataDir, 'dna.sqlite'));
  const theirs = ProfileStore.open(join(net.node('DE').dataDir, 'dna.sqlite'));
  try {
    const engine = MatchEngine.build(theirs);
    const expected: string[] = [];
    for (const id of sentIds) for (const h of engine.search(ours.getById(id)!.profile)) expected.push(`${id}:${h.nationalProfileId}:${h.quality}`);
    const got = hitsOfRun(run.id).map((h) => `${h.profile_ref}:${h.hit_profile_ident}:${h.quality}`);
    assert.ok(expected.length > 0, 'the run has hits to compare');
    assert.deepEqual(got.sort(), expected.sort());
  } finally {
    ours.close();
    theirs.close();
  }
});
