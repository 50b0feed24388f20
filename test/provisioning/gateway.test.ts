import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { spawnGateway, waitForHealth, type NodeFiles } from '../../appliance/demo/network.js';
import { startDemoRelay, type DemoRelay } from '../../appliance/demo/relay.js';
import { DEMO_PROFILE, writeSyntheticDatabase } from '../../appliance/demo/seed.js';
import type { MemberStateCode } from '../../appliance/peers/member-states.js';
import { freePort } from '../support/ports.js';
import { eventually } from '../support/gateways.js';
import { makeBox, makeCa, issueAll, initialFlags, pruem, type Box, type TestCa } from './support.js';

/**
 * Issue 13, done when: two boxes provisioned from flags in production mode (fresh SoftHSM2 tokens, no
 * development certificate), every certificate — the decryption key's too — issued by an openssl CA
 * standing in for the national PKI; RO's daemon is started before its certificates are imported, serves
 * the console and says what is missing with the TESTA side closed, then opens it after the import without
 * a restart; then RO searches DE's DNA database through a relay, both using the issued certificates.
 */
let root: string;
let ca: TestCa;
let relay: DemoRelay;
const boxes = new Map<MemberStateCode, { box: Box; ports: { api: number; smtp: number; officers: number }; child?: ChildProcess }>();

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function node(state: MemberStateCode): NodeFiles {
  const b = boxes.get(state)!;
  return { spec: { state, apiPort: b.ports.api, smtpPort: b.ports.smtp, officersPort: b.ports.officers }, dataDir: b.box.dataDir, configPath: b.box.configPath };
}

async function start(state: MemberStateCode): Promise<void> {
  const b = boxes.get(state)!;
  b.child = spawnGateway(node(state));
  await waitForHealth(b.ports.api, 90_000);
}

async function status(state: MemberStateCode): Promise<{ provisioning?: { ready: boolean; missing: string[] }; services: Array<{ name: string; state: string; detail: string }> }> {
  const res = await fetch(`http://127.0.0.1:${boxes.get(state)!.ports.api}/api/status`);
  return (await res.json()) as never;
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'pruem-prov-gw-'));
  ca = await makeCa(join(root, 'ca'));
  const relayPort = await freePort();
  for (const state of ['RO', 'DE'] as const) {
    const ports = { api: await freePort(), smtp: await freePort(), officers: await freePort() };
    const box = makeBox(root, state, {
      listen: { api: { host: '127.0.0.1', port: ports.api }, smtp: { host: '127.0.0.1', port: ports.smtp }, officers: { host: '127.0.0.1', port: ports.officers } },
      relay: { host: '127.0.0.1', port: relayPort },
    });
    boxes.set(state, { box, ports });
  }
  relay = await startDemoRelay({ host: '127.0.0.1', port: relayPort, routes: [...boxes].map(([state, b]) => ({ state, host: '127.0.0.1', port: b.ports.smtp })), maxMessageBytes: 20 * 1024 * 1024 });
});

after(async () => {
  for (const b of boxes.values()) b.child?.kill('SIGTERM');
  await Promise.all([...boxes.values()].map((b) => (b.child && b.child.exitCode === null ? new Promise((r) => b.child!.once('exit', r)) : null)));
  await relay?.close();
  if (!process.env.PRUEM_KEEP_TEST_DIRS) rmSync(root, { recursive: true, force: true });
});

test('production boxes: started before the import, operational after it without a restart, DNA exchanged with the issued certificates', async () => {
  const issued = new Map<MemberStateCode, string[]>();
  for (const [state, { box }] of boxes) {
    const r = await pruem(['provision', ...initialFlags(box)]);
    assert.equal(r.code, 0, r.out);
    issued.set(state, await issueAll(ca, box, join(root, `issued-${state}`)));
    assert.equal(issued.get(state)!.length, 3, 'a certificate for every key, the decryption key included');
  }
  const peerBundle = (state: MemberStateCode) => issued.get(state)!.filter((f) => !f.endsWith('audit.pem')).flatMap((f) => ['--peers', f]);
  const ro = boxes.get('RO')!;
  // Peers first (the daemon reads them at start); RO's own certificates not yet.
  const peers = await pruem(['provision', '--config', ro.box.configPath, ...peerBundle('DE'), '--yes']);
  assert.equal(peers.code, 0, peers.out);
  assert.match(peers.out, /peer certificate DE signing: C=DE, O=DE Police, CN=DE NCP DNA and fingerprint mail signing — issuer C=EU, O=Test National PKI, CN=Test National PKI Root CA — valid \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d — SHA-256 [0-9a-f]{64}/);

  await start('RO');
  const waiting = await status('RO');
  assert.equal(waiting.provisioning?.ready, false);
  assert.ok(waiting.provisioning?.missing.some((m) => /^certificate ncp-sign .*not imported — request waiting for the CA/.test(m)), JSON.stringify(waiting.provisioning));
  assert.ok(waiting.provisioning?.missing.some((m) => /^certificate ncp-decrypt /.test(m)));
  assert.ok(waiting.provisioning?.missing.some((m) => /^certificate audit /.test(m)), JSON.stringify(waiting.provisioning));
  assert.match(waiting.services.find((s) => s.name === 'smtp-receiver')?.detail ?? '', /closed until provisioned/);
  assert.equal(await portOpen(ro.ports.smtp), false, 'the SMTP receiver is closed while unprovisioned');
  // The console is served: its first-run wizard answers.
  const setup = await fetch(`http://127.0.0.1:${ro.ports.api}/api/setup`);
  assert.equal(setup.status, 200);
  assert.equal(((await setup.json()) as { needed: boolean }).needed, true);

  const imp = await pruem(['provision', '--config', ro.box.configPath, '--ca', ca.cert, ...issued.get('RO')!.flatMap((f) => ['--certificate', f])]);
  assert.equal(imp.code, 0, imp.out);
  const pid = ro.child!.pid;
  await eventually(async () => (await status('RO')).provisioning?.ready === true, 'RO operational after the import', 60_000);
  await eventually(() => portOpen(ro.ports.smtp), 'RO SMTP receiver open', 30_000);
  assert.equal(ro.child!.pid, pid);
  assert.equal(ro.child!.exitCode, null, 'no restart');

  // DE: its own certificates and RO as peer, a national DNA database holding the demo profile.
  const de = boxes.get('DE')!;
  const deImp = await pruem(['provision', '--config', de.box.configPath, '--ca', ca.cert, ...issued.get('DE')!.flatMap((f) => ['--certificate', f]), ...peerBundle('RO'), '--yes']);
  assert.equal(deImp.code, 0, deImp.out);
  assert.match(deImp.out, /state: ready/);
  const seed = join(de.box.dataDir, 'seed.jsonl');
  writeSyntheticDatabase(seed, 'DE', 50);
  const imported = await pruem(['dna', 'import', '--db', join(de.box.dataDir, 'dna.sqlite'), seed]);
  assert.equal(imported.code, 0, imported.out);
  await start('DE');

  for (const [id, name] of [['RO-OFFICER-1', 'Officer One'], ['RO-PROSECUTOR-1', 'Prosecutor One']]) {
    const officer = await pruem(['audit', '--config', ro.box.configPath, 'officers', 'add', '--id', id!, '--name', name!, '--channels', 'dna']);
    assert.equal(officer.code, 0, officer.out);
  }
  const keyFile = join(ro.box.dir, 'client.key');
  const client = await pruem(['officers-client', '--config', ro.box.configPath, 'add', '--name', 'test-client', '--out', keyFile]);
  assert.equal(client.code, 0, client.out);
  assert.ok(existsSync(keyFile));
  const key = readFileSync(keyFile, 'utf8').trim();
  const base = `http://127.0.0.1:${ro.ports.officers}/api`;
  const created = await fetch(`${base}/dna/searches`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ officerId: 'RO-OFFICER-1', orderingOfficerId: 'RO-PROSECUTOR-1', reason: 'provisioning acceptance', targets: ['DE'], profiles: [{ id: 'RO-S-1', type: 'S', loci: DEMO_PROFILE }] }),
  });
  const body = (await created.json()) as { id: string };
  assert.equal(created.status, 201, JSON.stringify(body));
  type View = { complete: boolean; results: Array<{ state: string; hit?: { profileIdent: string; quality: number } }> };
  const seen: View[] = [];
  await eventually(
    async () => {
      const res = await fetch(`${base}/dna/searches/${body.id}`, { headers: { authorization: `Bearer ${key}` } });
      seen.push((await res.json()) as View);
      return seen.at(-1)!.complete;
    },
    'DE answered the search',
    120_000,
  );
  const v = seen.at(-1)!;
  assert.ok(v.results.some((r) => r.state === 'DE' && r.hit?.profileIdent === 'DE-DEMO-0001' && r.hit.quality === 1), JSON.stringify(v.results));
});
