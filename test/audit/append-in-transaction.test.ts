/**
 * AuditLog.appendInTransaction(): the caller's savepoint instead of one of its own. Same leaves and tree as
 * append(); a throw in the caller's transaction leaves nothing behind (the next entry takes the same index);
 * outside a transaction it refuses.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { AuditLog } from '../../appliance/audit/log.js';
import { AuditError } from '../../appliance/audit/errors.js';
import { MemoryNodes, leafHash, rootHash } from '../../appliance/audit/merkle.js';
import { TestClock, incomingRequest, openDb, outgoingResponse, outgoingSearch, tempDir } from './helpers.js';

const tmp = tempDir('audit-intx-');
after(() => tmp.cleanup());

test('appendInTransaction records what append records, rolls back with its caller, and needs a transaction', () => {
  const clock = new TestClock('2026-11-23T10:15:30.123Z');
  const events = [incomingRequest(clock), outgoingResponse(clock, { inReplyTo: 'msg-1' }), outgoingSearch(clock), incomingRequest(clock, { messageId: '  spaced-id  ' })];
  const a = new AuditLog(openDb(tmp.path, 'a.sqlite'), { clock: clock.now, origin: 'RO/pruem-gateway' });
  const b = new AuditLog(openDb(tmp.path, 'b.sqlite'), { clock: clock.now, origin: 'RO/pruem-gateway' });
  for (const e of events) a.append(e);
  b.db.transaction(() => {
    for (const e of events) b.appendInTransaction(e);
  })();
  for (let i = 0; i < events.length; i++) assert.equal(b.entry(i)?.leaf, a.entry(i)?.leaf, `entry ${i}`);
  assert.deepEqual(b.head('2026-11'), a.head('2026-11'));
  assert.match(b.entry(3)?.leaf ?? '', /"messageId":"spaced-id"/, 'validated (and trimmed) as append() does');

  // The caller's transaction fails after two records: neither stays, and the tree goes on from where it was.
  assert.throws(() =>
    b.db.transaction(() => {
      b.appendInTransaction(incomingRequest(clock));
      b.appendInTransaction(incomingRequest(clock));
      throw new Error('the exchange failed');
    })(),
  );
  assert.equal(b.head('2026-11')?.size, events.length);
  assert.equal(b.entry(events.length), undefined);
  const next = b.db.transaction(() => b.appendInTransaction(incomingRequest(clock)))();
  assert.equal(next.index, events.length);
  const leaves = Array.from({ length: events.length + 1 }, (_, i) => leafHash(Buffer.from(b.entry(i)?.leaf ?? '', 'utf8')));
  assert.equal(b.head('2026-11')?.root, rootHash(MemoryNodes.fromLeaves(leaves), leaves.length).toString('hex'));

  // An invalid event is refused like append() refuses it; outside any transaction the call itself is refused.
  assert.throws(() => b.db.transaction(() => b.appendInTransaction(incomingRequest(clock, { peerState: 'XX' as never })))(), AuditError);
  assert.throws(() => b.appendInTransaction(incomingRequest(clock)), /outside a transaction/);
  assert.equal(b.head('2026-11')?.size, events.length + 1);
});
