import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import { provisionNode, runPruem, spawnGateway, waitForHealth, writeNetworkConfigs, type NodeFiles, type NodeSpec } from '../../../appliance/demo/network.js';
import { startDemoRelay } from '../../../appliance/demo/relay.js';
import { channelDomain, type MemberStateCode } from '../../../appliance/peers/member-states.js';
import { freePort, startPostfix } from './postfix.js';

export interface TestNetwork {
  readonly root: string;
  readonly nodes: ReadonlyMap<MemberStateCode, NodeFiles>;
  start(state: MemberStateCode): Promise<void>;
  /** SIGKILL: no clean-up runs in the gateway, as in a power cut. */
  kill(state: MemberStateCode): Promise<void>;
  stop(state: MemberStateCode): Promise<void>;
  /** Opens the gateway's SQLite file read-only (the gateway may be running: WAL allows it). */
  query<T>(state: MemberStateCode, sql: string, ...params: unknown[]): T[];
  ping(from: MemberStateCode, to: MemberStateCode, count: number, channel?: 'dna' | 'fp'): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts gateways as real processes (`pruem provision`, then `pruem run`) joined by a relay:
 * a real Postfix (default) or the demo relay.
 */
export async function startNetwork(states: readonly MemberStateCode[], opts: { relay?: 'postfix' | 'demo'; syntheticProfiles?: number } = {}): Promise<TestNetwork> {
  const root = mkdtempSync(join(tmpdir(), 'pruem-net-'));
  chmodSync(root, 0o755); // Postfix runs as user postfix and must reach its folder below.
  const specs: NodeSpec[] = [];
  for (const state of states) {
    specs.push({ state, apiPort: await freePort(), smtpPort: await freePort(), officersPort: await freePort(), syntheticProfiles: opts.syntheticProfiles ?? 200 });
  }
  const relayPort = await freePort();
  const files = writeNetworkConfigs(root, specs, { host: '127.0.0.1', port: relayPort });
  const nodes = new Map(files.map((f) => [f.spec.state, f] as const));
  for (const f of files) await provisionNode(f);

  const routes = specs.map((s) => ({ state: s.state, host: '127.0.0.1', port: s.smtpPort }));
  let closeRelay: () => Promise<void>;
  if ((opts.relay ?? 'postfix') === 'postfix') {
    const postfix = await startPostfix({
      dir: join(root, 'postfix'),
      listenPort: relayPort,
      relayRules: routes.flatMap((r) => [
        { domain: channelDomain('dna', r.state), host: r.host, port: r.port },
        { domain: channelDomain('fp', r.state), host: r.host, port: r.port },
      ]),
    });
    closeRelay = () => postfix.stop();
  } else {
    const relay = await startDemoRelay({ host: '127.0.0.1', port: relayPort, routes, maxMessageBytes: 20 * 1024 * 1024 });
    closeRelay = () => relay.close();
  }

  const processes = new Map<MemberStateCode, ChildProcess>();
  const exited = (child: ChildProcess) =>
    new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
  const node = (state: MemberStateCode) => {
    const n = nodes.get(state);
    if (!n) throw new Error(`no node ${state}`);
    return n;
  };
  const network: TestNetwork = {
    root,
    nodes,
    async start(state) {
      const n = node(state);
      processes.set(state, spawnGateway(n));
      await waitForHealth(n.spec.apiPort);
    },
    async kill(state) {
      const child = processes.get(state);
      if (!child) return;
      child.kill('SIGKILL');
      await exited(child);
      processes.delete(state);
    },
    async stop(state) {
      const child = processes.get(state);
      if (!child) return;
      child.kill('SIGTERM');
      await exited(child);
      processes.delete(state);
    },
    query<T>(state: MemberStateCode, sql: string, ...params: unknown[]): T[] {
      const db = new Database(join(node(state).dataDir, 'gateway.sqlite'), { readonly: true, fileMustExist: true });
      try {
        return db.prepare(sql).all(...params) as T[];
      } finally {
        db.close();
      }
    },
    async ping(from, to, count, channel = 'dna') {
      await runPruem(['ping', to, '--count', String(count), '--channel', channel, '--config', node(from).configPath]);
    },
    async close() {
      for (const state of [...processes.keys()]) await network.stop(state);
      await closeRelay();
      if (!process.env.PRUEM_KEEP_TEST_DIRS) rmSync(root, { recursive: true, force: true });
    },
  };
  for (const state of states) await network.start(state);
  return network;
}

/** Polls until `check` returns true or the bound is reached (a bound, not a speed assertion). */
export async function eventually(check: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}
