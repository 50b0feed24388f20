import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkTcn, croCheckCharacter, makeTcn, tcnCheckCharacter } from '../../appliance/fingerprint/index.js';

test('the check character follows (YY·10^8 + serial) mod 23 and the Appendix 2 table', () => {
  // 2·10^8 + 4 = 200000004 = 23·8695652 + 8 → H (the Annex's example says F: it contradicts its formula).
  assert.equal(makeTcn(2002, 4), '0200000004H');
  assert.equal(tcnCheckCharacter('0000000000'), 'Z');
  assert.equal(makeTcn(0, 1), '0000000001A');
  assert.equal(makeTcn(0, 22), '0000000022Y');
  assert.equal(makeTcn(0, 23), '0000000023Z');
  // The table skips I, O and S: 9-J, 14-P, 17-T.
  assert.equal(makeTcn(0, 9).at(-1), 'J');
  assert.equal(makeTcn(0, 14).at(-1), 'P');
  assert.equal(makeTcn(0, 17).at(-1), 'T');
  assert.equal(makeTcn(2026, 99_999_999), `2699999999${'ZABCDEFGHJKLMNPQRTUVWXY'[2699999999 % 23]}`);
});

test('checkTcn accepts what makeTcn makes and rejects format and check-character errors', () => {
  for (let serial = 0; serial < 2000; serial += 37) {
    const tcn = makeTcn(2026, serial);
    assert.deepEqual(checkTcn(tcn), { ok: true, year: 26, serial });
    for (const wrong of 'ABCDEFGHJKLMNPQRTUVWXYZ') {
      if (wrong !== tcn.at(-1)) assert.deepEqual(checkTcn(tcn.slice(0, 10) + wrong), { ok: false, reason: 'CHECK_CHARACTER' });
    }
  }
  for (const bad of ['', '0200000004', '020000004H', '02000000004H', '0200000004h', '02000O0004H', ' 200000004H']) {
    assert.deepEqual(checkTcn(bad), { ok: false, reason: 'FORMAT' }, bad);
  }
  assert.throws(() => makeTcn(2026, 100_000_000), RangeError);
  assert.throws(() => makeTcn(2026, -1), RangeError);
});

test('CRO numbers use the same table with YY·10^6', () => {
  assert.equal(croCheckCharacter(2002, 4), 'ZABCDEFGHJKLMNPQRTUVWXY'[(2 * 1_000_000 + 4) % 23]);
});
