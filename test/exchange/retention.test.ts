/** Retention of the exchange's working storage (issue 12 item 8): old queue rows, rejections and replay digests go. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../appliance/db/database.js';
import { MessageQueue } from '../../appliance/queue/queue.js';
import { AuditLog } from '../../appliance/audit/log.js';
import { createExchangeAudit } from '../../appliance/audit/exchange-audit.js';
import { pruneExchange } from '../../appliance/exchange/retention.js';

const DAY = 86_400_000;

test('pruneExchange: finished rows past the queue retention, rejections past theirs, replay digests past the window', () => {
  const dir = mkdtempSync(join(tmpdir(), 'retention-'));
  const db = openDatabase(join(dir, 'gw.sqlite'));
  try {
    const now = new Date('2026-12-01T12:00:00Z');
    const clock = { now: new Date(now.getTime() - 40 * DAY) };
    const queue = new MessageQueue(db, () => clock.now);
    const audit = createExchangeAudit(db, new AuditLog(db, { clock: () => clock.now }));
    const old = queue.receive(Buffer.from('Message-ID: <old@x>\r\n\r\nx'), 'dna', 'a@x');
    queue.finishInbound(old.id, 'done', 'answered', 'AT');
    const waiting = queue.receive(Buffer.from('Message-ID: <waiting@x>\r\n\r\nx'), 'dna', 'a@x');
    db.transaction(() => audit.rejected({ channel: 'dna', messageId: 'ancient@x', mailFrom: 'a@x', code: 'UNKNOWN_SIGNER', reason: 'stranger', occurredAt: new Date(now.getTime() - 200 * DAY) }))();
    db.transaction(() => audit.rejected({ channel: 'dna', messageId: 'recent@x', mailFrom: 'a@x', code: 'BAD_SIGNATURE', reason: 'tampered', occurredAt: new Date(now.getTime() - DAY) }))();
    const seen = db.prepare('INSERT INTO exchange_signed_seen (sender, digest, signed_at, inbox_id, message_id, seen_at) VALUES (?, ?, ?, ?, ?, ?)');
    seen.run('AT', 'old-signed', now.getTime() - 2 * DAY, 'i1', 'm1', now.getTime() - 2 * DAY); // out of the 24 h window: a copy is refused for its time anyway
    seen.run('AT', 'fresh-signed', now.getTime() - 3_600_000, 'i2', 'm2', now.getTime() - 3_600_000);
    seen.run('AT', 'unsigned', null, 'i3', 'm3', now.getTime() - 2 * DAY); // no signing time: kept as long as the queue rows

    const pruned = pruneExchange(db, queue, { queueMs: 30 * DAY, rejectionsMs: 180 * DAY, replayWindow: { pastMs: DAY, futureMs: 5 * 60_000 } }, now);
    assert.deepEqual(pruned, { inbox: 1, outbox: 0, rejections: 1, seen: 1 });
    assert.equal(queue.inboxRecord(old.id), null);
    assert.equal(queue.inboxRecord(waiting.id)?.status, 'pending', 'a pending message is never pruned');
    assert.deepEqual((db.prepare('SELECT message_id FROM exchange_rejections').all() as Array<{ message_id: string }>).map((r) => r.message_id), ['recent@x']);
    assert.deepEqual((db.prepare('SELECT digest FROM exchange_signed_seen ORDER BY digest').all() as Array<{ digest: string }>).map((r) => r.digest), ['fresh-signed', 'unsigned']);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
