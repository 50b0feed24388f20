import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { AuditLog, type AuditLeaf } from '../../appliance/audit/log.js';
import { AuditError } from '../../appliance/audit/errors.js';
import { OfficerRegistry } from '../../appliance/audit/officers.js';
import { csvCell } from '../../appliance/util/csv.js';
import { TestClock, openDb, outgoingSearch, tempDir } from './helpers.js';

const tmp = tempDir();
after(() => tmp.cleanup());
let n = 0;
function setup() {
  const clock = new TestClock('2026-11-01T09:00:00.000Z');
  const db = openDb(tmp.path, `officers-${++n}.sqlite`);
  const log = new AuditLog(db, { clock: clock.now });
  const officers = new OfficerRegistry(db, log);
  return { clock, db, log, officers };
}

test('granting, checking and revoking an authorisation, each change audited', () => {
  const { clock, log, officers } = setup();
  const g = officers.grant({ officerId: 'officer-7', name: 'Ana Pop', unit: 'IGPR-NCP', channels: ['dna', 'fp'], grantedBy: 'head-ncp' });
  assert.ok(g.ok);
  assert.deepEqual(g.value.channels, ['dna', 'fp']);
  assert.equal(g.value.authorisedFrom, '2026-11-01T09:00:00.000Z');

  const t = new Date('2026-11-02T10:00:00.000Z');
  assert.equal(officers.assertAuthorised('officer-7', 'dna', t), null);
  assert.equal(officers.assertAuthorised('officer-7', 'vrd', t)?.code, 'OFFICER_NOT_AUTHORISED_FOR_CHANNEL');
  assert.equal(officers.assertAuthorised('officer-9', 'dna', t)?.code, 'OFFICER_UNKNOWN');
  assert.equal(officers.assertAuthorised('officer-7', 'dna', new Date('2026-10-31T00:00:00.000Z'))?.code, 'OFFICER_NOT_YET_AUTHORISED');

  const dup = officers.grant({ officerId: 'officer-7', name: 'Ana Pop', channels: ['vrd'], grantedBy: 'head-ncp' });
  assert.equal(!dup.ok && dup.error.code, 'OFFICER_EXISTS');

  clock.set('2026-12-01T00:00:00.000Z');
  const r = officers.revoke('officer-7', 'head-ncp', 'moved to another unit');
  assert.ok(r.ok);
  assert.equal(officers.assertAuthorised('officer-7', 'dna', new Date('2026-12-02T00:00:00.000Z'))?.code, 'OFFICER_REVOKED');
  // The history still answers "was she authorised when that search ran?"
  assert.equal(officers.assertAuthorised('officer-7', 'dna', t), null);
  const again = officers.revoke('officer-7', 'head-ncp');
  assert.equal(!again.ok && again.error.code, 'OFFICER_ALREADY_REVOKED');
  assert.equal((() => { const x = officers.revoke('nobody', 'head-ncp'); return !x.ok && x.error.code; })(), 'OFFICER_UNKNOWN');

  // Re-granting after revocation makes a new grant; the old one stays in the list.
  const g2 = officers.grant({ officerId: 'officer-7', name: 'Ana Pop', channels: ['vrd'], grantedBy: 'head-ncp', authorisedUntil: new Date('2027-06-01T00:00:00.000Z') });
  assert.ok(g2.ok);
  assert.equal(officers.list().filter((o) => o.officerId === 'officer-7').length, 2);
  assert.equal(officers.list({ activeOnly: true }).length, 1);
  assert.equal(officers.assertAuthorised('officer-7', 'vrd', new Date('2027-07-01T00:00:00.000Z'))?.code, 'OFFICER_REVOKED');

  const changes = [0, 1, 2].map((i) => (JSON.parse(log.entry(i)!.leaf) as AuditLeaf).event);
  assert.deepEqual(changes.map((e) => e.kind === 'admin' && [e.action, e.actor, e.target, e.details?.change]), [
    ['officer-change', 'head-ncp', 'officer officer-7', 'grant'],
    ['officer-change', 'head-ncp', 'officer officer-7', 'revoke'],
    ['officer-change', 'head-ncp', 'officer officer-7', 'grant'],
  ]);
});

test('bad grants are error values', () => {
  const { officers } = setup();
  const cases = [
    { officerId: 'bad id with spaces', name: 'x', channels: ['dna' as const], grantedBy: 'a' },
    { officerId: 'o1', name: '', channels: ['dna' as const], grantedBy: 'a' },
    { officerId: 'o1', name: 'x', channels: [], grantedBy: 'a' },
    { officerId: 'o1', name: 'x', channels: ['sms' as unknown as 'dna'], grantedBy: 'a' },
    { officerId: 'o1', name: 'x', channels: ['dna' as const], grantedBy: 'a', authorisedUntil: new Date('2020-01-01T00:00:00.000Z') },
  ];
  for (const c of cases) {
    const r = officers.grant(c);
    assert.equal(!r.ok && r.error.code, 'OFFICER_INVALID', JSON.stringify(c));
  }
  assert.equal(officers.list().length, 0);
});

test('the search guard refuses an unauthorised officer\'s search inside the pipeline transaction', () => {
  const { clock, db, log, officers } = setup();
  log.useSearchGuard(officers.searchGuard());
  officers.grant({ officerId: 'officer-7', name: 'Ana Pop', channels: ['dna'], grantedBy: 'head-ncp' });
  officers.grant({ officerId: 'prosecutor-2', name: 'Dan Ene', channels: ['dna', 'fp'], grantedBy: 'head-ncp' });
  db.exec('CREATE TABLE outbox (id INTEGER PRIMARY KEY)');
  const send = db.transaction((officerId: string, channel: 'dna' | 'fp', orderingOfficerId = 'prosecutor-2') => {
    db.prepare('INSERT INTO outbox DEFAULT VALUES').run();
    return log.append(outgoingSearch(clock, { officerId, orderingOfficerId, channel }));
  });
  clock.advance(1000);
  assert.ok(send('officer-7', 'dna').index >= 1);
  // The ordering officer is checked too (issue 12 item 5).
  assert.throws(() => send('officer-7', 'dna', 'prosecutor-9'), (e: unknown) => e instanceof AuditError && e.code === 'OFFICER_UNKNOWN');
  assert.throws(() => send('officer-8', 'dna'), (e: unknown) => e instanceof AuditError && e.code === 'OFFICER_UNKNOWN');
  assert.throws(() => send('officer-7', 'fp'), (e: unknown) => e instanceof AuditError && e.code === 'OFFICER_NOT_AUTHORISED_FOR_CHANNEL');
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n, 1, 'refused searches were not queued');
  // Non-automated and answers are not subject to the Art. 30(2)(a) list.
  assert.doesNotThrow(() => log.append(outgoingSearch(clock, { officerId: 'officer-8', automated: false })));
});

test('the exported list carries the whole history, as JSON and as spreadsheet-safe CSV', () => {
  const { clock, officers } = setup();
  officers.grant({ officerId: 'o1', name: '=HYPERLINK("http://x")', unit: 'NCP, Bucharest', channels: ['dna'], grantedBy: 'head' });
  clock.advance(60_000);
  officers.revoke('o1', 'head', 'left');
  officers.grant({ officerId: 'o2', name: 'Ion "Nelu" Ionescu', channels: ['vrd', 'fp'], grantedBy: 'head' });
  const list = officers.exportList();
  assert.equal(list.officers.length, 2);
  assert.equal(list.officers[0]?.revokedBy, 'head');
  assert.match(list.legalBasis, /Art\. 30\(2\)\(a\)/);
  const csv = officers.exportCsv().split('\r\n');
  assert.equal(csv[0], 'officerId,name,unit,channels,authorisedFrom,authorisedUntil,grantedBy,grantedAt,revokedAt,revokedBy,revokeReason');
  assert.ok(csv[1]?.startsWith(`o1,"'=HYPERLINK(""http://x"")","NCP, Bucharest",dna,`));
  assert.ok(csv[2]?.startsWith('o2,"Ion ""Nelu"" Ionescu",,vrd fp,'));
  assert.equal(csvCell('-1'), "'-1");
  assert.equal(csvCell(null), '');
});
