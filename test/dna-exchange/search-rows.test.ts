import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../appliance/db/database.js';
import { DnaSearches } from '../../appliance/dna-exchange/searches.js';
import type { HeaderInfo, PruemDatas, PruemDnaMessage } from '../../appliance/dna/message.js';

function info(iso: string, requestId: string): HeaderInfo {
  return { sourceIsocode: iso, destinationIsocode: iso, requestId, date: '2026-12-06', time: '03:00:00' };
}

function datas(over: Partial<PruemDatas>): PruemDatas {
  return { reqtype: 3, date: '2026-12-06', type: 'S', result: 'H', agency: 'DE-BKA', profileIdent: 'RO-S-1', ...over } as PruemDatas;
}

test('the answer rows of a search tell the echo of our profile from the candidate profiles found', () => {
  const db = openDatabase(':memory:');
  const searches = new DnaSearches(db);
  const s = searches.create({ reqtype: 3, officerId: 'RO-OFFICER-1', orderingOfficerId: 'RO-PROSECUTOR-7', reason: 'case', profileIds: ['RO-S-1', 'RO-S-2'] });
  searches.requestSent(s.id, 'DE', 'req-de', '<m1@ro>');
  const answer: PruemDnaMessage = {
    header: { direction: 'A', ref: 'x', generator: 'g', schemaVersion: '1.0', requesting: info('RO', 'req-de'), requested: info('DE', 'req-de') },
    datas: [
      datas({ profileIdent: 'RO-S-1', result: 'H', quality: 0 }),
      datas({ profileIdent: 'DE-0001', matchId: 'RO-S-1', result: 'H', quality: 1, hitcount: 16 }),
      datas({ profileIdent: 'DE-0002', matchId: 'RO-S-1', result: 'H', quality: 4, hitcount: 12 }),
      datas({ profileIdent: 'RO-S-2', result: 'N' }),
    ],
  };
  assert.equal(searches.answerReceived(answer, 'DE'), s.id);
  const view = searches.get(s.id);
  assert.ok(view);
  const rows = view.results.map((r) => `${r.kind} ${r.profileRef} ${r.result} ${r.hit?.profileIdent ?? '-'} q${r.hit?.quality ?? 0}`);
  assert.deepEqual(rows.sort(), ['echo RO-S-1 H - q0', 'echo RO-S-2 N - q0', 'match RO-S-1 H DE-0001 q1', 'match RO-S-1 H DE-0002 q4'].sort());
  // An officer counting hits counts the matches, not the echo that also says H.
  assert.equal(view.results.filter((r) => r.kind === 'match').length, 2);
  assert.ok(view.results.filter((r) => r.kind === 'echo').every((r) => r.hit === null));
});
