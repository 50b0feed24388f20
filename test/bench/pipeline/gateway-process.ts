/**
 * The gateway under test, as its own process (forked by test/bench/pipeline.ts): exactly
 * `startGateway(loadConfig(path))`, what `pruem run` starts, plus benchmark-only instruments:
 *   - stage timers wrapped around the parts the pipeline already holds (opener, handler, sealer,
 *     sender, audit, queue, token, match engine, transactions) — no production code changes;
 *   - `audit off`: AuditLog.prototype.append becomes a no-op, so the Art. 30 Merkle append (event
 *     validation, leaf, tree nodes, their rows) is skipped while everything else stays the same.
 *     The mapping ExchangeRecord → AuditEvent in main.ts (a SHA-256 of the payload) still runs.
 *     `audit mixed`: on or off per inbox message at random (seeded), so both modes share the machine's
 *     load from moment to moment (a paired comparison); stage timers then carry the message's mode.
 * Usage (by the benchmark only): node --import tsx gateway-process.ts <config.json>
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { loadConfig } from '../../../appliance/config/config.js';
import { startGateway, type Gateway } from '../../../appliance/main.js';
import { AuditLog, periodOf } from '../../../appliance/audit/log.js';
import type { AuditEvent } from '../../../appliance/audit/events.js';
import { openDatabase } from '../../../appliance/db/database.js';
import type { PipelineOptions } from '../../../appliance/exchange/pipeline.js';
import { AUDIT_STAGE, COMMIT_STAGE, MIXED_TAG, type AuditMode, type Command, type GatewayStats, type Notice, type Reply, type StageFigure } from './protocol.js';

type AnyFn = (...args: unknown[]) => unknown;

/** One entry per inbox message an inbound lane processed (open → commit, its wait for the commit order included). */
const iterations: Array<{ ms: number; audit: boolean }> = [];
let auditMode: AuditMode = 'on';
/**
 * Whether the inbox message being processed gets its audit records (always, unless mode is off or mixed).
 * Carried with the message through its lane's asynchronous work: two inbound lanes run at once, so a
 * global flag would be read by the other lane's message.
 */
const messageAudit = new AsyncLocalStorage<boolean>();
const auditThisMessage = (): boolean => messageAudit.getStore() ?? true;
const stages = new Map<string, { count: number; totalMs: number; maxMs: number }>();
function record(stage: string, ms: number): void {
  const name = auditMode === 'mixed' ? `${stage}${auditThisMessage() ? MIXED_TAG.on : MIXED_TAG.off}` : stage;
  const s = stages.get(name) ?? { count: 0, totalMs: 0, maxMs: 0 };
  s.count++;
  s.totalMs += ms;
  if (ms > s.maxMs) s.maxMs = ms;
  stages.set(name, s);
}

function timed<A extends unknown[], R>(name: string, fn: (...a: A) => Promise<R>, after?: () => void): (...a: A) => Promise<R> {
  return async (...a: A) => {
    const t0 = performance.now();
    try {
      return await fn(...a);
    } finally {
      record(name, performance.now() - t0);
      after?.();
    }
  };
}

function timedSync<A extends unknown[], R>(name: string, fn: (...a: A) => R): (...a: A) => R {
  return (...a: A) => {
    const t0 = performance.now();
    try {
      return fn(...a);
    } finally {
      record(name, performance.now() - t0);
    }
  };
}

function instrument(gateway: Gateway): void {
  const o = (gateway.pipeline as unknown as { o: PipelineOptions }).o;
  const queue = gateway.queue;
  queue.receive = timedSync('smtp: inbox INSERT (commit)', queue.receive.bind(queue));
  queue.nextInbound = timedSync('loop: next inbox SELECT', queue.nextInbound.bind(queue));
  queue.dueOutbound = timedSync('loop: due outbox SELECT', queue.dueOutbound.bind(queue));

  // The loop calls this.processNextInbound() and this.sendDue(): own properties on the instance take precedence.
  const pipeline = gateway.pipeline;
  const processNext = pipeline.processNextInbound.bind(pipeline);
  const sendDue = pipeline.sendDue.bind(pipeline);
  // The inbound and outbound loops run side by side: a "turn" is one inbound message processed
  // (open, match, seal, commit); sending the answer happens on the other loop.
  pipeline.processNextInbound = async () => {
    const t0 = performance.now();
    // In `mixed` mode a coin decides (see setAudit); not parity, which could line up with a pattern in the load.
    const audit = auditMode === 'on' || (auditMode === 'mixed' && coin() < 0.5);
    return messageAudit.run(audit, async () => {
      const worked = await processNext();
      if (worked) iterations.push({ ms: performance.now() - t0, audit });
      return worked;
    });
  };
  pipeline.sendDue = sendDue;

  let txLabel = 'other';
  const opener = o.opener;
  opener.open = timed('open: verify + decrypt (S/MIME)', opener.open.bind(opener));
  const token = gateway.token;
  token.decrypt = timed('  token: decrypt CEK (incl. wait)', token.decrypt.bind(token));
  token.sign = timed('  token: sign (incl. wait)', token.sign.bind(token));
  for (const h of o.handlers) {
    const handle = h.handle.bind(h);
    h.handle = timed(`handle: ${h.channel} (parse, XSD, match, answer)`, async (m) => handle(m));
  }
  const engine = gateway.dna.index.current();
  engine.search = timedSync('  match engine search', engine.search.bind(engine));
  const sealer = o.sealer;
  sealer.seal = timed('seal: encrypt + sign + MIME', sealer.seal.bind(sealer), () => (txLabel = COMMIT_STAGE));
  const audit = o.audit;
  audit.exchange = timedSync(AUDIT_STAGE, audit.exchange.bind(audit));
  const sender = o.sender;
  if (sender) sender.send = timed('send: SMTP to peer', sender.send.bind(sender), () => (txLabel = 'commit: mark sent'));

  // Outermost transactions only (inner ones are savepoints of the same commit); labelled by what preceded them.
  const db = gateway.db;
  const transaction = db.transaction.bind(db);
  let depth = 0;
  db.transaction = ((fn: AnyFn) => {
    const tx = transaction(fn);
    const outer = (...args: unknown[]) => {
      if (depth > 0) return tx(...args);
      const label = txLabel;
      txLabel = 'other';
      depth++;
      const t0 = performance.now();
      try {
        return tx(...args);
      } finally {
        depth--;
        record(label, performance.now() - t0);
      }
    };
    return Object.assign(outer, { deferred: tx.deferred, immediate: tx.immediate, exclusive: tx.exclusive, default: tx.default });
  }) as typeof db.transaction;
}

const appendOriginal = AuditLog.prototype.append;
const appendNothing = (): { index: number; leafHash: string } => ({ index: -1, leafHash: '' });
/** xorshift32, seeded per `audit` command: the same coin flips every run. */
let seed = 1;
function coin(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 0x1_0000_0000;
}
function setAudit(mode: AuditMode): void {
  auditMode = mode;
  seed = 0x5eed;
  AuditLog.prototype.append =
    mode === 'on'
      ? appendOriginal
      : mode === 'off'
        ? appendNothing
        : function (this: AuditLog, event: AuditEvent) {
            return auditThisMessage() ? appendOriginal.call(this, event) : appendNothing();
          };
}

/** CPU of finished child processes (cutime + cstime of /proc/self/stat), in ms. */
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
function childCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 16 and 17 of proc(5); the slice starts at field 3.
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLK_TCK;
}

function counts(gateway: Gateway, table: 'queue_inbox' | 'queue_outbox'): Record<string, number> {
  const rows = gateway.db.prepare(`SELECT status, count(*) AS n FROM ${table} GROUP BY status`).all() as { status: string; n: number }[];
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

let window = { at: performance.now(), cpu: process.cpuUsage(), child: childCpuMs(), elu: performance.eventLoopUtilization() as EventLoopUtilization };

function stats(gateway: Gateway): GatewayStats {
  const cpu = process.cpuUsage(window.cpu);
  const now = performance.now();
  const child = childCpuMs();
  const result: GatewayStats = {
    stages: Object.fromEntries([...stages].map(([k, v]) => [k, { ...v } satisfies StageFigure])),
    wallMs: now - window.at,
    cpuMs: (cpu.user + cpu.system) / 1000,
    childCpuMs: child - window.child,
    elu: performance.eventLoopUtilization(window.elu).utilization,
    inbox: counts(gateway, 'queue_inbox'),
    outbox: counts(gateway, 'queue_outbox'),
    iterations: iterations.splice(0),
    auditSize: gateway.audit.head(periodOf(new Date()))?.size ?? 0,
  };
  stages.clear();
  window = { at: now, cpu: process.cpuUsage(), child, elu: performance.eventLoopUtilization() };
  return result;
}

function fsyncProbe(dataDir: string, count: number, bytes: number): number {
  const path = join(dataDir, 'fsync-probe.sqlite');
  const db = openDatabase(path);
  try {
    db.exec('CREATE TABLE IF NOT EXISTS probe (id INTEGER PRIMARY KEY, body BLOB)');
    const insert = db.prepare('INSERT INTO probe (body) VALUES (?)');
    const body = Buffer.alloc(bytes, 7);
    const t0 = performance.now();
    for (let i = 0; i < count; i++) insert.run(body);
    return (performance.now() - t0) / count;
  } finally {
    db.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
  }
}

async function main(): Promise<void> {
  const configPath = process.argv[2];
  if (!configPath || !process.send) throw new Error('usage: forked by test/bench/pipeline.ts with a config path');
  const config = loadConfig(configPath);
  const gateway = await startGateway(config, { configPath });
  // The daemon builds its DNA index in a worker and defers DNA requests until it exists; the benchmark
  // measures a gateway in service, so it starts once the index is in use.
  await gateway.dna.index.ready();
  instrument(gateway);
  const notify = (m: Notice | Reply) => process.send?.(m);
  const inspector = new Session();
  process.on('message', (raw: unknown) => {
    const c = raw as Command;
    void (async () => {
      try {
        let result: unknown = null;
        if (c.cmd === 'audit') setAudit(c.mode);
        else if (c.cmd === 'stats') result = stats(gateway);
        else if (c.cmd === 'fsync') result = fsyncProbe(config.dataDir, c.count, c.bytes);
        else if (c.cmd === 'profile-start') {
          inspector.connect();
          await inspector.post('Profiler.enable');
          await inspector.post('Profiler.setSamplingInterval', { interval: 500 });
          await inspector.post('Profiler.start');
        } else if (c.cmd === 'profile-stop') {
          const { profile } = await inspector.post('Profiler.stop');
          inspector.disconnect();
          writeFileSync(c.path, JSON.stringify(profile));
        }
        else if (c.cmd === 'stop') {
          setAudit('on');
          await gateway.stop();
        }
        notify({ id: c.id, ok: true, result });
        if (c.cmd === 'stop') process.disconnect();
      } catch (e) {
        notify({ id: c.id, ok: false, error: (e as Error).stack ?? String(e) });
      }
    })();
  });
  // The benchmark went away (crash, ^C): do not linger.
  process.on('disconnect', () => setTimeout(() => process.exit(0), 100).unref());
  notify({ type: 'ready', smtpPort: gateway.smtpPort ?? 0 });
}

main().catch((e: unknown) => {
  process.send?.({ type: 'failed', error: (e as Error).stack ?? String(e) } satisfies Notice);
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100);
});
