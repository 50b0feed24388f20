/**
 * Several full gateway processes on loopback for tests, each with its own data folder, SoftHSM2
 * token and certificates, started and stopped as an operator would (`pruem provision`, then
 * `pruem run`): the integration tests and the console's end-to-end test share this one harness.
 *
 *   const net = await startGateways(['RO', 'DE'], { relay: 'postfix' });   // in before()
 *   await net.ping('RO', 'DE', 3);
 *   await eventually(() => net.query<Row>('RO', 'SELECT …').length === 3, 'pongs');
 *   await net.close();                                                     // in after()
 *
 * Everything lives in one temp folder (kept when PRUEM_KEEP_TEST_DIRS is set). close() stops the
 * gateways, the relay and removes the folder; a start-up that fails half-way cleans up after itself
 * before it rejects (the test's after() has nothing to close then), and gateways still running
 * when the test process exits are killed.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import { demoClientKeyPath, provisionNode, runPruem, setupCodeOf, spawnGateway, waitForHealth, writeNetworkConfigs, type NodeFiles, type NodeSpec } from '../../appliance/demo/network.js';
import { startDemoRelay } from '../../appliance/demo/relay.js';
import { channelDomain, type MemberStateCode } from '../../appliance/peers/member-states.js';
import { onProcessExit, startPostfix } from '../integration/support/postfix.js';
import { freePort } from './ports.js';

export interface GatewaysOptions {
  /**
   * What joins the gateways: 'postfix', a real Postfix as the TESTA relay; 'demo', the relay
   * stand-in of `pruem demo`, which forwards before it answers, so a stopped peer shows at once
   * as a 451 (what turns a link red in the console); or an address the test serves itself.
   */
  readonly relay: 'postfix' | 'demo' | { readonly host: string; readonly port: number };
  /**
   * 'demo' (default): provisioned as `pruem demo` does — synthetic national DNA profiles, a demo
   * officer and the officers' API. 'bare': `pruem provision` only (token, keys, certificates),
   * the appliance as its first-run wizard finds it.
   */
  readonly provision?: 'demo' | 'bare';
  /** Synthetic DNA profiles per State with provision 'demo'; default 200. */
  readonly syntheticProfiles?: number;
  /** Top-level configuration keys that replace the generated ones in every gateway (e.g. its own `peers`). */
  readonly config?: Record<string, unknown>;
}

export interface Gateway extends NodeFiles {
  /** The management API and console, http://127.0.0.1:<apiPort>. */
  readonly url: string;
}

export interface Gateways {
  /** The temp folder holding every gateway's data folder (and the Postfix instance). */
  readonly root: string;
  node(state: MemberStateCode): Gateway;
  /** Starts `pruem run` and waits until /api/health answers. */
  start(state: MemberStateCode): Promise<void>;
  /** SIGTERM, as systemd stops it (SIGKILL if it has not exited after 30 s). */
  stop(state: MemberStateCode): Promise<void>;
  /** SIGKILL: no clean-up runs in the gateway, as in a power cut. */
  kill(state: MemberStateCode): Promise<void>;
  /** Opens the gateway's SQLite file read-only (the gateway may be running: WAL allows it). */
  query<T>(state: MemberStateCode, sql: string, ...params: unknown[]): T[];
  /** `pruem ping` from one gateway to another: `count` link-test messages, answered by pongs. */
  ping(from: MemberStateCode, to: MemberStateCode, count: number, channel?: 'dna' | 'fp'): Promise<void>;
  /** The one-time code the daemon logs while no console account exists. */
  setupCode(state: MemberStateCode): string | null;
  tokenPin(state: MemberStateCode): string;
  /** Stops every gateway and the relay, then removes the temp folder; safe to call twice. */
  close(): Promise<void>;
}

const HEALTH_TIMEOUT_MS = 90_000; // start-up includes logging in to the token; a bound, not a speed check
const STOP_GRACE_MS = 30_000;

/** Provisions `states` as a network (every other State a peer, all through one relay) and starts them all. */
export async function startGateways(states: readonly MemberStateCode[], opts: GatewaysOptions): Promise<Gateways> {
  const root = mkdtempSync(join(tmpdir(), 'pruem-gw-'));
  const net = new GatewayNetwork(root);
  try {
    const demo = (opts.provision ?? 'demo') === 'demo';
    const specs: NodeSpec[] = [];
    for (const state of states) {
      specs.push({
        state,
        apiPort: await freePort(),
        smtpPort: await freePort(),
        ...(demo ? { officersPort: await freePort(), vehiclePort: await freePort(), syntheticProfiles: opts.syntheticProfiles ?? 200 } : {}),
      });
    }
    const relay = typeof opts.relay === 'object' ? opts.relay : { host: '127.0.0.1', port: await freePort() };
    const files = writeNetworkConfigs(root, specs, relay, opts.config);
    for (const f of files) {
      if (demo) await provisionNode(f);
      else await runPruem(['provision', '--development', '--config', f.configPath], join(f.dataDir, 'provision.log'));
      net.add(f);
    }
    const routes = specs.map((s) => ({ state: s.state, host: '127.0.0.1', port: s.smtpPort }));
    if (opts.relay === 'postfix') {
      chmodSync(root, 0o755); // Postfix runs as user postfix and must reach its folder below.
      const postfix = await startPostfix({
        dir: join(root, 'postfix'),
        listenPort: relay.port,
        relayRules: routes.flatMap((r) => [
          { domain: channelDomain('dna', r.state), host: r.host, port: r.port },
          { domain: channelDomain('fp', r.state), host: r.host, port: r.port },
        ]),
      });
      net.closeRelay = () => postfix.stop();
    } else if (opts.relay === 'demo') {
      const demoRelay = await startDemoRelay({ ...relay, routes, maxMessageBytes: 20 * 1024 * 1024 });
      net.closeRelay = () => demoRelay.close();
    }
    net.armExitHook(); // again, so that it runs after Postfix's own: the folder goes last
    for (const state of states) await net.start(state);
    return net;
  } catch (err) {
    await net.close();
    throw err;
  }
}

class GatewayNetwork implements Gateways {
  private readonly nodes = new Map<MemberStateCode, Gateway>();
  private readonly processes = new Map<MemberStateCode, ChildProcess>();
  private removeExitHook: () => void = () => {};
  private closed: Promise<void> | null = null;
  closeRelay: () => Promise<void> = async () => {};

  constructor(readonly root: string) {
    this.armExitHook();
  }

  /** If the test process exits without close() (a crash, process.exit), no gateway outlives it. */
  armExitHook(): void {
    this.removeExitHook();
    this.removeExitHook = onProcessExit(() => {
      for (const child of this.processes.values()) child.kill('SIGKILL');
      if (!process.env.PRUEM_KEEP_TEST_DIRS) rmSync(this.root, { recursive: true, force: true });
    });
  }

  add(files: NodeFiles): void {
    this.nodes.set(files.spec.state, { ...files, url: `http://127.0.0.1:${files.spec.apiPort}` });
  }

  node(state: MemberStateCode): Gateway {
    const n = this.nodes.get(state);
    if (!n) throw new Error(`no gateway ${state} in this network`);
    return n;
  }

  async start(state: MemberStateCode): Promise<void> {
    const n = this.node(state);
    if (this.processes.has(state)) throw new Error(`gateway ${state} is already running`);
    const child = spawnGateway(n);
    this.processes.set(state, child);
    // A gateway that dies at start-up (a port taken meanwhile, a bad configuration) fails the start at
    // once, with its log, rather than after the whole health bound.
    const died = once(child, 'close').then(([code, signal]: unknown[]) => {
      const log = join(n.dataDir, 'gateway.log');
      const tail = existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : '(no log)';
      throw new Error(`gateway ${state} exited (${String(signal ?? code)}) before it was healthy; ${log} ends:\n${tail}`);
    });
    died.catch(() => {}); // once healthy, a later exit is the test's business
    await Promise.race([waitForHealth(n.spec.apiPort, HEALTH_TIMEOUT_MS), died]);
  }

  stop(state: MemberStateCode): Promise<void> {
    return this.end(state, 'SIGTERM');
  }

  kill(state: MemberStateCode): Promise<void> {
    return this.end(state, 'SIGKILL');
  }

  private async end(state: MemberStateCode, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const child = this.processes.get(state);
    if (!child) return;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      try {
        await exited;
      } finally {
        clearTimeout(timer);
      }
    }
    this.processes.delete(state);
  }

  query<T>(state: MemberStateCode, sql: string, ...params: unknown[]): T[] {
    const db = new Database(join(this.node(state).dataDir, 'gateway.sqlite'), { readonly: true, fileMustExist: true });
    try {
      return db.prepare(sql).all(...params) as T[];
    } finally {
      db.close();
    }
  }

  async ping(from: MemberStateCode, to: MemberStateCode, count: number, channel: 'dna' | 'fp' = 'dna'): Promise<void> {
    await runPruem(['ping', to, '--count', String(count), '--channel', channel, '--config', this.node(from).configPath]);
  }

  setupCode(state: MemberStateCode): string | null {
    const log = join(this.node(state).dataDir, 'gateway.log');
    if (!existsSync(log)) return null;
    // The gateway's stdout goes to this file (spawnGateway); the latest code is the valid one.
    const codes = readFileSync(log, 'utf8').split('\n').map(setupCodeOf).filter((c): c is string => c !== null);
    return codes.at(-1) ?? null;
  }

  tokenPin(state: MemberStateCode): string {
    return readFileSync(join(this.node(state).dataDir, 'token.pin'), 'utf8').trim();
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      try {
        for (const state of [...this.processes.keys()]) await this.stop(state);
        await this.closeRelay();
      } finally {
        for (const child of this.processes.values()) child.kill('SIGKILL');
        this.removeExitHook();
        if (!process.env.PRUEM_KEEP_TEST_DIRS) rmSync(this.root, { recursive: true, force: true });
      }
    })();
    return this.closed;
  }
}

/**
 * Polls until `check` holds, and says how long that took; rejects once `timeoutMs` has passed
 * (a bound for a slow shared machine, not a speed assertion).
 */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 120_000, intervalMs = 250): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/**
 * The officers' API of one gateway, called as the demo's client system does (its own credential): POST gives the
 * status and body, GET asserts 200 and gives the body.
 */
export function officersApi(net: Gateways, state: MemberStateCode) {
  const node = net.node(state);
  const key = readFileSync(demoClientKeyPath(node), 'utf8').trim();
  const base = `http://127.0.0.1:${node.spec.officersPort}/api`;
  return {
    async post(path: string, body: unknown) {
      const res = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    async get<T>(path: string): Promise<T> {
      const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}` } });
      if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    },
  };
}
