/**
 * Inputs the fuzz campaign found, kept as plain tests: each must stay an error value of its parser.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSignedData } from '../../appliance/transport/smime/SignedData.js';
import { SmimeError } from '../../appliance/transport/smime/errors.js';

test('a GeneralizedTime that is not a time (asn1js throws) is MALFORMED_CMS, not an exception of another kind', () => {
  // SEQUENCE { GeneralizedTime "zzzz" }: asn1js.fromBER throws "Wrong input string for conversion".
  const der = Buffer.from([0x30, 0x06, 0x18, 0x04, 0x7a, 0x7a, 0x7a, 0x7a]);
  assert.throws(() => parseSignedData(der), (e: unknown) => e instanceof SmimeError && e.code === 'MALFORMED_CMS');
  const utc = Buffer.from([0x30, 0x06, 0x17, 0x04, 0x7a, 0x7a, 0x7a, 0x7a]);
  assert.throws(() => parseSignedData(utc), (e: unknown) => e instanceof SmimeError && e.code === 'MALFORMED_CMS');
});
