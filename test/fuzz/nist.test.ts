import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describe, runFuzz } from './nist-fuzz.js';

// The short run of test/fuzz/nist.ts (which takes 100 000 cases); a fixed seed per run of the suite.
test('3 000 mutated ANSI/NIST transactions: no throw, byte-exact re-writing, Annex error lines only', (t) => {
  const report = runFuzz(3_000, 20260306);
  t.diagnostic(describe(report));
  assert.deepEqual(report.failures, []);
  assert.ok(report.parsed > 100, 'enough mutations still parse for the validator to be exercised');
  assert.ok(report.refused > 100, 'and enough are refused by the reader');
  assert.ok(report.maxRssMb < 1024);
});
