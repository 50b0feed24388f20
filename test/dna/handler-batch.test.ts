/** An Art. 4 request's profiles are matched in one call of the engine's batch path, with the same answer as one by one. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MatchEngine } from '../../appliance/dna/engine.js';
import { answerDnaRequest } from '../../appliance/dna/handler.js';
import { normaliseProfile } from '../../appliance/dna/normalise.js';
import { ProfileStore } from '../../appliance/dna/store.js';
import type { NormalisedProfile } from '../../appliance/dna/profile.js';
import { FULL_LOCI, request } from './xml-helpers.js';

test('Art. 4: one searchBatch call for the searchable profiles; refused ones answered E; same answer as profile by profile', () => {
  const loci: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(FULL_LOCI)) if (v) loci[k] = [v[0], v[1]];
  const r = normaliseProfile({ type: 'S', loci });
  assert.ok(r.ok);
  const store = ProfileStore.open(':memory:');
  try {
    store.put('RO-000001', 'IGPR', r.profile, '2019-03-04');
    const engine = MatchEngine.build(store);
    const req = request(5, 4);
    // The third profile loses its loci: refused at normalisation, never searched.
    const datas = req.datas.map((d, i) => (i === 2 ? { ...d, profile: { loci: {}, profileId: d.profileIdent } } : d));
    const ctx = { ourState: 'RO' as const, now: new Date('2024-05-01T12:00:05Z'), requestingState: 'DE' as const, generator: 'test' };
    const batches: number[] = [];
    let single = 0;
    const withBatch = answerDnaRequest({ ...req, datas }, {
      ...ctx,
      engine: {
        search: (p: NormalisedProfile) => (single++, engine.search(p)),
        searchBatch: (ps: readonly NormalisedProfile[]) => (batches.push(ps.length), engine.searchBatch(ps)),
      },
    });
    assert.deepEqual(batches, [4]);
    assert.equal(single, 0);
    const oneByOne = answerDnaRequest({ ...req, datas }, { ...ctx, engine: { search: (p: NormalisedProfile) => engine.search(p) } });
    assert.deepEqual(withBatch.answers, oneByOne.answers);
    assert.deepEqual(withBatch.outcomes.map((o) => o.result), ['H', 'H', 'E', 'H', 'H']);
  } finally {
    store.close();
  }
});
