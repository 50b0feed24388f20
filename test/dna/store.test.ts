/** The on-disk store: import, updates, deletions, and an engine kept in step or rebuilt from the file. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MatchEngine } from '../../appliance/dna/engine.js';
import { FIRST_CHANGE, ProfileStore, type ChangeCursor } from '../../appliance/dna/store.js';
import Database from 'better-sqlite3';
import { parseProfileLine } from '../../appliance/dna/jsonl.js';

let dir: string;
before(() => (dir = mkdtempSync(join(tmpdir(), 'pruem-dna-store-'))));
after(() => rmSync(dir, { recursive: true, force: true }));

const LOCI = { vwa: ['14', '17'], th01: ['6', '9.3'], d21s11: ['29', '30.2'], fga: ['21', '22'], d8s1179: ['13', '14'], d3s1358: ['15', '16'], d18s51: ['14', '15'] };
const line = (id: string, loci: Record<string, string[]> = LOCI, type = 'S') => JSON.stringify({ id, type, agency: 'IGPR', loci });
const hitIds = (engine: MatchEngine) => engine.search({ type: 'S', loci: { vwa: ['14', '17'], th01: ['6', '9.3'], d21s11: ['29', '30.2'], fga: ['21', '22'], d8s1179: ['13', '14'], d3s1358: ['15', '16'], d18s51: ['14', '15'] } }).map((h) => `${h.nationalProfileId}:${h.quality}`);

describe('ProfileStore', () => {
  it('keeps an engine in step during import, and a rebuilt engine agrees after reopening the file', async () => {
    const path = join(dir, 'a.sqlite');
    const store = ProfileStore.open(path);
    const engine = MatchEngine.build(store);
    assert.equal(store.generation(), 0);
    let r = await store.importLines([line('A'), line('B', { ...LOCI, vwa: ['14', '18'] }), line('C', { ...LOCI, vwa: ['11', '12'] })], { today: '2024-01-01', changes: engine, batch: 2 });
    assert.deepEqual([r.inserted, r.refused], [3, 0]);
    assert.deepEqual(hitIds(engine), ['A:1', 'B:4']);
    r = await store.importLines([line('B'), JSON.stringify({ id: 'A', op: 'delete' }), line('C', { ...LOCI, th01: ['6', '10'] })], { today: '2024-02-01', changes: engine });
    assert.deepEqual([r.updated, r.deleted], [2, 1]);
    assert.deepEqual(hitIds(engine), ['B:1', 'C:3']);
    assert.equal(store.generation(), 2);
    store.close();
    const reopened = ProfileStore.open(path);
    assert.deepEqual(hitIds(MatchEngine.build(reopened)), ['B:1', 'C:3']);
    assert.equal(reopened.getById('C')!.storedOn, '2024-02-01');
    reopened.close();
  });

  it('stores the export form: canonical values, amelogenin kept, pair order low/high with the wildcard last', async () => {
    const store = ProfileStore.open(':memory:');
    await store.importLines([line('X', { ...LOCI, vwa: ['17', '14'], tpox: ['un', '8'], amelogenin: ['y', 'x'], penta_e: ['12', '7', '9'] })], { today: '2024-01-01' });
    const rec = store.getById('X')!;
    assert.deepEqual(rec.profile.loci.vwa, ['14', '17']);
    assert.deepEqual(rec.profile.loci.tpox, ['8', '*']);
    assert.deepEqual(rec.profile.loci.amelogenin, ['X', 'Y']);
    assert.deepEqual(rec.profile.loci.penta_e, ['12', '*']);
    assert.equal(rec.type, 'S');
    store.close();
  });

  it('refuses lines with reasons and keeps going', async () => {
    const store = ProfileStore.open(':memory:');
    const r = await store.importLines(['{', '[]', JSON.stringify({ id: '' }), line('ok'), JSON.stringify({ id: 'a\u0001b', type: 'S' }), 'x'.repeat(70000)], { today: '2024-01-01', maxListedRefusals: 3 });
    assert.deepEqual([r.lines, r.inserted, r.refused, r.refusals.length], [6, 1, 5, 3]);
    assert.deepEqual(r.refusals.map((x) => [x.line, x.code]), [[1, 'BAD_JSON'], [2, 'BAD_RECORD'], [3, 'BAD_RECORD']]);
    store.close();
  });
});

describe('ProfileStore changes by generation', () => {
  it('stamps each change with the generation that publishes it; pages come in slot order, deletions last', async () => {
    const store = ProfileStore.open(join(dir, 'changes.sqlite'));
    await store.importLines([line('A'), line('B'), line('C'), line('D')], { today: '2024-01-01' });
    await store.importLines([line('B', { ...LOCI, vwa: ['11', '12'] }), JSON.stringify({ id: 'C', op: 'delete' }), line('E'), line('A')], { today: '2024-01-02' });
    assert.equal(store.generation(), 2);
    assert.equal(store.countChangesBetween(0, 2), 5, 'A, B, D, E as stored now; C deleted');
    assert.equal(store.countChangesBetween(1, 2), 3, 'A was unchanged in the second import');
    const ids: string[] = [];
    let cursor: ChangeCursor | null = FIRST_CHANGE;
    let pages = 0;
    while (cursor) {
      const page = store.changesPage(1, 2, cursor, 1);
      pages++;
      for (const c of page.changes) ids.push(c.profile ? store.get(c.slot)!.id : `-${c.slot}`);
      cursor = page.next;
    }
    const c = 3; // C was the third row
    assert.deepEqual(ids, ['B', 'E', `-${c}`]);
    assert.ok(pages >= 3);
    store.close();
  });

  it('a store written before changes were stamped is upgraded in place: its rows count as generation 0', () => {
    const path = join(dir, 'old.sqlite');
    const old = new Database(path);
    old.exec(`CREATE TABLE profiles (slot INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, agency TEXT NOT NULL, stored_on TEXT NOT NULL, loci BLOB NOT NULL, amelogenin TEXT);
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO meta VALUES ('generation', '4');`);
    old.close();
    const store = ProfileStore.open(path);
    assert.equal(store.generation(), 4);
    assert.equal(store.countChangesBetween(0, 4), 0);
    store.put('X', 'IGPR', { type: 'S', loci: parseLoci() }, '2024-01-01');
    assert.equal(store.countChangesBetween(4, 5), 1, 'a new change carries the next generation');
    store.close();
    assert.equal(new Database(path).pragma('user_version', { simple: true }), 1);
  });
});

function parseLoci() {
  const parsed = parseProfileLine(line('X'));
  assert.ok(parsed.kind === 'upsert');
  return parsed.profile.loci;
}

describe('JSON Lines records', () => {
  const cases: Array<[string, string, string]> = [
    ['missing agency', JSON.stringify({ id: 'a', type: 'S', loci: LOCI }), 'BAD_RECORD'],
    ['loci not an object', JSON.stringify({ id: 'a', type: 'S', agency: 'x', loci: [] }), 'BAD_RECORD'],
    ['allele not a string', JSON.stringify({ id: 'a', type: 'S', agency: 'x', loci: { ...LOCI, vwa: [{}, '1'] } }), 'BAD_RECORD'],
    ['unknown op', JSON.stringify({ id: 'a', op: 'merge' }), 'BAD_RECORD'],
    ['id too long', JSON.stringify({ id: 'x'.repeat(200), type: 'S', agency: 'x', loci: LOCI }), 'BAD_RECORD'],
  ];
  for (const [name, text, code] of cases) {
    it(name, () => {
      const r = parseProfileLine(text);
      assert.equal(r.kind, 'refused');
      assert.equal(r.kind === 'refused' && r.code, code);
    });
  }
  it('numbers are accepted as allele values', () => {
    const r = parseProfileLine(JSON.stringify({ id: 'a', type: 'S', agency: 'x', loci: { ...LOCI, vwa: [14, 17.0], th01: [6, 9.3] } }));
    assert.equal(r.kind, 'upsert');
    assert.deepEqual(r.kind === 'upsert' && r.profile.loci.th01, ['6', '9.3']);
  });
});
