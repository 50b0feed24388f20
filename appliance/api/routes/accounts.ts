import { z } from 'zod';
import type { InternalRouteModule } from '../internals.js';
import { parseBody, positiveIntParam } from '../validate.js';
import { accountView, problemError } from './session.js';
import { ApiError } from '../errors.js';

const createSchema = z
  .object({ username: z.string(), displayName: z.string(), role: z.string(), password: z.string().max(1000), language: z.string().optional() })
  .strict();
const updateSchema = z.object({ role: z.string().optional(), displayName: z.string().optional(), disabled: z.boolean().optional() }).strict();

/** Local accounts, managed by technicians. Each change is audited with the account it touched. */
export const accountRoutes: InternalRouteModule = (router, kit, { accounts, sessionStore }) => {
  const manage = kit.requirePermission('accounts.manage');

  router.get('/accounts', manage, (ctx) => {
    const now = kit.now();
    ctx.body = { accounts: accounts.store.list().map((a) => accountView(a, now)) };
  });

  router.post('/accounts', manage, async (ctx) => {
    const input = parseBody(createSchema, await kit.readJson(ctx));
    const result = await accounts.create(input, kit.now());
    await kit.audit(ctx, {
      action: 'account.create',
      target: `account ${input.username.slice(0, 40)} (${input.role.slice(0, 20)})`,
      outcome: result.ok ? 'success' : 'failure',
      ...(result.ok ? {} : { detail: result.problem }),
    });
    if (!result.ok) throw problemError(result.problem);
    ctx.status = 201;
    ctx.body = { account: accountView(result.value, kit.now()) };
  });

  router.patch('/accounts/:id', manage, async (ctx) => {
    const id = positiveIntParam(ctx.params['id']);
    const changes = parseBody(updateSchema, await kit.readJson(ctx));
    const before = accounts.store.byId(id);
    if (!before) throw new ApiError('ACCOUNT_NOT_FOUND');
    const result = accounts.update(id, changes);
    const described = [
      changes.role !== undefined ? `role ${before.role} → ${changes.role}` : null,
      changes.disabled !== undefined ? (changes.disabled ? 'disabled' : 'enabled') : null,
      changes.displayName !== undefined ? 'display name changed' : null,
    ]
      .filter(Boolean)
      .join(', ');
    await kit.audit(ctx, {
      action: 'account.update',
      target: `account ${before.username} (${before.role})`,
      outcome: result.ok ? 'success' : 'failure',
      detail: result.ok ? described || 'no change' : result.problem,
    });
    if (!result.ok) throw problemError(result.problem);
    // A new role or a disabled account takes effect now, not at the next sign-in.
    if (changes.role !== undefined || changes.disabled) sessionStore.destroyAllFor(id);
    ctx.body = { account: accountView(result.value, kit.now()) };
  });

  router.post('/accounts/:id/unlock', manage, async (ctx) => {
    const id = positiveIntParam(ctx.params['id']);
    const result = accounts.unlock(id);
    await kit.audit(ctx, {
      action: 'account.unlock',
      target: result.ok ? `account ${result.value.username} (${result.value.role})` : `account #${id}`,
      outcome: result.ok ? 'success' : 'failure',
      ...(result.ok ? {} : { detail: result.problem }),
    });
    if (!result.ok) throw problemError(result.problem);
    ctx.body = { account: accountView(result.value, kit.now()) };
  });

  router.post('/accounts/:id/password', manage, async (ctx) => {
    const id = positiveIntParam(ctx.params['id']);
    const { password } = parseBody(z.object({ password: z.string().max(1000) }).strict(), await kit.readJson(ctx));
    const result = await accounts.setPassword(id, password);
    await kit.audit(ctx, {
      action: 'account.password.reset',
      target: result.ok ? `account ${result.value.username} (${result.value.role})` : `account #${id}`,
      outcome: result.ok ? 'success' : 'failure',
      ...(result.ok ? {} : { detail: result.problem }),
    });
    if (!result.ok) throw problemError(result.problem);
    sessionStore.destroyAllFor(id);
    ctx.status = 204;
  });

  router.delete('/accounts/:id', manage, async (ctx) => {
    const id = positiveIntParam(ctx.params['id']);
    if (ctx.state.user?.id === id) throw new ApiError('VALIDATION_FAILED', { field: 'id', problem: 'you cannot delete your own account' });
    const result = accounts.remove(id);
    await kit.audit(ctx, {
      action: 'account.delete',
      target: result.ok ? `account ${result.value.username} (${result.value.role})` : `account #${id}`,
      outcome: result.ok ? 'success' : 'failure',
      ...(result.ok ? {} : { detail: result.problem }),
    });
    if (!result.ok) throw problemError(result.problem);
    ctx.status = 204;
  });
};
