import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, createWriteStream } from 'node:fs';
import { writeSyntheticDatabase } from './seed.js';
import { writeFingerprintExamples } from '../fingerprint-exchange/demo.js';
import { join } from 'node:path';
import { pruemCommand } from '../cli/self.js';
import { childEnvironment } from '../util/exec.js';
import type { MemberStateCode } from '../peers/member-states.js';

/**
 * A network of full gateway processes on loopback, each with its own data folder, token and
 * certificates, joined by one relay. Used by `pruem demo` and by the multi-gateway integration
 * tests, so both exercise exactly what an operator runs.
 */
export interface NodeSpec {
  readonly state: MemberStateCode;
  readonly apiPort: number;
  readonly smtpPort: number;
  /** The officers' client API (police LAN side); absent: not served. */
  readonly officersPort?: number;
  /** Synthetic national DNA profiles to seed on first provisioning (0: none). */
  readonly syntheticProfiles?: number;
  /** The vehicle service's HTTPS listener (TESTA side); absent: not served. */
  readonly vehiclePort?: number;
}

export interface NodeFiles {
  readonly spec: NodeSpec;
  readonly dataDir: string;
  readonly configPath: string;
}

/** Certificates a gateway publishes to its peers, as written by provisioning. */
export function publishedCertificates(dataDir: string): { signing: string; encryption: string } {
  return { signing: join(dataDir, 'certs', 'ncp-sign.pem'), encryption: join(dataDir, 'certs', 'ncp-decrypt.pem') };
}

/** Writes each node's configuration: every other node is a peer, reached through the relay. */
export function writeNetworkConfigs(root: string, nodes: readonly NodeSpec[], relay: { host: string; port: number }, extra: Record<string, unknown> = {}): NodeFiles[] {
  return nodes.map((spec) => {
    const dataDir = join(root, spec.state);
    mkdirSync(dataDir, { recursive: true });
    const config = {
      memberState: spec.state,
      dataDir,
      listen: {
        api: { host: '127.0.0.1', port: spec.apiPort },
        smtp: { host: '127.0.0.1', port: spec.smtpPort },
        officers: spec.officersPort === undefined ? null : { host: '127.0.0.1', port: spec.officersPort },
      },
      relay: { host: relay.host, port: relay.port },
      token: { label: `pruem-${spec.state.toLowerCase()}`, pin: { file: 'token.pin' } },
      peers: nodes
        .filter((n) => n.state !== spec.state)
        .map((n) => ({ code: n.state, certificates: publishedCertificates(join(root, n.state)), ...vehiclePeer(root, n) })),
      ...(spec.vehiclePort === undefined ? {} : { vehicle: { listen: { host: '127.0.0.1', port: spec.vehiclePort } } }),
      // The demo AFIS (synthetic population) answers fingerprint searches on the demo network.
      fingerprint: { afis: 'demo' },
      ...extra,
    };
    const configPath = join(dataDir, 'config.json');
    writeFileSync(configPath, JSON.stringify(config, null, 2));
    return { spec, dataDir, configPath };
  });
}

/** A demo peer's vehicle service: its URL, its listener's self-signed certificate, both services authorised. */
function vehiclePeer(root: string, n: NodeSpec): { vehicle?: { url: string; tlsCertificate: string; authorised: Array<'vin-search' | 'plate-search'> } } {
  if (n.vehiclePort === undefined) return {};
  return { vehicle: { url: `https://127.0.0.1:${n.vehiclePort}/vehicle`, tlsCertificate: join(root, n.state, 'tls', 'management-cert.pem'), authorised: ['vin-search', 'plate-search'] } };
}

/**
 * First start of a node: development token and certificates, the synthetic DNA database, and a
 * demo officer authorised for DNA searches (so the officers' API can be tried at once).
 */
export async function provisionNode(node: NodeFiles): Promise<void> {
  const log = join(node.dataDir, 'provision.log');
  await runPruem(['provision', '--development', '--config', node.configPath], log);
  const seeded = join(node.dataDir, 'dna-seed.jsonl');
  if (node.spec.syntheticProfiles && !existsSync(seeded)) {
    writeSyntheticDatabase(seeded, node.spec.state, node.spec.syntheticProfiles);
    await runPruem(['dna', 'import', '--db', join(node.dataDir, 'dna.sqlite'), seeded], join(node.dataDir, 'dna-import.log'));
  }
  const officer = demoOfficer(node.spec.state);
  if (!existsSync(join(node.dataDir, 'officer.granted'))) {
    await runPruem(['audit', '--config', node.configPath, 'officers', 'add', '--id', officer, '--name', 'Demo Officer', '--channels', 'dna,fp,vrd'], join(node.dataDir, 'officer.log'));
    writeFileSync(join(node.dataDir, 'officer.granted'), `${officer}\n`);
  }
  // The ordering officer is checked against the list too (Art. 30(2)(a)).
  const ordering = demoOrderingOfficer(node.spec.state);
  if (!existsSync(join(node.dataDir, 'ordering-officer.granted'))) {
    await runPruem(['audit', '--config', node.configPath, 'officers', 'add', '--id', ordering, '--name', 'Demo Prosecutor', '--channels', 'dna,fp,vrd'], join(node.dataDir, 'officer.log'));
    writeFileSync(join(node.dataDir, 'ordering-officer.granted'), `${ordering}\n`);
  }
  // The example client system's own credential (each national client system gets one).
  if (!existsSync(demoClientKeyPath(node))) {
    await runPruem(['officers-client', '--config', node.configPath, 'add', '--name', DEMO_CLIENT, '--out', demoClientKeyPath(node)], join(node.dataDir, 'officers-client.log'));
  }
  writeFingerprintExamples(node.dataDir, node.spec.state, officer);
}

export const DEMO_CLIENT = 'demo-client';

/** Where the demo keeps its example client's officers' API credential (mode 0600). */
export function demoClientKeyPath(node: { readonly dataDir: string }): string {
  return join(node.dataDir, `${DEMO_CLIENT}.key`);
}

export function demoOrderingOfficer(state: MemberStateCode): string {
  return `${state}-PROSECUTOR-7`;
}

export function demoOfficer(state: MemberStateCode): string {
  return `${state}-OFFICER-1`;
}

/** A gateway child's environment: what tools need and the gateway's own settings, nothing else of ours. */
function gatewayEnvironment(): NodeJS.ProcessEnv {
  return childEnvironment({ pass: ['PRUEM_LOG_LEVEL', 'PRUEM_DEMO', 'NODE_OPTIONS', 'USER', 'SUDO_USER'] });
}

/** Runs `pruem <args>` to completion; rejects with its output when it fails. */
export function runPruem(args: readonly string[], logFile?: string): Promise<void> {
  const { command, args: base } = pruemCommand();
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...base, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: gatewayEnvironment() });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (logFile) writeFileSync(logFile, output);
      if (code === 0) resolve();
      else reject(new Error(`pruem ${args.join(' ')} exited ${code}: ${output.slice(-2000)}`));
    });
  });
}

/**
 * Starts `pruem run --config …` as a child process, its output appended to <dataDir>/gateway.log.
 * `demo`: a gateway of `pruem demo`, which says so in /api/status (its relay is the local stand-in,
 * not TESTA, so the configuration alone cannot tell).
 */
export function spawnGateway(node: NodeFiles, opts: { demo?: boolean } = {}): ChildProcess {
  const { command, args } = pruemCommand();
  const log = createWriteStream(join(node.dataDir, 'gateway.log'), { flags: 'a' });
  const env = opts.demo ? { ...gatewayEnvironment(), PRUEM_DEMO: '1' } : gatewayEnvironment();
  const child = spawn(command, [...args, 'run', '--config', node.configPath], { stdio: ['ignore', 'pipe', 'pipe'], env });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

/** Waits until a gateway's /api/health answers, or fails after timeoutMs (start-up includes the token). */
export async function waitForHealth(apiPort: number, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    try {
      // Bounded: a listener that accepts but never answers must not hold one attempt for minutes.
      const res = await fetch(`http://127.0.0.1:${apiPort}/api/health`, { signal: AbortSignal.timeout(5_000) });
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`gateway on port ${apiPort} did not become healthy: ${last}`);
}

/**
 * Calls `onCode` with each one-time console set-up code in a gateway's log output (pino JSON lines,
 * field `setupCode`): the daemon shows it on the appliance's local console, and `pruem demo` in the
 * terminal that started it.
 */
export function watchSetupCodes(output: NodeJS.ReadableStream, onCode: (code: string) => void): void {
  let pending = '';
  output.on('data', (chunk: Buffer | string) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const code = setupCodeOf(line);
      if (code !== null) onCode(code);
    }
  });
}

/** The set-up code a log line carries, or null (also for a line that is not a log record). */
export function setupCodeOf(line: string): string | null {
  if (!line.includes('"setupCode"')) return null;
  try {
    const code = (JSON.parse(line) as { setupCode?: unknown }).setupCode;
    return typeof code === 'string' && code !== '' ? code : null;
  } catch {
    return null;
  }
}
