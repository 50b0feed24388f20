import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPasswordPolicy, DEFAULT_SCRYPT_COST, hashPassword, needsRehash, parseHash, verifyPassword } from '../../appliance/accounts/passwords.js';

test('passwords are hashed with scrypt at the default cost (N=2^16, r=8, p=2) and a random salt', async () => {
  const a = await hashPassword('correct horse battery staple');
  const b = await hashPassword('correct horse battery staple');
  assert.match(a, /^\$scrypt\$ln=16,r=8,p=2\$/);
  assert.notEqual(a, b, 'salted');
  assert.deepEqual(parseHash(a)?.cost, DEFAULT_SCRYPT_COST);
  assert.equal(await verifyPassword('correct horse battery staple', a), true);
  assert.equal(await verifyPassword('correct horse battery stapl', a), false);
  assert.equal(await verifyPassword('Correct horse battery staple', a), false);
});

test('a malformed or hostile stored hash never matches and never throws', async () => {
  for (const bad of ['', 'plain', '$scrypt$ln=40,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$' + 'A'.repeat(43), '$scrypt$ln=16,r=8,p=2$short$short']) {
    assert.equal(await verifyPassword('x', bad), false, bad);
  }
});

test('hashes with a lower cost are flagged for re-hashing at the next sign-in', async () => {
  const cheap = await hashPassword('some long passphrase', { ln: 10, r: 8, p: 1 });
  assert.equal(needsRehash(cheap, DEFAULT_SCRYPT_COST), true);
  assert.equal(needsRehash(cheap, { ln: 10, r: 8, p: 1 }), false);
});

test('the password policy asks for length, not symbols', () => {
  assert.equal(checkPasswordPolicy('short', 'user'), 'PASSWORD_TOO_SHORT');
  assert.equal(checkPasswordPolicy('twelve chars', 'user'), null);
  assert.equal(checkPasswordPolicy('x'.repeat(257), 'user'), 'PASSWORD_TOO_LONG');
  assert.equal(checkPasswordPolicy('my-name-is-ionescu', 'Ionescu'), 'PASSWORD_CONTAINS_USERNAME');
  assert.equal(checkPasswordPolicy('ăîșțâăîșțâăî', 'user'), null, 'counted in characters, not bytes');
});
