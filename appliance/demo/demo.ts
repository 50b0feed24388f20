import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { CommandIo } from '../cli/io.js';
import { provisionNode, demoOfficer, demoOrderingOfficer, demoClientKeyPath, spawnGateway, waitForHealth, watchSetupCodes, writeNetworkConfigs, type NodeFiles, type NodeSpec } from './network.js';
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
  let setupCode: string | null = null;
  let up = false;
  const stopAll = async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', r)))));
    await relay.close();
  };
  try {
    for (const node of nodes) {
      const child = spawnGateway(node, { demo: true });
      children.push(child);
      if (node === nodes[0] && child.stdout) {
        // Our gateway's console asks for this code on the first visit; a new one follows failed tries.
        watchSetupCodes(child.stdout, (code) => {
          setupCode = code;
          if (up) io.stdout.write(`${node.spec.state} console: new one-time set-up code ${code}\n`);
        });
      }
      child.once('exit', (code, signal) => io.stderr.write(`gateway ${node.spec.state} exited (${signal ?? code}); log: ${join(node.dataDir, 'gateway.log')}\n`));
      await waitForHealth(node.spec.apiPort);
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  // RO logs its code before its /api/health answers, and DE and AT start after it: the code is here.
  io.stdout.write(demoBanner(nodes, setupCode));
  io.stdout.write(`${(await vehicleExample(demoClientKeyPath(nodes[0]!), `http://127.0.0.1:${nodes[0]!.spec.officersPort ?? 8090}`)).join('\n')}\n`);
  up = true;
  await new Promise<void>((resolveStop) => {
    process.once('SIGINT', resolveStop);
    process.once('SIGTERM', resolveStop);
  });
  io.stdout.write('stopping the demo network…\n');
  await stopAll();
  return 0;
}

/** What the terminal shows once the network is up: where everything is, the console's set-up code, a search to try. */
export function demoBanner(nodes: readonly NodeFiles[], setupCode: string | null): string {
  const ours = nodes[0]!;
  return [
    '',
    'Prüm gateway demo network is up:',
    ...nodes.map((n) => `  ${n.spec.state}  console/API http://127.0.0.1:${n.spec.apiPort}   log ${join(n.dataDir, 'gateway.log')}`),
    `  local TESTA relay stand-in on 127.0.0.1:${DEMO_RELAY_PORT}`,
    '',
    setupCode !== null
      ? `Console: open http://127.0.0.1:${ours.spec.apiPort} and enter the one-time set-up code  ${setupCode}`
      : `Console: http://127.0.0.1:${ours.spec.apiPort} (an account exists already: sign in with it)`,
    '',
    `Try:  curl http://127.0.0.1:${ours.spec.apiPort}/api/status     (it says "demo": true)`,
    '',
    'Send a DNA search from RO to all peers (DE holds the demo profile, AT a near match):',
    `  curl -s -H "Authorization: Bearer $(cat ${demoClientKeyPath(ours)})" -H 'Content-Type: application/json' \\`,
    `    -d '${JSON.stringify({ officerId: demoOfficer('RO'), orderingOfficerId: demoOrderingOfficer('RO'), reason: 'demo: burglary case 123/2026', targets: 'all', profiles: [{ id: 'RO-CASE-123-S1', type: 'S', loci: DEMO_PROFILE }] })}' \\`,
    `    http://127.0.0.1:${ours.spec.officersPort ?? 8090}/api/dna/searches`,
    `  then GET http://127.0.0.1:${ours.spec.officersPort ?? 8090}/api/dna/searches/<id> with the same header to see the answers`,
    '  (rows of kind "echo" are each State\'s answer for our profile; rows of kind "match" are its candidate profiles).',
    "  (the demo's client system \"demo-client\" has its own credential; make others with `pruem officers-client add`).",
    '',
    "Send a fingerprint search (MPS: a latent from a crime scene) from RO to all peers (DE's demo AFIS holds the ten-print):",
    `  curl -s -H "Authorization: Bearer $(cat ${demoClientKeyPath(ours)})" -H 'Content-Type: application/json' \\`,
    `    -d @${join(ours.dataDir, 'fp-example-mps.json')} http://127.0.0.1:${ours.spec.officersPort ?? 8090}/api/fp/searches`,
    `  then GET http://127.0.0.1:${ours.spec.officersPort ?? 8090}/api/fp/searches/<id>: an SRE hit from DE (its record's CRN and score), an SRE no-hit from AT.`,
    `  (${join(ours.dataDir, 'fp-example-cps.json')} and fp-example-pms.json: a ten-print against persons, and against unsolved latents: AT holds one.)`,
    '',
    `Vehicle search in the console: as a technician, add an account "${demoOfficer('RO')}" with the role officer (that name is on the`,
    `  list of authorised officers), sign in with it and search VIN PRMDEZZZ000000001 in all States (ordering officer ${demoOrderingOfficer('RO')}).`,
    'Stop: Ctrl-C',
    '',
  ].join('\n');
}
