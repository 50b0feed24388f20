/**
 * Priority of light requests (exchange/priority.ts): a flood of heavy messages (batches) is answered in its
 * order of sending, while a light one (a single search) that arrives during it overtakes the batches still
 * waiting. The S/MIME opener and sealer are doubles behind the pipeline's ports (the real ones are in
 * test/integration/art4-flood.test.ts); the queue, the database and the transactions are real. Order is
 * asserted, never time.
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
import { classOfWeight } from '../../appliance/exchange/priority.js';
import { dnaWeight } from '../../appliance/dna-exchange/channel.js';

const base = Math.floor(Date.now() / 1000) * 1000 - 120_000;

/** `heavy-3` (a batch) or `light-0` (a single search); `signed`: seconds after base. */
function mail(name: string, signed: number): Buffer {
  return Buffer.from(`Message-ID: <${name}@x>\r\nX-Test-Signed: ${signed}\r\nSubject: DNA\r\n\r\n${name}`);
}

interface Run {
  readonly committed: string[];
  readonly opens: Map<string, number>;
  /** Batches committed when the light request was received. */
  readonly before: number;
}

/**
 * `flood` heavy messages from AT queued first; `light` arrives once `lightAfter` of them are committed. Each
 * open and each batch takes a few ms of real waiting (as the token and the matching do), varied so that
 * work finishes out of order.
 */
async function run(opts: { lanes: number; flood: number; lightAfter: number; weighing?: boolean; openAheadBytes?: number }): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'priority-'));
  const db = openDatabase(join(dir, 'gw.sqlite'));
  const queue = new MessageQueue(db, undefined, { signedTimeOf: (raw) => new Date(base + Number(/X-Test-Signed: (\d+)/.exec(raw.toString())?.[1]) * 1000) });
  const committed: string[] = [];
  const opens = new Map<string, number>();
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const opener: MessageOpener = {
    async open(raw) {
      const name = raw.toString().split('\r\n\r\n')[1]!;
      opens.set(name, (opens.get(name) ?? 0) + 1);
      const i = Number(name.split('-')[1]);
      await sleep(i % 3 === 0 ? 6 : 1);
      const signed = new Date(base + Number(/X-Test-Signed: (\d+)/.exec(raw.toString())?.[1]) * 1000);
      return { ok: true, sender: name.startsWith('light') ? 'NL' : 'AT', payload: Buffer.from(name), payloadContentType: 'text/plain', subject: 'DNA', signingTime: signed };
    },
  };
  const handler: ChannelHandler = {
    channel: 'dna',
    accepts: () => true,
    ...(opts.weighing === false ? {} : { weigh: (m) => (m.payload.toString().startsWith('heavy') ? 500 : 1) }),
    async handle(m) {
      const name = m.payload.toString();
      if (name.startsWith('heavy')) await sleep(Number(name.split('-')[1]) % 2 === 0 ? 15 : 3);
      return {
        replies: [{ payload: Buffer.from(`answer ${name}`), payloadContentType: 'text/plain', subject: 'DNA' }],
        summary: name,
        records: [],
        persist: () => committed.push(name),
      };
    },
  };
  const pipeline = new ExchangePipeline({
    db,
    queue,
    links: new LinkTracker(db),
    opener,
    sealer: { seal: async ({ reply }) => ({ raw: reply.payload, mailFrom: 'ncp@de', rcptTo: 'ncp@at' }) },
    sender: null,
    handlers: [handler],
    audit: { exchange: () => undefined, rejected: () => undefined },
    ourState: 'DE',
    messageIdDomain: () => 'dna.pruem.de.eu-admin.net',
    inboundConcurrency: opts.lanes,
    ...(opts.openAheadBytes !== undefined ? { openAheadBytes: opts.openAheadBytes } : {}),
  });
  for (let i = 0; i < opts.flood; i++) queue.receive(mail(`heavy-${i}`, i), 'dna', 'ncp@at');
  let lightSent = false;
  let before = 0;
  const sendLight = () => {
    if (lightSent || committed.length < opts.lightAfter) return;
    lightSent = true;
    before = committed.length;
    // Signed after every batch: by DNA-TIME alone it would be answered last.
    queue.receive(mail('light-0', opts.flood + 5), 'dna', 'ncp@nl');
    pipeline.kick();
  };
  sendLight();
  try {
    pipeline.start(5);
    const pending = () => (db.prepare(`SELECT count(*) AS n FROM queue_inbox WHERE status = 'pending'`).get() as { n: number }).n;
    while (!lightSent || pending() > 0) {
      sendLight();
      await sleep(2);
    }
    await pipeline.stop();
    const answers = (db.prepare(`SELECT raw FROM queue_outbox ORDER BY rowid`).all() as Array<{ raw: Buffer }>).map((r) => r.raw.toString().replace('answer ', ''));
    assert.deepEqual(answers, committed, 'answers queued in the order of the commits');
    return { committed, opens, before };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const heavies = (committed: string[]) => committed.filter((n) => n.startsWith('heavy'));
const inOrder = (n: number) => Array.from({ length: n }, (_, i) => `heavy-${i}`);

test('a flood queued ahead: the light request, signed last, is answered first; the batches in their order of sending', async () => {
  const r = await run({ lanes: 2, flood: 16, lightAfter: 0 });
  assert.equal(r.committed[0], 'light-0');
  assert.deepEqual(heavies(r.committed), inOrder(16));
  assert.equal(r.opens.get('light-0'), 1, 'a light message opened ahead is not opened twice');
  assert.equal(r.opens.get('heavy-4'), 1, 'a heavy one opened to be weighed is kept opened for its turn');
});

test('past the memory allowed for batches opened ahead, a batch is opened again when its turn comes; the order is the same', async () => {
  const r = await run({ lanes: 2, flood: 8, lightAfter: 0, openAheadBytes: 'heavy-0'.length * 3 });
  assert.equal(r.committed[0], 'light-0');
  assert.deepEqual(heavies(r.committed), inOrder(8));
  assert.deepEqual(inOrder(8).map((n) => r.opens.get(n)), [1, 1, 1, 2, 2, 2, 2, 2], 'the first three kept, the others opened twice');
});

test('a light request arriving during the flood overtakes the batches still waiting', async () => {
  const r = await run({ lanes: 2, flood: 16, lightAfter: 3 });
  const at = r.committed.indexOf('light-0');
  // Those committed before it arrived, and at most one per lane already being worked on.
  assert.ok(r.before >= 3 && r.before < 10, `the light request arrived during the flood (${r.before} batches answered)`);
  assert.ok(at >= r.before && at <= r.before + 2, `the light request committed at position ${at} (arrived after ${r.before}): ${r.committed.join(' ')}`);
  assert.deepEqual(heavies(r.committed), inOrder(16));
});

test('one lane: the same priority, one message at a time', async () => {
  const r = await run({ lanes: 1, flood: 10, lightAfter: 2 });
  const at = r.committed.indexOf('light-0');
  assert.ok(r.before < 8, `arrived during the flood (${r.before} answered)`);
  assert.ok(at >= r.before && at <= r.before + 1, `position ${at} (arrived after ${r.before}): ${r.committed.join(' ')}`);
  assert.deepEqual(heavies(r.committed), inOrder(10));
});

test('without weights (a handler that does not weigh) every message is light: plain order of sending, as before', async () => {
  const r = await run({ lanes: 2, flood: 8, lightAfter: 3, weighing: false });
  assert.deepEqual(r.committed, [...inOrder(8), 'light-0']);
});

test('DNA weights: an Art. 3 search and an answer weigh 1, a batch its profiles', () => {
  const datas = (n: number) => Array.from({ length: n }, (_, i) => `<datas><reqtype>4</reqtype><profile_ident>P${i}</profile_ident></datas>`).join('');
  const doc = (direction: 'R' | 'A', n: number) => Buffer.from(`<?xml version="1.0"?><PRUEMDNA><header><direction>${direction}</direction></header>${datas(n)}</PRUEMDNA>`);
  assert.equal(dnaWeight(doc('R', 1)), 1);
  assert.equal(dnaWeight(doc('R', 500)), 500);
  assert.equal(dnaWeight(doc('A', 500)), 1, 'an answer to our batch is filed, not searched');
  assert.equal(dnaWeight(Buffer.from('<p:PRUEMDNA xmlns:p="x"><p:datas>a</p:datas><p:datas >b</p:datas></p:PRUEMDNA>')), 2);
  assert.equal(dnaWeight(Buffer.from('not xml')), 1);
  assert.equal(classOfWeight(1), 'light');
  assert.equal(classOfWeight(2), 'heavy');
  assert.equal(classOfWeight(Number.NaN), 'light');
});

test('a batch still waiting past its 15 minutes is at risk in the status figures, then answered late, never dropped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'priority-late-'));
  const db = openDatabase(join(dir, 'gw.sqlite'));
  let now = new Date(base + 60_000);
  const clock = () => now;
  const queue = new MessageQueue(db, clock, { signedTimeOf: () => new Date(base) });
  const events: Array<[string, Record<string, unknown>]> = [];
  try {
    const { id } = queue.receive(mail('heavy-1', 0), 'dna', 'ncp@at');
    now = new Date(now.getTime() + 16 * 60_000);
    const dnaIn = queue.depths().find((q) => q.channel === 'dna' && q.direction === 'in')!;
    assert.equal(dnaIn.atRisk, 1);
    assert.ok(Date.parse(dnaIn.nearestDeadline!) < now.getTime(), 'its deadline is past (the console shows the row late)');
    const pipeline = new ExchangePipeline({
      db,
      queue,
      links: new LinkTracker(db),
      opener: { open: async () => ({ ok: true, sender: 'AT', payload: Buffer.from('heavy-1'), payloadContentType: 'text/plain', subject: 'DNA', signingTime: new Date(base) }) },
      sealer: { seal: async ({ reply }) => ({ raw: reply.payload, mailFrom: 'ncp@de', rcptTo: 'ncp@at' }) },
      sender: null,
      handlers: [{ channel: 'dna', accepts: () => true, weigh: () => 500, handle: () => ({ replies: [{ payload: Buffer.from('a'), payloadContentType: 'text/plain', subject: 'DNA' }], summary: 'ok', records: [] }) }],
      audit: { exchange: () => undefined, rejected: () => undefined },
      ourState: 'DE',
      messageIdDomain: () => 'dna.pruem.de.eu-admin.net',
      clock,
      log: (event, fields) => events.push([event, fields]),
    });
    while (await pipeline.processNextInbound());
    assert.equal(queue.inboxRecord(id)?.status, 'done');
    assert.equal((db.prepare(`SELECT count(*) AS n FROM queue_outbox`).get() as { n: number }).n, 1, 'the late answer is queued for sending');
    const late = events.find(([e]) => e === 'inbound-late');
    assert.ok(late, 'logged as late');
    assert.equal(late[1].lateSeconds, 60, 'received 16 minutes ago: one minute past its 15');
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a batch our token could not open yet is weighed again when it can: it does not pass for light', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'priority-transient-'));
  const db = openDatabase(join(dir, 'gw.sqlite'));
  const queue = new MessageQueue(db, undefined, { signedTimeOf: (raw) => new Date(base + Number(/X-Test-Signed: (\d+)/.exec(raw.toString())?.[1]) * 1000) });
  const committed: string[] = [];
  let locked = true;
  try {
    const pipeline = new ExchangePipeline({
      db,
      queue,
      links: new LinkTracker(db),
      opener: {
        async open(raw) {
          const name = raw.toString().split('\r\n\r\n')[1]!;
          if (name === 'heavy-1' && locked) {
            locked = false;
            return { ok: false, transient: true, error: { code: 'TOKEN_UNAVAILABLE', message: 'token locked' } };
          }
          return { ok: true, sender: 'AT', payload: Buffer.from(name), payloadContentType: 'text/plain', subject: 'DNA', signingTime: new Date(base + Number(/X-Test-Signed: (\d+)/.exec(raw.toString())?.[1]) * 1000) };
        },
      },
      sealer: { seal: async ({ reply }) => ({ raw: reply.payload, mailFrom: 'ncp@de', rcptTo: 'ncp@at' }) },
      sender: null,
      handlers: [{
        channel: 'dna',
        accepts: () => true,
        weigh: (m) => (m.payload.toString().startsWith('heavy') ? 500 : 1),
        handle: (m) => ({ replies: [], summary: 'ok', records: [], persist: () => committed.push(m.payload.toString()) }),
      }],
      audit: { exchange: () => undefined, rejected: () => undefined },
      ourState: 'DE',
      messageIdDomain: () => 'dna.pruem.de.eu-admin.net',
      inboundConcurrency: 1,
      // The token is back at once: the deferred batch is due again without sitting out its back-off.
      log: (event) => {
        if (event === 'inbound-deferred') queue.retryDeferredNow('dna');
      },
    });
    for (let i = 0; i < 3; i++) queue.receive(mail(`heavy-${i}`, i), 'dna', 'ncp@at');
    queue.receive(mail('light-0', 10), 'dna', 'ncp@nl');
    while (await pipeline.processNextInbound());
    assert.deepEqual(committed, ['light-0', 'heavy-0', 'heavy-1', 'heavy-2']);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
