/**
 * Issue 15 (bulk runs): a partner's first-connection flood of Art. 4 batches (500 profiles each) does not hold
 * up another State's Art. 3 search. Through the daemon's own pipeline (composeGateway: SoftHSM2 token, SQLite
 * queue, the DNA index) with two foreign States made of `openssl cms`: AT sends the flood, NL one Art. 3
 * search signed after every batch and received while the flood is being answered. By the order of sending
 * alone NL's answer would come last; it comes before most of the flood, and AT's answers leave in the
 * order AT sent its batches. Order is asserted, never time.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syntheticProfiles, DEMO_PROFILE } from '../../appliance/demo/seed.js';
import type { GatewayCore } from '../../appliance/main.js';
import { normaliseProfile } from '../../appliance/dna/normalise.js';
import { runOk } from '../../appliance/util/exec.js';
import { composeWithForeignPeer, opensslIdentity, opensslSmime, dnaRequestEntities as requests, foreignDnaMail as mail, syntheticOutgoing as profiles } from '../support/foreign-state.js';

/** Batches in the flood (the issue speaks of hundreds; 20 × 500 profiles keep this test within a minute or two here). */
const FLOOD = Number(process.env.PRUEM_FLOOD_MESSAGES ?? 20);
const PER_MESSAGE = 500;
let dir: string;
let core: GatewayCore;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pruem-flood-'));
  chmodSync(dir, 0o755);
  await opensslIdentity(dir, 'at');
  await opensslIdentity(dir, 'nl', '/C=NL/O=Foreign NCP/CN=nl');
  const peer = (code: string, who: string) => ({ code, certificates: { signing: join(dir, `${who}.pem`), encryption: join(dir, `${who}.pem`) } });
  core = await composeWithForeignPeer(dir, 'pruem-de-flood', { peers: [peer('AT', 'at'), peer('NL', 'nl')] });
  await core.dna.store.importLines(syntheticProfiles('DE', 2000), { today: '2026-11-23' });
  await core.dna.index.refresh();
  await core.dna.index.ready();
});

after(async () => {
  await core?.dna.index.close();
  await core?.close();
  if (!process.env.PRUEM_KEEP_TEST_DIRS) rmSync(dir, { recursive: true, force: true });
});

test(`a flood of ${FLOOD} Art. 4 batches of ${PER_MESSAGE} profiles: the Art. 3 search of another State overtakes it, the batches are answered in their order of sending`, async (t) => {
  // AT's whole database against ours, as its first connection sends it: request ids AT-FIRST-1 … -N.
  const flood = requests('AT', 4, 'AT-FIRST', profiles('AT', FLOOD * PER_MESSAGE).slice(0, FLOOD * PER_MESSAGE));
  assert.equal(flood.length, FLOOD);
  const sealed: Buffer[] = [];
  for (const [i, content] of flood.entries()) sealed.push(mail('at', `at-first-${i + 1}@at`, await opensslSmime(dir, `flood-${i}`, content, 'at')));
  const demo = normaliseProfile({ type: 'S', loci: Object.fromEntries(Object.entries(DEMO_PROFILE).map(([k, v]) => [k, [...v]])) });
  assert.ok(demo.ok);
  const [art3] = requests('NL', 3, 'NL-SEARCH-1', [{ profileIdent: 'NL-STAIN-1', agency: 'NL-NFI', date: '2026-11-23', profile: demo.profile }]);
  // Signed after every batch: by DNA-TIME alone it would be answered last.
  await new Promise((r) => setTimeout(r, 1100));
  const nlMail = mail('nl', 'nl-search-1@nl', await opensslSmime(dir, 'nl-search', art3!, 'nl'));

  for (const m of sealed) core.queue.receive(m, 'dna', 'ncp@dna.pruem.at.eu-admin.net');
  const done = () => core.db.prepare(`SELECT count(*) AS n FROM queue_inbox WHERE status <> 'pending'`).get() as { n: number };
  // The daemon's two inbound lanes (as ExchangePipeline.start runs them; its outbound loop is left out: no relay here).
  let stop = false;
  let arrivedAfter = -1;
  const lane = async () => {
    while (!stop) {
      if (arrivedAfter < 0 && done().n >= 2) {
        arrivedAfter = done().n;
        core.queue.receive(nlMail, 'dna', 'ncp@dna.pruem.nl.eu-admin.net');
      }
      if (!(await core.pipeline.processNextInbound())) await new Promise((r) => setTimeout(r, 10));
      if (arrivedAfter >= 0 && done().n === FLOOD + 1) stop = true;
    }
  };
  await Promise.all([lane(), lane()]);

  const rows = core.db.prepare(`SELECT message_id, status, outcome FROM queue_inbox ORDER BY done_at, rowid`).all() as Array<{ message_id: string; status: string; outcome: string }>;
  for (const r of rows) assert.equal(r.status, 'done', `${r.message_id}: ${r.outcome}`);
  assert.match(rows.find((r) => r.message_id === 'nl-search-1@nl')!.outcome, /^dna request NL-SEARCH-1: 1 profile\(s\), 1 hit\(s\)/);
  assert.match(rows.find((r) => r.message_id === 'at-first-1@at')!.outcome, /^dna request AT-FIRST-1: 500 profile\(s\)/);

  // The answers in the order they were queued for sending (the outbox), each named by the request it answers.
  const answered = (
    core.db.prepare(`SELECT i.message_id AS m, o.peer AS peer FROM queue_outbox o JOIN queue_inbox i ON i.id = o.correlation ORDER BY o.rowid`).all() as Array<{ m: string; peer: string }>
  ).filter((a, k, all) => all.findIndex((b) => b.m === a.m) === k);
  assert.equal(answered.length, FLOOD + 1);
  const nlAt = answered.findIndex((a) => a.m === 'nl-search-1@nl');
  assert.equal(answered[nlAt]!.peer, 'NL');
  // Arrived when `arrivedAfter` batches were answered. Before it may come the batches being worked on then (one
  // per lane) and those whose matching ran while the search waited for the token (one per lane again).
  assert.ok(arrivedAfter < FLOOD / 4, `the search arrived during the flood (${arrivedAfter} answered)`);
  assert.ok(nlAt <= arrivedAfter + 4, `the Art. 3 answer is number ${nlAt + 1} of ${FLOOD + 1} (it arrived after ${arrivedAfter})`);
  assert.ok(nlAt < FLOOD / 2, 'answered before most of the flood');
  t.diagnostic(`the Art. 3 search arrived after ${arrivedAfter} batches were answered and was answered as number ${nlAt + 1} of ${FLOOD + 1}`);
  assert.deepEqual(
    answered.filter((a) => a.peer === 'AT').map((a) => a.m),
    flood.map((_, i) => `at-first-${i + 1}@at`),
    'the batches answered in the order AT sent them',
  );

  // The NL answer is a real one: NL verifies and decrypts it with openssl alone.
  const nlAnswer = core.db.prepare(`SELECT o.raw AS raw FROM queue_outbox o JOIN queue_inbox i ON i.id = o.correlation WHERE i.message_id = 'nl-search-1@nl'`).get() as { raw: Buffer };
  writeFileSync(join(dir, 'nl-answer.eml'), nlAnswer.raw);
  await runOk('openssl', ['cms', '-verify', '-noverify', '-in', join(dir, 'nl-answer.eml'), '-inform', 'SMIME', '-binary', '-out', join(dir, 'nl-answer.der')]);
  await runOk('openssl', ['cms', '-decrypt', '-inform', 'DER', '-in', join(dir, 'nl-answer.der'), '-recip', join(dir, 'nl.pem'), '-inkey', join(dir, 'nl.key'), '-out', join(dir, 'nl-answer.mime')]);
  const inner = readFileSync(join(dir, 'nl-answer.mime'), 'utf8');
  const body = inner.slice(inner.search(/\r?\n\r?\n/)).trim();
  const xml = /^\s*</.test(body) ? body : Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  assert.match(xml, /<request_id>NL-SEARCH-1<\/request_id>/);
  assert.match(xml, /<match_id>NL-STAIN-1<\/match_id>/);
});
