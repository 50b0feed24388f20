import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHarness, withAccounts } from './harness.js';
import type { RouteModule } from '../../appliance/api/server.js';

/** How the daemon mounts POST /api/dna/searches: behind the same session, role and CSRF checks. */
const searches: RouteModule = (router, kit) => {
  router.post('/dna/searches', kit.requireRole('operator'), async (ctx) => {
    const body = (await kit.readJson(ctx)) as { profile?: string };
    await kit.audit(ctx, { action: 'dna.search.submit', target: 'search s-1', outcome: 'success' });
    ctx.status = 201;
    ctx.body = { by: ctx.state.user?.username, profile: body.profile ?? null };
  });
};

test('extra routes require the role they ask for and see the signed-in user', async () => {
  const h = createHarness({ extraRoutes: [searches] });
  try {
    const { tech, operator, auditor } = await withAccounts(h);
    const ok = await operator.request('POST', '/api/dna/searches', { profile: 'p' });
    assert.equal(ok.status, 201, ok.text);
    assert.deepEqual(ok.json(), { by: 'operator', profile: 'p' });
    assert.equal((await tech.request('POST', '/api/dna/searches', {})).status, 403);
    assert.equal((await auditor.request('POST', '/api/dna/searches', {})).status, 403);
    operator.csrf = '';
    assert.equal((await operator.request('POST', '/api/dna/searches', {})).status, 403, 'CSRF applies to extra routes');
    assert.equal((await h.browser().request('POST', '/api/dna/searches', {})).status, 403, 'anonymous: no token, refused');
    assert.ok(h.audited.some((e) => e.action === 'dna.search.submit' && e.actor === 'operator'));
  } finally {
    h.close();
  }
});
