import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHarness } from './harness.js';
import { API_ERRORS } from '../../appliance/api/errors.js';
import { CONTENT_SECURITY_POLICY } from '../../appliance/api/http/security.js';
import type { GatewayStatus } from '../../appliance/status/types.js';

test('GET /api/status returns the daemon\'s GatewayStatus as is, without a session', async () => {
  const h = createHarness();
  try {
    const res = await h.browser().request('GET', '/api/status');
    assert.equal(res.status, 200);
    const body = res.json<GatewayStatus>();
    assert.equal(body.memberState, 'RO');
    assert.deepEqual(body.peers.map((p) => p.state), ['DE', 'AT']);
    assert.equal(body.throughput.in.length, 60);
    assert.equal(res.headers['cache-control'], 'no-store');
    const health = (await h.browser().request('GET', '/api/health')).json<{ status: string; memberState: string }>();
    assert.deepEqual([health.status, health.memberState], ['ok', 'RO']);
  } finally {
    h.close();
  }
});

test('when the daemon cannot tell its status: /api/health is 503 and /api/status a coded error', async () => {
  const h = createHarness({
    status: () => {
      throw new Error('queue database locked');
    },
  });
  try {
    const health = await h.browser().request('GET', '/api/health');
    assert.equal(health.status, 503);
    assert.equal(health.json<{ status: string }>().status, 'unavailable');
    const status = await h.browser().request('GET', '/api/status');
    assert.equal(status.status, 503);
    assert.equal(status.json<{ error: { code: string } }>().error.code, 'STATUS_UNAVAILABLE');
  } finally {
    h.close();
  }
});

test('every error body has a catalogued code, its status and message', async () => {
  const h = createHarness();
  try {
    const b = h.browser();
    const cases = [
      await b.request('GET', '/api/nothing-here'),
      await b.request('GET', '/api/accounts'),
      await b.request('PUT', '/api/status'),
    ];
    for (const res of cases) {
      const { error } = res.json<{ error: { code: keyof typeof API_ERRORS; message: string } }>();
      assert.ok(error.code in API_ERRORS, error.code);
      assert.equal(res.status, API_ERRORS[error.code].status);
      assert.equal(error.message, API_ERRORS[error.code].message);
    }
  } finally {
    h.close();
  }
});

test('the console is served with a strict CSP; nothing outside its folder is reachable', async () => {
  const h = createHarness();
  const dir = join(h.db.name, '..', 'console');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>console</title><script src="/app.js"></script>');
  writeFileSync(join(dir, 'app.js'), 'console.log(1)');
  try {
    const b = h.browser();
    const index = await b.request('GET', '/');
    assert.equal(index.status, 200);
    assert.match(String(index.headers['content-type']), /text\/html/);
    assert.equal(index.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    assert.match(CONTENT_SECURITY_POLICY, /default-src 'none'/);
    assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-inline|unsafe-eval|https?:|\*/);
    assert.equal(index.headers['x-frame-options'], 'DENY');
    const page = await b.request('GET', '/audit');
    assert.equal(page.text, index.text, 'console routes get the app');
    const js = await b.request('GET', '/app.js');
    assert.match(String(js.headers['content-type']), /javascript/);
    const etag = String(js.headers['etag']);
    assert.equal((await b.request('GET', '/app.js', undefined, { 'if-none-match': etag })).status, 304);
    for (const evil of ['/../gateway.db', '/%2e%2e/gateway.db', '/..%2fgateway.db', '/missing.js']) {
      const res = await b.request('GET', evil);
      assert.ok(res.status === 404 || res.status === 400 || (res.status === 200 && res.text === index.text), `${evil}: ${res.status}`);
      assert.ok(!res.body.includes(Buffer.from('SQLite format')), `${evil} leaked the database`);
    }
  } finally {
    h.close();
  }
});

test('restart and reboot need the typed word, answer first, then act, and are audited', async () => {
  const { withAccounts } = await import('./harness.js');
  const h = createHarness();
  try {
    const { tech } = await withAccounts(h);
    for (const body of [{}, { confirm: 'yes' }, { confirm: 'reboot' }]) {
      const r = await tech.request('POST', '/api/system/restart', body);
      assert.equal(r.json<{ error: { code: string } }>().error.code, 'CONFIRMATION_REQUIRED');
    }
    assert.ok(!h.calls.includes('restart'));
    const r = await tech.request('POST', '/api/system/restart', { confirm: 'Restart' });
    assert.equal(r.status, 202);
    assert.ok(!h.calls.includes('restart'), 'the answer leaves before the service goes down');
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.ok(h.calls.includes('restart'));
    assert.ok(h.audited.some((e) => e.action === 'system.restart' && e.target === 'gateway service' && e.actor === 'tech'));
  } finally {
    h.close();
  }
});
