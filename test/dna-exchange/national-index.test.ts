/**
 * The daemon's national DNA index (appliance/dna-exchange/national-index.ts): built in a real worker thread from
 * a SQLite store file on disk, handed over as transferable state, swapped when ready.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { MatchEngine } from '../../appliance/dna/engine.js';
import { ProfileStore } from '../../appliance/dna/store.js';
import { IndexNotReadyError, NationalIndex, type IndexBuildOutcome, type IndexDeltaOutcome } from '../../appliance/dna-exchange/national-index.js';
import { DEMO_PROFILE, syntheticProfiles } from '../../appliance/demo/seed.js';
import type { DnaLoci } from '../../appliance/dna/profile.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pruem-national-index-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const TODAY = { today: '2026-11-23' };
const demo = DEMO_PROFILE as unknown as DnaLoci;
/** A profile no synthetic State database holds (alleles outside the generator's ranges). */
const NEWCOMER: DnaLoci = { vwa: ['21', '22'], th01: ['11', '12'], d21s11: ['35', '36'], fga: ['28', '29'], d8s1179: ['18', '19'], d3s1358: ['21', '22'], d18s51: ['23', '24'] };
const newcomerLine = JSON.stringify({ id: 'DE-NEW-1', type: 'S', agency: 'DE-BKA', loci: NEWCOMER });
const REPLACEMENT: DnaLoci = { ...NEWCOMER, vwa: ['22', '23'], th01: ['12', '13'] };

async function storeWith(name: string, profiles: number): Promise<{ path: string; store: ProfileStore }> {
  const path = join(dir, `${name}.sqlite`);
  const store = ProfileStore.open(path);
  await store.importLines(syntheticProfiles('DE', profiles), TODAY);
  return { path, store };
}

/** Longest gap between the ticks of a 5 ms timer while `work` runs, and how many ticks there were. */
async function stallsDuring(work: () => Promise<unknown> | unknown): Promise<{ ms: number; longestGapMs: number; ticks: number; p99DelayMs: number }> {
  let last = performance.now();
  let longestGapMs = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longestGapMs = Math.max(longestGapMs, now - last);
    last = now;
    ticks++;
  }, 5);
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const t0 = performance.now();
  last = t0;
  await work();
  // The last stretch counts too (a synchronous build never lets the timer run at all).
  longestGapMs = Math.max(longestGapMs, performance.now() - last);
  const ms = performance.now() - t0;
  clearInterval(timer);
  delay.disable();
  return { ms, longestGapMs, ticks, p99DelayMs: delay.percentile(99) / 1e6 };
}

describe('NationalIndex', () => {
  it('builds the first index in a worker: the event loop keeps turning meanwhile (200 000 profiles)', async (t) => {
    const { path, store } = await storeWith('large', 200_000);
    const outcomes: IndexBuildOutcome[] = [];
    const index = new NationalIndex(store, { path, onBuild: (o) => outcomes.push(o) });
    try {
      assert.equal(index.status().ready, false);
      const inWorker = await stallsDuring(async () => {
        // Before the first index nothing can be searched: the accessor says so (and starts the build).
        assert.throws(() => index.current(), (e: unknown) => e instanceof IndexNotReadyError && /national DNA index is being built/.test(e.message));
        assert.ok(index.status().buildingSince, 'status shows the build running');
        await index.ready();
      });
      // The same build on this thread, as before: the timer cannot fire until it is over.
      let inProcessEngine: MatchEngine | null = null;
      const inProcess = await stallsDuring(() => {
        inProcessEngine = MatchEngine.build(store);
      });
      t.diagnostic(`worker: ${inWorker.ms.toFixed(0)} ms to the index in use, ${inWorker.ticks} timer ticks, longest stall ${inWorker.longestGapMs.toFixed(1)} ms, loop delay p99 ${inWorker.p99DelayMs.toFixed(1)} ms`);
      t.diagnostic(`in process: ${inProcess.ms.toFixed(0)} ms, ${inProcess.ticks} timer ticks, longest stall ${inProcess.longestGapMs.toFixed(1)} ms`);

      const engine = index.current();
      assert.equal(engine.size, (inProcessEngine as MatchEngine | null)?.size);
      assert.ok(engine.size > 190_000, `${engine.size} profiles`);
      assert.deepEqual(engine.search(demo).map((h) => [h.nationalProfileId, h.quality]), [['DE-DEMO-0001', 1]]);
      // The proof that the build left this thread: the timer kept firing through it, and no stall came near
      // the stall the same build causes on this thread (which is the whole build).
      assert.ok(inProcess.longestGapMs > inProcess.ms * 0.8, 'the in-process baseline blocks the loop for the whole build');
      assert.ok(inWorker.ticks >= 10, `${inWorker.ticks} ticks while the worker built`);
      assert.ok(inWorker.longestGapMs < inProcess.longestGapMs / 2, `longest stall ${inWorker.longestGapMs.toFixed(1)} ms with the worker vs ${inProcess.longestGapMs.toFixed(1)} ms in process`);

      assert.equal(outcomes.length, 1);
      const [first] = outcomes;
      assert.ok(first?.ok && first.first && first.profiles === engine.size && first.generation === 1);
      const status = index.status();
      assert.equal(status.ready, true);
      assert.equal(status.profiles, engine.size);
      assert.equal(status.generation, 1);
      assert.ok(status.builtAt && !Number.isNaN(Date.parse(status.builtAt)));
      assert.equal(status.buildingSince, null);
      assert.equal(status.lastError, null);
    } finally {
      await index.close();
      store.close();
    }
  });

  it('a refresh after an import swaps the index when the new one is ready; searches meanwhile use the old one', async () => {
    const { path, store } = await storeWith('refresh', 2000);
    // deltaLimit 0: every change is a rebuild, as before deltas existed (the delta path has tests of its own).
    const index = new NationalIndex(store, { path, deltaLimit: 0 });
    try {
      const old = await index.ready();
      assert.equal(await index.refresh(), null, 'unchanged store: no rebuild');
      assert.equal(index.current(), old);

      const replaced = store.getById('DE-000007')!;
      assert.deepEqual(old.search(replaced.profile.loci).map((h) => [h.nationalProfileId, h.quality]), [['DE-000007', 1]]);
      await store.importLines(
        [newcomerLine, JSON.stringify({ id: 'DE-DEMO-0001', op: 'delete' }), JSON.stringify({ id: 'DE-000007', type: 'S', agency: 'DE-BKA', loci: REPLACEMENT })],
        TODAY,
      );
      const rebuilding = index.refresh();
      // The build runs in the worker; this thread goes on searching the previous index.
      assert.ok(index.status().buildingSince);
      assert.equal(await index.refresh(), null, 'one build at a time');
      assert.equal(index.current(), old);
      assert.deepEqual(index.current().search(NEWCOMER), [], 'the old index does not know the new profile yet');
      assert.deepEqual(index.current().search(REPLACEMENT), []);
      // A profile replaced in place is not sent as a hit on what it used to be: the stored record is checked again.
      assert.deepEqual(index.current().search(replaced.profile.loci), []);
      let searchesMeanwhile = 0;
      const searching = setInterval(() => {
        if (index.status().buildingSince) {
          assert.equal(index.current(), old);
          searchesMeanwhile++;
        }
      }, 1);

      const outcome = await rebuilding;
      clearInterval(searching);
      assert.ok(outcome?.ok && outcome.kind === 'build', JSON.stringify(outcome));
      assert.equal(outcome.first, false);
      assert.equal(outcome.generation, 2);
      assert.ok(searchesMeanwhile > 0, 'searches ran while the worker built');
      const fresh = index.current();
      assert.notEqual(fresh, old);
      assert.equal(fresh.size, old.size, 'one added, one deleted');
      assert.deepEqual(fresh.search(NEWCOMER).map((h) => [h.nationalProfileId, h.quality]), [['DE-NEW-1', 1]]);
      assert.deepEqual(fresh.search(demo), []);
      assert.deepEqual(fresh.search(REPLACEMENT).map((h) => [h.nationalProfileId, h.quality]), [['DE-000007', 1]]);
      // Whoever still holds the old index (a batch half-way through) can finish with it.
      assert.deepEqual(old.search(NEWCOMER), []);
      assert.equal(index.status().generation, 2);
      assert.equal(await index.refresh(), null);
    } finally {
      await index.close();
      store.close();
    }
  });

  it('an import reaches the index in use as a delta: added, replaced and deleted profiles, no rebuild, the loop turning', async () => {
    const { path, store } = await storeWith('delta', 5000);
    const builds: IndexBuildOutcome[] = [];
    const deltas: IndexDeltaOutcome[] = [];
    const index = new NationalIndex(store, { path, onBuild: (o) => builds.push(o), onDelta: (d) => deltas.push(d), deltaPage: 250 });
    try {
      const engine = await index.ready();
      const replaced = store.getById('DE-000007')!;
      const sizeBefore = engine.size;
      const more = syntheticProfiles('PL', 1200);
      await store.importLines(
        [newcomerLine, JSON.stringify({ id: 'DE-DEMO-0001', op: 'delete' }), JSON.stringify({ id: 'DE-000007', type: 'S', agency: 'DE-BKA', loci: REPLACEMENT }), ...more],
        TODAY,
      );
      let turns = 0;
      const ticking = setInterval(() => turns++, 0);
      const outcome = await index.refresh();
      clearInterval(ticking);
      assert.ok(outcome?.ok && outcome.kind === 'delta', JSON.stringify(outcome));
      assert.equal(outcome.fromGeneration, 1);
      assert.equal(outcome.generation, 2);
      assert.equal(outcome.removed, 1);
      assert.ok(outcome.added >= 2 + 1000, `added ${outcome.added}`);
      assert.ok(turns > 0, 'the event loop turned between pages');
      assert.equal(index.current(), engine, 'the same index, updated in place');
      assert.deepEqual(builds.map((b) => b.first), [true], 'no second build');
      assert.deepEqual(deltas.map((d) => d.ok), [true]);
      assert.deepEqual(engine.search(NEWCOMER).map((h) => [h.nationalProfileId, h.quality]), [['DE-NEW-1', 1]]);
      assert.deepEqual(engine.search(demo), []);
      assert.deepEqual(engine.search(REPLACEMENT).map((h) => [h.nationalProfileId, h.quality]), [['DE-000007', 1]]);
      assert.deepEqual(engine.search(replaced.profile.loci).filter((h) => h.nationalProfileId === 'DE-000007'), []);
      assert.equal(engine.size, sizeBefore + outcome.added - 1 - 1, 'one replaced in place, one deleted');
      assert.equal(index.status().generation, 2);
      assert.equal(await index.refresh(), null, 'nothing new');

      // The same state as a full build from the store (the worker's), on every profile of the delta and a sample.
      const rebuilt = MatchEngine.build(store);
      assert.equal(rebuilt.size, engine.size);
      for (const id of ['DE-NEW-1', 'DE-000007', 'DE-000100', 'PL-000005', 'PL-001200']) {
        const p = store.getById(id);
        if (!p) continue;
        assert.deepEqual(engine.searchSlots(p.profile.loci), rebuilt.searchSlots(p.profile.loci), id);
      }
    } finally {
      await index.close();
      store.close();
    }
  });

  it('Art. 4 batches are searched by the worker threads: the same hits as here, and a delta is seen whole by the next batch', async () => {
    const { path, store } = await storeWith('pool', 3000);
    const deltas: IndexDeltaOutcome[] = [];
    const index = new NationalIndex(store, { path, onDelta: (d) => deltas.push(d), searchThreads: 2, deltaPage: 100 });
    const view = (hits: ReadonlyArray<{ nationalProfileId: string; quality: number; hitcount: number }>) => hits.map((h) => `${h.nationalProfileId}:${h.quality}:${h.hitcount}`);
    try {
      const engine = await index.ready();
      const sample = Array.from({ length: 120 }, (_, i) => store.getById(`DE-${String(1 + i * 23).padStart(6, '0')}`)?.profile.loci).filter((l): l is DnaLoci => l !== undefined);
      const batch = [...sample, demo, NEWCOMER];
      const got = await index.searchBatch(batch);
      assert.equal(got.length, batch.length);
      batch.forEach((l, i) => assert.deepEqual(view(got[i]!), view(engine.search(l))));
      assert.ok(got.filter((h) => h.length > 0).length >= sample.length, 'the stored profiles hit themselves');
      assert.deepEqual(view(got[batch.length - 1]!), [], 'NEWCOMER is not there yet');

      // An import while a batch runs: the delta waits for it, and the next batch sees all of it.
      await store.importLines([newcomerLine, JSON.stringify({ id: 'DE-DEMO-0001', op: 'delete' }), JSON.stringify({ id: 'DE-000007', type: 'S', agency: 'DE-BKA', loci: REPLACEMENT }), ...syntheticProfiles('PL', 400)], TODAY);
      const running = index.searchBatch(Array.from({ length: 4 }, () => batch).flat());
      const outcome = await index.refresh();
      assert.ok(outcome?.ok && outcome.kind === 'delta', JSON.stringify(outcome));
      assert.equal((await running).length, batch.length * 4);
      const after = await index.searchBatch([NEWCOMER, demo, REPLACEMENT, ...sample.slice(0, 20)]);
      assert.deepEqual(after[0]!.map((h) => [h.nationalProfileId, h.quality]), [['DE-NEW-1', 1]]);
      assert.deepEqual(after[1], []);
      assert.deepEqual(after[2]!.map((h) => [h.nationalProfileId, h.quality]), [['DE-000007', 1]]);
      [NEWCOMER, demo, REPLACEMENT, ...sample.slice(0, 20)].forEach((l, i) => assert.deepEqual(view(after[i]!), view(engine.search(l))));

      // A batch message is read in a worker: parsed, checked against the schema, its profiles normalised.
      const read = await index.readRequest(Buffer.from('<PRUEMDNA/>'));
      assert.ok(read && !read.parsed.ok && read.loci.length === 0, JSON.stringify(read));
    } finally {
      await index.close();
      store.close();
    }
  });

  it('changes of an import still running are left for the next delta; a delta too large is a rebuild', async () => {
    const { path, store } = await storeWith('delta-limits', 2000);
    const index = new NationalIndex(store, { path, deltaLimit: 10 });
    try {
      await index.ready();
      // A change written but not yet published (the import has not bumped the generation): not applied.
      const normal = store.getById('DE-000009')!;
      store.put('DE-PENDING', 'DE-BKA', { type: 'S', loci: NEWCOMER }, TODAY.today);
      assert.equal(await index.refresh(), null, 'generation unchanged: nothing to apply');
      assert.deepEqual(index.current().search(NEWCOMER), []);
      // Published with the next import: applied with it.
      await store.importLines([JSON.stringify({ id: 'DE-000009', type: 'S', agency: 'DE-BKA', loci: REPLACEMENT })], TODAY);
      const small = await index.refresh();
      assert.ok(small?.ok && small.kind === 'delta' && small.added === 2, JSON.stringify(small));
      assert.deepEqual(index.current().search(NEWCOMER).map((h) => h.nationalProfileId), ['DE-PENDING']);
      assert.ok(index.current().search(normal.profile.loci).every((h) => h.nationalProfileId !== 'DE-000009'));
      // More than deltaLimit changes: the worker builds a new index instead.
      await store.importLines(syntheticProfiles('FR', 50), TODAY);
      const big = await index.refresh();
      assert.ok(big?.ok && big.kind === 'build', JSON.stringify(big));
      assert.equal(index.status().generation, 3);
    } finally {
      await index.close();
      store.close();
    }
  });

  it('a failed rebuild leaves the previous index in use and reports the error; the next refresh recovers', async () => {
    const { path, store } = await storeWith('failing', 1000);
    const outcomes: IndexBuildOutcome[] = [];
    const index = new NationalIndex(store, { path, onBuild: (o) => outcomes.push(o), deltaLimit: 0 });
    try {
      const old = await index.ready();
      await store.importLines([newcomerLine], TODAY);
      // The store file disappears from its path (our own connection keeps its open file).
      renameSync(path, `${path}.moved`);
      const failed = await index.refresh();
      assert.ok(failed && !failed.ok && failed.kind === 'build', JSON.stringify(failed));
      assert.match(failed.error, /unable to open database file/);
      assert.ok(failed.error.includes(path), failed.error);
      assert.equal(index.current(), old);
      const status = index.status();
      assert.equal(status.ready, true);
      assert.equal(status.generation, 1);
      assert.equal(status.buildingSince, null);
      assert.match(status.lastError?.reason ?? '', /unable to open database file/);
      assert.deepEqual(outcomes.map((o) => o.ok), [true, false]);

      renameSync(`${path}.moved`, path);
      const recovered = await index.refresh();
      assert.ok(recovered?.ok, JSON.stringify(recovered));
      assert.equal(index.status().lastError, null);
      assert.equal(index.status().generation, 2);
      assert.equal(index.current().search(NEWCOMER).length, 1);
    } finally {
      await index.close();
      store.close();
    }
  });

  it('before a first index exists the accessor throws; a failed first build is reported and not retried in a loop', async () => {
    const { store } = await storeWith('missing', 10);
    const missing = join(dir, 'no-such-store.sqlite');
    const index = new NationalIndex(store, { path: missing });
    try {
      assert.throws(() => index.current(), (e: unknown) => e instanceof IndexNotReadyError && e.code === 'DNA_INDEX_NOT_READY' && /being built/.test(e.message));
      await assert.rejects(index.ready(), (e: unknown) => e instanceof IndexNotReadyError && /could not be built: .*unable to open database file/.test(e.message));
      assert.equal(index.status().ready, false);
      assert.match(index.status().lastError?.reason ?? '', /no-such-store\.sqlite: unable to open database file/);
      // Still not answerable, and a burst of requests does not start a build each.
      assert.throws(() => index.current(), /not available \(last build failed: .*\); it will be built again/);
      assert.equal(index.status().buildingSince, null);
      // refresh() (the daemon's timer) tries again at once.
      const again = await index.refresh();
      assert.ok(again && !again.ok && again.kind === 'build' && again.first);
    } finally {
      await index.close();
      store.close();
    }
    assert.throws(() => new NationalIndex(store, { path: ':memory:' }), /in-memory store/);
  });

  it('close() stops a running build; the outcome says so and nothing is installed', async () => {
    const { path, store } = await storeWith('closing', 1000);
    const index = new NationalIndex(store, { path });
    try {
      const building = index.refresh();
      await index.close();
      const outcome = await building;
      assert.ok(outcome && !outcome.ok && outcome.kind === 'build', JSON.stringify(outcome));
      assert.match(outcome.error, /cancelled/);
      assert.equal(index.status().ready, false);
      assert.equal(await index.refresh(), null);
    } finally {
      store.close();
    }
  });
});
