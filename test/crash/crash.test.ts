/**
 * The crash campaign, short (4 kills, one at each point; the full campaign is `node --import tsx
 * test/crash/campaign.ts --kills 20`): DE under sustained ping load from RO is SIGKILLed and
 * restarted; every ping is answered exactly once, counted at both ends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCrash, runCrashCampaign } from './campaign.js';

test('SIGKILL of a gateway under load at receive, open, commit and send: nothing lost, nothing answered twice', async (t) => {
  const r = await runCrashCampaign({ kills: 4, seed: 7, log: (l) => t.diagnostic(l) });
  for (const line of formatCrash(r).split("\n")) t.diagnostic(line);
  assert.equal(r.kills.length, 4);
  assert.deepEqual(r.kills.map((k) => k.aimed), ['receive', 'open', 'commit', 'send']);
  const c = r.counts;
  assert.ok(c.roPingsQueued > 0);
  assert.equal(c.roPingsSent, c.roPingsQueued, 'every ping left RO');
  assert.equal(c.dePingsReceived, c.roPingsQueued, 'DE holds every ping once');
  assert.equal(c.dePingsDistinct, c.roPingsQueued);
  assert.equal(c.dePingsDone, c.roPingsQueued);
  assert.equal(c.dePongsQueued, c.roPingsQueued, 'DE answered each ping once');
  assert.equal(c.dePongsSent, c.dePongsQueued);
  assert.equal(c.roPongsReceived, c.roPingsQueued, 'one pong per ping at RO');
  assert.equal(c.roPongsDistinct, c.roPingsQueued);
  assert.equal(r.lost, 0);
  assert.equal(r.answeredTwice, 0);
});
