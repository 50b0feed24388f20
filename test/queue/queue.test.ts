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

function withQueue(fn: (q: MessageQueue, path: string, clock: { now: Date }) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'queue-'));
  const clock = { now: new Date('2026-01-01T10:00:00Z') };
  const db = openDatabase(join(dir, 'gw.sqlite'));
  try {
    fn(new MessageQueue(db, () => clock.now), join(dir, 'gw.sqlite'), clock);
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

test('inbound messages are processed in the chronological order of sending, not of arrival', () => {
  withQueue((q) => {
    q.receive(mail('late@x', 'Thu, 1 Jan 2026 09:30:00 +0000'), 'dna', 'a@x');
    q.receive(mail('early@x', 'Thu, 1 Jan 2026 09:10:00 +0000'), 'dna', 'a@x');
    const next = q.nextInbound();
    assert.equal(next?.messageId, 'early@x');
    q.finishInbound(next!.id, 'done', 'answered', 'DE');
    assert.equal(q.nextInbound()?.messageId, 'late@x');
  });
});

test('deferred messages of a channel can be made due at once; others keep their back-off', () => {
  withQueue((q) => {
    const dna = q.receive(mail('d@x', 'Thu, 1 Jan 2026 09:00:00 +0000'), 'dna', 'a@x');
    const fp = q.receive(mail('f@x', 'Thu, 1 Jan 2026 09:00:01 +0000'), 'fp', 'a@x');
    q.deferInbound(dna.id, 'index being built');
    q.deferInbound(fp.id, 'token locked');
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
