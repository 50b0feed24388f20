import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import Koa from 'koa';
import Router from '@koa/router';
import { AccountService } from '../accounts/service.js';
import { insideFence } from '../accounts/roles.js';
import { DEFAULT_SESSION_LIMITS, SessionStore } from '../accounts/store.js';
import { RevisionStore } from '../config/revisions.js';
import { HealthMonitor } from '../health/sample.js';
import type { AdminAuditEvent, ApiDeps } from './deps.js';
import { ApiError, errorEnvelope } from './errors.js';
import { securityHeaders } from './http/security.js';
import { serveConsole } from './http/static.js';
import type { ApiInternals, InternalRouteModule } from './internals.js';
import { readJson, requirePermission, requireRole, requireSession, type ApiContext, type ApiState, type RouteKit } from './routing.js';
import { SessionManager } from './session.js';
import { accountRoutes } from './routes/accounts.js';
import { auditRoutes } from './routes/audit.js';
import { certificateRoutes } from './routes/certificates.js';
import { configRoutes } from './routes/config.js';
import { officerRoutes } from './routes/officers.js';
import { officersClientRoutes } from './routes/officers-clients.js';
import { sessionRoutes } from './routes/session.js';
import { newSetupCode, setupRoutes } from './routes/setup.js';
import { statusRoutes, systemRoutes } from './routes/status.js';

export { ApiError, API_ERRORS, type ApiErrorCode } from './errors.js';
export { requireRole, requirePermission, requireSession, readJson, type ApiState, type ApiContext, type RouteKit, type RouteModule, type ApiRouter } from './routing.js';
export type { ApiDeps } from './deps.js';

/**
 * Where console/build.mjs writes the bundle: dist/console. Compiled, this file is
 * dist/appliance/api/server.js (the bundle is two folders up); run from the sources through tsx,
 * it is appliance/api/server.ts (the bundle is under dist/ at the root).
 */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL(import.meta.url.endsWith('.js') ? '../../console/' : '../../dist/console/', import.meta.url));

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export interface ApiServer {
  readonly app: Koa<ApiState>;
  /** A plain (req, res) handler: for node:http, or for in-process injection in tests (inject.ts). */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** Plain HTTP, or HTTPS with `tls` (PEM key and certificate). */
  listen(host: string, port: number, tls?: { readonly key: Buffer; readonly cert: Buffer }): Promise<{ port: number; close(): Promise<void> }>;
  /** Every route of the API (method and path with its /api prefix), extra routes included: what tests walk. */
  routes(): ReadonlyArray<{ readonly method: string; readonly path: string }>;
}

/**
 * The management API and the console. GET /api/health and GET /api/status answer without a
 * session; everything else under /api needs one, and every unsafe method an anti-forgery token.
 */
export function createApiServer(deps: ApiDeps): ApiServer {
  const clock = deps.clock ?? Date.now;
  const security = deps.security ?? {};
  const idleMinutes = security.idleMinutes ?? DEFAULT_SESSION_LIMITS.idleMinutes;
  const accounts = new AccountService(deps.db, { ...(security.lockout ? { lockout: security.lockout } : {}), ...(security.scrypt ? { scrypt: security.scrypt } : {}) });
  const sessionStore = new SessionStore(deps.db, { idleMinutes, absoluteHours: security.absoluteHours ?? DEFAULT_SESSION_LIMITS.absoluteHours });
  const sessions = new SessionManager({ sessions: sessionStore, findAccount: (id) => accounts.store.byId(id), clock, secureCookies: security.secureCookies ?? false });
  const revisions = new RevisionStore(deps.db, clock);
  const log = deps.log ?? (() => undefined);

  const setupCode: { current: string | null } = { current: null };
  if (!accounts.hasAccounts()) {
    setupCode.current = newSetupCode();
    if (deps.onSetupCode) deps.onSetupCode(setupCode.current);
    else log('api.setup.code', { message: 'first-run wizard code (show on the local console)', code: setupCode.current });
  }

  const audit = async (ctx: ApiContext, event: Omit<AdminAuditEvent, 'at' | 'actor' | 'role' | 'remote'>, actor = ctx.state.user ?? undefined) => {
    const full: AdminAuditEvent = {
      ...event,
      at: new Date(clock()).toISOString(),
      actor: actor?.username ?? null,
      role: actor?.role ?? (ctx.state.setup || !accounts.hasAccounts() ? 'setup' : null),
      remote: ctx.ip || null,
    };
    try {
      await deps.auditAdmin(full);
    } catch (e) {
      // The action already happened; losing its record must be loud, not a second failure for the user.
      log('api.audit.failed', { action: event.action, reason: (e as Error).message });
    }
  };

  const kit: RouteKit = {
    requireSession,
    requireRole,
    requirePermission,
    readJson,
    audit,
    now: clock,
  };
  const internals: ApiInternals = { deps, accounts, sessionStore, sessions, revisions, health: new HealthMonitor(), idleMinutes, setupCode };

  const api = new Router<ApiState>({ prefix: '/api' });
  const modules: InternalRouteModule[] = [statusRoutes, sessionRoutes, setupRoutes, accountRoutes, systemRoutes, certificateRoutes, auditRoutes, officerRoutes, officersClientRoutes, configRoutes];
  for (const mount of modules) mount(api, kit, internals);
  for (const mount of deps.extraRoutes ?? []) mount(api, kit);

  const app = new Koa<ApiState>();
  app.proxy = false;
  app.silent = true;

  // Errors: one JSON shape for every failure, by code (errors.ts), the same as the officers' API.
  app.use(
    errorEnvelope(log, async (ctx, error) => {
      if (error.code === 'FORBIDDEN_ROLE' && UNSAFE.has(ctx.method)) {
        const c = ctx as unknown as ApiContext;
        await audit(c, { action: 'access.denied', target: `${ctx.method} ${ctx.path}`, outcome: 'denied', detail: `role ${c.state.user?.role ?? 'none'}` });
      }
    }),
  );
  app.use(async (ctx, next) => {
    await next();
    if ((ctx.path === '/api' || ctx.path.startsWith('/api/')) && ctx.status === 404 && ctx.body === undefined) throw new ApiError('NOT_FOUND');
  });
  app.use(securityHeaders);
  app.use(async (ctx, next) => {
    if (ctx.path === '/api' || ctx.path.startsWith('/api/')) {
      ctx.set('Cache-Control', 'no-store');
      await sessions.middleware(ctx as unknown as ApiContext, next);
    } else {
      await next();
    }
  });
  // A fenced role (the officer) reaches its own paths only, checked before any route: a route that forgot its
  // permission check, or one added later, cannot open to it.
  app.use(async (ctx, next) => {
    const user = (ctx as unknown as ApiContext).state.user;
    if (user && ctx.path.startsWith('/api/') && !insideFence(user.role, ctx.path.slice('/api'.length))) throw new ApiError('FORBIDDEN_ROLE', { required: 'a role other than ' + user.role });
    await next();
  });
  app.use(api.routes());
  app.use(
    api.allowedMethods({
      throw: true,
      methodNotAllowed: () => new ApiError('METHOD_NOT_ALLOWED'),
      notImplemented: () => new ApiError('METHOD_NOT_ALLOWED'),
    }),
  );
  app.use(serveConsole(deps.consoleDir ?? DEFAULT_CONSOLE_DIR));

  const handler = app.callback();

  return {
    app,
    handler,
    routes: () =>
      api.stack.flatMap((layer) => layer.methods.filter((m) => m !== 'HEAD').map((method) => ({ method, path: String(layer.path) }))),
    listen(host, port, tls) {
      return new Promise((resolveListen, reject) => {
        const server = tls ? createTlsServer({ key: tls.key, cert: tls.cert, minVersion: 'TLSv1.2' }, handler) : createServer(handler);
        // A slow client must not hold a connection for ever; the console's requests are small.
        server.requestTimeout = 30_000;
        server.headersTimeout = 15_000;
        server.keepAliveTimeout = 5_000;
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          resolveListen({
            port: address.port,
            close: () =>
              new Promise<void>((done) => {
                server.close(() => done());
                server.closeAllConnections();
              }),
          });
        });
      });
    },
  };
}
