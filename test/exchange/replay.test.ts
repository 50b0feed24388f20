/**
 * Replays (issue 12 item 2), through the daemon's own pipeline (composeGateway: SoftHSM token, SQLite) with a
 * foreign State made of `openssl cms`: deduplication rests on what the sender signed, not on the mail headers.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../appliance/config/config.js';
import { signingTimeOf } from '../../appliance/transport/smime/index.js';
import { syntheticProfiles } from '../../appliance/demo/seed.js';
import { composeGateway, type GatewayCore } from '../../appliance/main.js';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { atDnaRequest, composeWithForeignPeer, opensslIdentity, opensslSmime } from '../support/foreign-state.js';

let dir: string;
let core: GatewayCore;
const FROM = 'ncp@dna.pruem.at.eu-admin.net';

const signedBody = (name: string, content: string) => opensslSmime(dir, name, content);

const mail = (messageId: string, body: string, date = new Date()) =>
  Buffer.from(`From: ${FROM}\r\nTo: ncp@dna.pruem.de.eu-admin.net\r\nSubject: AT/DNA\r\nMessage-ID: <${messageId}>\r\nDate: ${date.toUTCString()}\r\n${body}`);

const dnaRequest = atDnaRequest;

async function drain(): Promise<void> {
  for (let i = 0; i < 20 && (await core.pipeline.processNextInbound()); i++);
}

const answersToAt = () => (core.db.prepare(`SELECT count(*) AS n FROM queue_outbox WHERE peer = 'AT'`).get() as { n: number }).n;
const securityEvents = () =>
  (core.db.prepare(`SELECT leaf FROM audit_entries WHERE kind = 'admin' ORDER BY idx`).all() as Array<{ leaf: string }>)
    .map((r) => (JSON.parse(r.leaf) as { event: { action: string; target: string; details: Record<string, unknown> } }).event)
    .filter((e) => e.action === 'message-rejected');

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pruem-replay-'));
  chmodSync(dir, 0o755);
  await opensslIdentity(dir, 'at');
  core = await composeWithForeignPeer(dir, 'pruem-de-replay');
  await core.dna.store.importLines(syntheticProfiles('DE', 200), { today: '2026-11-23' });
  await core.dna.index.refresh();
  await core.dna.index.ready();
});

after(async () => {
  await core?.dna.index.close();
  await core?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the same signed bytes under a new Message-ID are refused as a replay and recorded; the original is answered once', async () => {
  const body = await signedBody('ping', 'Content-Type: application/x-pruem-ping\r\n\r\nPING replay-1');
  const first = core.queue.receive(mail('orig@at', body), 'dna', FROM);
  const again = core.queue.receive(mail('copy@at', body), 'dna', FROM);
  assert.equal(again.duplicate, false, 'a new Message-ID passes the mail-level deduplication');
  await drain();
  assert.equal(core.queue.inboxRecord(first.id)?.status, 'done');
  const copy = core.queue.inboxRecord(again.id);
  assert.equal(copy?.status, 'rejected');
  assert.match(copy?.outcome ?? '', /^REPLAY: the same signed content from AT was already processed as orig@at/);
  assert.equal(answersToAt(), 1, 'one pong only');
  const event = securityEvents().find((e) => e.target === 'copy@at');
  assert.equal(event?.details.code, 'REPLAY');
});

test('a DNA request re-encrypted (new signed bytes) under the same request id is not answered twice', async () => {
  const before = answersToAt();
  const a = core.queue.receive(mail('req-a@at', await signedBody('req-a', dnaRequest('AT-REPLAY-7'))), 'dna', FROM);
  const b = core.queue.receive(mail('req-b@at', await signedBody('req-b', dnaRequest('AT-REPLAY-7'))), 'dna', FROM);
  await drain();
  assert.equal(core.queue.inboxRecord(a.id)?.status, 'done', core.queue.inboxRecord(a.id)?.outcome ?? '');
  assert.equal(core.queue.inboxRecord(b.id)?.status, 'rejected');
  assert.match(core.queue.inboxRecord(b.id)?.outcome ?? '', /^REPLAY: request request:AT-REPLAY-7 from AT was already received/);
  assert.equal(answersToAt(), before + 1);
});

test('DNA-TIME follows the signing time: a back-dated Date header does not jump the queue', async () => {
  const early = await signedBody('early', 'Content-Type: application/x-pruem-ping\r\n\r\nPING early');
  await new Promise((r) => setTimeout(r, 1100)); // signing times have one-second resolution
  const late = await signedBody('late', 'Content-Type: application/x-pruem-ping\r\n\r\nPING late');
  const lateMail = mail('late@at', late, new Date(Date.now() - 6 * 3_600_000)); // claims to be six hours old
  assert.ok(signingTimeOf(lateMail)! > signingTimeOf(mail('x', early))!);
  core.queue.receive(lateMail, 'dna', FROM);
  core.queue.receive(mail('early@at', early), 'dna', FROM);
  assert.equal(core.queue.nextInbound()?.messageId, 'early@at');
  await drain();
});

test('a signing time outside the window is refused and recorded', async () => {
  const body = await signedBody('stale', 'Content-Type: application/x-pruem-ping\r\n\r\nPING stale');
  const { id } = core.queue.receive(mail('stale@at', body), 'dna', FROM);
  // The same gateway with a window of a third of a second, judging the message a second after it was signed.
  const config = loadConfig(join(dir, 'config.json'));
  const later = await composeGateway({ ...config, exchange: { ...config.exchange, replayWindow: { pastHours: 0.0001, futureMinutes: 5 } } }, { log: pino({ level: 'silent' }) });
  try {
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await later.pipeline.processNextInbound(), true);
  } finally {
    await later.close();
  }
  const record = core.queue.inboxRecord(id);
  assert.equal(record?.status, 'rejected');
  assert.match(record?.outcome ?? '', /^SIGNING_TIME_OUTSIDE_WINDOW: signed at /);
  assert.ok(securityEvents().some((e) => e.target === 'stale@at' && e.details.code === 'SIGNING_TIME_OUTSIDE_WINDOW'));
});
