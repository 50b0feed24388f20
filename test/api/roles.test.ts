import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, withAccounts, type Browser } from './harness.js';

type Call = { method: string; url: string; body?: object };

/** Every protected endpoint, with the roles the API must let through (issue 6: roles enforced by the API). */
const MATRIX: Array<{ call: Call; allowed: Array<'technician' | 'operator' | 'auditor'> }> = [
  { call: { method: 'GET', url: '/api/accounts' }, allowed: ['technician'] },
  { call: { method: 'POST', url: '/api/accounts', body: { username: 'newbie', displayName: 'N', role: 'operator', password: 'long-enough-password' } }, allowed: ['technician'] },
  { call: { method: 'GET', url: '/api/system/health' }, allowed: ['technician', 'operator'] },
  { call: { method: 'GET', url: '/api/certificates' }, allowed: ['technician', 'operator', 'auditor'] },
  { call: { method: 'POST', url: '/api/certificates/csr', body: { usage: 'signing', commonName: 'RO NCP', organization: 'Police', country: 'RO', newKey: true } }, allowed: ['technician'] },
  { call: { method: 'POST', url: '/api/certificates/peer', body: { state: 'DE', usage: 'signing', pem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----' } }, allowed: ['technician'] },
  { call: { method: 'GET', url: '/api/audit/entries?from=2026-01-01&to=2026-03-01' }, allowed: ['auditor'] },
  { call: { method: 'GET', url: '/api/audit/usb-drives' }, allowed: ['auditor'] },
  { call: { method: 'POST', url: '/api/audit/exports', body: { target: { kind: 'usb', driveId: 'usb-1' }, from: '2026-01-01', to: '2026-03-01' } }, allowed: ['auditor'] },
  { call: { method: 'GET', url: '/api/officers' }, allowed: ['technician', 'auditor'] },
  { call: { method: 'PUT', url: '/api/officers/RO-1', body: { name: 'Ion Popescu', agency: 'IGPR', channels: ['dna'], authorisedUntil: null } }, allowed: ['technician'] },
  { call: { method: 'GET', url: '/api/statistics/2025' }, allowed: ['technician', 'auditor'] },
  { call: { method: 'GET', url: '/api/config/revisions' }, allowed: ['technician', 'auditor'] },
  { call: { method: 'PUT', url: '/api/config/relay', body: { relay: { host: 'relay.testa', port: 25, requireTls: false } } }, allowed: ['technician'] },
  { call: { method: 'POST', url: '/api/test-message', body: { kind: 'relay' } }, allowed: ['technician'] },
  { call: { method: 'GET', url: '/api/system/diagnostics' }, allowed: ['technician'] },
  { call: { method: 'POST', url: '/api/system/restart', body: { confirm: 'restart' } }, allowed: ['technician'] },
];

test('each role reaches exactly the endpoints its rights allow, enforced by the API', async () => {
  const h = createHarness();
  try {
    const browsers = await withAccounts(h);
    const byRole: Record<'technician' | 'operator' | 'auditor', Browser> = { technician: browsers.tech, operator: browsers.operator, auditor: browsers.auditor };
    for (const { call, allowed } of MATRIX) {
      for (const role of ['technician', 'operator', 'auditor'] as const) {
        const res = await byRole[role].request(call.method, call.url, call.body);
        const label = `${role} ${call.method} ${call.url}`;
        if (allowed.includes(role)) {
          assert.ok(res.status < 400, `${label} should be allowed, got ${res.status} ${res.text}`);
        } else {
          assert.equal(res.status, 403, `${label} should be refused, got ${res.status}`);
          assert.equal(res.json<{ error: { code: string } }>().error.code, 'FORBIDDEN_ROLE', label);
        }
      }
    }
  } finally {
    h.close();
  }
});

test('an auditor cannot change the configuration and the refusal is itself audited', async () => {
  const h = createHarness();
  try {
    const { auditor } = await withAccounts(h);
    const before = JSON.stringify(h.config);
    const res = await auditor.request('PUT', '/api/config/peers/DE/channels/dna', { enabled: false });
    assert.equal(res.status, 403);
    assert.equal(JSON.stringify(h.config), before, 'configuration untouched');
    const denied = h.audited.find((e) => e.action === 'access.denied');
    assert.ok(denied, 'denial recorded');
    assert.equal(denied.actor, 'auditor');
    assert.equal(denied.outcome, 'denied');
    assert.match(denied.target, /PUT \/api\/config\/peers\/DE\/channels\/dna/);
  } finally {
    h.close();
  }
});

test('a technician neither reads nor exports the audit log', async () => {
  const h = createHarness();
  try {
    const { tech } = await withAccounts(h);
    for (const [method, url, body] of [
      ['GET', '/api/audit/entries?from=2026-01-01&to=2026-03-01', undefined],
      ['GET', '/api/audit/exports', undefined],
      ['POST', '/api/audit/exports', { target: { kind: 'directory', path: '/tmp/x' }, from: '2026-01-01', to: '2026-03-01' }],
    ] as const) {
      const res = await tech.request(method, url, body);
      assert.equal(res.status, 403, `${method} ${url}`);
    }
    assert.ok(!h.calls.some((c) => c.startsWith('audit.search') || c.startsWith('export:')), 'the audit port was never called');
  } finally {
    h.close();
  }
});

test('anonymous requests get AUTH_REQUIRED everywhere but health and status', async () => {
  const h = createHarness();
  try {
    await withAccounts(h);
    const anon = h.browser();
    assert.equal((await anon.request('GET', '/api/health')).status, 200);
    assert.equal((await anon.request('GET', '/api/status')).status, 200);
    for (const { call } of MATRIX.filter((m) => m.call.method === 'GET')) {
      const res = await anon.request(call.method, call.url);
      assert.equal(res.status, 401, call.url);
      assert.equal(res.json<{ error: { code: string } }>().error.code, 'AUTH_REQUIRED');
    }
  } finally {
    h.close();
  }
});

test('a role change takes effect at once: the demoted user\'s session ends', async () => {
  const h = createHarness();
  try {
    const { tech, operator } = await withAccounts(h);
    const list = (await tech.request('GET', '/api/accounts')).json<{ accounts: Array<{ id: number; username: string }> }>();
    const op = list.accounts.find((a) => a.username === 'operator');
    assert.ok(op);
    assert.equal((await operator.request('GET', '/api/system/health')).status, 200);
    const res = await tech.request('PATCH', `/api/accounts/${op.id}`, { role: 'auditor' });
    assert.equal(res.status, 200);
    assert.equal((await operator.request('GET', '/api/system/health')).status, 401);
    const change = h.audited.find((e) => e.action === 'account.update');
    assert.equal(change?.target, 'account operator (operator)');
    assert.equal(change?.detail, 'role operator → auditor');
  } finally {
    h.close();
  }
});

test('the last enabled technician can be neither demoted, disabled nor deleted', async () => {
  const h = createHarness();
  try {
    const { tech } = await withAccounts(h);
    const me = (await tech.session()).user;
    assert.ok(me);
    for (const body of [{ role: 'operator' }, { disabled: true }]) {
      const res = await tech.request('PATCH', `/api/accounts/${me.id}`, body);
      assert.equal(res.status, 409);
      assert.equal(res.json<{ error: { code: string } }>().error.code, 'LAST_TECHNICIAN');
    }
  } finally {
    h.close();
  }
});
