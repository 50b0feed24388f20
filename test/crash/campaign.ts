/**
 * The crash campaign: a gateway (DE) under sustained load from a peer (RO, `pruem ping` through a
 * real Postfix relay) is SIGKILLed again and again at chosen points of its work — while a mail is
 * being received, while a received message waits to be opened, just after a commit, while an
 * answer waits to be sent — and restarted each time. Then the counts at both ends: every ping RO
 * sent was received by DE once, answered once, and its pong reached RO once. Nothing lost, nothing
 * answered twice.
 *
 * It drives the gateways as black boxes (processes, SMTP, their SQLite files read-only), so it
 * keeps working while the pipeline inside changes.
 *
 *   node --import tsx test/crash/campaign.ts [--kills 20] [--seed 1]
 */
import Database from 'better-sqlite3';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { eventually, startGateways, type Gateways } from '../support/gateways.js';
import { Rng } from '../fuzz/mutate.js';

export type KillPoint = 'receive' | 'open' | 'commit' | 'send';
export const KILL_POINTS: readonly KillPoint[] = ['receive', 'open', 'commit', 'send'];

export interface Kill {
  readonly n: number;
  /** What the campaign aimed at, and whether the gateway's state showed it at the kill (else a timed kill). */
  readonly aimed: KillPoint;
  readonly hit: boolean;
  /** DE's queue at the moment of the kill. */
  readonly inboxWaiting: number;
  readonly outboxWaiting: number;
  readonly inboxDone: number;
  readonly restartMs: number;
}

export interface CrashCounts {
  /** RO: pings queued by the load, and how many left RO. */
  readonly roPingsQueued: number;
  readonly roPingsSent: number;
  /** DE: pings received (rows), distinct pings, processed. */
  readonly dePingsReceived: number;
  readonly dePingsDistinct: number;
  readonly dePingsDone: number;
  /** DE: pongs it queued and sent. */
  readonly dePongsQueued: number;
  readonly dePongsSent: number;
  /** RO: pongs received (rows) and distinct pings they answer. */
  readonly roPongsReceived: number;
  readonly roPongsDistinct: number;
}

export interface CrashResult {
  readonly kills: Kill[];
  readonly counts: CrashCounts;
  readonly lost: number;
  readonly answeredTwice: number;
  readonly wallMs: number;
}

type Count = { n: number };

function counts(net: Gateways): CrashCounts {
  const one = (state: 'RO' | 'DE', sql: string) => net.query<Count>(state, sql)[0]?.n ?? 0;
  return {
    roPingsQueued: one('RO', `SELECT count(*) AS n FROM queue_outbox WHERE peer = 'DE'`),
    roPingsSent: one('RO', `SELECT count(*) AS n FROM queue_outbox WHERE peer = 'DE' AND status = 'sent'`),
    dePingsReceived: one('DE', `SELECT count(*) AS n FROM queue_inbox WHERE outcome LIKE 'ping %'`),
    dePingsDistinct: one('DE', `SELECT count(DISTINCT outcome) AS n FROM queue_inbox WHERE outcome LIKE 'ping %'`),
    dePingsDone: one('DE', `SELECT count(*) AS n FROM queue_inbox WHERE outcome LIKE 'ping %' AND status = 'done'`),
    dePongsQueued: one('DE', `SELECT count(*) AS n FROM queue_outbox WHERE peer = 'RO'`),
    dePongsSent: one('DE', `SELECT count(*) AS n FROM queue_outbox WHERE peer = 'RO' AND status = 'sent'`),
    roPongsReceived: one('RO', `SELECT count(*) AS n FROM queue_inbox WHERE outcome LIKE 'pong %'`),
    roPongsDistinct: one('RO', `SELECT count(DISTINCT outcome) AS n FROM queue_inbox WHERE outcome LIKE 'pong %'`),
  };
}

/** DE's queue as a poller sees it (read-only, WAL: the gateway keeps writing). */
class QueueWatch {
  private db: Database.Database | null = null;
  constructor(private readonly file: string) {}
  read(): { inboxWaiting: number; outboxWaiting: number; inboxDone: number; inboxTotal: number } {
    this.db ??= new Database(this.file, { readonly: true, fileMustExist: true });
    const n = (sql: string) => (this.db!.prepare(sql).get() as Count).n;
    return {
      inboxWaiting: n(`SELECT count(*) AS n FROM queue_inbox WHERE status NOT IN ('done', 'rejected', 'dead')`),
      outboxWaiting: n(`SELECT count(*) AS n FROM queue_outbox WHERE status NOT IN ('sent', 'dead', 'failed')`),
      inboxDone: n(`SELECT count(*) AS n FROM queue_inbox WHERE status = 'done'`),
      inboxTotal: n('SELECT count(*) AS n FROM queue_inbox'),
    };
  }
  close(): void {
    this.db?.close();
    this.db = null;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits for the moment `aimed` names, up to `maxMs` (then kills anyway: a timed kill). receive: a
 * new mail has just been stored and more are arriving; open: a received message is waiting to be
 * opened; commit: a message has just been committed as done; send: an answer is waiting to be sent.
 */
async function waitForPoint(watch: QueueWatch, aimed: KillPoint, rng: Rng, maxMs: number): Promise<boolean> {
  const started = Date.now();
  const first = watch.read();
  while (Date.now() - started < maxMs) {
    await sleep(5 + rng.below(15));
    const now = watch.read();
    const hit =
      aimed === 'receive' ? now.inboxTotal > first.inboxTotal :
      aimed === 'open' ? now.inboxWaiting > 0 :
      aimed === 'commit' ? now.inboxDone > first.inboxDone :
      now.outboxWaiting > 0;
    if (hit) {
      // A little later, at a random point of the next step.
      await sleep(rng.below(aimed === 'commit' ? 30 : 150));
      return true;
    }
  }
  return false;
}

export async function runCrashCampaign(opts: { kills: number; seed?: number; log?: (line: string) => void }): Promise<CrashResult> {
  const log = opts.log ?? (() => {});
  const rng = new Rng(opts.seed ?? 1);
  const started = Date.now();
  const net = await startGateways(['RO', 'DE'], { relay: 'postfix', provision: 'bare' });
  const watch = new QueueWatch(join(net.node('DE').dataDir, 'gateway.sqlite'));
  let loading = true;
  let loadError: unknown = null;
  // Sustained load: RO keeps queuing pings to DE while DE is killed and restarted.
  const load = (async () => {
    while (loading) {
      try {
        await net.ping('RO', 'DE', 5 + rng.below(10));
      } catch (e) {
        loadError = e;
        return;
      }
      await sleep(200 + rng.below(600));
    }
  })();
  const kills: Kill[] = [];
  try {
    await eventually(() => watch.read().inboxDone >= 3, 'DE to start answering', 180_000);
    for (let n = 1; n <= opts.kills; n++) {
      const aimed = KILL_POINTS[(n - 1) % KILL_POINTS.length]!;
      const hit = await waitForPoint(watch, aimed, rng, 15_000);
      const at = watch.read();
      await net.kill('DE');
      watch.close();
      const t0 = Date.now();
      await net.start('DE');
      const restartMs = Date.now() - t0;
      kills.push({ n, aimed, hit, inboxWaiting: at.inboxWaiting, outboxWaiting: at.outboxWaiting, inboxDone: at.inboxDone, restartMs });
      log(`kill ${String(n).padStart(2)}: ${aimed.padEnd(7)} ${hit ? 'hit  ' : 'timed'}  DE inbox waiting ${at.inboxWaiting}, outbox waiting ${at.outboxWaiting}, done ${at.inboxDone}; restarted in ${(restartMs / 1000).toFixed(1)} s`);
      if (loadError) throw loadError;
      // Let the load flow again before the next kill (at a random point of it).
      await sleep(300 + rng.below(1500));
    }
    loading = false;
    await load;
    if (loadError) throw loadError;
    // Drain: every ping RO queued must come back as a pong.
    const queued = counts(net).roPingsQueued;
    log(`load stopped: ${queued} pings queued by RO; waiting for every pong…`);
    await eventually(() => {
      const c = counts(net);
      return c.roPingsSent === c.roPingsQueued && c.roPongsDistinct >= c.roPingsQueued && c.dePongsSent === c.dePongsQueued;
    }, `all ${queued} pongs`, 600_000, 1000);
    // A duplicate would arrive late: give stragglers time before counting.
    await sleep(5000);
    const c = counts(net);
    const lost = c.roPingsQueued - c.roPongsDistinct;
    const answeredTwice = c.dePingsReceived - c.dePingsDistinct + (c.dePongsQueued - c.dePingsDistinct) + (c.roPongsReceived - c.roPongsDistinct);
    return { kills, counts: c, lost, answeredTwice, wallMs: Date.now() - started };
  } finally {
    loading = false;
    await load.catch(() => {});
    watch.close();
    await net.close();
  }
}

export function formatCrash(r: CrashResult): string {
  const c = r.counts;
  const byPoint = KILL_POINTS.map((p) => `${p} ${r.kills.filter((k) => k.aimed === p && k.hit).length}/${r.kills.filter((k) => k.aimed === p).length}`).join(', ');
  return [
    `kills: ${r.kills.length} (aimed point reached/aimed: ${byPoint}); mean restart ${(r.kills.reduce((a, k) => a + k.restartMs, 0) / Math.max(r.kills.length, 1) / 1000).toFixed(1)} s`,
    `RO  pings queued ${c.roPingsQueued}, sent ${c.roPingsSent}`,
    `DE  pings received ${c.dePingsReceived} (distinct ${c.dePingsDistinct}, done ${c.dePingsDone}); pongs queued ${c.dePongsQueued}, sent ${c.dePongsSent}`,
    `RO  pongs received ${c.roPongsReceived} (distinct pings answered ${c.roPongsDistinct})`,
    `lost ${r.lost}, answered twice ${r.answeredTwice}; ${(r.wallMs / 1000).toFixed(0)} s`,
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { kills: { type: 'string', default: '20' }, seed: { type: 'string', default: '1' } } });
  const result = await runCrashCampaign({ kills: Number(values.kills), seed: Number(values.seed), log: (l) => process.stdout.write(`${l}\n`) });
  process.stdout.write(`\ncrash campaign on ${cpus()[0]?.model ?? 'unknown CPU'} (${cpus().length} cores), Node ${process.version}\n${formatCrash(result)}\n`);
  process.exitCode = result.lost === 0 && result.answeredTwice === 0 ? 0 : 1;
}
