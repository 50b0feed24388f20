import { z } from 'zod';
import { permissionsOf } from '../../accounts/roles.js';
import { ApiError } from '../errors.js';
import type { InternalRouteModule } from '../internals.js';
import { toSessionUser } from '../session.js';
import { parseBody } from '../validate.js';
import type { AccountView, SessionInfo } from '../wire.js';
import type { Account } from '../../accounts/store.js';
import type { AccountProblem } from '../../accounts/service.js';

export function accountView(a: Account, now: number): AccountView {
  return {
    id: a.id,
    username: a.username,
    displayName: a.displayName,
    role: a.role,
    language: a.language,
    disabled: a.disabled,
    locked: a.lockedUntil !== null && a.lockedUntil > now,
    lockedUntil: a.lockedUntil !== null && a.lockedUntil > now ? new Date(a.lockedUntil).toISOString() : null,
    createdAt: new Date(a.createdAt).toISOString(),
    lastLoginAt: a.lastLoginAt ? new Date(a.lastLoginAt).toISOString() : null,
  };
}

export function problemError(problem: AccountProblem, lockedUntil?: number): ApiError {
  return new ApiError(problem, lockedUntil !== undefined ? { lockedUntil: new Date(lockedUntil).toISOString() } : undefined);
}

const signIn = z.object({ username: z.string().max(200), password: z.string().max(1000) }).strict();

/** Sign-in, sign-out, who am I, my language and password. */
export const sessionRoutes: InternalRouteModule = (router, kit, { accounts, sessions, sessionStore, idleMinutes }) => {
  router.get('/session', (ctx) => {
    const user = ctx.state.user;
    const body: SessionInfo = {
      user,
      permissions: user ? permissionsOf(user.role) : [],
      csrfToken: ctx.state.session?.csrfToken ?? sessions.presessionCsrf(ctx),
      setupNeeded: !accounts.hasAccounts(),
      idleMinutes,
    };
    ctx.body = body;
  });

  router.post('/session', async (ctx) => {
    const { username, password } = parseBody(signIn, await kit.readJson(ctx));
    if (!accounts.hasAccounts()) throw new ApiError('SETUP_REQUIRED');
    const result = await accounts.authenticate(username, password, kit.now());
    const known = accounts.store.byUsernameWithHash(username)?.account;
    if (!result.ok) {
      // Unknown names are not written to the log: people type passwords into the name field.
      await kit.audit(ctx, {
        action: 'session.sign-in',
        target: known ? `account ${known.username} (${known.role})` : 'unknown account',
        outcome: 'failure',
        detail: result.problem === 'ACCOUNT_LOCKED' ? `account locked until ${new Date(result.lockedUntil ?? 0).toISOString()}` : 'wrong user name or password',
      });
      throw problemError(result.problem, result.problem === 'ACCOUNT_LOCKED' ? result.lockedUntil : undefined);
    }
    const { csrfToken } = sessions.signIn(ctx, result.value);
    await kit.audit(ctx, { action: 'session.sign-in', target: `account ${result.value.username} (${result.value.role})`, outcome: 'success' });
    const user = toSessionUser(result.value);
    const body: SessionInfo = { user, permissions: permissionsOf(user.role), csrfToken, setupNeeded: false, idleMinutes };
    ctx.body = body;
  });

  router.delete('/session', async (ctx) => {
    const user = ctx.state.user;
    sessions.signOut(ctx);
    if (user) await kit.audit(ctx, { action: 'session.sign-out', target: `account ${user.username} (${user.role})`, outcome: 'success' }, user);
    ctx.status = 204;
  });

  router.put('/me/language', kit.requireSession, async (ctx) => {
    const { language } = parseBody(z.object({ language: z.string() }).strict(), await kit.readJson(ctx));
    const user = ctx.state.user!;
    const result = accounts.setLanguage(user.id, language);
    if (!result.ok) throw problemError(result.problem);
    ctx.body = { user: toSessionUser(result.value) };
  });

  router.put('/me/password', kit.requireSession, async (ctx) => {
    const { current, next } = parseBody(z.object({ current: z.string().max(1000), next: z.string().max(1000) }).strict(), await kit.readJson(ctx));
    const user = ctx.state.user!;
    const result = await accounts.changePassword(user.id, current, next);
    await kit.audit(ctx, {
      action: 'account.password.change',
      target: `account ${user.username} (own)`,
      outcome: result.ok ? 'success' : 'failure',
      ...(result.ok ? {} : { detail: result.problem }),
    });
    if (!result.ok) throw problemError(result.problem);
    // Other browsers signed in with the old password are signed out.
    sessionStore.destroyAllFor(user.id, ctx.state.session?.token);
    ctx.status = 204;
  });
};
