import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, withAccounts, PASSWORDS } from './harness.js';

const code = (r: { json: <T>() => T }) => r.json<{ error: { code: string } }>().error.code;

test('every unsafe method needs the session\'s anti-forgery token', async () => {
  const h = createHarness();
  try {
    const { tech, operator } = await withAccounts(h);
    const body = { relay: { host: 'relay.testa', port: 25, requireTls: false } };
    const good = tech.csrf;
    for (const method of ['PUT', 'POST', 'PATCH', 'DELETE']) {
      tech.csrf = '';
      const res = await tech.request(method, '/api/config/relay', body);
      assert.equal(res.status, 403, method);
      assert.equal(code(res), 'CSRF_REJECTED', method);
    }
    tech.csrf = 'A'.repeat(43);
    assert.equal(code(await tech.request('PUT', '/api/config/relay', body)), 'CSRF_REJECTED', 'a made-up token');
    tech.csrf = operator.csrf;
    assert.equal(code(await tech.request('PUT', '/api/config/relay', body)), 'CSRF_REJECTED', "another session's token");
    tech.csrf = good;
    assert.equal(h.config.relay, null, 'nothing changed so far');
    const ok = await tech.request('PUT', '/api/config/relay', body);
    assert.equal(ok.status, 200, ok.text);
    assert.equal((h.config as { relay: { host: string } | null }).relay?.host, 'relay.testa');
  } finally {
    h.close();
  }
});

test('a cross-origin request is refused even with a token', async () => {
  const h = createHarness();
  try {
    const { tech } = await withAccounts(h);
    const res = await tech.request('PUT', '/api/config/relay', { relay: null }, { origin: 'http://evil.example' });
    assert.equal(res.status, 403);
    assert.equal(code(res), 'CSRF_REJECTED');
    const same = await tech.request('PUT', '/api/config/relay', { relay: { host: 'r', port: 25, requireTls: false } }, { origin: 'http://gateway.test' });
    assert.equal(same.status, 200, same.text);
  } finally {
    h.close();
  }
});

test('sign-in itself needs the pre-session double-submit token', async () => {
  const h = createHarness();
  try {
    await withAccounts(h);
    const b = h.browser();
    const noCookie = await b.request('POST', '/api/session', { username: 'operator', password: PASSWORDS.operator }, { 'x-csrf-token': 'x'.repeat(43) });
    assert.equal(code(noCookie), 'CSRF_REJECTED', 'no cookie to compare with');
    await b.session();
    const wrong = await b.request('POST', '/api/session', { username: 'operator', password: PASSWORDS.operator }, { 'x-csrf-token': 'y'.repeat(43) });
    assert.equal(code(wrong), 'CSRF_REJECTED');
    const right = await b.request('POST', '/api/session', { username: 'operator', password: PASSWORDS.operator });
    assert.equal(right.status, 200, right.text);
  } finally {
    h.close();
  }
});

test('bodies must be JSON: a form post (what a foreign page can send) is refused', async () => {
  const h = createHarness();
  try {
    const { tech } = await withAccounts(h);
    const res = await tech.request('PUT', '/api/config/relay', undefined, { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(res.status, 415);
    assert.equal(code(res), 'UNSUPPORTED_MEDIA_TYPE');
    const big = await tech.request('PUT', '/api/config/relay', { relay: { host: 'x'.repeat(70_000), port: 1, requireTls: false } });
    assert.equal(code(big), 'PAYLOAD_TOO_LARGE');
    const bad = await tech.request('PUT', '/api/config/relay', undefined, { 'content-type': 'application/json' });
    assert.equal(bad.status, 400, 'empty body is not a relay');
  } finally {
    h.close();
  }
});

test('cookies are HttpOnly and SameSite=Strict', async () => {
  const h = createHarness();
  try {
    await withAccounts(h);
    const b = h.browser();
    await b.session();
    const res = await b.request('POST', '/api/session', { username: 'auditor', password: PASSWORDS.auditor });
    const session = res.cookies['pruem_session'];
    assert.ok(session?.value);
    assert.match(session.attributes, /httponly/i);
    assert.match(session.attributes, /samesite=strict/i);
    assert.match(session.attributes, /path=\//i);
    assert.doesNotMatch(session.attributes, /expires|max-age/i, 'a browser-session cookie: idle expiry is on the server');
    const stored = h.db.prepare('SELECT token_hash FROM accounts_sessions').all() as Array<{ token_hash: string }>;
    assert.ok(stored.length > 0);
    assert.ok(stored.every((r) => r.token_hash !== session.value), 'the database holds only hashes of session ids');
  } finally {
    h.close();
  }
});
