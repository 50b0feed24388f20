import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign, X509Certificate } from 'node:crypto';
import { AuditLog, type AuditLeaf } from '../../appliance/audit/log.js';
import { AuditError } from '../../appliance/audit/errors.js';
import { MemoryNodes, rootHash } from '../../appliance/audit/merkle.js';
import type { AuditEvent, OutgoingSearchEvent } from '../../appliance/audit/events.js';
import * as V from '../../appliance/audit/verify-audit.mjs';
import {
  TestClock,
  adminEvent,
  incomingRequest,
  incomingResponse,
  makePki,
  nonAutomated,
  openDb,
  outgoingResponse,
  outgoingSearch,
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

let dbCount = 0;
function fresh(clock: TestClock) {
  const db = openDb(tmp.path, `log-${++dbCount}.sqlite`);
  AuditLog.migrate(db);
  return { db, log: new AuditLog(db, { clock: clock.now, origin: 'RO/pruem-gateway' }) };
}

function leafOf(log: AuditLog, index: number): AuditLeaf {
  const e = log.entry(index);
  assert.ok(e, `entry ${index} exists`);
  return JSON.parse(e.leaf) as AuditLeaf;
}

test('every Art. 30 field is recorded for each kind of event', () => {
  const clock = new TestClock('2026-11-05T08:00:00.123Z');
  const { log } = fresh(clock);
  const search = outgoingSearch(clock);
  const events: AuditEvent[] = [search, incomingRequest(clock), outgoingResponse(clock), incomingResponse(clock), adminEvent(clock), nonAutomated(clock)];
  const results = events.map((e) => log.append(e));
  assert.deepEqual(results.map((r) => r.index), [0, 1, 2, 3, 4, 5]);

  for (const [i, r] of results.entries()) {
    const leaf = leafOf(log, r.index);
    assert.equal(leaf.v, 1);
    assert.equal(leaf.period, '2026-11');
    assert.equal(leaf.leafIndex, i);
    assert.match(leaf.recordedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.deepEqual(leaf.event, events[i]);
    // The returned leaf hash is SHA-256(0x00 ‖ the stored leaf bytes).
    assert.equal(r.leafHash, V.leafHash(Buffer.from(log.entry(r.index)!.leaf, 'utf8')).toString('hex'));
  }

  const s = leafOf(log, 0).event;
  assert.equal(s.kind, 'exchange');
  if (s.kind !== 'exchange' || s.direction !== 'sent' || s.role !== 'request') throw new Error('unreachable');
  // Art. 30(2)(b): data supplied, exact time, searching and file-managing bodies, hit/no-hit.
  assert.equal(s.channel, 'dna');
  assert.ok(s.messageType.length > 0);
  assert.match(s.dataSupplied.sha256, /^[0-9a-f]{64}$/);
  assert.ok(s.dataSupplied.recordIds.length > 0);
  assert.match(s.occurredAt, /\.\d{3}Z$/);
  assert.deepEqual(s.searchingBody, { state: 'RO', agency: 'IGPR-NCP' });
  assert.deepEqual(s.fileManagingBody, { state: 'DE', agency: 'BKA' });
  assert.equal(s.result, 'n/a');
  // … and on our outgoing searches the reason and both officers.
  assert.equal(s.reason, search.reason);
  assert.equal(s.officerId, 'officer-7');
  assert.equal(s.orderingOfficerId, 'prosecutor-2');

  const na = leafOf(log, 5).event;
  assert.equal(na.kind, 'non-automated');
  if (na.kind !== 'non-automated') throw new Error('unreachable');
  // Art. 30(1): reason, data, date, bodies.
  assert.ok(na.reason.length > 0 && na.dataSupplied.description.length > 0);
});

test('an outgoing search without reason or officers is refused, by type and at run time', () => {
  const clock = new TestClock('2026-11-05T08:00:00.000Z');
  const { log } = fresh(clock);
  const full = outgoingSearch(clock);
  for (const field of ['reason', 'officerId', 'orderingOfficerId', 'dataSupplied', 'occurredAt', 'searchingBody', 'fileManagingBody', 'result', 'messageType', 'messageId', 'peerState', 'channel'] as const) {
    const partial: Record<string, unknown> = { ...full };
    delete partial[field];
    assert.throws(
      () => log.append(partial as unknown as AuditEvent),
      (e: unknown) => e instanceof AuditError && e.code === 'EVENT_INVALID' && e.message.includes(field),
      `missing ${field}`,
    );
  }
  assert.throws(() => log.append({ ...full, reason: '   ' }), (e: unknown) => e instanceof AuditError && e.code === 'EVENT_INVALID');
  assert.throws(() => log.append({ ...full, occurredAt: '2026-11-05T08:00:00Z' }), /milliseconds/);
  assert.throws(() => log.append({ ...full, occurredAt: '2026-02-30T08:00:00.000Z' }), /real instant/);
  assert.throws(() => log.append({ ...full, dataSupplied: { ...full.dataSupplied, sha256: 'ABC' } }), /sha256/);
  assert.throws(() => log.append({ ...full, extra: 1 } as unknown as AuditEvent), /extra|Unrecognized/i);
  assert.equal(log.head('2026-11'), undefined, 'nothing was recorded');

  const { reason: _r, officerId: _o, orderingOfficerId: _p, ...withoutOfficers } = full;
  // @ts-expect-error — the type requires reason and both officers on direction 'sent', role 'request'.
  const typed: OutgoingSearchEvent = withoutOfficers;
  void typed;
  const answerNeedsNoOfficer: AuditEvent = { ...withoutOfficers, role: 'response' };
  assert.equal(log.append(answerNeedsNoOfficer).index, 0);
});

test('append joins the caller\'s transaction: a rollback leaves no trace, the tree stays consistent', () => {
  const clock = new TestClock('2026-11-05T08:00:00.000Z');
  const { db, log } = fresh(clock);
  db.exec('CREATE TABLE test_outbox (id INTEGER PRIMARY KEY, body TEXT)');
  const send = db.transaction((fail: boolean) => {
    db.prepare('INSERT INTO test_outbox (body) VALUES (?)').run('sealed answer');
    const r = log.append(outgoingResponse(clock));
    if (fail) throw new Error('relay refused');
    return r;
  });
  assert.equal(send(false).index, 0);
  assert.throws(() => send(true), /relay refused/);
  assert.equal(send(false).index, 1, 'the rolled-back index is reused, no gap');
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM test_outbox').get() as { n: number }).n, 2);
  assert.equal((db.prepare('SELECT COUNT(*) AS n FROM audit_entries').get() as { n: number }).n, 2);
  const leaves = [0, 1].map((i) => V.leafHash(Buffer.from(log.entry(i)!.leaf)));
  assert.equal(log.head('2026-11')?.root, rootHash(MemoryNodes.fromLeaves(leaves), 2).toString('hex'));
});

test('the tree is stored incrementally (about two nodes per entry) and matches a rebuild', () => {
  const clock = new TestClock('2026-11-05T08:00:00.000Z');
  const { db, log } = fresh(clock);
  const n = 203;
  const appendNodes: number[] = [];
  for (let i = 0; i < n; i++) {
    const before = (db.prepare('SELECT COUNT(*) AS n FROM audit_nodes').get() as { n: number }).n;
    log.append(i % 2 ? incomingRequest(clock) : outgoingSearch(clock));
    appendNodes.push((db.prepare('SELECT COUNT(*) AS n FROM audit_nodes').get() as { n: number }).n - before);
    clock.advance(7);
  }
  // Each append writes 1 + (number of trailing one bits of its position) nodes: at most log2(n)+1.
  assert.ok(Math.max(...appendNodes) <= Math.ceil(Math.log2(n)) + 1);
  const total = appendNodes.reduce((a, b) => a + b, 0);
  const popcount = n.toString(2).split('').filter((c) => c === '1').length;
  assert.equal(total, 2 * n - popcount);
  const leaves = Array.from({ length: n }, (_, i) => V.leafHash(Buffer.from(log.entry(i)!.leaf)));
  const mem = MemoryNodes.fromLeaves(leaves);
  for (const size of [1, 2, 3, 64, 100, 203]) {
    // Root at an earlier size, via a consistency proof from the stored tree.
    const old = rootHash(mem, size);
    const proof = log.consistencyProof('2026-11', size, n).map((h) => Buffer.from(h, 'hex'));
    assert.equal(V.verifyConsistency(size, n, old, Buffer.from(log.head('2026-11')!.root, 'hex'), proof), true);
  }
  for (const i of [0, 1, 100, 202]) {
    const proof = log.inclusionProof('2026-11', i, n).map((h) => Buffer.from(h, 'hex'));
    assert.equal(V.verifyInclusion(leaves[i]!, i, n, proof, rootHash(mem, n)), true);
  }
});

test('checkpoints are signed tree heads an outsider can verify; periods chain through final heads', async () => {
  const clock = new TestClock('2026-10-30T23:59:00.000Z');
  const { log } = fresh(clock);
  const signer = softwareSigner(pki);
  const cert = new X509Certificate(signer.certificatePem);
  log.append(outgoingSearch(clock));
  const c1 = await log.checkpoint(signer);
  assert.equal(c1.period, '2026-10');
  assert.equal(c1.size, 1);
  assert.equal(c1.previousPeriod, null);
  const parsed = V.parseCheckpoint(c1.body);
  assert.ok(parsed.ok);
  assert.equal(parsed.value.root.toString('hex'), c1.root);
  assert.equal(V.verifyRawSignature(cert, Buffer.from(c1.body), c1.signature), true);
  assert.equal(parsed.value.signer, V.certificateSha256(cert));

  log.append(incomingRequest(clock));
  clock.set('2026-11-01T00:00:00.001Z');
  log.append(adminEvent(clock)); // first entry of November ends October
  assert.ok(log.period('2026-10')?.endedAt);
  assert.equal(log.period('2026-10')?.size, 2);
  assert.equal(log.period('2026-11')?.firstIndex, 2);

  const c2 = await log.checkpoint(signer);
  const octFinal = log.finalCheckpoint('2026-10');
  assert.ok(octFinal?.final);
  assert.equal(octFinal.size, 2);
  assert.equal(c2.period, '2026-11');
  assert.equal(c2.previousPeriod, '2026-10');
  assert.equal(c2.previousFinalHead, createHash('sha256').update(octFinal.body).digest('hex'));
  // October's final head is consistent with the earlier October checkpoint.
  const proof = log.consistencyProof('2026-10', 1, 2).map((h) => Buffer.from(h, 'hex'));
  assert.equal(V.verifyConsistency(1, 2, Buffer.from(c1.root, 'hex'), Buffer.from(octFinal.root, 'hex'), proof), true);

  // A clock stepping back into October does not reopen it.
  clock.set('2026-10-31T12:00:00.000Z');
  const late = log.append(incomingRequest(clock));
  assert.equal(log.entry(late.index)?.period, '2026-11');

  // An empty month: checkpointing in January closes November and December never existed.
  clock.set('2027-01-02T00:00:00.000Z');
  const c3 = await log.checkpoint(signer);
  assert.equal(c3.period, '2027-01');
  assert.equal(c3.size, 0);
  assert.equal(c3.root, V.EMPTY_ROOT.toString('hex'));
  assert.equal(c3.previousPeriod, '2026-11');
});

test('a signer whose key does not match its certificate is refused', async () => {
  const clock = new TestClock('2026-11-05T08:00:00.000Z');
  const { log } = fresh(clock);
  const good = softwareSigner(pki);
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const wrong = { ...good, signRaw: async (d: Uint8Array) => sign('sha256', d, privateKey) };
  log.append(adminEvent(clock));
  await assert.rejects(log.checkpoint(wrong), (e: unknown) => e instanceof AuditError && e.code === 'SIGNER_INVALID');
  const broken = { ...good, signRaw: async () => Promise.reject(new Error('CKR_DEVICE_ERROR')) };
  await assert.rejects(log.checkpoint(broken), (e: unknown) => e instanceof AuditError && e.code === 'SIGNER_FAILED');
  assert.equal(log.latestCheckpoint('2026-11'), undefined);
  assert.equal((await log.checkpoint(good)).size, 1);
});

test('blocking marks an entry, is audited, and is reported as an error value when impossible', () => {
  const clock = new TestClock('2026-11-05T08:00:00.000Z');
  const { log } = fresh(clock);
  const { index } = log.append(outgoingSearch(clock));
  const r = log.block(index, 'Data subject disputes accuracy (Art. 28(2)); court case 45/2026', 'dpo-1');
  assert.ok(r.ok);
  assert.equal(log.entry(index)?.blockedAt, clock.iso());
  const audit = leafOf(log, index + 1).event;
  assert.equal(audit.kind === 'admin' && audit.action, 'entry-blocked');
  const again = log.block(index, 'again');
  assert.equal(!again.ok && again.error.code, 'ENTRY_ALREADY_BLOCKED');
  const none = log.block(999, 'x');
  assert.equal(!none.ok && none.error.code, 'ENTRY_NOT_FOUND');
  const empty = log.block(index, ' ');
  assert.equal(!empty.ok && empty.error.code, 'EVENT_INVALID');
  const u = log.unblock(index, 'court decision');
  assert.ok(u.ok);
  assert.equal(log.entry(index)?.blockedAt, null);
  const u2 = log.unblock(index, 'again');
  assert.equal(!u2.ok && u2.error.code, 'ENTRY_NOT_BLOCKED');
});

test('search pages through matching entries, newest first, with the total', () => {
  const clock = new TestClock('2026-11-05T08:00:00.000Z');
  const { log } = fresh(clock);
  for (let i = 0; i < 12; i++) {
    clock.advance(1000);
    log.append(i % 3 === 0 ? outgoingSearch(clock, { peerState: 'NL' }) : incomingRequest(clock));
  }
  const q = { from: new Date('2026-11-01T00:00:00.000Z'), to: new Date('2026-12-01T00:00:00.000Z'), state: 'NL' };
  const p1 = log.search(q, { offset: 0, limit: 3 });
  assert.equal(p1.total, 4);
  assert.deepEqual(p1.entries.map((e) => e.index), [9, 6, 3]);
  assert.equal(p1.entries[0]?.record.event.kind, 'exchange');
  assert.deepEqual(log.search(q, { offset: 3, limit: 3 }).entries.map((e) => e.index), [0]);
  assert.equal(log.search({ ...q, officerId: 'nobody' }, { offset: 0, limit: 10 }).total, 0);
});

test('two processes on one database (daemon and CLI) never produce two final heads for a month', async () => {
  const clock = new TestClock('2026-10-30T10:00:00.000Z');
  const { db, log: daemon } = fresh(clock);
  const cli = new AuditLog(openDb(tmp.path, `log-${dbCount}.sqlite`), { clock: clock.now, origin: 'RO/pruem-gateway' });
  daemon.append(outgoingSearch(clock));
  cli.append(adminEvent(clock));
  assert.equal(daemon.head('2026-10')?.size, 2, 'both appended to the same tree');
  clock.set('2026-11-01T00:00:01.000Z');
  const signer = softwareSigner(pki);
  const [a, b] = await Promise.all([daemon.checkpoint(signer), cli.checkpoint(signer)]);
  const finals = db.prepare("SELECT COUNT(*) AS n FROM audit_checkpoints WHERE period = '2026-10' AND final = 1").get() as { n: number };
  assert.equal(finals.n, 1);
  assert.equal(a.previousFinalHead, b.previousFinalHead);
  assert.equal(a.previousFinalHead, daemon.finalCheckpoint('2026-10')?.hash);
});
