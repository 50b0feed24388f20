import { test } from 'node:test';
import assert from 'node:assert/strict';
import { daysLeft, expiryLevel } from '../../appliance/api/expiry.js';
import { csvCell, toCsv } from '../../appliance/util/csv.js';

const now = Date.parse('2026-03-01T12:00:00Z');
const inDays = (d: number) => new Date(now + d * 86_400_000).toISOString();

test('certificate warnings at 60, 30 and 7 days, and when expired', () => {
  assert.equal(expiryLevel(inDays(61), now), 'ok');
  assert.equal(expiryLevel(inDays(60), now), 'notice');
  assert.equal(expiryLevel(inDays(31), now), 'notice');
  assert.equal(expiryLevel(inDays(30), now), 'warning');
  assert.equal(expiryLevel(inDays(8), now), 'warning');
  assert.equal(expiryLevel(inDays(7), now), 'critical');
  assert.equal(expiryLevel(inDays(0.01), now), 'critical');
  assert.equal(expiryLevel(inDays(-0.01), now), 'expired');
  assert.equal(expiryLevel('not a date', now), 'critical', 'an unreadable date is treated as urgent, not ignored');
  assert.equal(daysLeft(inDays(45.5), now), 45);
});

test('CSV cells are quoted and formula-looking text is defused', () => {
  assert.equal(csvCell('DE'), 'DE');
  assert.equal(csvCell('a,b'), '"a,b"');
  assert.equal(csvCell('say "hi"'), '"say ""hi"""');
  assert.equal(csvCell('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
  assert.equal(csvCell('-2+3'), "'-2+3");
  assert.equal(csvCell(12), '12');
  assert.equal(csvCell(null), '');
  assert.equal(toCsv(['a', 'b'], [[1, 'x']]), 'a,b\r\n1,x\r\n');
});
