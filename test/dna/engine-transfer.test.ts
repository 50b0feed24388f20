/**
 * The engine as transferable data (what the index worker posts to the daemon's thread): an engine rebuilt
 * through toTransfer → postMessage with the transfer list → fromTransfer answers exactly like the one built in
 * process, and both agree with the naive matcher written from the Annex (test/dna/naive.ts).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { MatchEngine, type EngineState } from '../../appliance/dna/engine.js';
import type { DnaLoci } from '../../appliance/dna/profile.js';
import { naiveCompare } from './naive.js';
import { Gen, populatedStore, rng, type PopulatedStore } from './random.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pruem-engine-transfer-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Through a real MessagePort, as a worker's postMessage does: structured clone with the buffers transferred. */
function post(engine: MatchEngine): { state: EngineState; sent: EngineState; buffers: ArrayBuffer[] } {
  const { state, transfer } = engine.toTransfer();
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(state, transfer);
  const received = receiveMessageOnPort(port2);
  port1.close();
  port2.close();
  assert.ok(received, 'the state arrives');
  return { state: received.message as EngineState, sent: state, buffers: transfer };
}

const key = (hits: ReadonlyArray<{ slot: number; quality: number; hitcount: number }>) => hits.map((h) => `${h.slot}:${h.quality}:${h.hitcount}`).sort();

type Database = PopulatedStore;

function database(g: Gen, name: string): Database {
  return populatedStore(g, join(dir, `${name}.sqlite`));
}

function requests(g: Gen, db: Database, count: number): DnaLoci[] {
  const out: DnaLoci[] = [];
  for (let i = 0; i < count; i++) out.push(g.chance(0.75) ? g.variant(g.pick(db.bases), g.pick([0.5, 1, 2])) : g.profile(6, 23));
  return out;
}

function naive(db: Database, request: DnaLoci): string[] {
  const out: string[] = [];
  for (const [slot, loci] of db.mirror) {
    const r = naiveCompare(request, loci);
    if (r.hit) out.push(`${slot}:${r.quality}:${r.hitcount}`);
  }
  return out.sort();
}

describe('MatchEngine toTransfer / fromTransfer', () => {
  const layouts = [
    { minGroup: undefined, blockSize: undefined },
    { minGroup: 40, blockSize: 97 },
    { minGroup: 5, blockSize: 300 },
  ];
  for (const [i, layout] of layouts.entries()) {
    it(`the rebuilt engine gives the same hits as the one built in process (${layout.blockSize ?? 'default'} blocks)`, () => {
      const g = new Gen(rng(700 + i));
      const db = database(g, `layout-${i}`);
      try {
        const options = { ...(layout.minGroup ? { minGroup: layout.minGroup } : {}), ...(layout.blockSize ? { blockSize: layout.blockSize } : {}) };
        const inProcess = MatchEngine.build(db.store, options);
        const original = MatchEngine.build(db.store, options);
        const { state, sent, buffers } = post(original);
        // Shared, not copied: the index's arrays are on SharedArrayBuffers that both sides see; the few ordinary
        // buffers (none here: no open tail block, no overflow) would be moved.
        assert.ok(buffers.every((b) => b.byteLength === 0), 'every transferred buffer is detached on the sending side');
        const blocks = state.blocks.length;
        assert.ok(blocks > 0 && state.blocks.every((b) => b.geno.buffer instanceof SharedArrayBuffer && b.ids.buffer instanceof SharedArrayBuffer));
        assert.ok(state.where.buffer instanceof SharedArrayBuffer && state.dicts.every((d) => d.lo.buffer instanceof SharedArrayBuffer));
        const probe = sent.blocks[0]!.slots[0]!;
        sent.blocks[0]!.slots[0] = 0xfffffffe;
        assert.equal(state.blocks[0]!.slots[0], 0xfffffffe, 'a write on the sending side is seen on the receiving side');
        sent.blocks[0]!.slots[0] = probe;
        const rebuilt = MatchEngine.fromTransfer(state, db.store);
        assert.equal(rebuilt.size, inProcess.size);
        assert.deepEqual(rebuilt.stats(), inProcess.stats());

        let hits = 0;
        const qualities = new Set<number>();
        for (const [n, q] of requests(g, db, 400).entries()) {
          const want = key(inProcess.searchSlots(q));
          assert.deepEqual(key(rebuilt.searchSlots(q)), want, JSON.stringify(q));
          // An anchor outside the engine code, on a sample (the naive scan is the slow part of this test).
          if (n % 8 === 0) assert.deepEqual(want, naive(db, q), `naive agreement: ${JSON.stringify(q)}`);
          hits += want.length;
          for (const h of rebuilt.searchSlots(q)) qualities.add(h.quality);
        }
        // The comparison means something only if the requests hit, with every quality.
        assert.ok(hits > 600, `hits ${hits}`);
        assert.deepEqual([...qualities].sort(), [1, 2, 3, 4]);

        // search() reads the hit records from the store it was given.
        const q = db.bases[0]!;
        const full = rebuilt.search(q);
        assert.ok(full.length > 0);
        assert.deepEqual(full.map((h) => [h.nationalProfileId, h.quality, h.hitcount]), inProcess.search(q).map((h) => [h.nationalProfileId, h.quality, h.hitcount]));
      } finally {
        db.store.close();
      }
    });
  }

  it('an engine with updates (open tail block, dead members) survives the transfer, and keeps taking updates', () => {
    const g = new Gen(rng(811));
    const db = database(g, 'updates');
    try {
      const options = { minGroup: 40, blockSize: 97 };
      const engine = MatchEngine.build(db.store, options);
      const twin = MatchEngine.build(db.store, options);
      const both = (f: (e: MatchEngine) => void) => [engine, twin].forEach(f);
      const slots = [...db.mirror.keys()];
      for (let i = 0; i < slots.length; i += 4) {
        db.store.delete(db.store.get(slots[i]!)!.id);
        db.mirror.delete(slots[i]!);
        both((e) => assert.equal(e.remove(slots[i]!), true));
      }
      // 150 additions: one tail block sealed (97) and a second one left open.
      for (let i = 0; i < 150; i++) {
        const loci = g.variant(g.pick(db.bases), 1);
        const slot = db.put(loci);
        both((e) => e.add(slot, { type: 'S', loci }));
      }
      const state = post(engine).state;
      assert.ok(state.tail && !state.tail.sealed && state.tail.open, 'the state carries an open tail block');
      const rebuilt = MatchEngine.fromTransfer(state, db.store);
      assert.equal(rebuilt.size, db.mirror.size);
      let hits = 0;
      for (const q of requests(g, db, 100)) {
        const want = naive(db, q);
        assert.deepEqual(key(rebuilt.searchSlots(q)), want);
        assert.deepEqual(key(twin.searchSlots(q)), want);
        hits += want.length;
      }
      assert.ok(hits > 150, `hits ${hits}`);

      // The restored engine is a normal engine: it takes further adds and removes.
      for (let i = 0; i < 60; i++) {
        const loci = g.variant(g.pick(db.bases), 1);
        const slot = db.put(loci);
        rebuilt.add(slot, { type: 'S', loci });
      }
      const victim = [...db.mirror.keys()][3]!;
      db.store.delete(db.store.get(victim)!.id);
      db.mirror.delete(victim);
      assert.equal(rebuilt.remove(victim), true);
      for (const q of requests(g, db, 40)) assert.deepEqual(key(rebuilt.searchSlots(q)), naive(db, q));
    } finally {
      db.store.close();
    }
  });

  it('an inconsistent state is refused with a reason, not searched', () => {
    const g = new Gen(rng(9));
    const db = database(g, 'refused');
    try {
      const good = () => MatchEngine.build(db.store, { minGroup: 40, blockSize: 97 }).toTransfer().state;
      assert.throws(() => MatchEngine.fromTransfer({ ...good(), version: 1 } as unknown as EngineState, db.store), /engine state: version 1/);
      const s = good();
      const truncated = { ...s, blocks: [{ ...s.blocks[0]!, geno: s.blocks[0]!.geno.subarray(0, 10) }, ...s.blocks.slice(1)] };
      assert.throws(() => MatchEngine.fromTransfer(truncated, db.store), /engine state: block 0: member arrays/);
      const fewLoci = { ...good(), dicts: good().dicts.slice(1) };
      assert.throws(() => MatchEngine.fromTransfer(fewLoci, db.store), /wrong number of loci/);
    } finally {
      db.store.close();
    }
  });
});
