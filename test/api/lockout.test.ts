import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, withAccounts, PASSWORDS } from './harness.js';

const code = (r: { json: <T>() => T }) => r.json<{ error: { code: string; detail?: Record<string, string> } }>().error;

test('five wrong passwords lock the account, even against the right one, for 15 minutes', async () => {
  const h = createHarness();
  try {
    await withAccounts(h);
    const b = h.browser();
    for (let i = 1; i <= 4; i++) {
      const r = await b.signIn('operator', `wrong-password-${i}`);
      assert.equal(r.status, 401);
      assert.equal(code(r).code, 'BAD_CREDENTIALS');
    }
    const fifth = await b.signIn('operator', 'wrong-password-5');
    assert.equal(fifth.status, 423);
    assert.equal(code(fifth).code, 'ACCOUNT_LOCKED');
    assert.equal(code(fifth).detail?.['lockedUntil'], new Date(h.clock.now + 15 * 60_000).toISOString());

    const right = await b.signIn('operator', PASSWORDS.operator);
    assert.equal(code(right).code, 'ACCOUNT_LOCKED', 'the right password does not open a locked account');

    h.clock.now += 14 * 60_000;
    assert.equal(code(await b.signIn('operator', PASSWORDS.operator)).code, 'ACCOUNT_LOCKED');
    h.clock.now += 2 * 60_000;
    assert.equal((await b.signIn('operator', PASSWORDS.operator)).status, 200, 'lock over');

    const failures = h.audited.filter((e) => e.action === 'session.sign-in' && e.outcome === 'failure' && e.target === 'account operator (operator)');
    assert.equal(failures.length, 7, 'every failed sign-in is in the log, with its target');
  } finally {
    h.close();
  }
});

test('after a lock expires, one more wrong password locks again at once', async () => {
  const h = createHarness();
  try {
    await withAccounts(h);
    const b = h.browser();
    for (let i = 0; i < 5; i++) await b.signIn('auditor', 'not-the-password');
    h.clock.now += 16 * 60_000;
    assert.equal(code(await b.signIn('auditor', 'still-not-it')).code, 'ACCOUNT_LOCKED');
  } finally {
    h.close();
  }
});

test('a technician can unlock a locked account', async () => {
  const h = createHarness();
  try {
    const { tech } = await withAccounts(h);
    const b = h.browser();
    for (let i = 0; i < 5; i++) await b.signIn('auditor', 'not-the-password');
    const list = (await tech.request('GET', '/api/accounts')).json<{ accounts: Array<{ id: number; username: string; locked: boolean }> }>().accounts;
    const auditor = list.find((a) => a.username === 'auditor');
    assert.equal(auditor?.locked, true);
    const r = await tech.request('POST', `/api/accounts/${auditor?.id}/unlock`);
    assert.equal(r.status, 200);
    assert.equal((await b.signIn('auditor', PASSWORDS.auditor)).status, 200);
    assert.ok(h.audited.some((e) => e.action === 'account.unlock' && e.target === 'account auditor (auditor)' && e.outcome === 'success'));
  } finally {
    h.close();
  }
});

test('unknown users and disabled accounts get the same answer as a wrong password', async () => {
  const h = createHarness();
  try {
    const { tech } = await withAccounts(h);
    const b = h.browser();
    const unknown = await b.signIn('nobody', 'whatever-password');
    assert.equal(code(unknown).code, 'BAD_CREDENTIALS');
    const list = (await tech.request('GET', '/api/accounts')).json<{ accounts: Array<{ id: number; username: string }> }>().accounts;
    const op = list.find((a) => a.username === 'operator');
    assert.equal((await tech.request('PATCH', `/api/accounts/${op?.id}`, { disabled: true })).status, 200);
    const disabled = await b.signIn('operator', PASSWORDS.operator);
    assert.equal(code(disabled).code, 'BAD_CREDENTIALS');
    assert.ok(h.audited.some((e) => e.action === 'session.sign-in' && e.target === 'unknown account'), 'the typed name is not logged');
  } finally {
    h.close();
  }
});
