import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { runPruem, spawnGateway, waitForHealth, watchSetupCodes, writeNetworkConfigs } from '../../appliance/demo/network.js';
import { demoBanner } from '../../appliance/demo/demo.js';
import { freePort } from '../support/ports.js';

test('set-up codes are picked out of the log stream, whatever the chunking', () => {
  const out = new PassThrough();
  const seen: string[] = [];
  watchSetupCodes(out, (c) => seen.push(c));
  const line1 = `${JSON.stringify({ level: 40, setupCode: 'ABCD-EFGH-1234', msg: 'no console account yet' })}\n`;
  const line2 = `${JSON.stringify({ level: 30, msg: 'setupCode mentioned in prose only' })}\nnot json "setupCode" at all\n`;
  const line3 = `${JSON.stringify({ level: 40, setupCode: 'WXYZ-0000-9999' })}\n`;
  const all = line1 + line2 + line3;
  for (let i = 0; i < all.length; i += 7) out.write(all.slice(i, i + 7));
  assert.deepEqual(seen, ['ABCD-EFGH-1234', 'WXYZ-0000-9999']);
});

test('the demo banner shows the console set-up code, or says an account exists', () => {
  const nodes = [{ spec: { state: 'RO' as const, apiPort: 8080, smtpPort: 2525, officersPort: 8090 }, dataDir: '/d/RO', configPath: '/d/RO/config.json' }];
  assert.match(demoBanner(nodes, 'ABCD-EFGH-1234'), /one-time set-up code {2}ABCD-EFGH-1234/);
  assert.match(demoBanner(nodes, null), /an account exists already/);
});

test("a demo gateway says so in /api/status, and its set-up code reaches the terminal's watcher", async () => {
  const root = mkdtempSync(join(tmpdir(), 'pruem-demo-'));
  const apiPort = await freePort();
  const smtpPort = await freePort();
  const relayPort = await freePort();
  const [node] = writeNetworkConfigs(root, [{ state: 'RO', apiPort, smtpPort }], { host: '127.0.0.1', port: relayPort });
  assert.ok(node);
  await runPruem(['provision', '--development', '--config', node.configPath], join(node.dataDir, 'provision.log'));
  const child = spawnGateway(node, { demo: true });
  const codes: string[] = [];
  assert.ok(child.stdout);
  watchSetupCodes(child.stdout, (c) => codes.push(c));
  try {
    await waitForHealth(apiPort, 90_000);
    const status = (await (await fetch(`http://127.0.0.1:${apiPort}/api/status`)).json()) as { demo?: unknown; memberState?: unknown };
    assert.equal(status.memberState, 'RO');
    assert.equal(status.demo, true, 'a gateway of the demo network says so, though its relay is configured');
    for (let i = 0; i < 50 && codes.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(codes.length, 1, 'the first-run code is shown once');
    assert.match(readFileSync(join(node.dataDir, 'gateway.log'), 'utf8'), new RegExp(`"setupCode":"${codes[0]}"`));
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await once(child, 'exit');
    rmSync(root, { recursive: true, force: true });
  }
});
