import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../appliance/db/database.js';
import { AccountService } from '../../appliance/accounts/service.js';
import { AuditLog } from '../../appliance/audit/log.js';
import { loadConfig } from '../../appliance/config/config.js';
import { configFilePort } from '../../appliance/api/wiring/index.js';
import { MessageQueue } from '../../appliance/queue/queue.js';
import { LinkTracker } from '../../appliance/exchange/links.js';
import { ServiceBoard, gatewayStatus } from '../../appliance/status/status.js';
import { Token } from '../../appliance/token/token.js';
import { startGatewaySerial, type SerialConsole } from '../../appliance/serial/index.js';
import { tokenOptionsFromConfig } from '../../provisioning/index.js';
import { provisioningState, type ProvisioningState } from '../../provisioning/production.js';
import { readRecord } from '../../provisioning/state.js';
import { makeBox, makeCa, issueAll, pruem, type Box, type TestCa } from '../provisioning/support.js';
import { cable, Terminal, type Cable } from './support.js';

/** The provisioning steps from the serial console: keys and requests, the chain, the answers — the daemon's token, the same code as the CLI. */
let root: string;
let box: Box;
let ca: TestCa;
let db: Db;
let token: Token;
let link: Cable;
let serial: SerialConsole;
let state: ProvisioningState = { ready: false, mode: 'production', missing: [], expiring: [] };
const PASSWORD = 'rack-side technician 1';

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'pruem-serial-prov-'));
  ca = await makeCa(join(root, 'ca'));
  box = makeBox(root, 'RO', { serial: { enabled: true, device: join(root, 'ttyS0') } });
  // Only the Member State from the CLI; the token, keys and certificates come from the serial console.
  const r = await pruem(['provision', '--config', box.configPath, '--member-state', 'RO']);
  assert.equal(r.code, 0, r.out);
  const config = loadConfig(box.configPath);
  db = openDatabase(join(box.dataDir, 'gateway.sqlite'));
  const accounts = new AccountService(db);
  assert.ok((await accounts.create({ username: 'tech.one', displayName: 'Tech One', role: 'technician', password: PASSWORD }, Date.now())).ok);
  // As the daemon opens it on a new box: no token yet, no PIN (reported, not fatal).
  token = await Token.open(tokenOptionsFromConfig(config, { allowNotReady: true }));
  assert.equal(token.status().state, 'absent');
  const queue = new MessageQueue(db);
  const links = new LinkTracker(db);
  const services = new ServiceBoard();
  link = await cable(join(root, 'ttyS0'), join(root, 'ttyTech'));
  serial = startGatewaySerial({
    db,
    token,
    audit: new AuditLog(db, { origin: 'RO/pruem-gateway' }),
    version: 'test',
    configPath: box.configPath,
    config: configFilePort(config, box.configPath),
    status: () => ({ ...gatewayStatus({ memberState: 'RO', version: 'test', startedAt: new Date(), demo: false, queue, links, services, peerChannels: () => [] }), provisioning: state }),
    setupCode: () => null,
    system: { restartService: async () => undefined, reboot: async () => undefined },
    afterProvisioning: () => void provisioningState(loadConfig(box.configPath), token).then((s) => (state = s)),
  });
  await serial.opened();
});

after(async () => {
  await serial?.close();
  await link?.pull();
  await token?.close();
  db?.close();
  rmSync(root, { recursive: true, force: true });
});

test('keys, requests, the national chain and the certificates imported from the serial console', async () => {
  const t = await Terminal.open(link.terminal);
  try {
    t.send('tech.one');
    t.send(PASSWORD);
    await t.expect(/Signed in as tech\.one[\s\S]*choice> $/);
    t.send('3');
    await t.expect(/provisioning> $/);
    t.send('6');
    const pinPrompt = await t.expect(/User PIN: $/);
    t.send('ro-user-4711');
    await t.expect(/SO PIN/);
    t.send('ro-so-0815');
    await t.expect(/reads the PIN from/);
    t.send('');
    const initialised = await t.expect(/choice> $/, 60_000);
    assert.match(initialised, /token "prod-ro" initialised/);
    assert.doesNotMatch(pinPrompt + initialised, /ro-user-4711|ro-so-0815/, 'PINs are not echoed');
    assert.equal(token.status().state, 'ready', 'the daemon\'s token logged in with the new PIN');
    t.send('3');
    await t.expect(/provisioning> $/);
    t.send('1');
    const made = await t.expect(/choice> $/, 60_000);
    assert.match(made, /key ncp-decrypt generated/);
    assert.equal((made.match(/request for the CA: \S+\.csr/g) ?? []).length, 3, made);
    assert.match(made, /state: NOT ready/);

    const issued = await issueAll(ca, box, join(root, 'issued'));
    t.send('3');
    await t.expect(/provisioning> $/);
    t.send('2');
    await t.expect(/CA chain file/);
    t.send(ca.cert);
    await t.expect(/national CA chain: added[\s\S]*choice> $/, 60_000);
    t.send('3');
    await t.expect(/provisioning> $/);
    t.send('3');
    await t.expect(/Certificate file\(s\)/);
    t.send(issued.join(' '));
    const done = await t.expect(/choice> $/, 60_000);
    assert.match(done, /certificate ncp-sign: C=RO, O=NCP, CN=RO NCP DNA and fingerprint mail signing/);
    assert.match(done, /state: ready/);
    assert.deepEqual(Object.keys(readRecord(box.dataDir)!.certificates).sort(), ['audit', 'ncp-decrypt', 'ncp-sign']);
    assert.deepEqual(readdirSync(join(box.dataDir, 'certs')).sort(), ['audit.pem', 'ca-chain.pem', 'ncp-decrypt.pem', 'ncp-sign.pem']);
    // The daemon's check ran after the step: the status the console shows is ready now.
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(state.ready, true);
    // Audited with the technician as the actor.
    const actors = db.prepare("SELECT leaf FROM audit_entries WHERE kind = 'admin'").all() as Array<{ leaf: string }>;
    assert.ok(actors.some((r) => /"actor":"tech\.one"/.test(r.leaf) && /"via":"serial console"/.test(r.leaf) && /certificate ncp-sign/.test(r.leaf)));
  } finally {
    await t.close();
  }
});
