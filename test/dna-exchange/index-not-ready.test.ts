/**
 * A DNA request that arrives before the national index exists goes through the real gateway pipeline
 * (composeGateway: SoftHSM token, S/MIME from a foreign State made with openssl, SQLite queue): it is neither
 * answered "no hit" nor E, it stays queued (deferred, with the queue's back-off) and is answered with the hit
 * as soon as the index built in the worker is ready (the first build makes deferred DNA requests due at once).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { composeGateway, type GatewayCore } from '../../appliance/main.js';
import { loadConfig } from '../../appliance/config/config.js';
import { runOk } from '../../appliance/util/exec.js';
import { retryDelayMs } from '../../appliance/queue/deadlines.js';
import { syntheticProfiles } from '../../appliance/demo/seed.js';
import { atDnaRequest, opensslSmime } from '../support/foreign-state.js';

let dir: string;
let core: GatewayCore;
const openssl = (...args: string[]) => runOk('openssl', args);

/** A PRUEMDNA request from AT, encrypted for DE and signed by AT, as AT's gateway would mail it. */
async function requestFromAt(requestId: string): Promise<Buffer> {
  const body = await opensslSmime(dir, requestId, atDnaRequest(requestId));
  return Buffer.from(`From: ncp@dna.pruem.at.eu-admin.net\r\nTo: ncp@dna.pruem.de.eu-admin.net\r\nSubject: AT/DNA\r\nMessage-ID: <${requestId}@dna.pruem.at.eu-admin.net>\r\nDate: ${new Date().toUTCString()}\r\n${body}`);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pruem-index-not-ready-'));
  chmodSync(dir, 0o755);
  await openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'at.key'), '-out', join(dir, 'at.pem'), '-days', '30', '-subj', '/C=AT/CN=at');
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      memberState: 'DE',
      dataDir: join(dir, 'DE'),
      token: { label: 'pruem-de-index' },
      peers: [{ code: 'AT', certificates: { signing: join(dir, 'at.pem'), encryption: join(dir, 'at.pem') } }],
    }),
  );
  core = await composeGateway(loadConfig(join(dir, 'config.json')), { log: pino({ level: 'silent' }) });
  await core.dna.store.importLines(syntheticProfiles('DE', 20_000), { today: '2026-11-23' });
});

after(async () => {
  await core?.dna.index.close();
  await core?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a DNA request that arrives before the first index is deferred, then answered with the hit as soon as the index is ready', async () => {
  // The queue's back-off decides when the deferred request is tried again: the first retry must come quickly.
  assert.ok(retryDelayMs(1) <= 5_000, `first retry after ${retryDelayMs(1)} ms`);
  assert.equal(core.dna.index.status().ready, false, 'composeGateway builds no index by itself');

  const id = core.queue.receive(await requestFromAt('AT-REQ-1'), 'dna', 'ncp@dna.pruem.at.eu-admin.net').id;
  assert.equal(await core.pipeline.processNextInbound(), true);
  const deferred = core.queue.inboxRecord(id);
  assert.equal(deferred?.status, 'pending', 'kept in the queue, not answered');
  assert.match(deferred?.outcome ?? '', /^deferred: national DNA index is being built/);
  const outbox = () => (core.db.prepare(`SELECT count(*) AS n FROM queue_outbox WHERE peer = 'AT'`).get() as { n: number }).n;
  assert.equal(outbox(), 0, 'no answer (neither "no hit" nor E) was queued for AT');
  assert.equal(core.dna.notes.list({ state: 'AT' }).length, 0);
  assert.equal(await core.pipeline.processNextInbound(), false, 'not due again at once');

  // The handler's first look at the index started the build in the worker.
  assert.ok(core.dna.index.status().buildingSince);
  const engine = await core.dna.index.ready();
  assert.ok(engine.size > 19_000);
  const service = core.services.list().find((x) => x.name === 'dna-index');
  assert.equal(service?.state, 'up', 'the console shows the index as up');
  assert.match(service?.detail ?? '', new RegExp(`^${engine.size} profiles`));

  // The finished first build made the deferred request due at once (queue.retryDeferredNow in main.ts):
  // no waiting out the rest of its back-off.
  assert.equal(await core.pipeline.processNextInbound(), true, 'the deferred request is due as soon as the index is ready');
  const answered = core.queue.inboxRecord(id);
  assert.equal(answered?.status, 'done', answered?.outcome ?? '');
  assert.equal(answered?.senderState, 'AT');
  assert.match(answered?.outcome ?? '', /dna request AT-REQ-1: 1 profile\(s\), 1 hit\(s\)/);
  assert.equal(outbox(), 1, 'one answer for AT');
  assert.deepEqual(core.dna.notes.list({ state: 'AT' }).map((n) => [n.profileId, n.quality]), [['DE-DEMO-0001', 1]]);
});
