import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { runPruem, spawnGateway, waitForHealth, writeNetworkConfigs, type NodeFiles, type NodeSpec } from '../../../appliance/demo/network.js';
import { startDemoRelay, type DemoRelay } from '../../../appliance/demo/relay.js';
import type { MemberStateCode } from '../../../appliance/peers/member-states.js';
import { freePort } from '../../integration/support/postfix.js';

export { freePort };

export interface GatewayNode {
  readonly files: NodeFiles;
  readonly url: string;
  process: ChildProcess | null;
}

/**
 * The product as an operator runs it (`pruem demo`): full gateway processes (`pruem run`), each
 * with its own development token, joined by the relay stand-in that forwards before answering.
 */
export class TestNetwork {
  private constructor(
    readonly root: string,
    readonly relay: DemoRelay,
    readonly nodes: Map<MemberStateCode, GatewayNode>,
  ) {}

  static async start(states: readonly MemberStateCode[], opts: { keep?: boolean } = {}): Promise<TestNetwork> {
    const root = mkdtempSync(join(tmpdir(), 'pruem-e2e-'));
    const specs: NodeSpec[] = [];
    for (const state of states) specs.push({ state, apiPort: await freePort(), smtpPort: await freePort() });
    const relayPort = await freePort();
    const files = writeNetworkConfigs(root, specs, { host: '127.0.0.1', port: relayPort });
    for (const f of files) await runPruem(['provision', '--config', f.configPath], join(f.dataDir, 'provision.log'));
    const relay = await startDemoRelay({
      host: '127.0.0.1',
      port: relayPort,
      routes: specs.map((s) => ({ state: s.state, host: '127.0.0.1', port: s.smtpPort })),
      maxMessageBytes: 20 * 1024 * 1024,
    });
    const nodes = new Map<MemberStateCode, GatewayNode>();
    for (const f of files) nodes.set(f.spec.state, { files: f, url: `http://127.0.0.1:${f.spec.apiPort}`, process: null });
    const net = new TestNetwork(root, relay, nodes);
    void opts;
    for (const state of states) await net.startNode(state);
    return net;
  }

  node(state: MemberStateCode): GatewayNode {
    const n = this.nodes.get(state);
    if (!n) throw new Error(`no node ${state}`);
    return n;
  }

  async startNode(state: MemberStateCode): Promise<void> {
    const n = this.node(state);
    n.process = spawnGateway(n.files);
    await waitForHealth(n.files.spec.apiPort, 90_000);
  }

  async stopNode(state: MemberStateCode): Promise<void> {
    const n = this.node(state);
    const child = n.process;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
    n.process = null;
  }

  /** The one-time code the daemon logs while no console account exists. */
  setupCode(state: MemberStateCode): string | null {
    const log = join(this.node(state).files.dataDir, 'gateway.log');
    if (!existsSync(log)) return null;
    const codes = [...readFileSync(log, 'utf8').matchAll(/"setupCode":"([A-Z0-9-]+)"/g)].map((m) => m[1] ?? '');
    return codes.at(-1) ?? null;
  }

  tokenPin(state: MemberStateCode): string {
    return readFileSync(join(this.node(state).files.dataDir, 'token.pin'), 'utf8').trim();
  }

  async close(): Promise<void> {
    for (const state of this.nodes.keys()) await this.stopNode(state);
    await this.relay.close();
    if (!process.env.PRUEM_E2E_KEEP) rmSync(this.root, { recursive: true, force: true });
  }
}
