import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../appliance/db/database.js';
import { AccountService } from '../../appliance/accounts/service.js';
import { loadConfig } from '../../appliance/config/config.js';
import { configFilePort } from '../../appliance/api/wiring/index.js';
import { MessageQueue } from '../../appliance/queue/queue.js';
import { LinkTracker } from '../../appliance/exchange/links.js';
import { ServiceBoard, gatewayStatus } from '../../appliance/status/status.js';
import { SerialSession, type SerialDeps } from '../../appliance/serial/session.js';
import { requestPrivileged, REQUEST_KINDS } from '../../appliance/system/privileged.js';
import { TEST_SCRYPT } from '../api/harness.js';

/**
 * The serial console's network step on the image: saved in the configuration, then applied through the
 * privileged port — here the request-file implementation, answered by a stand-in for the root helper.
 */
test('the serial console applies the network through the privileged port and says when it could not', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pruem-serialnet-'));
  const requests = join(dir, 'requests');
  const db = openDatabase(join(dir, 'gateway.sqlite'));
  let answer: Record<string, unknown> = { ok: true };
  const seen: Record<string, unknown>[] = [];
  const helper = setInterval(() => {
    for (const kind of REQUEST_KINDS) {
      const path = join(requests, kind);
      if (!existsSync(path)) continue;
      const req = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
      rmSync(path);
      seen.push(req);
      writeFileSync(`${path}.result`, JSON.stringify({ id: req['id'], ...answer }));
    }
  }, 10);
  let screen = '';
  const waitFor = async (re: RegExp): Promise<void> => {
    const until = Date.now() + 20_000;
    while (!re.test(screen)) {
      if (Date.now() > until) throw new Error(`not on the screen: ${re}\n${screen}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  try {
    const accounts = new AccountService(db, { scrypt: TEST_SCRYPT });
    assert.ok((await accounts.create({ username: 'tech.one', displayName: 'Tech', role: 'technician', password: 'correct horse battery' }, Date.now())).ok);
    const configPath = join(dir, 'config.json');
    writeFileSync(configPath, JSON.stringify({ memberState: 'RO', dataDir: join(dir, 'data') }));
    const privileged = requestPrivileged({ dir: requests, timeoutMs: 10_000, pollMs: 5 });
    const deps: SerialDeps = {
      accounts,
      status: () => gatewayStatus({ memberState: 'RO', version: 'test', startedAt: new Date(), demo: false, queue: new MessageQueue(db), links: new LinkTracker(db), services: new ServiceBoard(), peerChannels: () => [] }),
      token: () => ({ state: 'absent', detail: 'none', label: 'pruem', module: 'x', manufacturer: null, model: null, serialNumber: null, checkedAt: new Date().toISOString() }),
      setupCode: () => null,
      config: configFilePort(loadConfig(configPath), configPath),
      provision: async () => {
        throw new Error('not used in this test');
      },
      system: {
        restartService: async () => undefined,
        reboot: async () => undefined,
        applyNetwork: async (n) => {
          const r = await privileged.applyNetwork(n);
          return r.ok ? null : r.error.message;
        },
      },
      audit: () => undefined,
      idleMs: 60_000,
      version: 'test',
    };
    const session = new SerialSession(deps, (text) => (screen += text));
    session.start();
    void session.input('tech.one');
    void session.input('correct horse battery');
    await waitFor(/choice> $/);
    for (const line of ['2', 'eth1', '10.20.30.40/24', '10.20.30.1', '10.20.30.2']) void session.input(line);
    await waitFor(/Saved and applied: eth1 10\.20\.30\.40\/24 via 10\.20\.30\.1/);
    assert.deepEqual({ ...seen[0], id: 'x' }, { id: 'x', kind: 'network-apply', interface: 'eth1', address: '10.20.30.40/24', gateway: '10.20.30.1', dns: ['10.20.30.2'] });
    assert.equal(loadConfig(configPath).network?.address, '10.20.30.40/24');

    answer = { ok: false, code: 'failed', message: 'networkctl reload: exit 1' };
    for (const line of ['2', '', '10.20.30.41/24', '', '']) void session.input(line);
    await waitFor(/Saved, but not applied: network-apply: networkctl reload: exit 1/);
    session.close();
  } finally {
    clearInterval(helper);
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
