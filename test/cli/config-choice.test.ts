import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../appliance/cli/pruem.js';
import { capture } from './capture.js';
import { chooseConfig, describeChoice, DEMO_CONFIG } from '../../appliance/cli/config-path.js';
import { freePort } from '../support/ports.js';

test('without --config: $PRUEM_CONFIG, then the installed file, then the demo network, then the defaults', () => {
  const cwd = '/work/x';
  const files = new Set<string>();
  const lookup = (env: Record<string, string> = {}) => ({ env, cwd, installed: '/etc/pruem/config.json', exists: (p: string) => files.has(p) });
  assert.deepEqual(chooseConfig(undefined, lookup()), { path: undefined, source: 'defaults' });
  files.add(join(cwd, DEMO_CONFIG));
  assert.deepEqual(chooseConfig(undefined, lookup()), { path: '/work/x/var/demo/RO/config.json', source: 'demo' });
  files.add('/etc/pruem/config.json');
  assert.deepEqual(chooseConfig(undefined, lookup()), { path: '/etc/pruem/config.json', source: 'installed' });
  assert.deepEqual(chooseConfig(undefined, lookup({ PRUEM_CONFIG: '/srv/gw.json' })), { path: '/srv/gw.json', source: 'environment' });
  assert.deepEqual(chooseConfig('mine.json', lookup({ PRUEM_CONFIG: '/srv/gw.json' })), { path: 'mine.json', source: 'option' });
  // Every choice but an explicit --config is said out loud.
  assert.equal(describeChoice({ path: 'mine.json', source: 'option' }, cwd), null);
  assert.match(describeChoice({ path: '/work/x/var/demo/RO/config.json', source: 'demo' }, cwd) ?? '', /configuration var\/demo\/RO\/config\.json \(the demo network/);
  assert.match(describeChoice({ path: undefined, source: 'defaults' }, cwd) ?? '', /embedded defaults .*\/work\/x\/var/);
});

test("pruem status finds the demo network's gateway from the working folder and says so, creating nothing", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pruem-cli-demo-'));
  const port = await freePort();
  // A stand-in for the running demo gateway RO: answers its status on the port the demo configured.
  const server: Server = createServer((req, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(req.url === '/api/status' ? { memberState: 'RO', demo: true, answeredBy: 'the-demo-gateway' } : {}));
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const before = process.cwd();
  const savedEnv = process.env.PRUEM_CONFIG;
  try {
    delete process.env.PRUEM_CONFIG;
    const demoDir = join(dir, 'var', 'demo', 'RO');
    mkdirSync(demoDir, { recursive: true });
    writeFileSync(join(demoDir, 'config.json'), JSON.stringify({ memberState: 'RO', dataDir: demoDir, listen: { api: { host: '127.0.0.1', port } } }));
    process.chdir(dir);
    const c = capture();
    assert.equal(await main(['status'], c.io), 0, c.text().stderr);
    assert.match(c.text().stdout, /the-demo-gateway/);
    assert.match(c.text().stderr, /configuration var\/demo\/RO\/config\.json \(the demo network's gateway RO/);
    assert.deepEqual(readdirSync(join(dir, 'var')), ['demo'], 'no second installation next to the demo');

    // `audit verify` needs no configuration: nothing is announced for it.
    mkdirSync(join(dir, 'not-a-bundle'));
    const v = capture();
    assert.equal(await main(['audit', 'verify', 'not-a-bundle'], v.io), 1);
    assert.doesNotMatch(v.text().stderr, /configuration/);
  } finally {
    process.chdir(before);
    if (savedEnv !== undefined) process.env.PRUEM_CONFIG = savedEnv;
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pruem --version prints the product version (package.json, the same the daemon reports)', async () => {
  const c = capture();
  assert.equal(await main(['--version'], c.io), 0);
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  const { VERSION } = await import('../../appliance/main.js');
  assert.equal(VERSION, pkg.version, 'main.ts VERSION and package.json agree');
  assert.equal(c.text().stdout, `pruem ${pkg.version} (Node.js ${process.version})\n`);
  assert.ok(existsSync(new URL('../../package.json', import.meta.url)));
});
