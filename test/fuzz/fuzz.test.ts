/**
 * The fuzz campaign, short (2,000 inputs per parser, and for the whole opening of a mail; the full 100,000 is `node --import tsx
 * test/fuzz/run.ts`): every parser at the trust boundary gets seeded mutations of real messages and
 * must answer each with its own result or error code — no crash, no hang, no worker past its heap
 * limit. Times and heap figures are printed, not asserted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCampaign, runCampaign } from './campaign.js';
import { PARSERS } from './seeds.js';

test('2,000 seeded mutations per parser: no crash, hang or unbounded allocation', async (t) => {
  const result = await runCampaign({ count: 2000, seed: 20261206, hangMs: 120_000, heapLimitMb: 512 });
  for (const line of formatCampaign(result).split("\n")) t.diagnostic(line);
  assert.deepEqual(result.reports.map((r) => r.parser), [...PARSERS]);
  for (const r of result.reports) {
    assert.equal(r.crashCount, 0, `${r.parser}: ${JSON.stringify(r.crashes.slice(0, 3))}`);
    assert.deepEqual(r.hangs, [], `${r.parser} hung`);
    assert.deepEqual(r.deaths, [], `${r.parser}: worker died`);
    assert.equal(r.measured, 2000, r.parser);
    // The seeds are real messages: at least one goes all the way through each parser, and the
    // mutations reach more than one of its checks (the harness exercises the parser, not one guard).
    assert.ok(r.seedOutcomes.includes('ok'), `${r.parser} seeds: ${r.seedOutcomes.join(', ')}`);
    assert.ok(Object.keys(r.outcomes).length >= 2, `${r.parser} outcomes: ${JSON.stringify(r.outcomes)}`);
  }
});
