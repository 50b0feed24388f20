import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { CommandIo } from '../cli/io.js';
import { provisionNode, demoOfficer, spawnGateway, waitForHealth, writeNetworkConfigs, type NodeSpec } from './network.js';
import { startDemoRelay } from './relay.js';
import { DEMO_PROFILE } from './seed.js';
import { vehicleExample } from './vehicle-example.js';

/** Our gateway and two simulated peer States, with fixed ports so a newcomer can find them. */
export const DEMO_NODES: readonly NodeSpec[] = [
  { state: 'RO', apiPort: 8080, smtpPort: 2525, officersPort: 8090, vehiclePort: 8443, syntheticProfiles: 2000 },
  { state: 'DE', apiPort: 8081, smtpPort: 2526, officersPort: 8091, vehiclePort: 8444, syntheticProfiles: 2000 },
  { state: 'AT', apiPort: 8082, smtpPort: 2527, officersPort: 8092, vehiclePort: 8445, syntheticProfiles: 2000 },
];
export const DEMO_RELAY_PORT = 2500;

/**
 * `pruem demo` (what `make run` starts when no TESTA link is configured): provisions each
 * gateway's development token on first start, starts the local relay, then the three gateway
 * processes, and stops them all on Ctrl-C.
 */
export async function runDemo(opts: { dir: string; fresh: boolean }, io: CommandIo): Promise<number> {
  const root = resolve(opts.dir);
  if (opts.fresh && existsSync(root)) rmSync(root, { recursive: true, force: true });
  const nodes = writeNetworkConfigs(root, DEMO_NODES, { host: '127.0.0.1', port: DEMO_RELAY_PORT });
  for (const node of nodes) {
    io.stdout.write(`provisioning ${node.spec.state} (development token in ${join(node.dataDir, 'softhsm')})…\n`);
    await provisionNode(node);
  }
  const relay = await startDemoRelay({
    host: '127.0.0.1',
    port: DEMO_RELAY_PORT,
    routes: DEMO_NODES.map((n) => ({ state: n.state, host: '127.0.0.1', port: n.smtpPort })),
    maxMessageBytes: 20 * 1024 * 1024,
  });
  const children: ChildProcess[] = [];
  const stopAll = async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', r)))));
    await relay.close();
  };
  try {
    for (const node of nodes) {
      const child = spawnGateway(node);
      children.push(child);
      child.once('exit', (code, signal) => io.stderr.write(`gateway ${node.spec.state} exited (${signal ?? code}); log: ${join(node.dataDir, 'gateway.log')}\n`));
      await waitForHealth(node.spec.apiPort);
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  io.stdout.write(
    [
      '',
      'Prüm gateway demo network is up:',
      ...nodes.map((n) => `  ${n.spec.state}  console/API http://127.0.0.1:${n.spec.apiPort}   log ${join(n.dataDir, 'gateway.log')}`),
      `  local TESTA relay stand-in on 127.0.0.1:${DEMO_RELAY_PORT}`,
      '',
      'Try:  curl http://127.0.0.1:8080/api/status',
      '',
      'Send a DNA search from RO to all peers (DE holds the demo profile, AT a near match):',
      `  curl -s -H "Authorization: Bearer $(cat ${join(nodes[0]!.dataDir, 'officers-api.key')})" -H 'Content-Type: application/json' \\`,
      `    -d '${JSON.stringify({ officerId: demoOfficer('RO'), orderingOfficerId: 'RO-PROSECUTOR-7', reason: 'demo: burglary case 123/2026', targets: 'all', profiles: [{ id: 'RO-CASE-123-S1', type: 'S', loci: DEMO_PROFILE }] })}' \\`,
      '    http://127.0.0.1:8090/api/dna/searches',
      '  then GET http://127.0.0.1:8090/api/dna/searches/<id> with the same header to see the hits.',
      ...(await vehicleExample(nodes[0]!.dataDir)),
      'Stop: Ctrl-C',
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolveStop) => {
    process.once('SIGINT', resolveStop);
    process.once('SIGTERM', resolveStop);
  });
  io.stdout.write('stopping the demo network…\n');
  await stopAll();
  return 0;
}
