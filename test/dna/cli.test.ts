/** `pruem dna …` commands against real files in a temporary directory. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { dnaCommand } from '../../appliance/dna/cli.js';
import { parsePruemDna, writePruemDna } from '../../appliance/dna/codec.js';
import { ProfileStore } from '../../appliance/dna/store.js';
import { request, xmllintSchema } from './xml-helpers.js';

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  return { stream: new Writable({ write(c, _e, cb) { chunks.push(String(c)); cb(); } }), text: () => chunks.join('') };
}
async function dna(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = sink();
  const err = sink();
  const code = await dnaCommand(argv, { stdout: out.stream, stderr: err.stream });
  return { code, out: out.text(), err: err.text() };
}

let dir: string;
const FULL = { vwa: ['14', '17'], th01: ['6', '9.3'], d21s11: ['29', '30.2'], fga: ['21', '22'], d8s1179: ['13', '14'], d3s1358: ['15', '16'], d18s51: ['14', '15'], amelogenin: ['X', 'Y'] };
const line = (o: unknown) => JSON.stringify(o);

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pruem-dna-cli-'));
  writeFileSync(
    join(dir, 'export.jsonl'),
    [
      line({ id: 'RO-000001', type: 'P', agency: 'IGPR', loci: FULL }),
      line({ id: 'RO-000002', type: 'S', agency: 'IGPR', loci: { ...FULL, vwa: ['14', '18'], tpox: ['o', '11'] } }),
      '{"id": "RO-000003", "type": "S", "agency": "IGPR", "loci": {"vwa": ["14"]}}',
      'not json',
      '',
      line({ id: 'RO-000004', type: 'S', agency: 'IGPR', loci: { ...FULL, fga: ['20', '21', '22', '23'] } }),
      line({ id: 'RO-000005', type: 'X', agency: 'IGPR', loci: FULL }),
      line({ id: 'RO-000006', type: 'S', agency: 'IGPR', loci: { ...FULL, d1s80: ['18', '24'] } }),
      line({ id: 'RO-000007', type: 'P', agency: 'IGPR', loci: { ...FULL, vwa: ['nr', '17'], th01: ['99', '6'], tpox: ['8', '8'], csf1po: ['10', '12'] } }),
    ].join('\n'),
  );
  writeFileSync(join(dir, 'request.xml'), writePruemDna(request(1, 3)).replace(/<additional_loci>[\s\S]*?<\/additional_loci>/, ''));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('pruem dna import', () => {
  it('applies good lines and reports each refused one with its number and reason', async () => {
    const db = join(dir, 'store.sqlite');
    const r = await dna('import', '--db', db, '--today', '2024-05-01', join(dir, 'export.jsonl'));
    assert.equal(r.code, 1);
    assert.match(r.out, /^9 lines: 2 inserted, 0 updated, 0 unchanged, 0 deleted, 6 refused$/m);
    const refusals = r.err.trim().split('\n');
    assert.deepEqual(refusals.map((l) => l.replace(/: .*$/s, '')), ['line 3 (RO-000003)', 'line 4', 'line 6 (RO-000004)', 'line 7 (RO-000005)', 'line 8 (RO-000006)', 'line 9 (RO-000007)']);
    assert.match(refusals[0]!, /TOO_FEW_DESIGNATED_LOCI: 1 fully designated/);
    assert.match(refusals[1]!, /BAD_JSON/);
    assert.match(refusals[2]!, /MIXED_PROFILE: fga has 4 alleles/);
    assert.match(refusals[3]!, /BAD_RECORD: "type"/);
    assert.match(refusals[4]!, /UNKNOWN_LOCUS: unknown locus "d1s80"/);
    assert.match(refusals[5]!, /TOO_FEW_ESS_LOCI: reference profile has 5 of the 7 ESS loci/);
    const store = ProfileStore.open(db);
    assert.equal(store.count(), 2);
    assert.deepEqual(store.getById('RO-000002')!.profile.loci.tpox, ['11', '*']);
    store.close();
  });

  it('updates and deletes by id; an unchanged line keeps its date', async () => {
    const db = join(dir, 'store2.sqlite');
    await dna('import', '--db', db, '--today', '2024-05-01', join(dir, 'export.jsonl'));
    writeFileSync(
      join(dir, 'changes.jsonl'),
      [
        line({ id: 'RO-000001', type: 'P', agency: 'IGPR', loci: FULL }),
        line({ id: 'RO-000002', type: 'S', agency: 'IGPR Cluj', loci: FULL }),
        line({ id: 'RO-000001', op: 'delete' }),
        line({ id: 'RO-999999', op: 'delete' }),
        line({ id: 'RO-000008', type: 'S', agency: 'IGPR', loci: FULL }),
      ].join('\n'),
    );
    const r = await dna('import', '--db', db, '--today', '2024-06-01', join(dir, 'changes.jsonl'));
    assert.equal(r.code, 1);
    assert.match(r.out, /5 lines: 1 inserted, 1 updated, 1 unchanged, 1 deleted, 1 refused/);
    assert.match(r.err, /line 4 \(RO-999999\): UNKNOWN_ID/);
    const store = ProfileStore.open(db);
    assert.equal(store.getById('RO-000001'), undefined);
    assert.equal(store.getById('RO-000002')!.agency, 'IGPR Cluj');
    assert.equal(store.getById('RO-000002')!.storedOn, '2024-06-01');
    assert.equal(store.count(), 2);
    store.close();
  });
});

describe('pruem dna search', () => {
  for (const kind of ['jsonl', 'sqlite'] as const) {
    it(`prints the answer for a request file against a ${kind} database`, async () => {
      const db = kind === 'jsonl' ? join(dir, 'export.jsonl') : join(dir, 'store.sqlite');
      const r = await dna('search', '--db', db, '--request', join(dir, 'request.xml'), '--now', '2024-05-01T12:00:00Z');
      assert.equal(r.code, 0, r.err);
      assert.equal((await xmllintSchema(r.out)).code, 0);
      const answer = parsePruemDna(r.out);
      assert.ok(answer.ok);
      assert.deepEqual(answer.message.datas.map((d) => [d.profileIdent, d.result, d.quality, d.matchId ?? '', d.rescount ?? '']), [
        ['DE-S-1', 'H', 0, '', 2], ['RO-000001', 'H', 1, 'DE-S-1', ''], ['RO-000002', 'H', 4, 'DE-S-1', ''],
      ]);
      assert.equal(answer.message.header.requested.sourceIsocode, 'RO');
      assert.match(r.err, /1 requesting profiles, 2 hits/);
    });
  }
  it('answers an unreadable request with result E (exit 1)', async () => {
    writeFileSync(join(dir, 'bad.xml'), '<PRUEMDNA><header/></PRUEMDNA>');
    const r = await dna('search', '--db', join(dir, 'store.sqlite'), '--request', join(dir, 'bad.xml'), '--state', 'RO', '--from', 'DE');
    assert.equal(r.code, 1);
    const answer = parsePruemDna(r.out);
    assert.ok(answer.ok);
    assert.equal(answer.message.datas[0]!.result, 'E');
    assert.match(r.err, /SCHEMA_INVALID/);
  });
  it('rejects an unknown --state', async () => {
    const r = await dna('search', '--db', join(dir, 'store.sqlite'), '--request', join(dir, 'request.xml'), '--state', 'ZZ');
    assert.equal(r.code, 2);
    assert.match(r.err, /"ZZ" is not a Prüm Member State code/);
  });
});

describe('pruem dna validate, stats, help', () => {
  it('validate accepts a good file and explains a bad one', async () => {
    const ok = await dna('validate', join(dir, 'request.xml'));
    assert.equal(ok.code, 0);
    assert.match(ok.out, /valid PRUEMDNA request \(Art\. 3\) from DE to RO, request DE-2024-000001, 1 datas/);
    writeFileSync(join(dir, 'bad2.xml'), writePruemDna(request(1, 3)).replace('<reqtype>3', '<reqtype>9'));
    const bad = await dna('validate', join(dir, 'bad2.xml'));
    assert.equal(bad.code, 1);
    assert.match(bad.out, /invalid: SCHEMA_INVALID: .*line \d+: Element 'reqtype'/);
  });
  it('stats builds the index', async () => {
    const r = await dna('stats', '--db', join(dir, 'store.sqlite'));
    assert.equal(r.code, 0);
    assert.match(r.out, /^2 profiles, index built in/);
  });
  it('--help on every command, usage errors exit 2', async () => {
    for (const c of ['import', 'search', 'validate', 'stats']) {
      const r = await dna(c, '--help');
      assert.equal(r.code, 0);
      assert.match(r.out, new RegExp(`usage: pruem dna ${c}`));
    }
    assert.match((await dna('--help')).out, /commands:/);
    assert.equal((await dna('frobnicate')).code, 2);
    assert.equal((await dna('import', '--db')).code, 2);
    assert.equal((await dna('validate', join(dir, 'missing.xml'))).code, 2);
  });
});
