/**
 * The exchange events' fast path (isCleanExchangeEvent) against the zod schema: whatever the fast path
 * lets through, the schema accepts unchanged (same canonical JSON, so the same leaf and hash); and
 * parseAuditEvent answers exactly as the schema alone does, for valid events and for each field broken
 * in each way we could think of.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, isCleanExchangeEvent, parseAuditEvent, parseAuditEventWithSchema } from '../../appliance/audit/events.js';
import { TestClock, adminEvent, incomingRequest, incomingResponse, nonAutomated, outgoingResponse, outgoingSearch } from './helpers.js';

const clock = new TestClock('2026-11-23T10:15:30.123Z');

function same(input: unknown, label: string): void {
  const fast = parseAuditEvent(input);
  const schema = parseAuditEventWithSchema(input);
  assert.equal(fast.ok, schema.ok, `${label}: accepted by one, refused by the other`);
  if (fast.ok && schema.ok) assert.equal(canonicalJson(fast.event), canonicalJson(schema.event), `${label}: a different record`);
  if (!fast.ok && !schema.ok) assert.deepEqual(fast.issues, schema.issues, `${label}: different problems reported`);
  if (isCleanExchangeEvent(input)) {
    assert.ok(schema.ok, `${label}: the fast path let through what the schema refuses`);
    if (schema.ok) assert.equal(canonicalJson(schema.event), canonicalJson(input), `${label}: the schema would have changed it`);
  }
}

const valid = () => [
  outgoingSearch(clock),
  incomingRequest(clock),
  outgoingResponse(clock, { inReplyTo: 'msg-1' }),
  outgoingResponse(clock),
  incomingResponse(clock, { inReplyTo: 'msg-2' }),
  incomingResponse(clock, { dataSupplied: { categories: ['none'], recordIds: [], count: 0, sha256: 'a'.repeat(64), byteLength: 0, description: 'no hit' } }),
];

test('the events every channel records take the fast path, and it agrees with the schema', () => {
  for (const e of valid()) {
    assert.equal(isCleanExchangeEvent(e), true, `${e.direction} ${e.role} should be clean`);
    same(e, `${e.direction} ${e.role}`);
  }
  // Not exchange events: always the schema.
  assert.equal(isCleanExchangeEvent(adminEvent(clock)), false);
  assert.equal(isCleanExchangeEvent(nonAutomated(clock)), false);
});

const BAD_VALUES: unknown[] = [
  undefined, null, '', ' ', ' padded', 'padded ', 'x'.repeat(101), 'x'.repeat(129), 'x'.repeat(257), 'x'.repeat(1001), 'x'.repeat(2001),
  0, -1, 1.5, 1_000_001, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 60, true, 'true', [], ['a'], [' a'], ['a', ''], {}, { state: 'DE' },
  { state: 'DE', agency: 'BKA', extra: 1 }, { state: 'XX', agency: 'BKA' }, { state: 'DE', agency: ' BKA' }, 'DE', 'XX', 'de',
  '2026-11-23T10:15:30Z', '2026-02-30T10:15:30.123Z', '2026-11-23T10:15:30.123+01:00', 'A'.repeat(64), 'a'.repeat(63), 'g'.repeat(64),
  ['dna-profile', 'dna-profile', 'dna-profile', 'dna-profile', 'dna-profile', 'dna-profile', 'dna-profile'], ['bogus'],
  Array.from({ length: 101 }, (_, i) => `r${i}`), Array.from({ length: 1001 }, (_, i) => `r${i}`), new Date(), Object.create({ state: 'DE', agency: 'BKA' }),
];

test('each field of each exchange event, broken every way: the same answer as the schema', () => {
  let cases = 0;
  for (const base of valid()) {
    const fields = [...Object.keys(base), 'inReplyTo', 'reason', 'officerId', 'orderingOfficerId', 'unknownField', 'kind', 'direction', 'role'];
    for (const field of fields) {
      for (const bad of [...BAD_VALUES, 'sent', 'received', 'request', 'response', 'vrd', 'fp', 'hit']) {
        same({ ...base, [field]: bad }, `${base.direction} ${base.role}: ${field} = ${String(bad).slice(0, 20)}`);
        cases++;
      }
    }
    for (const field of ['categories', 'recordIds', 'count', 'sha256', 'byteLength', 'description', 'unknownField']) {
      for (const bad of BAD_VALUES) {
        same({ ...base, dataSupplied: { ...base.dataSupplied, [field]: bad } }, `${base.direction} ${base.role}: dataSupplied.${field} = ${String(bad).slice(0, 20)}`);
        cases++;
      }
    }
    for (const side of ['searchingBody', 'fileManagingBody'] as const) {
      for (const field of ['state', 'agency', 'extra']) {
        for (const bad of BAD_VALUES) {
          same({ ...base, [side]: { ...base[side], [field]: bad } }, `${side}.${field} = ${String(bad).slice(0, 20)}`);
          cases++;
        }
      }
    }
    const { messageId: _dropped, ...missing } = base;
    same(missing, 'messageId missing');
  }
  assert.ok(cases > 3000, `${cases} cases`);
});

test('a value with spaces around it is trimmed by the schema, never recorded as it came', () => {
  const e = incomingRequest(clock, { messageId: '  msg-9  ' });
  assert.equal(isCleanExchangeEvent(e), false);
  const r = parseAuditEvent(e);
  assert.ok(r.ok);
  if (r.ok && r.event.kind === 'exchange') assert.equal(r.event.messageId, 'msg-9');
});
