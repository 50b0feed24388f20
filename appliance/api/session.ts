import { randomBytes } from 'node:crypto';
import type { Next } from 'koa';
import type { Account } from '../accounts/store.js';
import { sameToken, SessionStore } from '../accounts/store.js';
import { ApiError } from './errors.js';
import type { ApiContext, ApiState } from './routing.js';
import type { SessionUser } from './wire.js';

export const SESSION_COOKIE = 'pruem_session';
export const SETUP_COOKIE = 'pruem_setup';
/** Double-submit token for requests made before sign-in (the sign-in itself, the wizard). */
export const PRESESSION_CSRF_COOKIE = 'pruem_csrf';
export const CSRF_HEADER = 'x-csrf-token';
/** Polling requests (dashboard, health) say so: they must not keep an idle session alive. */
export const BACKGROUND_HEADER = 'x-pruem-background';

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function toSessionUser(a: Account): SessionUser {
  return { id: a.id, username: a.username, displayName: a.displayName, role: a.role, language: a.language };
}

export interface SessionManagerOptions {
  readonly sessions: SessionStore;
  readonly findAccount: (id: number) => Account | null;
  readonly clock: () => number;
  readonly secureCookies: boolean;
}

/**
 * Reads the session cookie, checks the anti-forgery token on every unsafe method, and keeps
 * the first-run set-up grants (in memory: they only exist until the first account does).
 */
export class SessionManager {
  private readonly setupGrants = new Set<string>();

  constructor(private readonly o: SessionManagerOptions) {}

  private cookieOptions(ctx: ApiContext) {
    return { httpOnly: true, sameSite: 'strict' as const, path: '/', overwrite: true, secure: this.o.secureCookies && ctx.secure };
  }

  /** The per-browser token used before sign-in, created on first use. */
  presessionCsrf(ctx: ApiContext): string {
    const existing = ctx.cookies.get(PRESESSION_CSRF_COOKIE);
    if (existing && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
    const token = randomBytes(32).toString('base64url');
    ctx.cookies.set(PRESESSION_CSRF_COOKIE, token, this.cookieOptions(ctx));
    return token;
  }

  signIn(ctx: ApiContext, account: Account): { csrfToken: string } {
    const old = ctx.cookies.get(SESSION_COOKIE);
    if (old) this.o.sessions.destroy(old); // no session fixation: a new id at every sign-in
    // Sessions abandoned without signing out are swept here: sign-ins are rare, the table stays small.
    this.o.sessions.purgeExpired(this.o.clock());
    const { token, csrfToken } = this.o.sessions.create(account.id, this.o.clock(), ctx.ip || null);
    ctx.cookies.set(SESSION_COOKIE, token, this.cookieOptions(ctx));
    ctx.state.user = toSessionUser(account);
    ctx.state.session = { token, csrfToken };
    return { csrfToken };
  }

  signOut(ctx: ApiContext): void {
    const token = ctx.cookies.get(SESSION_COOKIE);
    if (token) this.o.sessions.destroy(token);
    ctx.cookies.set(SESSION_COOKIE, '', { ...this.cookieOptions(ctx), maxAge: 0 });
    ctx.state.user = null;
    ctx.state.session = null;
  }

  grantSetup(ctx: ApiContext): void {
    const token = randomBytes(32).toString('base64url');
    this.setupGrants.add(token);
    ctx.cookies.set(SETUP_COOKIE, token, this.cookieOptions(ctx));
    ctx.state.setup = { token };
  }

  /** Once the first account exists nobody needs (or may use) the set-up grants any more. */
  endSetup(ctx: ApiContext): void {
    this.setupGrants.clear();
    ctx.cookies.set(SETUP_COOKIE, '', { ...this.cookieOptions(ctx), maxAge: 0 });
    ctx.state.setup = null;
  }

  readonly middleware = async (ctx: ApiContext, next: Next): Promise<void> => {
    const state: ApiState = { user: null, session: null, setup: null, sessionExpired: false };
    Object.assign(ctx.state, state);
    let expired = false;

    const token = ctx.cookies.get(SESSION_COOKIE);
    if (token) {
      const now = this.o.clock();
      const found = this.o.sessions.resolve(token, now);
      if (found === 'expired') expired = true;
      else if (found) {
        const account = this.o.findAccount(found.userId);
        if (account && !account.disabled) {
          ctx.state.user = toSessionUser(account);
          ctx.state.session = { token, csrfToken: found.csrfToken };
          if (ctx.get(BACKGROUND_HEADER) !== '1') this.o.sessions.touch(token, now);
        } else {
          this.o.sessions.destroy(token);
        }
      }
    }
    const setupToken = ctx.cookies.get(SETUP_COOKIE);
    if (setupToken && this.setupGrants.has(setupToken)) ctx.state.setup = { token: setupToken };

    if (UNSAFE.has(ctx.method)) {
      // Defence in depth beside SameSite=Strict and the token: a browser always sends Origin on
      // cross-origin unsafe requests, and it must be this very host.
      const origin = ctx.get('origin');
      if (origin && origin !== `${ctx.protocol}://${ctx.host}`) throw new ApiError('CSRF_REJECTED', { reason: 'origin' });
      const sent = ctx.get(CSRF_HEADER);
      const expected = ctx.state.session?.csrfToken ?? ctx.cookies.get(PRESESSION_CSRF_COOKIE) ?? '';
      if (!sent || !expected || !sameToken(sent, expected)) {
        throw new ApiError(expired && !isSignInRequest(ctx) ? 'SESSION_EXPIRED' : 'CSRF_REJECTED');
      }
    }
    if (expired && !ctx.state.user) ctx.state.sessionExpired = true;
    await next();
  };
}

function isSignInRequest(ctx: ApiContext): boolean {
  return ctx.method === 'POST' && ctx.path === '/api/session';
}
