import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createVerify, publicEncrypt, randomBytes, verify as cryptoVerify } from 'node:crypto';
import * as graphene from 'graphene-pk11';
import { Token, TokenError } from '../../appliance/token/token.js';
import { acquireModule } from '../../appliance/token/pkcs11-module.js';
import { createTestToken, type TestToken } from '../support/softhsm.js';

let tt: TestToken;
let token: Token;

before(async () => {
  tt = await createTestToken({ label: 'unit' });
  token = await Token.open({ module: tt.module, label: tt.label, pin: tt.pin, softhsmConf: tt.conf });
  await token.generateKeyPair('ncp-sign', { usage: 'sign' });
  await token.generateKeyPair('ncp-decrypt', { usage: 'decrypt' });
});

after(async () => {
  await token.close();
  tt.cleanup();
});

test('opens ready and reports the token in status()', () => {
  const s = token.status();
  assert.equal(s.state, 'ready');
  assert.equal(s.label, 'unit');
  assert.match(s.manufacturer ?? '', /SoftHSM/);
  assert.doesNotMatch(JSON.stringify(s), new RegExp(tt.pin));
});

test('generated private keys are sensitive, non-extractable, single-purpose, id = key identifier', async () => {
  const objects = await token.listObjects();
  const sign = objects.find((o) => o.kind === 'private-key' && o.label === 'ncp-sign');
  const dec = objects.find((o) => o.kind === 'private-key' && o.label === 'ncp-decrypt');
  assert.ok(sign && sign.kind === 'private-key' && dec && dec.kind === 'private-key');
  assert.equal(sign.sensitive, true);
  assert.equal(sign.extractable, false);
  assert.equal(sign.bits, 2048);
  assert.equal(sign.canSign, true);
  assert.equal(sign.canDecrypt, false);
  assert.equal(dec.canDecrypt, true);
  assert.equal(dec.canSign, false);
  assert.match(sign.id, /^[0-9a-f]{40}$/);
  const pub = objects.find((o) => o.kind === 'public-key' && o.label === 'ncp-sign');
  assert.equal(pub?.id, sign.id);
});

test('a second key with the same label is refused', async () => {
  await assert.rejects(token.generateKeyPair('ncp-sign', { usage: 'sign' }), (e: unknown) => e instanceof TokenError && e.code === 'KEY_EXISTS');
});

test('signs RSASSA-PKCS1-v1_5 with SHA-256 and SHA-1; signatures verify with the public key', async () => {
  const pub = await token.publicKey('ncp-sign');
  const data = randomBytes(1000);
  const s256 = await token.sign('ncp-sign', data, 'SHA-256');
  assert.equal(cryptoVerify('sha256', data, pub, s256), true);
  const s1 = await token.sign('ncp-sign', data, 'SHA-1');
  assert.equal(createVerify('sha1').update(data).verify(pub, s1), true);
  assert.equal(cryptoVerify('sha256', Buffer.concat([data, Buffer.from('x')]), pub, s256), false);
});

test('decrypts RSA-OAEP (SHA-256, SHA-1) and PKCS#1 v1.5 key transport', async () => {
  const pub = await token.publicKey('ncp-decrypt');
  const cek = randomBytes(32);
  const oaep256 = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, cek);
  assert.deepEqual(await token.decrypt('ncp-decrypt', oaep256, { name: 'RSA-OAEP', hash: 'SHA-256' }), cek);
  const oaep1 = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, cek);
  assert.deepEqual(await token.decrypt('ncp-decrypt', oaep1, { name: 'RSA-OAEP', hash: 'SHA-1' }), cek);
  const v15 = publicEncrypt({ key: pub, padding: constants.RSA_PKCS1_PADDING }, cek);
  assert.deepEqual(await token.decrypt('ncp-decrypt', v15, { name: 'RSAES-PKCS1-v1_5' }), cek);
});

test('a ciphertext for another key is a DECRYPT_FAILED TokenError, and the token stays usable', async () => {
  const other = await token.publicKey('ncp-sign');
  const wrong = publicEncrypt({ key: other, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, randomBytes(32));
  await assert.rejects(token.decrypt('ncp-decrypt', wrong, { name: 'RSA-OAEP', hash: 'SHA-256' }), (e: unknown) => e instanceof TokenError && e.code === 'DECRYPT_FAILED');
  assert.equal((await token.sign('ncp-sign', Buffer.from('still here'))).length, 256);
});

test('unknown key label is KEY_NOT_FOUND', async () => {
  await assert.rejects(token.sign('nope', Buffer.from('x')), (e: unknown) => e instanceof TokenError && e.code === 'KEY_NOT_FOUND');
});

test('20 concurrent signs and decrypts all succeed (operations are serialised)', async () => {
  const pub = await token.publicKey('ncp-sign');
  const decPub = await token.publicKey('ncp-decrypt');
  const msgs = Array.from({ length: 20 }, (_, i) => Buffer.from(`message ${i}`));
  const [sigs, plains] = await Promise.all([
    Promise.all(msgs.map((m) => token.sign('ncp-sign', m))),
    Promise.all(msgs.map((m) => token.decrypt('ncp-decrypt', publicEncrypt({ key: decPub, padding: constants.RSA_PKCS1_PADDING }, m), { name: 'RSAES-PKCS1-v1_5' }))),
  ]);
  sigs.forEach((s, i) => assert.equal(cryptoVerify('sha256', msgs[i]!, pub, s), true));
  plains.forEach((p, i) => assert.deepEqual(p, msgs[i]));
});

function otherSession(): { session: graphene.Session; slot: graphene.Slot; release: () => void } {
  const lease = acquireModule(tt.module, tt.conf);
  const slots = lease.module.getSlots(true);
  for (let i = 0; i < slots.length; i++) {
    const slot = slots.items(i);
    if (slot.getToken().label.trim() === tt.label) {
      const session = slot.open(graphene.SessionFlag.SERIAL_SESSION);
      return { session, slot, release: () => lease.release() };
    }
  }
  lease.release();
  throw new Error('test token not found');
}

test('logs in again after the application was logged out (CKR_USER_NOT_LOGGED_IN)', async () => {
  const other = otherSession();
  try {
    other.session.logout(); // login state is per application: this logs out the Token's session too
    const sig = await token.sign('ncp-sign', Buffer.from('after logout'));
    assert.equal(sig.length, 256);
    assert.equal(token.status().state, 'ready');
  } finally {
    other.session.close();
    other.release();
  }
});

test('reopens the session after it was closed under it (CKR_SESSION_HANDLE_INVALID / CLOSED)', async () => {
  const other = otherSession();
  try {
    other.slot.closeAll();
    const sig = await token.sign('ncp-sign', Buffer.from('after close'));
    assert.equal(sig.length, 256);
    assert.equal(token.status().state, 'ready');
  } finally {
    other.release();
  }
});

test('with idleCheckMs 0 the session is probed before each operation and replaced when it died', async () => {
  const probing = await Token.open({ module: tt.module, label: tt.label, pin: tt.pin, softhsmConf: tt.conf, idleCheckMs: 0 });
  const other = otherSession();
  try {
    other.slot.closeAll();
    assert.equal((await probing.sign('ncp-sign', Buffer.from('probe'))).length, 256);
    assert.equal(probing.status().state, 'ready');
  } finally {
    other.release();
    await probing.close();
  }
  assert.equal((await token.sign('ncp-sign', Buffer.from('main token recovers too'))).length, 256);
});

test('verifyPin and open() tell a wrong PIN even when the process is already logged in (where C_Login cannot)', async () => {
  assert.equal(await token.verifyPin(tt.pin), true);
  assert.equal(await token.verifyPin('wrong-pin-1'), false);
  // C_Login answers CKR_USER_ALREADY_LOGGED_IN to any PIN here (login state is per application); open() checks it.
  await assert.rejects(
    Token.open({ module: tt.module, label: tt.label, pin: 'wrong-pin-1', softhsmConf: tt.conf }),
    (e: unknown) => e instanceof TokenError && e.code === 'TOKEN_LOCKED',
  );
  const second = await Token.open({ module: tt.module, label: tt.label, pin: tt.pin, softhsmConf: tt.conf });
  try {
    assert.equal(second.status().state, 'ready');
    assert.equal((await second.sign('ncp-sign', Buffer.from('second'))).length, 256);
  } finally {
    await second.close();
  }
  assert.equal((await token.sign('ncp-sign', Buffer.from('still fine'))).length, 256);
});

test('checkHealth() after idle keeps the token ready', async () => {
  const s = await token.checkHealth();
  assert.equal(s.state, 'ready');
});
