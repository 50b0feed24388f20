/**
 * The inbox is ordered by the signing time read from the signature at receipt, before verification; the
 * pipeline refuses a message whose verified signing time is another (a planted copy of the attribute must not
 * buy a place in the DNA-TIME order). Doubles for the opener and sealer; the queue and SQLite are real.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../appliance/db/database.js';
import { MessageQueue } from '../../appliance/queue/queue.js';
import { LinkTracker } from '../../appliance/exchange/links.js';
import { ExchangePipeline } from '../../appliance/exchange/pipeline.js';

test('a verified signing time other than the one the inbox was ordered by is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'signing-time-'));
  const db = openDatabase(join(dir, 'gw.sqlite'));
  try {
    const now = Date.now();
    const claimed = new Date(Math.floor(now / 1000) * 1000 - 3_600_000); // an hour earlier: it would go first
    const verified = new Date(Math.floor(now / 1000) * 1000 - 1000);
    const queue = new MessageQueue(db, undefined, { signedTimeOf: (raw) => (raw.includes('planted') ? claimed : verified) });
    const rejected: string[] = [];
    const pipeline = new ExchangePipeline({
      db,
      queue,
      links: new LinkTracker(db),
      opener: { open: async () => ({ ok: true, sender: 'AT', payload: Buffer.from('PING x'), payloadContentType: 'text/plain', subject: 'AT/PING', signedDigest: String(Math.random()), signingTime: verified }) },
      sealer: { seal: async ({ reply }) => ({ raw: reply.payload, mailFrom: 'ncp@de', rcptTo: 'ncp@at' }) },
      sender: null,
      handlers: [{ channel: 'dna', accepts: () => true, handle: () => ({ replies: [], summary: 'ok', records: [] }) }],
      audit: { exchange: () => undefined, rejected: (e) => rejected.push(`${e.messageId} ${e.code}`) },
      ourState: 'DE',
      messageIdDomain: () => 'dna.pruem.de.eu-admin.net',
    });
    const honest = queue.receive(Buffer.from('Message-ID: <honest@at>\r\n\r\nhonest'), 'dna', 'ncp@at');
    const planted = queue.receive(Buffer.from('Message-ID: <planted@at>\r\n\r\nplanted'), 'dna', 'ncp@at');
    assert.equal(queue.nextInbound()?.messageId, 'planted@at', 'the claimed time did put it first');
    while (await pipeline.processNextInbound());
    assert.deepEqual(rejected, ['planted@at SIGNING_TIME_MISMATCH']);
    assert.equal(queue.inboxRecord(planted.id)?.status, 'rejected');
    assert.equal(queue.inboxRecord(honest.id)?.status, 'done');
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
