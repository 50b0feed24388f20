/**
 * The pieces route modules are built from: the request state the session middleware fills,
 * the guards, and the JSON body reader. Exported for the daemon's own routes (DNA searches):
 *
 *   const searches: RouteModule = (router, kit) => {
 *     router.post('/dna/searches', kit.requireRole('operator'), async (ctx) => {
 *       const body = await kit.readJson(ctx);          // CSRF already checked
 *       const officer = ctx.state.user;                 // the signed-in operator
 *       …
 *     });
 *   };
 *   createApiServer({ …deps, extraRoutes: [searches] });
 */
import type { RouterContext, RouterMiddleware } from '@koa/router';
import type Router from '@koa/router';
import type { Next } from 'koa';
import { can, type Permission, type Role } from '../accounts/roles.js';
import { ApiError } from './errors.js';
import { readJsonBody } from '../util/json-body.js';
import type { SessionUser } from './wire.js';
import type { AdminAuditEvent } from './deps.js';

export interface ApiState {
  /** The signed-in user, or null. */
  user: SessionUser | null;
  /** The cookie value of the session (to touch or destroy it) and its CSRF token. */
  session: { token: string; csrfToken: string } | null;
  /** A browser that entered the first-run set-up code (no account exists yet). */
  setup: { token: string } | null;
  /** The browser sent a session cookie whose session timed out (so say SESSION_EXPIRED, not AUTH_REQUIRED). */
  sessionExpired: boolean;
}

export type ApiRouter = Router<ApiState>;
export type ApiContext = RouterContext<ApiState>;
export type ApiMiddleware = RouterMiddleware<ApiState>;

export interface RouteKit {
  requireSession: ApiMiddleware;
  /** Lets in users with one of these roles. */
  requireRole(...roles: Role[]): ApiMiddleware;
  requirePermission(permission: Permission): ApiMiddleware;
  readJson(ctx: ApiContext, limitBytes?: number): Promise<unknown>;
  /** Records an administrative action in the audit log with the current user as actor. */
  audit(ctx: ApiContext, event: Omit<AdminAuditEvent, 'at' | 'actor' | 'role' | 'remote'>, actor?: SessionUser): Promise<void>;
  now(): number;
}

export type RouteModule = (router: ApiRouter, kit: RouteKit) => void;

function notSignedIn(ctx: ApiContext): ApiError {
  return new ApiError(ctx.state.sessionExpired ? 'SESSION_EXPIRED' : 'AUTH_REQUIRED');
}

export const requireSession: ApiMiddleware = async (ctx: ApiContext, next: Next) => {
  if (!ctx.state.user) throw notSignedIn(ctx);
  await next();
};

export function requireRole(...roles: Role[]): ApiMiddleware {
  return async (ctx: ApiContext, next: Next) => {
    const user = ctx.state.user;
    if (!user) throw notSignedIn(ctx);
    if (!roles.includes(user.role)) throw new ApiError('FORBIDDEN_ROLE', { required: roles.join(',') });
    await next();
  };
}

export function requirePermission(permission: Permission): ApiMiddleware {
  return async (ctx: ApiContext, next: Next) => {
    const user = ctx.state.user;
    if (!user) throw notSignedIn(ctx);
    if (!can(user.role, permission)) throw new ApiError('FORBIDDEN_ROLE', { required: permission });
    await next();
  };
}

/** Default request body bound: every form of the console fits in far less. */
export const DEFAULT_JSON_LIMIT = 64 * 1024;

/** Reads a JSON body (application/json only; see util/json-body.ts) as the console's API errors. */
export async function readJson(ctx: ApiContext, limitBytes = DEFAULT_JSON_LIMIT): Promise<unknown> {
  const body = await readJsonBody(ctx.req, { limitBytes, requireJsonType: true });
  if (body.ok) return body.value;
  throw body.code === 'PAYLOAD_TOO_LARGE' ? new ApiError('PAYLOAD_TOO_LARGE', { limitBytes }) : new ApiError(body.code);
}
