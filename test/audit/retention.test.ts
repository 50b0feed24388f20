import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { AuditLog, retentionDeadline, type AuditLeaf } from '../../appliance/audit/log.js';
import { exportBundle } from '../../appliance/audit/export.js';
import { verifyBundle } from '../../appliance/audit/verify-audit.mjs';
import {
  TestClock,
  incomingRequest,
  makePki,
  openDb,
  outgoingSearch,
  runVerifyTxt,
  softwareSigner,
  tempDir,
  type TestPki,
} from './helpers.js';

const tmp = tempDir();
let pki: TestPki;
before(async () => {
  pki = await makePki(tmp.path);
});
after(() => tmp.cleanup());

const ALL = { from: new Date('2020-01-01T00:00:00.000Z'), to: new Date('2035-01-01T00:00:00.000Z') };

test('the retention deadline is two years after the end of the month', () => {
  assert.equal(retentionDeadline('2024-10').toISOString(), '2026-11-01T00:00:00.000Z');
  assert.equal(retentionDeadline('2024-12').toISOString(), '2027-01-01T00:00:00.000Z');
});

test('after a two-year clock jump, expired months are deleted with a record, blocked entries kept, and the rest verifies', async () => {
  const clock = new TestClock('2024-10-03T10:00:00.000Z');
  const db = openDb(tmp.path, 'retention.sqlite');
  const log = new AuditLog(db, { clock: clock.now, origin: 'RO/pruem-gateway' });
  const signer = softwareSigner(pki);

  // Three months of traffic; a unique marker in October's data lets us look for leftovers on disk.
  const marker = 'UNIQUE-MARKER-Q7XK2';
  const oct = [0, 1, 2, 3].map((i) => log.append(outgoingSearch(clock, { reason: `${marker} case ${i}` })));
  const kept = log.append(incomingRequest(clock, { referenceNumbers: ['COURT-HOLD-1'] }));
  assert.ok(log.block(kept.index, 'Erasure would harm the data subject (Art. 28(3)); court case 12/2024', 'dpo-1').ok);
  await log.checkpoint(signer);
  clock.set('2024-11-10T10:00:00.000Z');
  for (let i = 0; i < 3; i++) log.append(incomingRequest(clock));
  clock.set('2024-12-10T10:00:00.000Z');
  for (let i = 0; i < 3; i++) log.append(incomingRequest(clock));
  await log.checkpoint(signer);

  // The authority's first visit, before anything expires.
  const before = join(tmp.path, 'before');
  const r0 = await exportBundle(log, before, { filters: ALL, actor: 'dpo-1', signer });
  assert.ok(r0.ok);

  // Two years later: October 2024 ended 2024-11-01, so it expired on 2026-11-01.
  clock.set('2026-11-15T03:00:00.000Z');
  const report = await log.applyRetention(clock.now(), signer);
  assert.deepEqual(report.deleted, [{ period: '2024-10', entriesDeleted: oct.length + 1, blockedRetained: 1 }]);
  assert.deepEqual(report.skipped, []);
  for (const o of oct) assert.equal(log.entry(o.index), undefined, 'expired entry deleted');
  assert.ok(log.entry(kept.index)?.blockedAt, 'blocked entry kept and marked');
  assert.equal(log.entry(oct[0]!.index + 6)?.period, '2024-11', 'November is kept');

  // The deletion record: period, signed final head, time; no personal data.
  const [rec] = log.deletionRecords();
  assert.equal(rec?.period, '2024-10');
  assert.equal(rec?.deletedAt, '2026-11-15T03:00:00.000Z');
  assert.equal(rec?.finalHead.final, true);
  assert.equal(rec?.finalHead.size, 6);
  assert.deepEqual(rec?.blockedRetained, [4]);
  assert.ok(!JSON.stringify(rec).includes(marker));
  // … and the deletion is itself in the log.
  const last = log.latestCheckpoint();
  void last;
  const period = log.period('2026-11')!;
  const del = JSON.parse(log.entry(period.firstIndex)!.leaf) as AuditLeaf;
  assert.equal(del.event.kind === 'admin' && del.event.action, 'retention-deletion');

  // Deleted means gone from the file, not left in free pages or the WAL.
  db.pragma('wal_checkpoint(TRUNCATE)');
  const files = ['retention.sqlite', 'retention.sqlite-wal'].map((f) => join(tmp.path, f)).filter((f) => existsSync(f));
  for (const f of files) assert.equal(readFileSync(f).includes(Buffer.from(marker)), false, `${f} still holds deleted data`);

  // What remains verifies, the blocked entry included, and the chain passes through the deletion.
  const after1 = join(tmp.path, 'after');
  const r1 = await exportBundle(log, after1, { filters: ALL, actor: 'dpo-1', signer });
  assert.ok(r1.ok);
  const rep = await verifyBundle(after1, { trustAnchorSha256: r1.value.trustAnchorsSha256, previous: before });
  assert.deepEqual(rep.errors, []);
  assert.ok(rep.facts.some((f) => /period 2024-10 \(6 entries.*deleted at 2026-11-15/.test(f)));
  assert.ok(rep.warnings.some((w) => w.code === 'PREVIOUS_ANCHOR_PERIOD_DELETED') === false, 'previous anchor was December, not deleted');
  const lines = readFileSync(join(after1, 'entries.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as AuditLeaf);
  assert.ok(lines.some((l) => l.index === kept.index), 'blocked entry exported');
  assert.ok(!lines.some((l) => oct.some((o) => o.index === l.index)), 'deleted entries not exported');
  assert.match(readFileSync(join(after1, 'marks.jsonl'), 'utf8'), /court case 12\/2024/);
  for (const s of await runVerifyTxt(after1)) assert.equal(s.code, 0, `${s.command}\n${s.output}`);

  // Another half year: November and December 2024 expire too; once unblocked, the kept entry goes.
  clock.set('2027-02-01T00:00:00.000Z');
  assert.ok(log.unblock(kept.index, 'court case closed', 'dpo-1').ok);
  const report2 = await log.applyRetention(clock.now(), signer);
  assert.deepEqual(report2.deleted.map((d) => d.period), ['2024-11', '2024-12']);
  assert.equal(report2.releasedEntriesDeleted, 1);
  assert.equal(log.entry(kept.index), undefined);
  assert.equal((db.prepare("SELECT COUNT(*) AS n FROM audit_nodes WHERE period LIKE '2024-%'").get() as { n: number }).n, 0, 'hashes go with the last entry');

  const after2 = join(tmp.path, 'after2');
  const r2 = await exportBundle(log, after2, { filters: ALL, actor: 'dpo-1', signer });
  assert.ok(r2.ok);
  const rep2 = await verifyBundle(after2, { trustAnchorSha256: r2.value.trustAnchorsSha256, previous: after1 });
  assert.deepEqual(rep2.errors, []);
  assert.equal(log.deletionRecords().length, 3);
});

test('an expired month whose final head was never signed is not deleted without the audit key', async () => {
  const clock = new TestClock('2024-01-10T00:00:00.000Z');
  const db = openDb(tmp.path, 'unsigned.sqlite');
  const log = new AuditLog(db, { clock: clock.now });
  log.append(outgoingSearch(clock));
  clock.set('2026-03-01T00:00:00.000Z');
  const r = await log.applyRetention(clock.now());
  assert.deepEqual(r.deleted, []);
  assert.equal(r.skipped[0]?.code, 'FINAL_HEAD_UNSIGNED');
  assert.ok(log.entry(0));
  const r2 = await log.applyRetention(clock.now(), softwareSigner(pki));
  assert.deepEqual(r2.deleted.map((d) => d.period), ['2024-01']);
  assert.equal(log.entry(0), undefined);
});
