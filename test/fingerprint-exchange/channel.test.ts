import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { openDatabase, type Db } from '../../appliance/db/database.js';
import { Statistics } from '../../appliance/exchange/statistics.js';
import type { ChannelHandler, ExchangeRecord, HandlerOutcome, InboundMessage } from '../../appliance/exchange/handler.js';
import { ExchangePipeline } from '../../appliance/exchange/pipeline.js';
import { LinkTracker } from '../../appliance/exchange/links.js';
import { MessageQueue } from '../../appliance/queue/queue.js';
import type { MemberStateCode } from '../../appliance/peers/member-states.js';
import { makeTcn, parseTransaction, readType1, readType2, type1, validateIntI, withField, writeTransaction, type TaggedRecord } from '../../appliance/fingerprint/index.js';
import type { RequestTot } from '../../appliance/fingerprint/tot.js';
import { DemoAfis } from '../../appliance/fingerprint/afis/demo.js';
import { DirectoryAfis } from '../../appliance/fingerprint/afis/directory.js';
import type { AfisAdapter } from '../../appliance/fingerprint/afis/adapter.js';
import { DEMO_SUBJECT_REFERENCE, demoSearchTransaction, demoSubjectProbe, seedDemoAfis } from '../../appliance/fingerprint/afis/demo-seed.js';
import { randomTenPrint, seededRandom } from '../../appliance/fingerprint/afis/synthetic.js';
import { CapacityLedger, TcnIssuer } from '../../appliance/fingerprint-exchange/capacity.js';
import { fingerprintChannelHandler } from '../../appliance/fingerprint-exchange/channel.js';
import { IncomingRequests } from '../../appliance/fingerprint-exchange/requests.js';
import { FpSearches } from '../../appliance/fingerprint-exchange/searches.js';
import { FingerprintService } from '../../appliance/fingerprint-exchange/service.js';

/**
 * The fingerprint channel in process: the handler as the pipeline calls it, the service with the demo
 * AFIS, and the real pipeline and queue (only the S/MIME sealing is left out: its output here is the
 * bare ANSI/NIST file, so the answers can be read back; the integration tests seal for real).
 */
let dir: string;
let db: Db;
let now: Date;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pruem-fpx-'));
  db = openDatabase(join(dir, 'gateway.sqlite'));
  now = new Date('2026-12-06T10:00:00Z');
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Rig {
  handler: ChannelHandler;
  service: FingerprintService;
  requests: IncomingRequests;
  searches: FpSearches;
  statistics: Statistics;
  queue: MessageQueue;
  audit: Array<{ record: ExchangeRecord; peer: string }>;
  afis: DemoAfis;
  /** What the sealer saw: per peer, the ANSI/NIST payloads in order. */
  sent: Array<{ peer: MemberStateCode; subject: string; payload: Buffer }>;
  pipeline: ExchangePipeline;
}

function rig(opts: { limit?: number; afis?: boolean; peerLimit?: { limit: number; scope: 'type' | 'all' }; enabled?: readonly MemberStateCode[]; adapter?: AfisAdapter } = {}): Rig {
  const statistics = new Statistics(db);
  const capacity = new CapacityLedger(db);
  const tcns = new TcnIssuer(db, makeTcn);
  const requests = new IncomingRequests(db);
  const searches = new FpSearches(db, () => now);
  const queue = new MessageQueue(db, () => now);
  const afisDb = openDatabase(join(dir, 'afis.sqlite'));
  const afis = new DemoAfis(afisDb);
  seedDemoAfis(afis, 'DE', { persons: 40, latents: 10 });
  const audit: Rig['audit'] = [];
  const sent: Rig['sent'] = [];
  let pipeline!: ExchangePipeline;
  const service = new FingerprintService({
    ourState: 'DE',
    agency: 'BKA',
    origin: 'DE/BKA',
    afis: opts.afis === false ? null : (opts.adapter ?? afis),
    requests,
    searches,
    capacity,
    tcns,
    statistics,
    pipeline: () => pipeline,
    peerLimit: () => opts.peerLimit ?? null,
    clock: () => now,
  });
  const handler = fingerprintChannelHandler({
    ourState: 'DE',
    origin: 'DE/BKA',
    agency: 'BKA',
    tcns,
    capacity,
    ourLimit: () => opts.limit ?? null,
    afisConnected: () => opts.afis !== false,
    ...(opts.enabled ? { peerEnabled: (peer: MemberStateCode) => opts.enabled!.includes(peer) } : {}),
    requests,
    searches,
    statistics,
    clock: () => now,
  });
  pipeline = new ExchangePipeline({
    db,
    queue,
    links: new LinkTracker(db, () => now),
    opener: { open: async () => ({ ok: false, error: { code: 'UNUSED', message: 'not used here' } }) },
    sealer: {
      async seal({ peer, reply }) {
        sent.push({ peer, subject: reply.subject, payload: reply.payload });
        return { raw: reply.payload, mailFrom: 'ncp@fp.pruem.de.eu-admin.net', rcptTo: `ncp@fp.pruem.${peer.toLowerCase()}.eu-admin.net` };
      },
    },
    sender: null,
    handlers: [handler],
    audit: { exchange: (record, ctx) => audit.push({ record, peer: ctx.peer }), rejected: () => undefined },
    ourState: 'DE',
    messageIdDomain: () => 'fp.pruem.de.eu-admin.net',
    clock: () => now,
  });
  return { handler, service, requests, searches, statistics, queue, audit, afis, sent, pipeline };
}

let serial = 100;
function search(tot: RequestTot, o: { from?: MemberStateCode; priority?: number; probe?: 'subject' | 'stranger'; enc?: number; tcn?: string } = {}): Buffer {
  const from = o.from ?? 'RO';
  const latent = tot === 'MPS' || tot === 'MMS';
  const fingers = o.probe === 'stranger' ? (latent ? [randomTenPrint(seededRandom(serial))[0]!] : randomTenPrint(seededRandom(serial))) : demoSubjectProbe(latent ? 'latent' : 'tenprint');
  return demoSearchTransaction({ tot, from, agency: 'AFIS', destination: 'DE/BKA', tcn: o.tcn ?? makeTcn(2026, serial++), priority: o.priority ?? 4, now, reference: 'CASE-1', fingers, ...(o.enc !== undefined ? { expectedCandidates: o.enc } : {}) });
}

function message(payload: Buffer, sender: MemberStateCode = 'RO'): InboundMessage {
  return { inboxId: randomUUID(), messageId: `${randomUUID()}@fp.pruem.ro.eu-admin.net`, channel: 'fp', sender, payload, payloadContentType: 'application/octet-stream', subject: `${sender}/MPS`, receivedAt: now, sentAt: now };
}

/** The handler's answer (it never defers or rejects: every request gets one). */
function answered(x: unknown): HandlerOutcome {
  const kind = (x as { kind?: string }).kind;
  assert.ok(kind === undefined || kind === 'answer', `the handler returned ${kind}`);
  return x as HandlerOutcome;
}

/** Runs the handler and commits what it asked to persist, as the pipeline would. */
async function deliver(r: Rig, m: InboundMessage): Promise<HandlerOutcome> {
  const outcome = answered(await r.handler.handle(m));
  db.transaction(() => outcome.persist?.(db))();
  return outcome;
}

/** Waits until the service has queued `n` answers (a bound for a loaded machine, not a speed check). */
async function answers(r: Rig, n: number): Promise<void> {
  const until = Date.now() + 120_000;
  while (r.sent.length < n && Date.now() < until) {
    await new Promise((res) => setTimeout(res, 10));
    await r.service.settled();
  }
  await r.service.settled();
}

function read(payload: Buffer) {
  const t = parseTransaction(payload);
  assert.ok(t.ok, 'our answer parses');
  const t2 = t.value.records.find((x): x is TaggedRecord => x.kind === 'tagged' && x.type === 2)!;
  return { t: t.value, h: readType1(type1(t.value)), d: readType2(t2) };
}

test('the demo search transactions are valid INT-I', () => {
  for (const tot of ['CPS', 'PMS', 'MPS', 'MMS'] as const) {
    const t = parseTransaction(search(tot));
    assert.ok(t.ok);
    assert.deepEqual(validateIntI(t.value, { self: 'DE', peer: 'RO' }).map((e) => `${e.code} ${e.field} ${e.text}`), [], tot);
  }
});

test('an invalid request is answered at once with an ERR listing every error, correlated by TCR', async () => {
  const r = rig();
  const good = search('CPS');
  const tcn = readType1(type1((parseTransaction(good) as { ok: true; value: Parameters<typeof type1>[0] }).value)).tcn!;
  // Break it twice: a wrong TCN check character and a system version that is not 0422.
  const parsed = parseTransaction(good);
  assert.ok(parsed.ok);
  const h = withField(type1(parsed.value), 9, `${tcn.slice(0, 10)}${tcn.endsWith('A') ? 'B' : 'A'}`);
  const t2 = withField(parsed.value.records[1] as TaggedRecord, 3, '0421');
  const bad = writeTransaction({ records: [h, t2, ...parsed.value.records.slice(2)] });
  const outcome = await deliver(r, message(bad));
  assert.equal(outcome.replies.length, 1);
  assert.equal(outcome.replies[0]!.subject, 'DE/ERR');
  const { t, h: header, d } = read(outcome.replies[0]!.payload);
  assert.equal(header.tot, 'ERR');
  assert.equal(header.tcr, `${tcn.slice(0, 10)}${tcn.endsWith('A') ? 'B' : 'A'}`);
  assert.equal(header.destination, 'RO/AFIS');
  const lines = d.errorMessage!.split('\n');
  assert.ok(lines.some((l) => /^201: IDC -1 FIELD 1\.009 /.test(l)), lines.join(' | '));
  assert.ok(lines.some((l) => /^\d{3}: IDC 0 FIELD 2\.003 /.test(l)), lines.join(' | '));
  // CHOICE (answers.ts): the request's TCN comes back as TCR as it was written, wrong check character
  // and all, so the requester can find its request; that is the only thing in our ERR a validator flags.
  assert.deepEqual(validateIntI(t, { self: 'RO', peer: 'DE' }).map((e) => `${e.code} ${e.field}`), ['201 1.010']);
  assert.equal(r.requests.pending().count, 0, 'nothing queued for the AFIS');
  assert.deepEqual(outcome.records.map((x) => `${x.direction} ${x.messageType} ${x.result}`), ['received CPS error', 'sent ERR error']);
});

test('an unreadable file still gets an ERR (117/110…), with the unknown TCN as TCR', async () => {
  const r = rig();
  const outcome = await deliver(r, message(Buffer.from('1.001:99999\x1d1.002:0300\x1c')));
  const { h, d } = read(outcome.replies[0]!.payload);
  assert.equal(h.tot, 'ERR');
  assert.equal(h.tcr, '0000000000Z');
  assert.match(d.errorMessage!, /^\d{3}: IDC -1 FIELD 1\.\d{3} /);
});

test('a valid MPS is queued (no answer yet), handed to the AFIS and answered with an SRE hit naming our record, TCR = request TCN', async () => {
  const r = rig();
  const payload = search('MPS', { tcn: makeTcn(2026, 777) });
  const outcome = await deliver(r, message(payload));
  assert.equal(outcome.replies.length, 0);
  assert.deepEqual(outcome.records.map((x) => `${x.direction} ${x.role} ${x.messageType} ${x.result}`), ['received request MPS n/a']);
  // Art. 30: by reference (TCN, record types), never the minutiae or the image.
  assert.deepEqual(outcome.records[0]!.data.recordIds, [makeTcn(2026, 777), 'type-1:1', 'type-2:1', 'type-9:1', 'type-13:1']);
  assert.equal(r.requests.queued(10).length, 1);
  const requestDeadline = r.requests.queued(10)[0]!.deadline;
  // The AFIS takes its time (here 3 hours): the answer is still due by the request's deadline, not 24 h from now.
  now = new Date(now.getTime() + 3 * 3_600_000);
  await r.service.round();
  // The demo AFIS answers asynchronously, as a real one does.
  await answers(r, 1);
  assert.equal(r.sent.length, 1);
  const { t, h, d } = read(r.sent[0]!.payload);
  assert.equal(r.sent[0]!.subject, 'DE/SRE');
  assert.equal(h.tot, 'SRE');
  assert.equal(h.tcr, makeTcn(2026, 777));
  assert.equal(d.criminalReference, DEMO_SUBJECT_REFERENCE.DE);
  assert.equal(d.respondents?.tot, 'MPS');
  assert.equal(d.respondents?.result, 'I');
  assert.equal(d.respondents?.candidate, '001/001');
  assert.ok(Number(d.respondents?.score) >= 45, `score ${d.respondents?.score}`);
  assert.equal(d.mn2, 'CASE-1');
  assert.deepEqual(validateIntI(t, { self: 'RO', peer: 'DE' }), []);
  assert.equal(r.requests.pending().count, 0);
  const queued = r.queue.depths().find((q) => q.channel === 'fp' && q.direction === 'out')!;
  assert.equal(queued.depth, 1, 'the SRE waits in the outbox for the relay');
  assert.equal(queued.nearestDeadline, requestDeadline.toISOString(), 'due by the request\'s 24 h (FP-TIME), counted from its receipt');
  const stats = r.statistics.annualByType(2026).find((s) => s.state === 'RO' && s.messageType === 'MPS' && s.direction === 'in')!;
  assert.deepEqual({ requests: stats.requests, hits: stats.hits }, { requests: 1, hits: 1 });
  assert.ok(r.audit.some((a) => a.record.messageType === 'SRE' && a.record.result === 'hit' && a.record.referenceNumbers[0] === makeTcn(2026, 777)));
});

test('a stranger gets an SRE no-hit; a CPS is limited to one candidate (Table 11) and PMS answers carry the finger in 2.063', async () => {
  const r = rig();
  await deliver(r, message(search('MPS', { probe: 'stranger' })));
  await deliver(r, message(search('CPS')));
  await r.service.round();
  await answers(r, 2);
  assert.equal(r.sent.length, 2);
  // The AFIS answers in its own order: tell them apart by the search type in 2.064.
  const answersRead = r.sent.map((s) => read(s.payload));
  const noHit = answersRead.find((a) => a.d.respondents?.tot === 'MPS');
  const cps = answersRead.find((a) => a.d.respondents?.tot === 'CPS');
  assert.equal(noHit!.d.respondents?.result, 'N');
  assert.equal(noHit!.d.criminalReference, undefined);
  assert.equal(cps!.d.respondents?.tot, 'CPS');
  assert.equal(cps!.d.respondents?.candidate, '001/001');
  assert.equal(cps!.d.criminalReference, DEMO_SUBJECT_REFERENCE.DE);
  assert.equal(cps!.d.mn1, 'CASE-1');
});

test('priority 1 goes to the AFIS first, then by arrival', async () => {
  const r = rig();
  const a = message(search('MPS', { probe: 'stranger', priority: 5 }));
  const b = message(search('MPS', { probe: 'stranger', priority: 1 }));
  const c = message(search('MPS', { probe: 'stranger', priority: 5 }));
  for (const m of [a, b, c]) {
    now = new Date(now.getTime() + 1000);
    await deliver(r, { ...m, receivedAt: now });
  }
  assert.deepEqual(r.requests.queued(10).map((q) => q.id), [b.inboxId, a.inboxId, c.inboxId]);
  assert.equal(r.requests.queued(10)[0]!.deadline.getTime() - r.requests.queued(10)[0]!.receivedAt.getTime(), 24 * 3_600_000);
});

test('beyond our declared daily capacity for a peer and type: a clear ERR, never dropped; other types and the next day go through', async () => {
  const r = rig({ limit: 2 });
  const first = await deliver(r, message(search('MPS', { probe: 'stranger' })));
  const second = await deliver(r, message(search('MPS', { probe: 'stranger' })));
  const third = await deliver(r, message(search('MPS', { probe: 'stranger', tcn: makeTcn(2026, 4242) })));
  assert.equal(first.replies.length + second.replies.length, 0);
  assert.equal(third.replies.length, 1);
  const { h, d } = read(third.replies[0]!.payload);
  assert.equal(h.tot, 'ERR');
  assert.equal(h.tcr, makeTcn(2026, 4242));
  assert.match(d.errorMessage!, /^999: IDC -1 FIELD 1\.004 DAILY CAPACITY REACHED: 2 MPS PER DAY FOR RO \(ART\. 13\); SEND AGAIN AFTER 2026-12-07T00:00:00Z$/);
  // Another peer, another type: their own counters.
  assert.equal((await deliver(r, message(search('MPS', { probe: 'stranger', from: 'AT' }), 'AT'))).replies.length, 0);
  assert.equal((await deliver(r, message(search('CPS', { probe: 'stranger' })))).replies.length, 0);
  now = new Date('2026-12-07T00:00:01Z');
  assert.equal((await deliver(r, message(search('MPS', { probe: 'stranger' })))).replies.length, 0);
});

test('two lanes handling at once cannot both take the last place', async () => {
  const r = rig({ limit: 1 });
  const [x, y] = (await Promise.all([r.handler.handle(message(search('MPS', { probe: 'stranger' }))), r.handler.handle(message(search('MPS', { probe: 'stranger' })))])).map(answered) as [HandlerOutcome, HandlerOutcome];
  assert.deepEqual([x.replies.length, y.replies.length].sort(), [0, 1]);
});

test('no AFIS connected: every search is answered with an ERR at once', async () => {
  const r = rig({ afis: false });
  const outcome = await deliver(r, message(search('CPS')));
  assert.match(read(outcome.replies[0]!.payload).d.errorMessage!, /^999: .*NO AFIS/);
});

test('an SRE or ERR from a peer is filed against our search by its TCR; one for a TCN we never sent is audited only', async () => {
  const r = rig();
  const searchId = r.searches.create({ tot: 'MPS', officerId: 'DE-OFF-1', orderingOfficerId: 'DE-PROS-1', reason: 'test', payload: Buffer.from('x') });
  const ours = makeTcn(2026, 5001);
  r.searches.addTarget(searchId, 'RO', ours, null);
  r.searches.sent(ours, 'm1@x', now);
  const { sreTransaction, errTransaction } = await import('../../appliance/fingerprint-exchange/answers.js');
  const facts = { tot: 'MPS', tcn: ours, origin: 'DE/BKA', caseNumber: 'DE/CASE-9', palm: false } as const;
  const ctx = (n: number) => ({ facts, requester: 'DE' as const, origin: 'RO/AFIS', tcn: makeTcn(2026, n), now });
  await deliver(r, message(sreTransaction(ctx(1), 'MPS', { index: 1, total: 2, reference: 'RO/P-1', score: 77, verified: false })));
  let view = r.searches.get(searchId)!;
  assert.equal(view.complete, false, 'one of two candidates');
  await deliver(r, message(sreTransaction(ctx(2), 'MPS', { index: 2, total: 2, reference: 'RO/P-2', score: 51, verified: false })));
  view = r.searches.get(searchId)!;
  assert.equal(view.complete, true);
  assert.deepEqual(view.results.map((x) => [x.result, x.candidate, x.reference, x.score]), [['hit', '001/002', 'RO/P-1', '77'], ['hit', '002/002', 'RO/P-2', '51']]);
  // An ERR answering a TCN we did not send to RO: audited, filed nowhere.
  const stray = await deliver(r, message(errTransaction({ ...ctx(3), facts: { ...facts, tcn: makeTcn(2026, 9999) } }, [{ code: '501', idc: 1, field: '9.136', text: 'NO MINUTIAE' }])));
  assert.deepEqual(stray.records.map((x) => `${x.direction} ${x.role} ${x.messageType} ${x.result}`), ['received response ERR error']);
  assert.equal(r.searches.get(searchId)!.results.length, 2);
});

test('our searches never exceed a peer\'s declared daily capacity: the rest waits and leaves after UTC midnight, oldest first', async () => {
  const r = rig({ peerLimit: { limit: 1, scope: 'type' } });
  const targets: Array<{ searchId: string; tcn: string }> = [];
  for (let i = 0; i < 3; i++) {
    const searchId = r.searches.create({ tot: 'MPS', officerId: 'DE-OFF-1', orderingOfficerId: 'DE-PROS-1', reason: 'capacity test', payload: search('MPS', { probe: 'stranger' }) });
    const tcn = makeTcn(2026, 6000 + i);
    r.searches.addTarget(searchId, 'RO', tcn, 'being sent');
    targets.push({ searchId, tcn });
    now = new Date(now.getTime() + 1000);
    await r.service.sendTarget({ searchId, tcn, state: 'RO', tot: 'MPS' });
  }
  assert.deepEqual(targets.map((t) => r.searches.get(t.searchId)!.targets[0]!.status), ['sent', 'waiting', 'waiting']);
  assert.match(r.searches.get(targets[1]!.searchId)!.targets[0]!.waitingFor!, /^RO declared 1 MPS searches per day .* sent after 2026-12-07T00:00:00\.000Z$/);
  assert.equal(r.sent.length, 1);
  // The officer's file is kept while a target waits, dropped once sent.
  assert.equal(r.searches.payload(targets[0]!.searchId), null);
  assert.notEqual(r.searches.payload(targets[1]!.searchId), null);
  await r.service.releaseWaiting();
  assert.equal(r.sent.length, 1, 'still the same day');
  now = new Date('2026-12-07T00:00:05Z');
  await r.service.releaseWaiting();
  assert.deepEqual(targets.map((t) => r.searches.get(t.searchId)!.targets[0]!.status), ['sent', 'sent', 'waiting']);
  // Routed for RO: DAI RO/NCP, ORI us, our TCN, no TCR, today's date.
  const { h } = read(r.sent[1]!.payload);
  assert.deepEqual([h.destination, h.origin, h.tcn, h.tcr, h.date], ['RO/NCP', 'DE/BKA', targets[1]!.tcn, undefined, '20261207']);
  assert.ok(r.audit.some((a) => a.record.direction === 'sent' && a.record.role === 'request' && a.record.search?.reason === 'capacity test' && a.record.referenceNumbers[0] === targets[1]!.tcn));
});

test('an AFIS result reported twice (a restart hands the search over again) is answered once', async () => {
  const r = rig();
  const m = message(search('PMS'));
  await deliver(r, m);
  const result = r.afis.searchTransaction({ id: r.requests.get(m.inboxId)!.afisTcn, tcn: 'x', tot: 'PMS', priority: 4, transaction: r.requests.get(m.inboxId)!.transaction!, maxCandidates: 5 });
  await r.service.answer(result);
  await r.service.answer(result);
  assert.equal(r.sent.length, 1);
  assert.equal(r.requests.get(m.inboxId)!.transaction, null, 'the supplied file is dropped once answered');
});

test('the demo network\'s example searches are valid INT-I, and the MPS finds the demo subject in DE', async () => {
  const { writeFingerprintExamples } = await import('../../appliance/fingerprint-exchange/demo.js');
  const { readFileSync } = await import('node:fs');
  const paths = writeFingerprintExamples(dir, 'RO', 'RO-OFFICER-1', now);
  const r = rig();
  for (const [tot, path] of Object.entries(paths)) {
    const body = JSON.parse(readFileSync(path, 'utf8')) as { transaction: string; officerId: string; targets: string };
    const t = parseTransaction(Buffer.from(body.transaction, 'base64'));
    assert.ok(t.ok, tot);
    assert.deepEqual(validateIntI(t.value).filter((e) => e.field !== '1.007'), [], tot);
    assert.equal(body.targets, 'all');
  }
  const mps = JSON.parse(readFileSync(paths.mps, 'utf8')) as { transaction: string };
  const result = r.afis.searchTransaction({ id: 'example', tcn: 'x', tot: 'MPS', priority: 4, transaction: Buffer.from(mps.transaction, 'base64'), maxCandidates: 10 });
  assert.ok(result.outcome === 'candidates');
  assert.deepEqual(result.candidates.map((c) => c.reference), [DEMO_SUBJECT_REFERENCE.DE]);
});

test('a search the AFIS has not answered 24 h after arrival gets an ERR, not silence', async () => {
  const r = rig();
  const m = message(search('MPS', { probe: 'stranger', tcn: makeTcn(2026, 8080) }));
  await deliver(r, m);
  r.requests.markSubmitted(m.inboxId, now); // handed over, never answered
  now = new Date(now.getTime() + 24 * 3_600_000 + 1000);
  await r.service.round();
  await r.service.settled();
  const { h, d } = read(r.sent.at(-1)!.payload);
  assert.equal(h.tot, 'ERR');
  assert.equal(h.tcr, makeTcn(2026, 8080));
  assert.match(d.errorMessage!, /^999: .*WITHIN 24 HOURS/);
  assert.equal(r.requests.get(m.inboxId)!.status, 'answered');
});

test('two States using the same TCN: each gets its own answer (the AFIS sees our own TCN per search)', async () => {
  const r = rig();
  const same = makeTcn(2026, 31337);
  const fromRo = message(search('MPS', { tcn: same }), 'RO');
  const fromAt = message(search('MPS', { tcn: same, probe: 'stranger', from: 'AT' }), 'AT');
  await deliver(r, fromRo);
  await deliver(r, fromAt);
  const [a, b] = [r.requests.get(fromRo.inboxId)!, r.requests.get(fromAt.inboxId)!];
  assert.notEqual(a.afisTcn, b.afisTcn);
  await r.service.round();
  await answers(r, 2);
  const byPeer = Object.fromEntries(r.sent.map((s) => [s.peer, read(s.payload)]));
  assert.equal(byPeer.RO!.h.tcr, same);
  assert.equal(byPeer.AT!.h.tcr, same);
  assert.equal(byPeer.RO!.d.respondents?.result, 'I');
  assert.equal(byPeer.AT!.d.respondents?.result, 'N');
});

test('a place reserved by a request that never committed (refused as a replay by the pipeline) lapses', async () => {
  const r = rig({ limit: 1 });
  const never = answered(await r.handler.handle(message(search('MPS', { probe: 'stranger' }))));
  assert.equal(never.replies.length, 0, 'took the only place, but its outcome is never committed');
  assert.equal((await deliver(r, message(search('MPS', { probe: 'stranger' })))).replies.length, 1, 'the place is taken meanwhile');
  now = new Date(now.getTime() + 11 * 60_000);
  assert.equal((await deliver(r, message(search('MPS', { probe: 'stranger' })))).replies.length, 0, 'the lapsed place is free again');
});

test('a peer\'s single declared figure (peers[].dailyCapacity) counts every type of search together', async () => {
  const r = rig({ peerLimit: { limit: 2, scope: 'all' } });
  const statuses: string[] = [];
  for (const [i, tot] of (['MPS', 'CPS', 'MMS'] as const).entries()) {
    const searchId = r.searches.create({ tot, officerId: 'DE-OFF-1', orderingOfficerId: 'DE-PROS-1', reason: 'one figure', payload: search(tot, { probe: 'stranger' }) });
    const tcn = makeTcn(2026, 7000 + i);
    r.searches.addTarget(searchId, 'RO', tcn, 'being sent');
    await r.service.sendTarget({ searchId, tcn, state: 'RO', tot });
    const target = r.searches.get(searchId)!.targets[0]!;
    statuses.push(`${tot}:${target.status}`);
    if (target.status === 'waiting') assert.match(target.waitingFor!, /^RO declared 2 fingerprint searches per day/);
  }
  assert.deepEqual(statuses, ['MPS:sent', 'CPS:sent', 'MMS:waiting']);
});

test('mutated requests (bytes flipped, cut, repeated): every one is answered, and every ERR we write is itself INT-I', async () => {
  const r = rig();
  const random = seededRandom(4242);
  const originals = [search('CPS'), search('MPS'), search('PMS', { probe: 'stranger' }), search('MMS', { probe: 'stranger' })];
  let errs = 0;
  for (let i = 0; i < 300; i++) {
    const base = originals[i % originals.length]!;
    // Mutate the tagged part (Type 1 and 2, where routing and references live) more than the images.
    const bytes = Buffer.from(base);
    const head = Math.min(bytes.length, 600);
    const kind = Math.floor(random() * 4);
    let mutated: Buffer;
    if (kind === 0) {
      for (let k = 0; k < 1 + Math.floor(random() * 4); k++) bytes[Math.floor(random() * head)] = Math.floor(random() * 256);
      mutated = bytes;
    } else if (kind === 1) mutated = bytes.subarray(0, Math.floor(random() * bytes.length));
    else if (kind === 2) {
      const at = Math.floor(random() * head);
      mutated = Buffer.concat([bytes.subarray(0, at), Buffer.from([[0x1c, 0x1d, 0x1e, 0x1f, 0x3a, 0x2e][Math.floor(random() * 6)]!]), bytes.subarray(at)]);
    } else {
      const at = Math.floor(random() * head);
      mutated = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1 + Math.floor(random() * 8))]);
    }
    const outcome = answered(await r.handler.handle(message(mutated)));
    if (outcome.replies.length === 0) continue; // still valid: queued for the AFIS
    errs++;
    const reply = parseTransaction(outcome.replies[0]!.payload);
    assert.ok(reply.ok, `mutation ${i}: our ERR parses`);
    // CHOICE (answers.ts): a TCN of the right shape is echoed as TCR even with a wrong check character.
    const problems = validateIntI(reply.value, { self: 'RO', peer: 'DE' }).filter((e) => !(e.code === '201' && e.field === '1.010'));
    assert.deepEqual(problems, [], `mutation ${i} (kind ${kind}): our ERR is INT-I`);
  }
  assert.ok(errs > 150, `${errs} of 300 mutations refused`);
});

test('a State whose fingerprint exchange we have not enabled gets ERR 003', async () => {
  const r = rig({ enabled: ['AT'] });
  const outcome = await deliver(r, message(search('CPS')));
  assert.match(read(outcome.replies[0]!.payload).d.errorMessage!, /^003: IDC -1 FIELD 1\.008 FINGERPRINT EXCHANGE WITH RO IS NOT ENABLED/);
  assert.equal((await deliver(r, message(search('CPS', { from: 'AT' }), 'AT'))).replies.length, 0);
});

test('an AFIS by folder exchange: the search as <TCN>.an2, the result read back from results/<TCN>.json; a bad result file is set aside', async () => {
  const { existsSync, readFileSync, writeFileSync, readdirSync } = await import('node:fs');
  const folder = join(dir, 'afis-exchange');
  const problems: string[] = [];
  const r = rig({ adapter: new DirectoryAfis(folder, (p) => problems.push(p)) });
  const m = message(search('PMS', { tcn: makeTcn(2026, 5150) }));
  await deliver(r, m);
  await r.service.round();
  const afisTcn = r.requests.get(m.inboxId)!.afisTcn;
  assert.deepEqual(readFileSync(join(folder, 'requests', `${afisTcn}.an2`)), m.payload, 'the file as received');
  assert.equal((JSON.parse(readFileSync(join(folder, 'requests', `${afisTcn}.json`), 'utf8')) as { requestTcn: string }).requestTcn, makeTcn(2026, 5150));
  writeFileSync(join(folder, 'results', 'garbage.json'), '{');
  writeFileSync(join(folder, 'results', `${makeTcn(2026, 99_999_999)}.json`), '{"candidates": "many"}');
  writeFileSync(join(folder, 'results', `${afisTcn}.json`), JSON.stringify({ candidates: [{ reference: 'DE/L-000777', score: 5120, fingerPosition: 7 }, { reference: 'DE/L-000778', score: 300 }] }));
  await r.service.round();
  await answers(r, 2);
  const sres = r.sent.map((x) => read(x.payload));
  assert.deepEqual(sres.map((x) => [x.h.tcr, x.d.criminalReference, x.d.respondents?.candidate, x.d.respondents?.score]), [
    [makeTcn(2026, 5150), 'DE/L-000777', '001/002', '5120'],
    [makeTcn(2026, 5150), 'DE/L-000778', '002/002', '300'],
  ]);
  assert.equal(sres[0]!.d.info, '07', 'PMS: the finger that hit');
  assert.ok(!existsSync(join(folder, 'requests', `${afisTcn}.an2`)), 'the search file is removed once answered');
  assert.deepEqual(readdirSync(join(folder, 'rejected')), [`${makeTcn(2026, 99_999_999)}.json`]);
  assert.equal(problems.length, 1);
  assert.ok(existsSync(join(folder, 'results', 'garbage.json')), 'files not named by a TCN are not ours');
});

test('retention: answered requests and old daily counts are pruned, pending ones and today\'s count stay', async () => {
  const r = rig({ limit: 5 });
  const done = message(search('MPS', { probe: 'stranger' }));
  const pending = message(search('MPS', { probe: 'stranger' }));
  await deliver(r, done);
  await deliver(r, pending);
  r.requests.answered(done.inboxId, 'no hit', now);
  const capacity = new CapacityLedger(db);
  now = new Date(now.getTime() + 40 * 86_400_000);
  assert.equal(r.requests.prune(new Date(now.getTime() - 30 * 86_400_000)), 1);
  assert.equal(r.requests.get(done.inboxId), null);
  assert.notEqual(r.requests.get(pending.inboxId), null);
  assert.equal(capacity.prune(new Date(now.getTime() - 86_400_000)), 2);
});
