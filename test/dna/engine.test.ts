/** Engine properties other than agreement with the naive matcher (see differential.test.ts). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MatchEngine } from '../../appliance/dna/engine.js';
import { ProfileStore } from '../../appliance/dna/store.js';
import { MATCH_LOCI } from '../../appliance/dna/loci.js';
import type { DnaLoci } from '../../appliance/dna/profile.js';
import { rng } from './random.js';

describe('MatchEngine', () => {
  it('each profile costs at most 128 bytes of index even with all 23 loci designated', () => {
    // Fixed costs (counters, dictionaries) are amortised over millions of profiles in the field; what must stay
    // within the budget is what every further profile adds, measured between two database sizes.
    const bytesFor = (n: number) => {
      const store = ProfileStore.open(':memory:');
      const r = rng(3);
      for (let i = 0; i < n; i++) {
        const loci: Record<string, [string, string]> = {};
        for (const l of MATCH_LOCI) loci[l] = [String(5 + Math.floor(r() * 20)), String(5 + Math.floor(r() * 20))];
        store.put(`X${i}`, 'lab', { type: 'S', loci: loci as DnaLoci }, '2024-01-01');
      }
      const stats = MatchEngine.build(store).stats();
      store.close();
      assert.equal(stats.profiles, n);
      return stats.indexBytes;
    };
    const small = bytesFor(30000);
    const large = bytesFor(90000);
    const perProfile = (large - small) / 60000;
    assert.ok(perProfile <= 128, `${perProfile} bytes/profile`);
    assert.ok(perProfile > 100, `${perProfile} bytes/profile: the accounting must include the postings`);
  });

  it('a search does not look at every profile: a stranger touches a small part of the index', () => {
    const store = ProfileStore.open(':memory:');
    const r = rng(4);
    const kit = MATCH_LOCI.slice(0, 15);
    const profile = () => {
      const loci: Record<string, [string, string]> = {};
      for (const l of kit) loci[l] = [String(6 + Math.floor(r() * 14)), String(6 + Math.floor(r() * 14))];
      return loci as DnaLoci;
    };
    for (let i = 0; i < 20000; i++) store.put(`Y${i}`, 'lab', { type: 'S', loci: profile() }, '2024-01-01');
    const engine = MatchEngine.build(store);
    let entries = 0;
    let verified = 0;
    for (let i = 0; i < 20; i++) {
      engine.searchSlots(profile());
      entries += engine.lastSearch.entries;
      verified += engine.lastSearch.verified;
    }
    // 20 searches × 20 000 profiles × 15 loci would be 6 M look-ups for a scan.
    assert.ok(entries < 20 * 20000 * 0.2, `entries ${entries}`);
    assert.ok(verified < 20 * 20000 * 0.05, `verified ${verified}`);
    assert.ok(engine.lastSearch.pairEntries >= 0);
    store.close();
  });

  it('a request with fewer than six designated loci cannot hit and searches nothing', () => {
    const store = ProfileStore.open(':memory:');
    store.put('Z', 'lab', { type: 'S', loci: { vwa: ['14', '17'], th01: ['6', '9.3'], d21s11: ['29', '30'], fga: ['21', '22'], d8s1179: ['13', '14'], d3s1358: ['15', '16'] } }, '2024-01-01');
    const engine = MatchEngine.build(store);
    assert.deepEqual(engine.searchSlots({ vwa: ['14', '17'], th01: ['6', '9.3'], d21s11: ['29', '30'], fga: ['21', '22'], d8s1179: ['13', '14'], d3s1358: ['15', '*'] }), []);
    assert.equal(engine.lastSearch.entries + engine.lastSearch.verified, 0);
    assert.equal(engine.searchSlots({ vwa: ['14', '17'], th01: ['6', '9.3'], d21s11: ['29', '30'], fga: ['21', '22'], d8s1179: ['13', '14'], d3s1358: ['15', '16'] }).length, 1);
    store.close();
  });

  it('remove of an unknown slot is refused, and a removed profile is no longer found', () => {
    const store = ProfileStore.open(':memory:');
    const loci: DnaLoci = { vwa: ['14', '17'], th01: ['6', '9.3'], d21s11: ['29', '30'], fga: ['21', '22'], d8s1179: ['13', '14'], d3s1358: ['15', '16'] };
    const { slot } = store.put('Z', 'lab', { type: 'S', loci }, '2024-01-01');
    const engine = MatchEngine.build(store);
    assert.equal(engine.remove(slot + 100), false);
    assert.equal(engine.remove(slot), true);
    assert.equal(engine.remove(slot), false);
    assert.deepEqual(engine.searchSlots(loci), []);
    engine.add(slot, loci);
    assert.equal(engine.search(loci)[0]?.nationalProfileId, 'Z');
    store.close();
  });
});
