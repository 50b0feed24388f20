import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateways, eventually, type Gateways } from '../support/gateways.js';

/**
 * Issue 2: two gateway processes (RO, DE), each with its own SoftHSM2 token and development
 * certificates, exchange signed+encrypted messages both ways through a real Postfix relay.
 */
let net: Gateways;

before(async () => {
  net = await startGateways(['RO', 'DE'], { relay: 'postfix' });
});
after(async () => {
  await net?.close();
});

type Row = { status: string; outcome: string | null; sender_state: string | null };

test('RO and DE exchange S/MIME link tests both ways through Postfix', async () => {
  await net.ping('RO', 'DE', 3);
  await net.ping('DE', 'RO', 2);
  const pongs = (state: 'RO' | 'DE') => net.query<Row>(state, `SELECT status, outcome, sender_state FROM queue_inbox WHERE outcome LIKE 'pong %'`);
  await eventually(() => pongs('RO').length === 3 && pongs('DE').length === 2, 'pongs on both sides');

  const deInbox = net.query<Row>('DE', `SELECT status, outcome, sender_state FROM queue_inbox WHERE outcome LIKE 'ping %'`);
  assert.equal(deInbox.length, 3, 'DE answered three pings');
  assert.ok(deInbox.every((r) => r.status === 'done' && r.sender_state === 'RO'), 'verified as coming from RO');
  assert.ok(pongs('RO').every((r) => r.sender_state === 'DE'));
  assert.ok(pongs('DE').every((r) => r.sender_state === 'RO'));

  const status = (await (await fetch(`${net.node('RO').url}/api/status`)).json()) as {
    memberState: string;
    peers: Array<{ state: string; channel: string; link: string }>;
  };
  assert.equal(status.memberState, 'RO');
  assert.equal(status.peers.find((p) => p.state === 'DE' && p.channel === 'dna')?.link, 'up');
});
