import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, PASSWORDS } from './harness.js';
import type { SetupState } from '../../appliance/api/wire.js';

const code = (r: { json: <T>() => T }) => r.json<{ error: { code: string } }>().error.code;

test('a fresh appliance has no account and no default password: sign-in is impossible until the wizard ran', async () => {
  const h = createHarness();
  try {
    assert.equal((h.db.prepare('SELECT count(*) AS n FROM accounts_users').get() as { n: number }).n, 0);
    const b = h.browser();
    const info = await b.session();
    assert.equal(info.setupNeeded, true);
    assert.equal(info.user, null);
    for (const [u, p] of [['admin', 'admin'], ['root', 'root'], ['technician', 'technician'], ['admin', '']]) {
      assert.equal(code(await b.signIn(u ?? '', p ?? '')), 'SETUP_REQUIRED');
    }
  } finally {
    h.close();
  }
});

test('the wizard needs the one-time code from the appliance console; the code changes after 10 wrong tries', async () => {
  const h = createHarness();
  try {
    const b = h.browser();
    await b.session();
    assert.equal(h.setupCodes.length, 1);
    assert.match(h.setupCodes[0] ?? '', /^[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}$/);
    assert.equal(code(await b.request('PUT', '/api/setup/member-state', { memberState: 'RO' })), 'SETUP_CODE_INVALID', 'no step without the code');
    for (let i = 0; i < 10; i++) assert.equal(code(await b.request('POST', '/api/setup/unlock', { code: 'AAAA-BBBB-CCCC' })), 'SETUP_CODE_INVALID');
    assert.equal(h.setupCodes.length, 2, 'a new code is shown on the console');
    assert.equal(code(await b.request('POST', '/api/setup/unlock', { code: h.setupCodes[0] ?? '' })), 'SETUP_CODE_INVALID', 'the old code is dead');
    const typedLoosely = (h.setupCodes[1] ?? '').toLowerCase().replace(/-/g, ' ');
    const ok = await b.request('POST', '/api/setup/unlock', { code: typedLoosely });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json<SetupState>().unlocked, true);
  } finally {
    h.close();
  }
});

test('the wizard runs Member State, network, token PIN, keys and CSRs, first account, then a live test', async () => {
  const h = createHarness();
  try {
    const b = h.browser();
    await b.session();
    await b.request('POST', '/api/setup/unlock', { code: h.setupCodes[0] ?? '' });

    assert.equal(code(await b.request('POST', '/api/setup/account', { username: 'first', displayName: 'First', password: PASSWORDS.technician })), 'SETUP_STEP_INVALID');

    let r = await b.request('PUT', '/api/setup/member-state', { memberState: 'DE' });
    assert.equal(r.status, 200, r.text);
    assert.equal(h.config.memberState, 'DE');
    assert.ok(!h.config.peers.some((p) => p.code === 'DE'), 'our own State is no longer a peer');

    assert.equal(code(await b.request('PUT', '/api/setup/network', { network: { interface: 'eth0', address: '10.0.0.2/24', gateway: null, dns: [] }, relay: null })), 'NOT_CONFIGURED', 'no network port wired in this harness');
    r = await b.request('PUT', '/api/setup/network', { network: null, relay: { host: 'relay.testa.local', port: 25, requireTls: false } });
    assert.equal(r.status, 200, r.text);
    assert.equal(h.config.relay?.host, 'relay.testa.local');

    assert.equal(code(await b.request('POST', '/api/setup/keys', { organization: 'Police', commonName: 'DE NCP' })), 'SETUP_STEP_INVALID', 'keys need the token first');
    assert.equal(code(await b.request('POST', '/api/setup/token', { pin: '0000' })), 'TOKEN_PIN_INVALID');
    r = await b.request('POST', '/api/setup/token', { pin: '493817' });
    assert.equal(r.status, 200, r.text);
    r = await b.request('POST', '/api/setup/keys', { organization: 'Police', commonName: 'DE NCP' });
    assert.equal(r.status, 200, r.text);
    const state = r.json<SetupState>();
    assert.deepEqual(state.csrs.map((c) => c.usage), ['signing', 'encryption', 'audit']);
    assert.deepEqual(h.calls.filter((c) => c.startsWith('csr:')), ['csr:signing', 'csr:encryption', 'csr:audit']);

    r = await b.request('POST', '/api/setup/account', { username: 'first', displayName: 'First Technician', password: PASSWORDS.technician, language: 'ro' });
    assert.equal(r.status, 201, r.text);
    b.csrf = r.json<{ csrfToken: string }>().csrfToken;
    const me = await b.session();
    assert.equal(me.user?.role, 'technician', 'the first account is a technician, signed in');
    assert.equal(me.user?.language, 'ro');

    const t = await b.request('POST', '/api/test-message', { kind: 'relay' });
    assert.equal(t.status, 200, t.text);
    assert.equal(t.json<{ result: { ok: boolean } }>().result.ok, true);

    // The wizard is closed for good.
    const late = h.browser();
    await late.session();
    assert.equal(code(await late.request('POST', '/api/setup/unlock', { code: h.setupCodes[0] ?? '' })), 'SETUP_DONE');
    assert.equal(code(await b.request('POST', '/api/setup/account', { username: 'second', displayName: 'x', password: PASSWORDS.operator })), 'SETUP_DONE');

    const actions = h.audited.map((e) => `${e.action}:${e.outcome}`);
    for (const a of ['setup.unlock:success', 'setup.member-state:success', 'setup.relay:success', 'setup.token:failure', 'setup.token:success', 'setup.keys:success', 'setup.account:success', 'test-message.send:success']) {
      assert.ok(actions.includes(a), `${a} audited`);
    }
    assert.ok(h.audited.every((e) => !JSON.stringify(e).includes('493817')), 'the PIN never reaches the log');
  } finally {
    h.close();
  }
});

test('two browsers finishing the wizard at once create one account', async () => {
  const h = createHarness();
  try {
    const a = h.browser();
    const b = h.browser();
    for (const x of [a, b]) {
      await x.session();
      await x.request('POST', '/api/setup/unlock', { code: h.setupCodes[0] ?? '' });
    }
    await a.request('PUT', '/api/setup/member-state', { memberState: 'RO' });
    const [ra, rb] = await Promise.all([
      a.request('POST', '/api/setup/account', { username: 'alice', displayName: 'A', password: PASSWORDS.technician }),
      b.request('POST', '/api/setup/account', { username: 'bob', displayName: 'B', password: PASSWORDS.technician }),
    ]);
    assert.deepEqual([ra.status, rb.status].sort(), [201, 409]);
    assert.equal((h.db.prepare('SELECT count(*) AS n FROM accounts_users').get() as { n: number }).n, 1);
  } finally {
    h.close();
  }
});
