import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, withAccounts, PASSWORDS } from './harness.js';

const code = (r: { json: <T>() => T }) => r.json<{ error: { code: string } }>().error.code;

test('a session ends after 15 idle minutes; SESSION_EXPIRED tells the console why', async () => {
  const h = createHarness();
  try {
    const { operator } = await withAccounts(h);
    h.clock.now += 14 * 60_000;
    assert.equal((await operator.request('GET', '/api/system/health')).status, 200, 'activity at 14 min');
    h.clock.now += 14 * 60_000;
    assert.equal((await operator.request('GET', '/api/system/health')).status, 200, 'idle time counts from the last action');
    h.clock.now += 15 * 60_000 + 1;
    const expired = await operator.request('GET', '/api/system/health');
    assert.equal(expired.status, 401);
    assert.equal(code(expired), 'SESSION_EXPIRED');
    const again = await operator.request('GET', '/api/system/health');
    assert.equal(code(again), 'AUTH_REQUIRED', 'the expired session is gone from the table');
  } finally {
    h.close();
  }
});

test('background polling does not keep an idle session alive', async () => {
  const h = createHarness();
  try {
    const { operator } = await withAccounts(h);
    for (let i = 0; i < 7; i++) {
      h.clock.now += 2 * 60_000;
      const poll = await operator.request('GET', '/api/system/health', undefined, { 'x-pruem-background': '1' });
      assert.equal(poll.status, 200, `poll ${i}`);
    }
    h.clock.now += 2 * 60_000;
    assert.equal(code(await operator.request('GET', '/api/system/health', undefined, { 'x-pruem-background': '1' })), 'SESSION_EXPIRED');
  } finally {
    h.close();
  }
});

test('an unsafe request on an expired session says SESSION_EXPIRED, and signing in again works', async () => {
  const h = createHarness();
  try {
    const { tech } = await withAccounts(h);
    h.clock.now += 16 * 60_000;
    const r = await tech.request('PUT', '/api/config/relay', { relay: null });
    assert.equal(code(r), 'SESSION_EXPIRED');
    assert.equal((await tech.signIn('tech', PASSWORDS.technician)).status, 200);
  } finally {
    h.close();
  }
});

test('sessions also end 12 hours after sign-in, however active', async () => {
  const h = createHarness();
  try {
    const { operator } = await withAccounts(h);
    for (let i = 0; i <= 12 * 6; i++) {
      h.clock.now += 10 * 60_000;
      const r = await operator.request('GET', '/api/system/health');
      if (r.status !== 200) {
        assert.equal(code(r), 'SESSION_EXPIRED');
        assert.equal(i, 12 * 6, 'ended just after 12 hours, not before');
        return;
      }
    }
    assert.fail('session outlived 12 hours');
  } finally {
    h.close();
  }
});

test('signing in gives a new session id; signing out ends it on the server', async () => {
  const h = createHarness();
  try {
    await withAccounts(h);
    const b = h.browser();
    await b.signIn('auditor', PASSWORDS.auditor);
    const first = b.cookies.get('pruem_session');
    await b.signIn('auditor', PASSWORDS.auditor);
    const second = b.cookies.get('pruem_session');
    assert.ok(first && second && first !== second);
    const stolen = h.browser();
    stolen.cookies.set('pruem_session', first);
    assert.equal((await stolen.request('GET', '/api/officers')).status, 401, 'the old id is dead');
    const copy = h.browser();
    copy.cookies.set('pruem_session', second);
    assert.equal((await copy.request('GET', '/api/officers')).status, 200);
    assert.equal((await b.request('DELETE', '/api/session')).status, 204);
    assert.equal((await copy.request('GET', '/api/officers')).status, 401, 'signed out on the server, not only in the browser');
  } finally {
    h.close();
  }
});

test('the language is chosen per user and remembered', async () => {
  const h = createHarness();
  try {
    const { auditor } = await withAccounts(h);
    assert.equal((await auditor.session()).user?.language, 'en');
    assert.equal((await auditor.request('PUT', '/api/me/language', { language: 'ro' })).status, 200);
    assert.equal(code(await auditor.request('PUT', '/api/me/language', { language: 'xx' })), 'LANGUAGE_INVALID');
    const later = h.browser();
    await later.signIn('auditor', PASSWORDS.auditor);
    assert.equal((await later.session()).user?.language, 'ro');
  } finally {
    h.close();
  }
});

test('changing one\'s password needs the current one and signs out other browsers', async () => {
  const h = createHarness();
  try {
    const { auditor } = await withAccounts(h);
    const other = h.browser();
    await other.signIn('auditor', PASSWORDS.auditor);
    assert.equal(code(await auditor.request('PUT', '/api/me/password', { current: 'wrong-one-here', next: 'brand-new-passphrase' })), 'BAD_CREDENTIALS');
    assert.equal(code(await auditor.request('PUT', '/api/me/password', { current: PASSWORDS.auditor, next: 'short' })), 'PASSWORD_TOO_SHORT');
    assert.equal((await auditor.request('PUT', '/api/me/password', { current: PASSWORDS.auditor, next: 'brand-new-passphrase' })).status, 204);
    assert.equal((await other.request('GET', '/api/officers')).status, 401);
    assert.equal((await auditor.request('GET', '/api/officers')).status, 200, 'this browser stays signed in');
    assert.equal((await h.browser().signIn('auditor', 'brand-new-passphrase')).status, 200);
  } finally {
    h.close();
  }
});

test('abandoned sessions are swept from the table at the next sign-in', async () => {
  const h = createHarness();
  try {
    await withAccounts(h);
    const count = () => (h.db.prepare('SELECT count(*) AS n FROM accounts_sessions').get() as { n: number }).n;
    assert.equal(count(), 3);
    h.clock.now += 16 * 60_000;
    await h.browser().signIn('auditor', PASSWORDS.auditor);
    assert.equal(count(), 1, 'only the new session is left');
  } finally {
    h.close();
  }
});
