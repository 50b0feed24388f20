import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '../../appliance/config/config.js';
import { startGateway, type Gateway } from '../../appliance/main.js';
import { freePort } from '../support/ports.js';
import { makeBox } from '../provisioning/support.js';
import { cable, Terminal, type Cable } from './support.js';

/**
 * The serial console as the daemon runs it (serial.enabled): on a box that is not provisioned yet (no
 * token initialised, production mode) it shows the console's one-time set-up code, the very code the
 * first-run wizard accepts, and the status screen says what is missing.
 */
let root: string;
let link: Cable;
let gateway: Gateway | null = null;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'pruem-serial-gw-'));
  link = await cable(join(root, 'ttyS0'), join(root, 'ttyTech'));
});
after(async () => {
  await gateway?.stop();
  await link?.pull();
  rmSync(root, { recursive: true, force: true });
});

test('the daemon starts its serial console: set-up code and missing items on an unprovisioned box', async () => {
  const box = makeBox(root, 'RO');
  const raw = JSON.parse(readFileSync(box.configPath, 'utf8')) as Record<string, unknown>;
  writeFileSync(box.configPath, JSON.stringify({ ...raw, listen: { api: { host: '127.0.0.1', port: await freePort() }, smtp: { host: '127.0.0.1', port: await freePort() }, officers: null }, serial: { enabled: true, device: link.console } }));
  // As the appliance image's factory configuration: a SoftHSM2 token directory of its own, nothing provisioned.
  gateway = await startGateway(loadConfig(box.configPath), { log: pino({ level: 'silent' }), configPath: box.configPath });
  assert.equal(existsSync(join(box.dataDir, 'certs')), false, 'no development token or certificates made behind the technician\'s back');
  const t = await Terminal.open(link.terminal);
  try {
    t.send('');
    const screen = await t.expect(/login: $/);
    assert.match(screen, /NOT PROVISIONED: \d+ item\(s\) missing/);
    const code = /Console set-up code \(first-run wizard\): ([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})/.exec(screen)?.[1];
    assert.ok(code, screen);
    const status = (await (await fetch(`${gateway.apiUrl}/api/status`)).json()) as { provisioning: { ready: boolean; missing: string[] } };
    assert.equal(status.provisioning.ready, false);
    assert.ok(status.provisioning.missing.some((m) => /^token "prod-ro": absent/.test(m)), JSON.stringify(status.provisioning));
    // It is the console's code: the wizard unlocks with it.
    const session = await fetch(`${gateway.apiUrl}/api/session`);
    const cookie = session.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const { csrfToken } = (await session.json()) as { csrfToken: string };
    const unlock = await fetch(`${gateway.apiUrl}/api/setup/unlock`, { method: 'POST', headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken }, body: JSON.stringify({ code }) });
    assert.equal(unlock.status, 200, await unlock.text());
  } finally {
    await t.close();
  }
});
