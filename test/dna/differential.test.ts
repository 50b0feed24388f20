/**
 * Randomised differential tests: the rule functions and the indexed engine must agree with the naive matcher
 * (test/dna/naive.ts, written straight from the Annex sentences) on every generated pair.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compareProfiles } from '../../appliance/dna/match.js';
import { MatchEngine } from '../../appliance/dna/engine.js';
import { ProfileStore } from '../../appliance/dna/store.js';
import type { DnaLoci } from '../../appliance/dna/profile.js';
import { naiveCompare } from './naive.js';
import { Gen, populate, rng } from './random.js';

function normalisedLoci(l: DnaLoci): DnaLoci {
  // Store round trip normalises pair order; the rules do not care, but keep inputs canonical anyway.
  return l;
}

describe('rules vs naive matcher on random pairs', () => {
  it('agree on 20 000 pairs (relatives, strangers, wildcards, micro-variants, homozygotes, gaps)', () => {
    const g = new Gen(rng(1234));
    let hits = 0;
    const qualities = new Map<number, number>();
    for (let i = 0; i < 20000; i++) {
      const a = g.profile(5, 23);
      const b = g.chance(0.8) ? g.variant(a, g.pick([0.5, 1, 2, 4])) : g.profile(5, 23);
      const got = compareProfiles(a, b);
      const want = naiveCompare(a, b);
      assert.equal(got.hit, want.hit, `pair ${i}: ${JSON.stringify({ a, b, got, want })}`);
      if (got.hit && want.hit) {
        assert.equal(got.quality, want.quality, `pair ${i} quality: ${JSON.stringify({ a, b })}`);
        assert.equal(got.hitcount, want.hitcount, `pair ${i} hitcount`);
        hits++;
        qualities.set(got.quality, (qualities.get(got.quality) ?? 0) + 1);
      }
    }
    // The generator must actually exercise every outcome, or the agreement means little.
    assert.ok(hits > 2000 && hits < 18000, `hits ${hits}`);
    for (const q of [1, 2, 3, 4]) assert.ok((qualities.get(q) ?? 0) > 100, `quality ${q}: ${qualities.get(q)}`);
  });
});

// What the store holds, read back once when written (the store round trip is part of what is tested).
const mirror = new Map<number, DnaLoci>();
function remember(store: ProfileStore, slot: number): void {
  mirror.set(slot, store.get(slot)!.profile.loci);
}
function naiveSearch(_store: ProfileStore, slots: readonly number[], request: DnaLoci): string[] {
  const out: string[] = [];
  for (const slot of slots) {
    const loci = mirror.get(slot);
    if (!loci) continue;
    const r = naiveCompare(request, loci);
    if (r.hit) out.push(`${slot}:${r.quality}:${r.hitcount}`);
  }
  return out.sort();
}

function engineSearch(engine: MatchEngine, request: DnaLoci): string[] {
  return engine.searchSlots(request).map((h) => `${h.slot}:${h.quality}:${h.hitcount}`).sort();
}

describe('indexed engine vs naive full scan', () => {
  const layouts = [
    { minGroup: 1, blockSize: 65536 },
    { minGroup: 40, blockSize: 97 },
    { minGroup: 100000, blockSize: 65536 },
  ];
  for (const { minGroup, blockSize } of layouts) {
    it(`finds exactly the naive hits (groups of ≥ ${minGroup}, blocks of ≤ ${blockSize}), also after adds and removes`, () => {
      const g = new Gen(rng(99 + minGroup));
      const store = ProfileStore.open(':memory:');
      const bases: DnaLoci[] = [];
      const slots: number[] = [];
      let n = 0;
      const put = (loci: DnaLoci) => {
        const r = store.put(`T-${n++}`, 'lab', { type: 'S', loci: normalisedLoci(loci) }, '2024-01-01');
        slots.push(r.slot);
        remember(store, r.slot);
        return r.slot;
      };
      bases.push(...populate(g, put, 80, 400));
      const engine = MatchEngine.build(store, { minGroup, blockSize });
      assert.equal(engine.size, slots.length);

      const requests = () => {
        const rs: DnaLoci[] = [];
        for (let i = 0; i < 100; i++) rs.push(g.variant(g.pick(bases), g.pick([0.5, 1, 2])));
        for (let i = 0; i < 30; i++) rs.push(g.profile(6, 23));
        return rs;
      };
      let total = 0;
      let pairEntries = 0;
      for (const q of requests()) {
        const want = naiveSearch(store, slots, q);
        assert.deepEqual(engineSearch(engine, q), want, JSON.stringify(q));
        total += want.length;
        pairEntries += engine.lastSearch.pairEntries;
      }
      assert.ok(total > 300, `the requests must produce hits (${total})`);
      if (minGroup < 100000) assert.ok(pairEntries > 0, 'the locus-pair postings must take part');

      // Updates: remove a third, add new relatives (open tail block), replace some in place.
      for (let i = 0; i < slots.length; i += 3) {
        const rec = store.get(slots[i]!)!;
        store.delete(rec.id);
        mirror.delete(slots[i]!);
        assert.equal(engine.remove(slots[i]!), true);
      }
      const live = slots.filter((_, i) => i % 3 !== 0);
      slots.length = 0;
      slots.push(...live);
      for (let i = 0; i < 400; i++) {
        const loci = g.variant(g.pick(bases), 1);
        const slot = put(loci);
        engine.add(slot, { type: 'S', loci });
      }
      for (let i = 0; i < 50; i++) {
        const slot = g.pick(slots);
        const rec = store.get(slot)!;
        const loci = g.variant(g.pick(bases), 1);
        store.put(rec.id, 'lab', { type: 'S', loci }, '2024-01-02');
        remember(store, slot);
        engine.add(slot, { type: 'S', loci });
      }
      assert.equal(engine.size, slots.length);
      for (const q of requests()) assert.deepEqual(engineSearch(engine, q), naiveSearch(store, slots, q));
      // The engine's own full scan (the benchmark baseline) agrees too.
      for (const q of requests().slice(0, 40)) {
        assert.deepEqual(engine.searchSlotsNaive(q).map((h) => `${h.slot}:${h.quality}:${h.hitcount}`).sort(), naiveSearch(store, slots, q));
      }
      store.close();
    });
  }
});
