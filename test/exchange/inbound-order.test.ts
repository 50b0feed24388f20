/**
 * Inbound lanes: several inbox messages are worked on at once, yet their results are committed —
 * answers queued, inbox entries closed — in the order the messages were sent (DNA-TIME), whatever
 * order their processing finishes in. Each message is processed exactly once.
 * The S/MIME opener and sealer are doubles behind the pipeline's ports (the real ones are in
 * test/integration); the queue, the database and the transactions are real.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../appliance/db/database.js';
import { MessageQueue } from '../../appliance/queue/queue.js';
import { LinkTracker } from '../../appliance/exchange/links.js';
import { ExchangePipeline, type MessageOpener } from '../../appliance/exchange/pipeline.js';
import type { ChannelHandler } from '../../appliance/exchange/handler.js';

const N = 12;

/** Stands in for the CMS signing time the real queue reads from the signature (transport/smime signingTimeOf). */
const base = Math.floor(Date.now() / 1000) * 1000 - 60_000;
const signedAt = (i: number) => new Date(base + i * 1000);

function mail(i: number): Buffer {
  // Signed one second apart, but delivered in reverse order: the signing time decides.
  return Buffer.from(`Message-ID: <req-${i}@at>\r\nX-Test-Signed: ${i}\r\nSubject: AT/DNA\r\n\r\nrequest ${i}`);
}

async function run(lanes: number, delayFor: (i: number) => number) {
  const dir = mkdtempSync(join(tmpdir(), 'inbound-order-'));
  const db = openDatabase(join(dir, 'gw.sqlite'));
  const queue = new MessageQueue(db, undefined, { signedTimeOf: (raw) => signedAt(Number(/X-Test-Signed: (\d+)/.exec(raw.toString())?.[1])) });
  let opening = 0;
  let maxOpening = 0;
  const finished: number[] = [];
  /** Written from inside each commit's transaction: the order the commits happened in. */
  const committed: string[] = [];
  const opener: MessageOpener = {
    async open(raw) {
      const i = Number(/request (\d+)/.exec(raw.toString())?.[1]);
      opening++;
      maxOpening = Math.max(maxOpening, opening);
      await new Promise((resolve) => setTimeout(resolve, delayFor(i)));
      opening--;
      finished.push(i);
      if (i === 5) return { ok: false, error: { code: 'BAD_SIGNATURE', message: 'tampered' } };
      return { ok: true, sender: 'AT', payload: Buffer.from(String(i)), payloadContentType: 'text/plain', subject: 'AT/DNA', signingTime: signedAt(i) };
    },
  };
  const handler: ChannelHandler = {
    channel: 'dna',
    accepts: () => true,
    handle: (m) => ({
      replies: [{ payload: Buffer.from(`answer ${m.payload.toString()}`), payloadContentType: 'text/plain', subject: 'RO/DNA' }],
      summary: `answered ${m.payload.toString()}`,
      records: [],
      persist: () => committed.push(m.messageId),
    }),
  };
  const pipeline = new ExchangePipeline({
    db,
    queue,
    links: new LinkTracker(db),
    opener,
    sealer: { seal: async ({ reply }) => ({ raw: reply.payload, mailFrom: 'ncp@ro', rcptTo: 'ncp@at' }) },
    sender: null,
    handlers: [handler],
    audit: { exchange: () => undefined, rejected: (e) => committed.push(e.messageId) },
    ourState: 'RO',
    messageIdDomain: () => 'dna.pruem.ro.eu-admin.net',
    inboundConcurrency: lanes,
  });
  for (let i = N - 1; i >= 0; i--) queue.receive(mail(i), 'dna', 'ncp@at');
  try {
    pipeline.start(20);
    const deadline = Date.now() + 20_000;
    const pending = () => (db.prepare(`SELECT count(*) AS n FROM queue_inbox WHERE status = 'pending'`).get() as { n: number }).n;
    while (pending() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    await pipeline.stop();
    const closed = db.prepare(`SELECT message_id, status, outcome FROM queue_inbox`).all() as Array<{ message_id: string; status: string; outcome: string }>;
    const answers = (db.prepare(`SELECT raw FROM queue_outbox ORDER BY rowid`).all() as Array<{ raw: Buffer }>).map((r) => r.raw.toString());
    return { closed, committed, answers, maxOpening, finished };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const inSendingOrder = Array.from({ length: N }, (_, i) => i);

test('two lanes: processing overlaps and finishes out of order, commits follow the order of sending', async () => {
  // Even-numbered requests take longer to open than the odd one taken after them.
  const r = await run(2, (i) => (i % 2 === 0 ? 40 : 5));
  assert.equal(r.maxOpening, 2, 'two messages were being opened at the same time');
  assert.notDeepEqual(r.finished, inSendingOrder, 'processing did finish out of order');
  assert.deepEqual(
    r.answers,
    inSendingOrder.filter((i) => i !== 5).map((i) => `answer ${i}`),
    'answers queued in the order the requests were sent, the rejected one without an answer',
  );
  assert.deepEqual(
    r.committed,
    inSendingOrder.map((i) => `req-${i}@at`),
    'inbox entries closed in the order of sending, the rejected one included',
  );
  assert.equal(r.closed.find((c) => c.message_id === 'req-5@at')?.status, 'rejected');
  assert.equal(r.closed.filter((c) => c.status === 'done').length, N - 1);
});

test('one lane: one message at a time, in the order of sending', async () => {
  const r = await run(1, (i) => (i % 2 === 0 ? 10 : 2));
  assert.equal(r.maxOpening, 1);
  assert.deepEqual(r.finished, inSendingOrder);
  assert.deepEqual(r.answers.length, N - 1);
});
