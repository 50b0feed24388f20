/**
 * The search pool (appliance/dna/search-pool.ts): real worker threads searching the engine's shared arrays give
 * exactly the engine's hits (and the naive matcher's, on a sample); changes made inside `exclusive` wait for the
 * running jobs and are seen whole by the next ones; a PRUEMDNA batch is read in a worker as the handler reads it.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { MatchEngine } from '../../appliance/dna/engine.js';
import { SearchPool } from '../../appliance/dna/search-pool.js';
import { writePruemDna } from '../../appliance/dna/codec.js';
import { normaliseRequestProfiles } from '../../appliance/dna/handler.js';
import type { DnaLoci } from '../../appliance/dna/profile.js';
import { naiveCompare } from './naive.js';
import { Gen, populatedStore, rng } from './random.js';
import { request } from './xml-helpers.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pruem-search-pool-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const key = (hits: ReadonlyArray<{ slot: number; quality: number; hitcount: number }>) => hits.map((h) => `${h.slot}:${h.quality}:${h.hitcount}`).sort().join(',');

describe('SearchPool', () => {
  it('workers over the shared index give the engine\'s hits, and see a change made in exclusive() whole', async () => {
    const g = new Gen(rng(4242));
    const { store, mirror, put, bases } = populatedStore(g, join(dir, 'pool.sqlite'));
    const engine = MatchEngine.build(store, { minGroup: 40, blockSize: 97 });
    const base = getPriority(); // the tests may run under nice
    const pool = new SearchPool({ size: 2, chunk: 37 });
    try {
      pool.use(engine);
      const requests = (count: number) => Array.from({ length: count }, () => (g.chance(0.75) ? g.variant(g.pick(bases), g.pick([0.5, 1, 2])) : g.profile(6, 23)));
      const naive = (q: DnaLoci) => {
        const out: Array<{ slot: number; quality: number; hitcount: number }> = [];
        for (const [slot, loci] of mirror) {
          const r = naiveCompare(q, loci);
          if (r.hit) out.push({ slot, quality: r.quality!, hitcount: r.hitcount! });
        }
        return key(out);
      };

      const qs = requests(300);
      const got = await pool.searchSlots(qs);
      assert.equal(got.length, qs.length);
      let hits = 0;
      qs.forEach((q, i) => {
        assert.equal(key(got[i]!), key(engine.searchSlots(q)), JSON.stringify(q));
        if (i % 10 === 0) assert.equal(key(got[i]!), naive(q));
        hits += got[i]!.length;
      });
      assert.ok(hits > 300, `hits ${hits}`);

      // A change while a long search runs: each batch of it (37 profiles, split over both workers) sees the
      // index before the change or after it, whole; the searches after it see all of it.
      const twin = MatchEngine.build(store, { minGroup: 40, blockSize: 97 }); // the index before the change
      const removed = [...mirror.keys()].filter((_, i) => i % 5 === 0);
      // Exact copies of profiles about to be removed: their hits differ before and after.
      const longQs = Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? mirror.get(removed[i % removed.length]!)! : requests(1)[0]!));
      const long = pool.searchSlots(longQs);
      const added: number[] = [];
      await new Promise<void>((resolve) => setImmediate(resolve));
      await pool.exclusive(async () => {
        for (const slot of removed) {
          store.delete(store.get(slot)!.id);
          mirror.delete(slot);
          assert.equal(engine.remove(slot), true);
          await new Promise<void>((resolve) => setImmediate(resolve)); // the change spans turns of the event loop
        }
        // 150 additions: a tail block sealed (97) and one left open; dictionaries may grow (new arrays).
        for (let i = 0; i < 150; i++) {
          const loci = i % 3 === 0 ? g.profile(8, 23) : g.variant(g.pick(bases), 1);
          const slot = put(loci);
          engine.add(slot, { type: 'S', loci });
          added.push(slot);
        }
      });
      const longHits = await long;
      let before = 0;
      let afterChange = 0;
      for (let b = 0; b < longQs.length; b += 37) {
        const got = longHits.slice(b, b + 37).map(key);
        const was = longQs.slice(b, b + 37).map((q) => key(twin.searchSlots(q)));
        const now = longQs.slice(b, b + 37).map((q) => key(engine.searchSlots(q)));
        assert.notDeepEqual(was, now, 'the change shows in every batch of this search');
        if (got.join('|') === was.join('|')) before++;
        else {
          assert.deepEqual(got, now, `batch at ${b}: one whole state of the index, before or after the change`);
          afterChange++;
        }
      }
      assert.ok(before > 0 && afterChange > 0, `batches before the change ${before}, after it ${afterChange}`);
      const after = requests(200).concat(added.slice(0, 50).map((s) => mirror.get(s)!));
      const got2 = await pool.searchSlots(after);
      after.forEach((q, i) => {
        assert.equal(key(got2[i]!), key(engine.searchSlots(q)));
        if (i % 10 === 0 || i >= 200) assert.equal(key(got2[i]!), naive(q));
      });
      for (let i = 200; i < after.length; i++) assert.ok(got2[i]!.some((h) => h.slot === added[i - 200]), 'an added profile is found by the workers');
      const gone = new Set(removed);
      assert.ok(got2.every((hs) => hs.every((h) => !gone.has(h.slot))), 'no removed profile is found by the workers');

      // Only the workers run at the lower priority; the daemon's thread keeps its own.
      assert.equal(getPriority(), base);
      const nices = readdirSync('/proc/self/task').map((t) => Number(readFileSync(`/proc/self/task/${t}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]));
      assert.ok(nices.filter((x) => x === Math.min(19, base + 10)).length >= 2, `thread nice values ${nices.join(',')}`);
    } finally {
      await pool.close();
      store.close();
    }
  });

  it('reads a PRUEMDNA batch in a worker as the handler would, and refuses a broken one with the parse error', async () => {
    const pool = new SearchPool({ size: 1 });
    try {
      const message = request(40, 4);
      const read = await pool.readRequest(Buffer.from(writePruemDna(message)));
      assert.equal(read.parsed.ok, true);
      if (!read.parsed.ok) return;
      assert.equal(read.parsed.message.datas.length, 40);
      const want = normaliseRequestProfiles(read.parsed.message).flatMap((x) => (x.ok ? [x.profile.loci] : []));
      assert.deepEqual(read.loci, want);
      assert.equal(read.loci.length, 40);

      const broken = await pool.readRequest(Buffer.from('<PRUEMDNA><header/></PRUEMDNA>'));
      assert.equal(broken.parsed.ok, false);
      if (!broken.parsed.ok) assert.equal(broken.parsed.error.code, 'SCHEMA_INVALID');
      assert.deepEqual(broken.loci, []);
      // No index given: a search is refused, not answered empty.
      await assert.rejects(pool.searchSlots([message.datas[0]!.profile!.loci]), /no index/);
    } finally {
      await pool.close();
    }
  });
});
