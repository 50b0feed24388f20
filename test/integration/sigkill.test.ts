import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateways, eventually, type Gateways } from '../support/gateways.js';

/**
 * Issue 2 item 7: SIGKILL in the middle of a burst loses nothing and duplicates nothing.
 * RO queues a burst of pings to DE; we kill DE (receiving and answering) and then RO (sending)
 * with SIGKILL mid-burst, restart both, and check that every ping was answered exactly once:
 * had any ping been processed twice, DE would have made a second pong with a new message id,
 * and RO would hold two pongs for one ping.
 */
const BURST = 60;
let net: Gateways;

before(async () => {
  net = await startGateways(['RO', 'DE'], { relay: 'postfix' });
});
after(async () => {
  await net?.close();
});

type Count = { n: number };

test('a burst survives SIGKILL of the receiver and of the sender: each message answered exactly once', async () => {
  await net.ping('RO', 'DE', BURST);
  const deDone = () => net.query<Count>('DE', `SELECT count(*) AS n FROM queue_inbox WHERE status = 'done'`)[0]!.n;
  const roPongs = () => net.query<Count>('RO', `SELECT count(*) AS n FROM queue_inbox WHERE outcome LIKE 'pong %'`)[0]!.n;

  await eventually(() => deDone() >= 5, 'DE to start answering');
  await net.kill('DE');
  const doneAtKill = deDone();
  assert.ok(doneAtKill < BURST, `the kill must land mid-burst (DE had answered ${doneAtKill})`);
  await net.start('DE');

  await eventually(() => roPongs() >= 5, 'RO to receive pongs');
  await net.kill('RO');
  await net.start('RO');

  await eventually(() => roPongs() >= BURST, `all ${BURST} pongs`, 300_000);
  // Give stragglers (a duplicate would arrive late) time to show up before counting.
  await new Promise((r) => setTimeout(r, 3000));

  const pings = net.query<{ outcome: string; status: string }>('DE', `SELECT outcome, status FROM queue_inbox WHERE outcome LIKE 'ping %'`);
  assert.equal(pings.length, BURST, 'DE holds every ping once');
  assert.ok(pings.every((p) => p.status === 'done'));

  const pongs = net.query<{ outcome: string }>('RO', `SELECT outcome FROM queue_inbox WHERE outcome LIKE 'pong %'`);
  const tokens = new Set(pongs.map((p) => p.outcome));
  assert.equal(pongs.length, BURST, 'exactly one pong per ping');
  assert.equal(tokens.size, BURST, 'no ping answered twice');

  const sent = net.query<Count>('RO', `SELECT count(*) AS n FROM queue_outbox WHERE status = 'sent'`)[0]!.n;
  assert.equal(sent, BURST, 'every ping left RO');
});
