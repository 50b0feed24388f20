/**
 * Poison messages end (issue 12 item 4), both ways: a message whose handler throws, or whose commit fails, every time
 * is tried `maxFailures` times and then becomes a dead letter — never again attempted, its raw data purged,
 * the failure in the Art. 30 log and in the status API. A handler that waits for its index is not counted.
 * An outbound message the relay refuses for good, or keeps refusing past `outboundGiveUpMs`, ends too: no
 * endless retry, its sealed copy purged, audited, in the status.
 * The opener and sealer are doubles behind the pipeline's ports; the queue, the audit log and SQLite are real.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../appliance/db/database.js';
import { MessageQueue } from '../../appliance/queue/queue.js';
import { LinkTracker } from '../../appliance/exchange/links.js';
import { ExchangePipeline, type MailSender } from '../../appliance/exchange/pipeline.js';
import type { ChannelHandler } from '../../appliance/exchange/handler.js';
import { AuditLog } from '../../appliance/audit/log.js';
import { createExchangeAudit } from '../../appliance/audit/exchange-audit.js';
import { gatewayStatus, ServiceBoard } from '../../appliance/status/status.js';

async function withPipeline(handler: ChannelHandler, fn: (x: { db: Db; queue: MessageQueue; pipeline: ExchangePipeline; audit: AuditLog; clock: { now: Date }; advance: () => void }) => Promise<void>, options: { sender?: MailSender; outboundGiveUpMs?: number } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'dead-letter-'));
  const db = openDatabase(join(dir, 'gw.sqlite'));
  const clock = { now: new Date() };
  const now = () => clock.now;
  const queue = new MessageQueue(db, now);
  const links = new LinkTracker(db, now);
  const audit = new AuditLog(db, { origin: 'DE/pruem-gateway', clock: now });
  const pipeline = new ExchangePipeline({
    db,
    queue,
    links,
    opener: { open: async () => ({ ok: true, sender: 'AT', payload: Buffer.from('PROFILE'), payloadContentType: 'text/plain', subject: 'AT/DNA', signedDigest: 'ab'.repeat(32), signingTime: clock.now }) },
    sealer: { seal: async ({ reply }) => ({ raw: reply.payload, mailFrom: 'ncp@de', rcptTo: 'ncp@at' }) },
    sender: options.sender ?? null,
    ...(options.outboundGiveUpMs !== undefined ? { outboundGiveUpMs: options.outboundGiveUpMs } : {}),
    handlers: [handler],
    audit: createExchangeAudit(db, audit),
    ourState: 'DE',
    messageIdDomain: () => 'dna.pruem.de.eu-admin.net',
    clock: now,
    maxFailures: 5,
  });
  try {
    await fn({ db, queue, pipeline, audit, clock, advance: () => (clock.now = new Date(clock.now.getTime() + 10 * 60_000)) });
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const mail = Buffer.from('Message-ID: <poison@at>\r\nSubject: AT/DNA\r\n\r\nPROFILE-DATA');

function auditActions(audit: AuditLog): Array<{ action: string; target?: string; details?: Record<string, unknown> }> {
  return audit
    .search({ from: new Date(0), to: new Date(Date.now() + 365 * 86_400_000) }, { offset: 0, limit: 100 })
    .entries.map((e) => e.record.event)
    .filter((e) => e.kind === 'admin')
    .map((e) => ({ action: e.action, ...(e.target ? { target: e.target } : {}), ...(e.details ? { details: e.details } : {}) }));
}

test('a handler that always throws: five counted attempts, then a dead letter — data purged, audited, in the status', async () => {
  let calls = 0;
  const handler: ChannelHandler = {
    channel: 'dna',
    accepts: () => true,
    handle: () => {
      calls++;
      throw new Error('engine exploded');
    },
  };
  await withPipeline(handler, async ({ db, queue, pipeline, audit, advance }) => {
    const { id } = queue.receive(mail, 'dna', 'ncp@dna.pruem.at.eu-admin.net');
    for (let i = 0; i < 20; i++) {
      await pipeline.processNextInbound();
      advance();
    }
    assert.equal(calls, 5, 'tried exactly maxFailures times, never an endless retry');
    assert.equal(queue.inboxRecord(id)?.status, 'dead');
    const raw = db.prepare('SELECT raw FROM queue_inbox WHERE id = ?').get(id) as { raw: Buffer | null };
    assert.equal(raw.raw, null, 'the supplied data is purged (DP-PURPOSE)');
    const dead = auditActions(audit).filter((a) => a.action === 'message-dead-lettered');
    assert.equal(dead.length, 1);
    assert.equal(dead[0]?.target, 'poison@at');
    assert.equal(dead[0]?.details?.code, 'HANDLER_FAILED');
    assert.equal(dead[0]?.details?.failures, 5);
    assert.doesNotMatch(JSON.stringify(dead[0]), /PROFILE-DATA/, 'no supplied data in the record');
    const status = gatewayStatus({
      memberState: 'DE', version: 't', startedAt: new Date(), demo: false, queue, links: new LinkTracker(db), services: new ServiceBoard(), peerChannels: () => [],
    });
    assert.equal(status.deadLetters?.count, 1);
    assert.equal(status.deadLetters?.recent[0]?.code, 'HANDLER_FAILED');
    assert.equal(status.queues.find((q) => q.channel === 'dna' && q.direction === 'in')?.depth, 0, 'no longer counted as pending');
  });
});

test('a commit that always fails (the handler persist throws) also ends as a dead letter, nothing half-written', async () => {
  const handler: ChannelHandler = {
    channel: 'dna',
    accepts: () => true,
    handle: () => ({
      replies: [{ payload: Buffer.from('answer'), payloadContentType: 'text/plain', subject: 'DE/DNA' }],
      summary: 'answered',
      records: [],
      persist: () => {
        throw new Error('constraint failed');
      },
    }),
  };
  await withPipeline(handler, async ({ db, queue, pipeline, advance }) => {
    const { id } = queue.receive(mail, 'dna', 'ncp@dna.pruem.at.eu-admin.net');
    for (let i = 0; i < 8; i++) {
      await pipeline.processNextInbound();
      advance();
    }
    assert.equal(queue.inboxRecord(id)?.status, 'dead');
    assert.match(queue.inboxRecord(id)?.outcome ?? '', /dead letter after 5 × COMMIT_FAILED/);
    assert.equal((db.prepare('SELECT count(*) AS n FROM queue_outbox').get() as { n: number }).n, 0, 'no answer was queued by a failed commit');
  });
});

test('a handler waiting for its index defers without counting: never a dead letter for that', async () => {
  let calls = 0;
  const handler: ChannelHandler = {
    channel: 'dna',
    accepts: () => true,
    handle: () => {
      calls++;
      return { kind: 'defer', code: 'DNA_INDEX_NOT_READY', reason: 'national DNA index is being built', waiting: true };
    },
  };
  await withPipeline(handler, async ({ queue, pipeline, audit, advance }) => {
    const { id } = queue.receive(mail, 'dna', 'ncp@dna.pruem.at.eu-admin.net');
    for (let i = 0; i < 12; i++) {
      await pipeline.processNextInbound();
      advance();
    }
    assert.equal(calls, 12);
    assert.equal(queue.inboxRecord(id)?.status, 'pending');
    assert.match(queue.inboxRecord(id)?.outcome ?? '', /^deferred: national DNA index is being built/);
    assert.equal(auditActions(audit).length, 0);
  });
});

test('a handler may reject: recorded as a rejection and a security event, no answer', async () => {
  const handler: ChannelHandler = { channel: 'dna', accepts: () => true, handle: () => ({ kind: 'reject', code: 'NOT_FOR_US', reason: 'addressed elsewhere' }) };
  await withPipeline(handler, async ({ queue, pipeline, audit }) => {
    const { id } = queue.receive(mail, 'dna', 'ncp@dna.pruem.at.eu-admin.net');
    await pipeline.processNextInbound();
    assert.equal(queue.inboxRecord(id)?.status, 'rejected');
    const events = auditActions(audit);
    assert.deepEqual(events.map((e) => [e.action, e.details?.code, e.details?.signer]), [['message-rejected', 'NOT_FOR_US', 'AT']]);
  });
});

test('when the audit log refuses every record, a failing message still ends (a dead letter, the refusal logged), never a loop', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dead-letter-audit-'));
  const db = openDatabase(join(dir, 'gw.sqlite'));
  const clock = { now: new Date() };
  const queue = new MessageQueue(db, () => clock.now);
  const logged: string[] = [];
  const refuse = () => {
    throw new Error('audit log unavailable');
  };
  const pipeline = new ExchangePipeline({
    db,
    queue,
    links: new LinkTracker(db),
    opener: { open: async () => ({ ok: false, error: { code: 'UNKNOWN_SIGNER', message: 'stranger' } }) },
    sealer: { seal: async () => ({ raw: Buffer.alloc(0), mailFrom: '', rcptTo: '' }) },
    sender: null,
    handlers: [],
    audit: { exchange: refuse, rejected: refuse, deadLettered: refuse },
    ourState: 'DE',
    messageIdDomain: () => 'dna.pruem.de.eu-admin.net',
    clock: () => clock.now,
    log: (event) => logged.push(event),
  });
  try {
    const { id } = queue.receive(mail, 'dna', 'ncp@dna.pruem.at.eu-admin.net');
    let rounds = 0;
    for (; rounds < 20 && queue.inboxRecord(id)?.status === 'pending'; rounds++) {
      await pipeline.processNextInbound();
      clock.now = new Date(clock.now.getTime() + 10 * 60_000);
    }
    assert.equal(rounds, 5, 'five attempts');
    assert.equal(queue.inboxRecord(id)?.status, 'dead');
    assert.ok(logged.includes('audit-failed'));
    assert.equal(logged.filter((e) => e === 'inbound-dead-letter').length, 1);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

const noAnswerer: ChannelHandler = { channel: 'dna', accepts: () => true, handle: () => ({ replies: [], summary: 'nothing', records: [] }) };
const outbound = (queue: MessageQueue, n: number) =>
  queue.enqueueOutbound({
    messageId: `answer-${n}@dna.pruem.de.eu-admin.net`, channel: 'dna', peer: 'AT', mailFrom: 'ncp@de', rcptTo: 'ncp@at',
    raw: Buffer.from('SEALED-FOR-AT'), deadline: null, correlation: `inbox-${n}`,
  }).id;

test('an outbound message the relay keeps refusing for a while is retried, then given up on: purged, audited, in the status', async () => {
  let tries = 0;
  const sender: MailSender = {
    send: async () => {
      tries++;
      return { ok: false, permanent: false, reason: '421 relay busy' };
    },
  };
  await withPipeline(noAnswerer, async ({ db, queue, pipeline, audit, advance }) => {
    const id = outbound(queue, 1);
    for (let i = 0; i < 30; i++) {
      await pipeline.sendDue();
      advance(); // 10 minutes: past every back-off (5 s doubling to 5 min)
    }
    // Queued at 0, tried at 0, 10, 20 … 60 min: the try at 60 min is past the hour and gives up.
    assert.equal(tries, 7, 'retried while within the give-up time, never after');
    const row = queue.outboxRecord(id);
    assert.equal(row?.status, 'failed');
    assert.match(row?.lastError ?? '', /^gave up after 7 attempts over 1 h: 421 relay busy/);
    assert.equal((db.prepare('SELECT raw FROM queue_outbox WHERE id = ?').get(id) as { raw: Buffer | null }).raw, null, 'the sealed copy is purged');
    const dead = auditActions(audit).filter((a) => a.action === 'message-dead-lettered');
    assert.equal(dead.length, 1);
    assert.equal(dead[0]?.target, 'answer-1@dna.pruem.de.eu-admin.net');
    assert.deepEqual(
      { direction: dead[0]?.details?.direction, peer: dead[0]?.details?.peer, code: dead[0]?.details?.code, attempts: dead[0]?.details?.attempts, correlation: dead[0]?.details?.correlation },
      { direction: 'out', peer: 'AT', code: 'UNDELIVERABLE', attempts: 7, correlation: 'inbox-1' },
    );
    const status = gatewayStatus({
      memberState: 'DE', version: 't', startedAt: new Date(), demo: false, queue, links: new LinkTracker(db), services: new ServiceBoard(), peerChannels: () => [],
    });
    assert.equal(status.deadLetters?.count, 1);
    assert.deepEqual(
      { direction: status.deadLetters?.recent[0]?.direction, state: status.deadLetters?.recent[0]?.state, code: status.deadLetters?.recent[0]?.code },
      { direction: 'out', state: 'AT', code: 'UNDELIVERABLE' },
    );
    assert.equal(status.queues.find((q) => q.channel === 'dna' && q.direction === 'out')?.depth, 0, 'no longer counted as pending');
  }, { sender, outboundGiveUpMs: 3_600_000 });
});

test('a permanent refusal by the relay (5xx) ends the message at once, audited as RELAY_REFUSED; a success is not a dead letter', async () => {
  const sender: MailSender = {
    send: async ({ raw }) => (raw.toString().includes('REFUSE') ? { ok: false, permanent: true, reason: '554 5.7.1 recipient rejected' } : { ok: true, response: '250 ok' }),
  };
  await withPipeline(noAnswerer, async ({ queue, pipeline, audit }) => {
    const refused = queue.enqueueOutbound({ messageId: 'refused@de', channel: 'dna', peer: 'AT', mailFrom: 'ncp@de', rcptTo: 'ncp@at', raw: Buffer.from('REFUSE'), deadline: null, correlation: null }).id;
    const fine = outbound(queue, 2);
    assert.equal(await pipeline.sendDue(), 1);
    assert.equal(await pipeline.sendDue(), 0, 'nothing left to try');
    assert.equal(queue.outboxRecord(refused)?.status, 'failed');
    assert.equal(queue.outboxRecord(fine)?.status, 'sent');
    const dead = auditActions(audit).filter((a) => a.action === 'message-dead-lettered');
    assert.deepEqual(dead.map((d) => [d.target, d.details?.code, d.details?.attempts]), [['refused@de', 'RELAY_REFUSED', 1]]);
    assert.deepEqual(queue.deadLetters().recent.map((d) => [d.direction, d.code, d.messageId]), [['out', 'RELAY_REFUSED', 'refused@de']]);
  }, { sender });
});
