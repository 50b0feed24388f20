import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../appliance/db/database.js';
import { MessageQueue, messageIdOf, sentDateOf } from '../../appliance/queue/queue.js';

function mail(id: string | null, date: string, body = 'x'): Buffer {
  const headers = [id ? `Message-ID: <${id}>` : null, `Date: ${date}`, 'Subject: t'].filter(Boolean).join('\r\n');
  return Buffer.from(`${headers}\r\n\r\n${body}`);
}

/** The CMS signing time, as transport/smime's signingTimeOf reads it from a signature; here an X-Signed header. */
function signedTimeOf(raw: Buffer): Date | null {
  const m = /^X-Signed: (.+)$/m.exec(raw.toString('latin1'));
  return m?.[1] ? new Date(m[1].trim()) : null;
}

function withQueue(fn: (q: MessageQueue, path: string, clock: { now: Date }) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'queue-'));
  const clock = { now: new Date('2026-01-01T10:00:00Z') };
  const db = openDatabase(join(dir, 'gw.sqlite'));
  try {
    fn(new MessageQueue(db, () => clock.now, { signedTimeOf }), join(dir, 'gw.sqlite'), clock);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('message id comes from the header, else from a digest of the bytes', () => {
  assert.equal(messageIdOf(mail('abc@dna.pruem.de.eu-admin.net', 'Thu, 1 Jan 2026 10:00:00 +0000')), 'abc@dna.pruem.de.eu-admin.net');
  const noId = mail(null, 'Thu, 1 Jan 2026 10:00:00 +0000');
  assert.match(messageIdOf(noId), /^sha256:[0-9a-f]{64}$/);
  assert.notEqual(messageIdOf(noId), messageIdOf(mail(null, 'Thu, 1 Jan 2026 10:00:00 +0000', 'y')));
  assert.equal(sentDateOf(mail('a@b', 'Thu, 1 Jan 2026 10:00:00 +0000'))?.toISOString(), '2026-01-01T10:00:00.000Z');
  assert.equal(sentDateOf(mail('a@b', 'not a date')), null);
});

test('a duplicate delivery is stored once and reported as a duplicate', () => {
  withQueue((q) => {
    const first = q.receive(mail('m1@x', 'Thu, 1 Jan 2026 09:00:00 +0000'), 'dna', 'a@x');
    const again = q.receive(mail('m1@x', 'Thu, 1 Jan 2026 09:00:00 +0000'), 'dna', 'a@x');
    assert.equal(first.duplicate, false);
    assert.equal(again.duplicate, true);
    assert.equal(again.id, first.id);
    assert.equal(q.depths().find((d) => d.channel === 'dna' && d.direction === 'in')?.depth, 1);
  });
});

const signedMail = (id: string, signed: string, date = 'Thu, 1 Jan 2026 09:00:00 +0000') => Buffer.from(`Message-ID: <${id}>\r\nDate: ${date}\r\nX-Signed: ${signed}\r\n\r\nx`);

test('inbound messages are processed in the chronological order of signing, not of arrival', () => {
  withQueue((q) => {
    q.receive(signedMail('late@x', '2026-01-01T09:30:00Z'), 'dna', 'a@x');
    q.receive(signedMail('early@x', '2026-01-01T09:10:00Z'), 'dna', 'a@x');
    const next = q.nextInbound();
    assert.equal(next?.messageId, 'early@x');
    q.finishInbound(next!.id, 'done', 'answered', 'DE');
    assert.equal(q.nextInbound()?.messageId, 'late@x');
  });
});

test('a back-dated Date header does not jump the DNA-TIME order: the signing time decides', () => {
  withQueue((q) => {
    q.receive(signedMail('honest@x', '2026-01-01T09:50:00Z', 'Thu, 1 Jan 2026 09:50:00 +0000'), 'dna', 'a@x');
    // Signed later, but its unsigned Date header claims the early morning.
    q.receive(signedMail('backdated@x', '2026-01-01T09:55:00Z', 'Thu, 1 Jan 2026 06:00:00 +0000'), 'dna', 'a@x');
    // No signing time at all: ordered by when we received it (now), not by its Date header.
    q.receive(Buffer.from('Message-ID: <unsigned@x>\r\nDate: Thu, 1 Jan 2026 05:00:00 +0000\r\n\r\nx'), 'dna', 'a@x');
    const order: string[] = [];
    for (let m = q.nextInbound(); m; m = q.nextInbound()) {
      order.push(m.messageId);
      q.finishInbound(m.id, 'done', 'answered', 'DE');
    }
    assert.deepEqual(order, ['honest@x', 'backdated@x', 'unsigned@x']);
  });
});

test('a signing time older than the window places a message no earlier than the window start', () => {
  withQueue((q) => {
    q.receive(signedMail('recent@x', '2026-01-01T08:00:00Z'), 'dna', 'a@x');
    q.receive(signedMail('ancient@x', '2025-06-01T00:00:00Z'), 'dna', 'a@x');
    const first = q.nextInbound();
    // Clamped to now - 24 h, still before 08:00: the opener refuses it for its time.
    assert.equal(first?.messageId, 'ancient@x');
    assert.equal(first?.sentAt.toISOString(), '2025-12-31T10:00:00.000Z');
  });
});

test('a message failing the same way maxFailures times becomes a dead letter, its raw data purged; waiting does not count', () => {
  withQueue((q, path, clock) => {
    const { id } = q.receive(signedMail('poison@x', '2026-01-01T09:59:00Z'), 'dna', 'a@x');
    for (let i = 0; i < 10; i++) assert.equal(q.deferInbound(id, { code: 'INDEX_NOT_READY', reason: 'waiting', counted: false, maxFailures: 3 }).dead, false);
    assert.equal(q.deferInbound(id, { code: 'HANDLER_FAILED', reason: 'boom', counted: true, maxFailures: 3 }).dead, false);
    // Another kind of failure starts the count again.
    assert.equal(q.deferInbound(id, { code: 'SEAL_FAILED', reason: 'x', counted: true, maxFailures: 3 }).failures, 1);
    assert.equal(q.deferInbound(id, { code: 'SEAL_FAILED', reason: 'x', counted: true, maxFailures: 3 }).dead, false);
    const last = q.deferInbound(id, { code: 'SEAL_FAILED', reason: 'no address', counted: true, maxFailures: 3 });
    assert.deepEqual([last.dead, last.failures], [true, 3]);
    clock.now = new Date(clock.now.getTime() + 86_400_000);
    assert.equal(q.nextInbound(), null, 'a dead letter is never tried again');
    assert.equal(q.inboxRecord(id)?.status, 'dead');
    const dead = q.deadLetters();
    assert.equal(dead.count, 1);
    assert.deepEqual([dead.recent[0]?.messageId, dead.recent[0]?.code, dead.recent[0]?.failures], ['poison@x', 'SEAL_FAILED', 3]);
    const db = openDatabase(path);
    const row = db.prepare('SELECT raw FROM queue_inbox WHERE id = ?').get(id) as { raw: Buffer | null };
    db.close();
    assert.equal(row.raw, null, 'DP-PURPOSE: the supplied data is gone');
  });
});

test('prune removes finished rows older than the retention, never pending ones', () => {
  withQueue((q, _path, clock) => {
    const old = q.receive(signedMail('old@x', '2026-01-01T09:00:00Z'), 'dna', 'a@x');
    q.finishInbound(old.id, 'done', 'answered', 'DE');
    const pending = q.receive(signedMail('pending@x', '2026-01-01T09:00:01Z'), 'dna', 'a@x');
    clock.now = new Date(clock.now.getTime() + 31 * 86_400_000);
    const recent = q.receive(signedMail('recent@x', '2026-01-31T09:00:00Z'), 'dna', 'a@x');
    q.finishInbound(recent.id, 'rejected', 'BAD_SIGNATURE', null);
    assert.deepEqual(q.prune(new Date(clock.now.getTime() - 30 * 86_400_000)), { inbox: 1, outbox: 0 });
    assert.equal(q.inboxRecord(old.id), null);
    assert.equal(q.inboxRecord(pending.id)?.status, 'pending');
    assert.equal(q.inboxRecord(recent.id)?.status, 'rejected');
  });
});

test('deferred messages of a channel can be made due at once; others keep their back-off', () => {
  withQueue((q) => {
    const dna = q.receive(mail('d@x', 'Thu, 1 Jan 2026 09:00:00 +0000'), 'dna', 'a@x');
    const fp = q.receive(mail('f@x', 'Thu, 1 Jan 2026 09:00:01 +0000'), 'fp', 'a@x');
    q.deferInbound(dna.id, { code: 'INDEX_NOT_READY', reason: 'index being built', counted: false });
    q.deferInbound(fp.id, { code: 'TOKEN_UNAVAILABLE', reason: 'token locked', counted: false });
    assert.equal(q.nextInbound(), null, 'both wait out their back-off');
    assert.equal(q.retryDeferredNow('dna'), 1);
    assert.equal(q.nextInbound()?.messageId, 'd@x');
    assert.equal(q.nextInbound(new Set([dna.id])), null, 'the fp one still waits');
    assert.equal(q.retryDeferredNow('dna'), 0, 'nothing deferred is left on dna');
  });
});

test('nextInbound passes over the messages being worked on', () => {
  withQueue((q) => {
    const a = q.receive(mail('a@x', 'Thu, 1 Jan 2026 09:00:00 +0000'), 'dna', 'a@x');
    const b = q.receive(mail('b@x', 'Thu, 1 Jan 2026 09:00:01 +0000'), 'dna', 'a@x');
    assert.equal(q.nextInbound(new Set([a.id]))?.messageId, 'b@x');
    assert.equal(q.nextInbound(new Set([a.id, b.id])), null);
  });
});

test('finishing an inbound message drops the supplied data from working storage', () => {
  withQueue((q, path) => {
    const { id } = q.receive(mail('p@x', 'Thu, 1 Jan 2026 09:00:00 +0000', 'PROFILE-DATA'), 'dna', 'a@x');
    q.finishInbound(id, 'done', 'answered', 'DE');
    const db = openDatabase(path);
    const row = db.prepare('SELECT raw FROM queue_inbox WHERE id = ?').get(id) as { raw: Buffer | null };
    db.close();
    assert.equal(row.raw, null);
  });
});

test('outbound retries back off, and a sent message leaves the due list', () => {
  withQueue((q, _path, clock) => {
    const { id } = q.enqueueOutbound({
      messageId: 'o1@x', channel: 'dna', peer: 'DE', mailFrom: 'ncp@dna.pruem.ro.eu-admin.net',
      rcptTo: 'ncp@dna.pruem.de.eu-admin.net', raw: Buffer.from('m'), deadline: null, correlation: null,
    });
    assert.equal(q.dueOutbound(10).length, 1);
    q.markRetry(id, 'relay down');
    assert.equal(q.dueOutbound(10).length, 0, 'not due again before its back-off');
    clock.now = new Date(clock.now.getTime() + 5_001);
    assert.equal(q.dueOutbound(10).length, 1);
    q.markSent(id);
    assert.equal(q.dueOutbound(10).length, 0);
    const dup = q.enqueueOutbound({
      messageId: 'o1@x', channel: 'dna', peer: 'DE', mailFrom: 'a', rcptTo: 'b', raw: Buffer.from('m'), deadline: null, correlation: null,
    });
    assert.equal(dup.duplicate, true);
  });
});

test('depths report the oldest age and flag deadlines at risk', () => {
  withQueue((q, _path, clock) => {
    q.receive(mail('r1@x', 'Thu, 1 Jan 2026 10:00:00 +0000'), 'dna', 'a@x');
    clock.now = new Date(clock.now.getTime() + 13 * 60_000); // 2 minutes left of 15
    const dna = q.depths().find((d) => d.channel === 'dna' && d.direction === 'in')!;
    assert.equal(dna.depth, 1);
    assert.equal(dna.oldestAgeSeconds, 780);
    assert.equal(dna.atRisk, 1);
    assert.equal(dna.nearestDeadline, '2026-01-01T10:15:00.000Z');
  });
});
