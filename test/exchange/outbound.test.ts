/**
 * The outbound loop hands answers to the relay side by side (as many as the sender's pooled
 * connections), and each one's fate is recorded on its own: sent, retried later, or failed.
 * The relay here is a double behind the pipeline's MailSender port; the real SMTP path is in
 * test/integration (Postfix) and test/transport/mail-sender.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../appliance/db/database.js';
import { MessageQueue } from '../../appliance/queue/queue.js';
import { LinkTracker } from '../../appliance/exchange/links.js';
import { ExchangePipeline, type MailSender, type SendResult } from '../../appliance/exchange/pipeline.js';

function relay(concurrency: number | undefined, fate: (raw: string) => SendResult) {
  const seen = { inFlight: 0, maxInFlight: 0, order: [] as string[] };
  const sender: MailSender = {
    ...(concurrency === undefined ? {} : { concurrency }),
    async send({ raw }) {
      seen.inFlight++;
      seen.maxInFlight = Math.max(seen.maxInFlight, seen.inFlight);
      // A relay's answer takes a few round trips; let the others start meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 5));
      seen.inFlight--;
      seen.order.push(raw.toString());
      return fate(raw.toString());
    },
  };
  return { sender, seen };
}

function withPipeline(sender: MailSender, fn: (p: ExchangePipeline, q: MessageQueue, rows: () => Array<{ raw_id: string; status: string; attempts: number }>) => Promise<void>) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outbound-'));
    const db = openDatabase(join(dir, 'gw.sqlite'));
    const queue = new MessageQueue(db);
    const pipeline = new ExchangePipeline({
      db,
      queue,
      links: new LinkTracker(db),
      opener: { open: () => Promise.reject(new Error('not used')) },
      sealer: { seal: () => Promise.reject(new Error('not used')) },
      sender,
      handlers: [],
      audit: { exchange: () => undefined, rejected: () => undefined },
      ourState: 'RO',
      messageIdDomain: () => 'dna.pruem.ro.eu-admin.net',
    });
    for (let i = 0; i < 10; i++) {
      queue.enqueueOutbound({ messageId: `m${i}@ro`, channel: 'dna', peer: 'DE', mailFrom: 'ncp@ro', rcptTo: 'ncp@de', raw: Buffer.from(`m${i}`), deadline: null, correlation: null });
    }
    const rows = () =>
      db.prepare(`SELECT message_id AS raw_id, status, attempts FROM queue_outbox ORDER BY message_id`).all() as Array<{ raw_id: string; status: string; attempts: number }>;
    try {
      await fn(pipeline, queue, rows);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

const fates = (raw: string): SendResult =>
  raw === 'm3' ? { ok: false, permanent: false, reason: '451 try later' } : raw === 'm7' ? { ok: false, permanent: true, reason: '550 no such user' } : { ok: true, response: '250 ok' };

const three = relay(3, fates);
test(
  'due answers go out three at a time through a sender with three connections; each is marked by its own result',
  withPipeline(three.sender, async (pipeline, _q, rows) => {
    assert.equal(await pipeline.sendDue(), 8);
    assert.equal(three.seen.maxInFlight, 3);
    assert.equal(three.seen.order.length, 10, 'each due message tried exactly once');
    const byId = new Map(rows().map((r) => [r.raw_id, r]));
    assert.equal(byId.get('m3@ro')?.status, 'pending');
    assert.equal(byId.get('m3@ro')?.attempts, 1);
    assert.equal(byId.get('m7@ro')?.status, 'failed');
    assert.equal([...byId.values()].filter((r) => r.status === 'sent').length, 8);
    // The retried one is not due again at once (back-off), so a second pass sends nothing.
    assert.equal(await pipeline.sendDue(), 0);
    assert.equal(three.seen.order.length, 10);
  }),
);

const single = relay(undefined, fates);
test(
  'a sender that states no concurrency gets one message at a time, oldest first',
  withPipeline(single.sender, async (pipeline) => {
    assert.equal(await pipeline.sendDue(), 8);
    assert.equal(single.seen.maxInFlight, 1);
    assert.deepEqual(single.seen.order, Array.from({ length: 10 }, (_, i) => `m${i}`));
  }),
);
