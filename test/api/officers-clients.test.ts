/**
 * Issue 12 items 5 and 3/8 on the console side: officers' API client credentials managed through
 * the console API (technicians make and revoke, auditors list, operators neither), on the real
 * registry and Art. 30 log; and the console API's failures reaching the daemon's logger.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, withAccounts } from './harness.js';
import { AuditLog } from '../../appliance/audit/log.js';
import { OfficersClients } from '../../appliance/dna-exchange/officers-clients.js';
import { officersClientsPort } from '../../appliance/api/wiring/index.js';
import type { OfficersClientsPort } from '../../appliance/api/deps.js';
import type { OfficersClientView } from '../../appliance/api/wire.js';
import { apiLogTo } from '../../appliance/api/log.js';

test("technicians make and revoke officers' API client credentials, auditors list them, operators cannot", async () => {
  let port: OfficersClientsPort | null = null;
  let registry: OfficersClients | null = null;
  const lazy: OfficersClientsPort = {
    list: () => port!.list(),
    add: (n, a) => port!.add(n, a),
    revoke: (i, a) => port!.revoke(i, a),
  };
  const h = createHarness({ officersClients: lazy });
  try {
    registry = new OfficersClients(h.db, new AuditLog(h.db, { origin: 'RO/pruem-gateway' }));
    port = officersClientsPort(registry);
    const { tech, operator, auditor } = await withAccounts(h);
    const made = await tech.request('POST', '/api/officers-clients', { name: 'case-system' });
    assert.equal(made.status, 201, made.text);
    const { client, credential } = made.json<{ client: OfficersClientView; credential: string }>();
    assert.equal(registry.authenticate(credential)?.name, 'case-system');
    assert.equal(client.createdBy, 'tech');

    const taken = await tech.request('POST', '/api/officers-clients', { name: 'case-system' });
    assert.equal(taken.status, 409);
    assert.equal(taken.json<{ error: { code: string } }>().error.code, 'CLIENT_NAME_TAKEN');
    const bad = await tech.request('POST', '/api/officers-clients', { name: 'Case System!' });
    assert.equal(bad.json<{ error: { code: string } }>().error.code, 'CLIENT_NAME_INVALID');

    const listed = (await auditor.request('GET', '/api/officers-clients')).json<{ clients: OfficersClientView[] }>();
    assert.deepEqual(listed.clients.map((c) => c.name), ['case-system']);
    assert.equal(JSON.stringify(listed).includes(credential), false, 'the list never shows a credential');
    assert.equal((await operator.request('GET', '/api/officers-clients')).status, 403);
    assert.equal((await auditor.request('POST', '/api/officers-clients', { name: 'x-client' })).status, 403);

    const revoked = await tech.request('POST', `/api/officers-clients/${client.id}/revoke`);
    assert.equal(revoked.status, 200, revoked.text);
    assert.equal(registry.authenticate(credential), null);
    const again = await tech.request('POST', `/api/officers-clients/${client.id}/revoke`);
    assert.equal(again.json<{ error: { code: string } }>().error.code, 'CLIENT_ALREADY_REVOKED');
    assert.ok(h.audited.some((e) => e.action === 'officers-client.add' && e.outcome === 'failure'), 'failures are recorded by the console');
  } finally {
    h.close();
  }
});

test("the console API's 500s reach the daemon's logger as errors, with the stack", async () => {
  const lines: Array<{ level: string; fields: Record<string, unknown> }> = [];
  const logger = {
    info: (fields: Record<string, unknown>) => lines.push({ level: 'info', fields }),
    warn: (fields: Record<string, unknown>) => lines.push({ level: 'warn', fields }),
    error: (fields: Record<string, unknown>) => lines.push({ level: 'error', fields }),
  };
  const h = createHarness({
    log: apiLogTo(logger),
    extraRoutes: [(router) => router.get('/broken', () => { throw new Error('disk on fire'); })],
  });
  try {
    const r = await h.browser().request('GET', '/api/broken');
    assert.equal(r.status, 500);
    assert.deepEqual(r.json(), { error: { code: 'INTERNAL', message: 'Internal error.' } });
    const logged = lines.find((l) => l.fields['event'] === 'api.internal');
    assert.equal(logged?.level, 'error');
    assert.match(String(logged?.fields['reason']), /disk on fire/);
  } finally {
    h.close();
  }
});
