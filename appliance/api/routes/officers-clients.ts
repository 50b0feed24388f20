import { z } from 'zod';
import { ApiError } from '../errors.js';
import type { InternalRouteModule } from '../internals.js';
import { parseBody } from '../validate.js';

const addSchema = z.object({ name: z.string().trim().min(1).max(64) }).strict();

/**
 * The officers' API client credentials (issue 12 item 5): technicians make and revoke them, auditors
 * see the list. The registry records every change in the Art. 30 log itself; failures are recorded
 * here (the sink skips successes, as for officer changes).
 */
export const officersClientRoutes: InternalRouteModule = (router, kit, { deps }) => {
  const port = () => {
    if (!deps.officersClients) throw new ApiError('NOT_CONFIGURED');
    return deps.officersClients;
  };
  const actor = (user: { username: string } | null) => user?.username ?? 'console';

  router.get('/officers-clients', kit.requirePermission('officers.read'), async (ctx) => {
    ctx.body = { clients: await port().list() };
  });

  router.post('/officers-clients', kit.requirePermission('officers.write'), async (ctx) => {
    const { name } = parseBody(addSchema, await kit.readJson(ctx));
    try {
      const made = await port().add(name, actor(ctx.state.user));
      await kit.audit(ctx, { action: 'officers-client.add', target: `officers-api client ${made.client.name}`, outcome: 'success' });
      ctx.status = 201;
      ctx.body = made;
    } catch (e) {
      await kit.audit(ctx, { action: 'officers-client.add', target: `officers-api client ${name}`, outcome: 'failure', detail: (e as Error).message });
      throw e;
    }
  });

  router.post('/officers-clients/:id/revoke', kit.requirePermission('officers.write'), async (ctx) => {
    const id = ctx.params['id'] ?? '';
    try {
      const client = await port().revoke(id, actor(ctx.state.user));
      await kit.audit(ctx, { action: 'officers-client.revoke', target: `officers-api client ${client.name}`, outcome: 'success' });
      ctx.body = { client };
    } catch (e) {
      await kit.audit(ctx, { action: 'officers-client.revoke', target: `officers-api client ${id.slice(0, 64)}`, outcome: 'failure', detail: (e as Error).message });
      throw e;
    }
  });
};
