import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, withAccounts } from './harness.js';
import { diffConfig, redactConfig } from '../../appliance/config/revisions.js';
import type { RevisionDetail, RevisionSummary } from '../../appliance/api/wire.js';

test('configuration changes become revisions with who, when, what, and can be reverted', async () => {
  const h = createHarness();
  try {
    const { tech, auditor } = await withAccounts(h);
    h.clock.now += 60_000;
    let r = await tech.request('PUT', '/api/config/relay', { relay: { host: 'relay.testa.eu', port: 25, requireTls: true } });
    assert.equal(r.status, 200, r.text);
    h.clock.now += 60_000;
    r = await tech.request('PUT', '/api/config/peers/DE/channels/dna', { enabled: false });
    assert.equal(r.status, 200, r.text);
    assert.equal(h.config.peers.find((p) => p.code === 'DE')?.channels.dna?.enabled, false);
    assert.equal((await tech.request('PUT', '/api/config/peers/DE/channels/dna', { enabled: false })).json<{ error: { code: string } }>().error.code, 'CONFIG_UNCHANGED');

    const list = (await auditor.request('GET', '/api/config/revisions')).json<{ revisions: RevisionSummary[] }>().revisions;
    assert.equal(list.length, 3, 'first start + two changes');
    const [latest, relay, initial] = list;
    assert.equal(initial?.actor, 'system');
    assert.equal(relay?.actor, 'tech');
    assert.match(relay?.summary ?? '', /^TESTA relay: relay: null → \{"host":"relay.testa.eu"/);
    assert.match(latest?.summary ?? '', /^peer DE channel dna: peers\[DE\]\.channels\.dna\.enabled: true → false/);
    assert.equal(latest?.at, new Date(h.clock.now).toISOString());

    const detail = (await auditor.request('GET', `/api/config/revisions/${latest?.id}`)).json<{ revision: RevisionDetail }>().revision;
    assert.deepEqual(detail.changes, [{ path: 'peers[DE].channels.dna.enabled', before: true, after: false }]);

    assert.equal((await auditor.request('POST', `/api/config/revisions/${initial?.id}/revert`)).status, 403, 'auditors do not revert');
    r = await tech.request('POST', `/api/config/revisions/${initial?.id}/revert`);
    assert.equal(r.status, 200, r.text);
    assert.equal(h.config.relay, null);
    assert.equal(h.config.peers.find((p) => p.code === 'DE')?.channels.dna?.enabled, true);
    const reverted = r.json<{ revision: RevisionDetail }>().revision;
    assert.equal(reverted.revertOf, initial?.id);
    assert.equal(reverted.changes.length, 2);

    const events = h.audited.filter((e) => e.action.startsWith('config.'));
    assert.deepEqual(
      events.map((e) => [e.action, e.target, e.outcome]),
      [
        ['config.relay.change', 'TESTA relay', 'success'],
        ['config.peer.channel.disable', 'peer DE channel dna', 'success'],
        ['config.revert', `configuration back to revision ${initial?.id}`, 'success'],
      ],
    );
    assert.match(events[1]?.detail ?? '', /peers\[DE\]\.channels\.dna\.enabled: true → false/);
  } finally {
    h.close();
  }
});

test('a hand edit of the configuration file shows up as its own revision', async () => {
  const h = createHarness();
  try {
    const { tech } = await withAccounts(h);
    await tech.request('GET', '/api/config');
    h.config = { ...h.config, limits: { ...h.config.limits, maxProfilesPerMessage: 100 } };
    await tech.request('PUT', '/api/config/relay', { relay: { host: 'r', port: 25, requireTls: false } });
    const list = (await tech.request('GET', '/api/config/revisions')).json<{ revisions: RevisionSummary[] }>().revisions;
    assert.deepEqual(list.map((r) => r.actor), ['tech', 'system', 'system']);
    assert.equal(list[1]?.summary, 'configuration file changed outside the console');
  } finally {
    h.close();
  }
});

test('an invalid change is refused whole, audited as a failure, and the daemon never sees it', async () => {
  const h = createHarness();
  try {
    const { tech } = await withAccounts(h);
    const r = await tech.request('PUT', '/api/config/relay', { relay: { host: 'relay', port: 70000, requireTls: false } });
    assert.equal(r.status, 400);
    assert.ok(!h.calls.includes('config.apply'));
  } finally {
    h.close();
  }
});

test('diffs match peers by code and secrets are redacted', () => {
  const before = { peers: [{ code: 'AT', x: 1 }, { code: 'DE', x: 1 }], pop3: { password: { value: 'hunter22' } }, token: { pin: { file: '/var/pin' } } };
  const after = { peers: [{ code: 'BE', x: 1 }, { code: 'AT', x: 1 }, { code: 'DE', x: 2 }], pop3: { password: { value: 'other-secret' } }, token: { pin: { file: '/var/pin' } } };
  const changes = diffConfig(redactConfig(before), redactConfig(after));
  assert.deepEqual(changes, [{ path: 'peers[DE].x', before: 1, after: 2 }, { path: 'peers[BE]', before: null, after: { code: 'BE', x: 1 } }]);
  assert.deepEqual(redactConfig(before), { ...before, pop3: { password: '[redacted]' } }, 'a PIN file path is not a secret; a literal password is');
});
