import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Token, TokenError } from '../../appliance/token/token.js';
import { createTestToken, type TestToken } from '../support/softhsm.js';

// Login state is per application in PKCS#11: once any session of this process is logged in, a
// C_Login with a wrong PIN answers CKR_USER_ALREADY_LOGGED_IN. So the wrong-PIN cases run here,
// in a process where nothing logged in before them.
let tt: TestToken;

before(async () => {
  tt = await createTestToken({ label: 'states' });
});

after(() => tt.cleanup());

test('wrong PIN → open rejects TOKEN_LOCKED; with allowNotReady the status says locked and the PIN is not retried; setPin recovers', async () => {
  await assert.rejects(
    Token.open({ module: tt.module, label: tt.label, pin: '00000000', softhsmConf: tt.conf }),
    (e: unknown) => e instanceof TokenError && e.code === 'TOKEN_LOCKED',
  );
  const t = await Token.open({ module: tt.module, label: tt.label, pin: '00000000', softhsmConf: tt.conf, allowNotReady: true });
  try {
    assert.equal(t.status().state, 'locked');
    assert.match(t.status().detail, /PIN_INCORRECT/);
    await assert.rejects(t.sign('ncp-sign', Buffer.from('x')), (e: unknown) => e instanceof TokenError && e.code === 'TOKEN_LOCKED');
    const s = await t.setPin(tt.pin);
    assert.equal(s.state, 'ready');
    await t.generateKeyPair('k', { usage: 'sign', bits: 2048 });
    assert.equal((await t.sign('k', Buffer.from('x'))).length, 256);
  } finally {
    await t.close();
  }
});

test('a label that is on no slot → absent', async () => {
  const t = await Token.open({ module: tt.module, label: 'no-such-token', pin: tt.pin, softhsmConf: tt.conf, allowNotReady: true });
  try {
    assert.equal(t.status().state, 'absent');
    await assert.rejects(t.sign('ncp-sign', Buffer.from('x')), (e: unknown) => e instanceof TokenError && e.code === 'TOKEN_ABSENT');
  } finally {
    await t.close();
  }
  await assert.rejects(
    Token.open({ module: tt.module, label: 'no-such-token', pin: tt.pin, softhsmConf: tt.conf }),
    (e: unknown) => e instanceof TokenError && e.code === 'TOKEN_ABSENT',
  );
});

test('a module that cannot be loaded → error status', async () => {
  const t = await Token.open({ module: '/nonexistent/libpkcs11.so', label: 'x', pin: '1234', allowNotReady: true });
  assert.equal(t.status().state, 'error');
  assert.match(t.status().detail, /cannot load/);
  await t.close();
});
