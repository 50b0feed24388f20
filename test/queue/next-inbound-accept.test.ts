/** The queue's pick for the pipeline's priority: the oldest due message the caller accepts, passing over those in work. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../appliance/db/database.js';
import { MessageQueue } from '../../appliance/queue/queue.js';

test('nextInbound(skip, accept): oldest accepted by sending order; none accepted → null; isPending follows the status', () => {
  const dir = mkdtempSync(join(tmpdir(), 'next-accept-'));
  const db = openDatabase(join(dir, 'gw.sqlite'));
  try {
    const base = Date.now() - 60_000;
    const queue = new MessageQueue(db, undefined, { signedTimeOf: (raw) => new Date(base + Number(/S: (\d+)/.exec(raw.toString())?.[1]) * 1000) });
    const ids = [3, 1, 2, 0].map((i) => ({ i, id: queue.receive(Buffer.from(`Message-ID: <m${i}@x>\r\nS: ${i}\r\n\r\nbody ${i}`), 'dna', 'a@x').id }));
    const idOf = (i: number) => ids.find((x) => x.i === i)!.id;
    assert.equal(queue.nextInbound()?.messageId, 'm0@x');
    const odd = new Set([idOf(1), idOf(3)]);
    assert.equal(queue.nextInbound(new Set(), (id) => odd.has(id))?.messageId, 'm1@x');
    assert.equal(queue.nextInbound(new Set([idOf(1)]), (id) => odd.has(id))?.messageId, 'm3@x');
    assert.equal(queue.nextInbound(new Set([idOf(1), idOf(3)]), (id) => odd.has(id)), null);
    assert.equal(queue.nextInbound(new Set(), (id) => odd.has(id))?.raw.toString().endsWith('body 1'), true, 'the chosen row comes with its body');
    assert.equal(queue.isPending(idOf(2)), true);
    queue.finishInbound(idOf(2), 'done', 'ok', 'AT');
    assert.equal(queue.isPending(idOf(2)), false);
    assert.equal(queue.isPending('no-such-id'), false);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
