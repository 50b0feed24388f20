/**
 * Issue 15 (bulk runs): how long an Art. 3 search waits while a partner's first-connection flood of Art. 4
 * batches (500 profiles each) is being answered — with the pipeline's priority for light requests
 * (exchange/priority.ts) and the batches read and searched by the search workers as in the daemon (`pool`),
 * with the priority alone, everything on the main thread (`priority`), and without either (the same DNA handler
 * with no `weigh`: plain DNA-TIME order), in the same run, alternating.
 *
 *   node --import tsx test/bench/art4-flood.ts [--flood 30] [--profiles 20000] [--rounds 2]
 *
 * Set-up, in process: our gateway DE composed as the daemon composes it (SoftHSM2 token, SQLite queue, the
 * DNA index over --profiles synthetic profiles), the real S/MIME opener and sealer over the token; two
 * foreign States made of `openssl cms`: AT sends the flood, NL one Art. 3 search signed after it. Every mail
 * is sealed before timing. A round: the flood is queued, two inbound lanes start (as `ExchangePipeline.start`
 * runs them), and when 2 batches are answered NL's search is received; its latency = receipt → committed
 * answer. Also: the flood's total time, per-batch time, and the event loop's longest stall.
 */
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { syntheticProfiles, DEMO_PROFILE } from '../../appliance/demo/seed.js';
import { normaliseProfile } from '../../appliance/dna/normalise.js';
import { dnaChannelHandler } from '../../appliance/dna-exchange/channel.js';
import { ExchangePipeline } from '../../appliance/exchange/pipeline.js';
import { smimeOpener, smimeSealer } from '../../appliance/exchange/smime-ports.js';
import type { ChannelHandler } from '../../appliance/exchange/handler.js';
import { KEY_LABELS } from '../../appliance/token/token.js';
import { composeWithForeignPeer, opensslIdentity, opensslSmime, dnaRequestEntities as requests, foreignDnaMail as mail, syntheticOutgoing as profiles } from '../support/foreign-state.js';
import { ms, numberOption, percentile, table } from './pipeline/figures.js';

const argv = process.argv.slice(2);
const FLOOD = numberOption('flood', 30);
const PROFILES = numberOption('profiles', 20_000);
const ROUNDS = numberOption('rounds', 2);
const PER_MESSAGE = 500;
const ARRIVE_AFTER = 2;

const dir = mkdtempSync(join(tmpdir(), 'pruem-bench-flood-'));
chmodSync(dir, 0o755);
await opensslIdentity(dir, 'at');
await opensslIdentity(dir, 'nl', '/C=NL/O=Foreign NCP/CN=nl');
const peer = (code: string, who: string) => ({ code, certificates: { signing: join(dir, `${who}.pem`), encryption: join(dir, `${who}.pem`) } });
const core = await composeWithForeignPeer(dir, 'pruem-de-bench-flood', { peers: [peer('AT', 'at'), peer('NL', 'nl')] });
try {
  const built = performance.now();
  await core.dna.store.importLines(syntheticProfiles('DE', PROFILES), { today: '2026-11-23' });
  await core.dna.index.refresh();
  await core.dna.index.ready();
  console.log(`national database: ${PROFILES} profiles, imported and indexed in ${ms(performance.now() - built)}`);

  const modes = ['pool', 'priority', 'baseline'] as const;
  type Mode = (typeof modes)[number];
  // Every round's mails are sealed before any timing; request ids differ, or the replay check would refuse them.
  const sealing = performance.now();
  const atProfiles = profiles('AT', FLOOD * PER_MESSAGE).slice(0, FLOOD * PER_MESSAGE);
  const demo = normaliseProfile({ type: 'S', loci: Object.fromEntries(Object.entries(DEMO_PROFILE).map(([k, v]) => [k, [...v]])) });
  if (!demo.ok) throw new Error('demo profile');
  const rounds: Array<{ mode: Mode; flood: Buffer[]; search: Buffer }> = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const mode of r % 2 === 0 ? modes : [...modes].reverse()) {
      const tag = `${mode}-${r}`;
      const flood = await Promise.all(requests('AT', 4, `AT-${tag}`, atProfiles).map(async (c, i) => mail('at', `at-${tag}-${i}@at`, await opensslSmime(dir, `at-${tag}-${i}`, c, 'at'))));
      const [art3] = requests('NL', 3, `NL-${tag}`, [{ profileIdent: `NL-STAIN-${tag}`, agency: 'NL-NFI', date: '2026-11-23', profile: demo.profile }]);
      rounds.push({ mode, flood, search: mail('nl', `nl-${tag}@nl`, await opensslSmime(dir, `nl-${tag}`, art3!, 'nl')) });
    }
  }
  // Warm-up (untimed): the first batches pay for compiling, the XSD and a cold index.
  const warmup = await Promise.all(requests('AT', 4, 'AT-WARMUP', atProfiles.slice(0, 2 * PER_MESSAGE)).map(async (c, i) => mail('at', `at-warmup-${i}@at`, await opensslSmime(dir, `at-warmup-${i}`, c, 'at'))));
  console.log(`sealed ${rounds.length} × (${FLOOD} batches of ${PER_MESSAGE} + 1 Art. 3) with openssl in ${ms(performance.now() - sealing)}`);

  const config = core.config;
  const signerCert = new X509Certificate(readFileSync(join(config.dataDir, 'certs', `${KEY_LABELS.sign}.pem`)));
  const opener = smimeOpener({ directory: core.directory, token: core.token, maxBytes: config.limits.maxMessageBytes });
  const sealer = smimeSealer({ directory: core.directory, token: core.token, signerCert });
  const dna = dnaChannelHandler({
    ourState: 'DE', agency: config.agency, generator: 'bench', engine: () => core.dna.index.current(),
    searches: core.dna.searches, notes: core.dna.notes, validations: core.dna.validations, statistics: core.statistics,
  });
  // As the daemon wires it: batches read and searched by the index's search workers.
  const dnaPool = dnaChannelHandler({
    ourState: 'DE', agency: config.agency, generator: 'bench', engine: () => core.dna.index.current(), batches: core.dna.index,
    searches: core.dna.searches, notes: core.dna.notes, validations: core.dna.validations, statistics: core.statistics,
  });
  // The baseline: the same handler, unweighed — every message light, one order of sending for all.
  const { weigh: _unused, ...unweighed } = dna;
  void _unused;

  {
    // Warmed through the pool's handler: it starts the workers; the main thread's paths warm up in the first rounds.
    const pipeline = new ExchangePipeline({ db: core.db, queue: core.queue, links: core.links, opener, sealer, sender: null, handlers: [dnaPool], audit: core.exchangeAudit, ourState: 'DE', messageIdDomain: () => 'dna.pruem.de.eu-admin.net' });
    for (const m of warmup) core.queue.receive(m, 'dna', 'ncp@dna.pruem.at.eu-admin.net');
    while (await pipeline.processNextInbound());
  }

  const results: Array<{ mode: Mode; latency: number; position: number; arrivedAfter: number; floodMs: number; stall: number }> = [];
  for (const round of rounds) {
    const doneAt = new Map<string, number>();
    const order: string[] = [];
    const pipeline = new ExchangePipeline({
      db: core.db, queue: core.queue, links: core.links, opener, sealer, sender: null,
      handlers: [round.mode === 'pool' ? dnaPool : round.mode === 'priority' ? dna : (unweighed as ChannelHandler)],
      audit: core.exchangeAudit, ourState: 'DE', messageIdDomain: () => 'dna.pruem.de.eu-admin.net',
      log: (event, fields) => {
        if (process.env.BENCH_DEBUG) console.log(event, JSON.stringify(fields).slice(0, 200));
        if (event === 'inbound-done' || event === 'inbound-rejected') {
          doneAt.set(String(fields.id), performance.now());
          order.push(String(fields.id));
        }
      },
    });
    const floodIds = round.flood.map((m) => core.queue.receive(m, 'dna', 'ncp@dna.pruem.at.eu-admin.net').id);
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const started = performance.now();
    pipeline.start(5);
    let searchId = '';
    let received = 0;
    let arrivedAfter = 0;
    while (doneAt.size < FLOOD + 1) {
      if (!searchId && doneAt.size >= ARRIVE_AFTER) {
        received = performance.now();
        arrivedAfter = doneAt.size;
        searchId = core.queue.receive(round.search, 'dna', 'ncp@dna.pruem.nl.eu-admin.net').id;
        pipeline.kick();
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    const floodMs = Math.max(...floodIds.map((id) => doneAt.get(id)!)) - started;
    await pipeline.stop();
    loop.disable();
    const failed = core.db.prepare(`SELECT count(*) AS n FROM queue_inbox WHERE id IN (${[...floodIds, searchId].map(() => '?').join(',')}) AND status <> 'done'`).get(...floodIds, searchId) as { n: number };
    if (failed.n > 0) throw new Error(`${failed.n} message(s) not answered`);
    results.push({ mode: round.mode, latency: doneAt.get(searchId)! - received, position: order.indexOf(searchId) + 1, arrivedAfter, floodMs, stall: loop.max / 1e6 });
    console.log(`${round.mode.padEnd(8)}  Art. 3 received after ${arrivedAfter} batches were answered, answered ${ms(doneAt.get(searchId)! - received)} after receipt, as number ${order.indexOf(searchId) + 1} of ${FLOOD + 1}; flood ${ms(floodMs)}; longest event-loop stall ${ms(loop.max / 1e6)}`);
  }

  const of = (mode: Mode) => results.filter((r) => r.mode === mode);
  console.log(`\n${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores; flood of ${FLOOD} × ${PER_MESSAGE} profiles against ${PROFILES}; the Art. 3 search arrives after ${ARRIVE_AFTER} batches are answered; ${ROUNDS} round(s) per mode\n`);
  console.log(
    table([
      ['mode', 'Art. 3 latency (median)', 'Art. 3 latency (max)', 'answered as number (received after)', 'flood total (median)', 'per batch', 'longest stall'],
      ...modes.map((mode) => {
        const r = of(mode);
        const flood = percentile(r.map((x) => x.floodMs), 50);
        return [
          mode,
          ms(percentile(r.map((x) => x.latency), 50)),
          ms(Math.max(...r.map((x) => x.latency))),
          r.map((x) => `${x.position} (${x.arrivedAfter})`).join(', '),
          ms(flood),
          ms(flood / FLOOD),
          ms(Math.max(...r.map((x) => x.stall))),
        ];
      }),
    ]),
  );
  const gain = percentile(of('baseline').map((x) => x.latency), 50) / percentile(of('priority').map((x) => x.latency), 50);
  console.log(`\nthe priority answers the Art. 3 search ${gain.toFixed(1)}× sooner; the flood costs ${ms(percentile(of('priority').map((x) => x.floodMs), 50) - percentile(of('baseline').map((x) => x.floodMs), 50))} more with it (opening ahead to weigh; kept opened for the turn within 32 MiB)`);
} finally {
  await core.dna.index.close();
  await core.close();
  if (!argv.includes('--keep')) rmSync(dir, { recursive: true, force: true });
}
