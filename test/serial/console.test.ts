import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../appliance/db/database.js';
import { AccountService } from '../../appliance/accounts/service.js';
import { loadConfig } from '../../appliance/config/config.js';
import { configFilePort } from '../../appliance/api/wiring/index.js';
import { MessageQueue } from '../../appliance/queue/queue.js';
import { LinkTracker } from '../../appliance/exchange/links.js';
import { ServiceBoard, gatewayStatus } from '../../appliance/status/status.js';
import { startSerialConsole, type SerialConsole } from '../../appliance/serial/port.js';
import type { SerialDeps } from '../../appliance/serial/session.js';
import { TEST_SCRYPT } from '../api/harness.js';
import { cable, Terminal, type Cable } from './support.js';

let dir: string;
let db: Db;
let link: Cable;
let serial: SerialConsole;
let setupCode: string | null = 'ABCD-EFGH-JKMN';
const system: string[] = [];
const audit: Array<{ action: string; actor: string; outcome: string; target: string }> = [];
let configPath: string;
const PASSWORD = 'correct horse battery';
let lateDeps: SerialDeps | null = null;
const depsForLate = (): SerialDeps => lateDeps!;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pruem-serial-'));
  db = openDatabase(join(dir, 'gateway.sqlite'));
  const accounts = new AccountService(db, { scrypt: TEST_SCRYPT, lockout: { maxFailures: 3, lockMinutes: 15 } });
  for (const [username, role] of [['tech.one', 'technician'], ['tech.two', 'technician'], ['op.one', 'operator']] as const) {
    const r = await accounts.create({ username, displayName: username, role, password: PASSWORD }, Date.now());
    assert.ok(r.ok);
  }
  configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify({ memberState: 'RO', dataDir: join(dir, 'data'), peers: [{ code: 'DE' }] }));
  const config = configFilePort(loadConfig(configPath), configPath);
  const queue = new MessageQueue(db);
  const links = new LinkTracker(db);
  const services = new ServiceBoard();
  services.set('token', 'down', 'absent: no token labelled "pruem"');
  const deps: SerialDeps = {
    accounts,
    status: () => ({
      ...gatewayStatus({ memberState: 'RO', version: 'test', startedAt: new Date(), demo: false, queue, links, services, peerChannels: () => [{ state: 'DE', channel: 'dna', enabled: true }] }),
      provisioning: { ready: false, mode: 'production', missing: ['certificate ncp-sign (DNA and fingerprint mail signing): not imported'], expiring: ['certificate audit (audit log signing) expires in 12 days (2026-12-18): renew it (pruem provision renew)'] },
    }),
    // The token's own states are tested in test/token/; here, what a box without its card reports.
    token: () => ({ state: 'absent', detail: 'no token labelled "pruem"', label: 'pruem', module: '/usr/lib/softhsm/libsofthsm2.so', manufacturer: null, model: null, serialNumber: null, checkedAt: new Date().toISOString() }),
    setupCode: () => setupCode,
    config,
    provision: async () => {
      throw new Error('not used in this test');
    },
    system: { restartService: async () => void system.push('restart'), reboot: async () => void system.push('reboot') },
    audit: (e) => audit.push(e),
    idleMs: 2_000,
    version: 'test',
  };
  lateDeps = deps;
  link = await cable(join(dir, 'ttyS0'), join(dir, 'ttyTech'));
  serial = startSerialConsole({ device: link.console, baudRate: 115200, reopenMs: 100 }, deps);
  await serial.opened();
});

after(async () => {
  await serial?.close();
  await link?.pull();
  db?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the serial console: set-up code, technician sign-in with lockout, status, a persisted network setting, reboot behind a confirmation', async () => {
  const t = await Terminal.open(link.terminal);
  try {
    t.send('');
    await t.expect(/NOT PROVISIONED: 1 item\(s\) missing/);
    await t.expect(/Console set-up code \(first-run wizard\): ABCD-EFGH-JKMN/);
    await t.expect(/login: $/);

    // Lockout: the console's rule (3 failures here) applies on the serial line too.
    for (let i = 0; i < 3; i++) {
      t.send('tech.two');
      await t.expect(/password: $/);
      t.send('wrong password!!');
      await t.expect(i < 2 ? /Sign-in refused\./ : /Account locked until/);
    }
    t.send('tech.two');
    t.send(PASSWORD);
    await t.expect(/Account locked until/);
    t.send('op.one');
    t.send(PASSWORD);
    await t.expect(/for technicians only/);

    t.send('tech.one');
    const pw = await t.expect(/password: $/);
    t.send(PASSWORD);
    const signedIn = await t.expect(/Signed in as tech\.one\.[\s\S]*choice> $/);
    assert.doesNotMatch(pw + signedIn, /correct horse/, 'the password is not echoed');

    t.send('1');
    const status = await t.expect(/Disk: [^\r\n]+\r\n/);
    assert.match(status, /== Status RO/);
    assert.match(status, /Provisioning: NOT READY/);
    assert.match(status, /missing: certificate ncp-sign/);
    assert.match(status, /Token: absent/);
    assert.match(status, /DE dna: unknown/);
    assert.match(status, /dna in: 0/);
    assert.match(status, /! certificate audit \(audit log signing\) expires in 12 days/);
    assert.match(status, /Disk: \d+\.\d GiB free of/);

    // A bad address is refused, a good one persisted in the configuration file.
    t.send('2');
    await t.expect(/Interface \[eth0\]/);
    t.send('eth1');
    t.send('10.20.30.400/24');
    t.send('');
    t.send('');
    await t.expect(/Not saved: network\.address/);
    t.send('2');
    await t.expect(/Interface \[eth0\]/);
    t.send('eth1');
    await t.expect(/Address with prefix/);
    t.send('10.20.30.40/24');
    await t.expect(/Gateway/);
    t.send('10.20.30.1');
    await t.expect(/DNS servers/);
    t.send('10.20.30.2, 10.20.30.3');
    await t.expect(/Saved: eth1 10\.20\.30\.40\/24 via 10\.20\.30\.1/);
    const saved = JSON.parse(readFileSync(configPath, 'utf8')) as { network: unknown; memberState: string };
    assert.deepEqual(saved.network, { interface: 'eth1', address: '10.20.30.40/24', gateway: '10.20.30.1', dns: ['10.20.30.2', '10.20.30.3'] });
    assert.equal(loadConfig(configPath).network?.address, '10.20.30.40/24');

    t.send('6');
    await t.expect(/type "reboot"/);
    t.send('yes');
    await t.expect(/Not rebooted\./);
    assert.deepEqual(system, []);
    t.send('6');
    await t.expect(/type "reboot"/);
    t.send('reboot');
    await t.expect(/Rebooting/);
    assert.deepEqual(system, ['reboot']);

    // Idle: signed out after idleMs without a key.
    await t.expect(/Signed out after inactivity\.[\s\S]*login: $/);
    assert.ok(audit.some((e) => e.action === 'login' && e.actor === 'tech.one'));
    assert.ok(audit.some((e) => e.action === 'login-failed' && e.actor === 'tech.two'));
    assert.ok(audit.some((e) => e.action === 'config-change' && e.target === 'network settings' && e.outcome === 'success'));
    assert.ok(audit.some((e) => e.action === 'logout' && e.actor === 'tech.one'));
  } finally {
    await t.close();
  }
});

test('the cable pulled and plugged back: the console reopens the line with a fresh, signed-out session', async () => {
  let t = await Terminal.open(link.terminal);
  t.send('tech.one');
  t.send(PASSWORD);
  await t.expect(/Signed in as tech\.one/);
  await t.close();
  await link.pull();
  const until = Date.now() + 20_000;
  while (serial.isOpen && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  assert.equal(serial.isOpen, false, 'the console noticed the line went away');
  setupCode = 'PQRS-TUVW-XYZ2';
  await link.plug();
  await serial.opened();
  t = await Terminal.open(link.terminal);
  try {
    t.send('');
    await t.expect(/Console set-up code \(first-run wizard\): PQRS-TUVW-XYZ2[\s\S]*login: $/);
    t.send('1');
    await t.expect(/password: $/);
    t.send('x');
    await t.expect(/Sign-in refused/);
  } finally {
    await t.close();
  }
});

test('a console started before its device exists opens it once it appears', async () => {
  const late = { console: join(dir, 'ttyLate'), terminal: join(dir, 'ttyLateTech') };
  const deps = { ...depsForLate() };
  const s = startSerialConsole({ device: late.console, baudRate: 115200, reopenMs: 100 }, deps);
  try {
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(s.isOpen, false);
    const c = await cable(late.console, late.terminal);
    try {
      await s.opened();
      const t = await Terminal.open(c.terminal);
      t.send('');
      await t.expect(/login: $/);
      await t.close();
    } finally {
      await s.close();
      await c.pull();
    }
  } finally {
    await s.close();
  }
});
