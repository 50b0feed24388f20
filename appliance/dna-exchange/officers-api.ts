import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import Koa from 'koa';
import Router from '@koa/router';
import type { ProfileNotes } from './notes.js';
import type { DnaSearches } from './searches.js';
import type { Statistics } from '../exchange/statistics.js';
import { isMemberStateCode } from '../peers/member-states.js';
import { readJsonBody } from '../util/json-body.js';

/**
 * The officers' client API on the police LAN (national side), separate from the management
 * interface: national search clients authenticate with a bearer key (a file on the appliance,
 * mode 0600); the officer who runs a search and the one who ordered it travel in the request and
 * are checked against the list of authorised officers (DP-AUTH) before anything leaves.
 */

/** A search of 10,000 profiles with 24 loci fits in well under this. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

export function ensureApiKey(path: string): string {
  if (!existsSync(path)) writeFileSync(path, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
  return readFileSync(path, 'utf8').trim();
}

type Problem = { code: string; message: string; details?: readonly string[] };


export interface OfficersApiDeps {
  readonly apiKey: string;
  readonly searches: DnaSearches;
  readonly notes: ProfileNotes;
  readonly statistics: Statistics;
  readonly submit: (body: unknown) => Promise<{ ok: true; search: { id: string } } | { ok: false; error: Problem }>;
}

const STATUS_OF: Record<string, number> = { INVALID_REQUEST: 400, PROFILE_REFUSED: 422, ART3_SINGLE_PROFILE: 422, NO_TARGET: 422, OFFICER_NOT_AUTHORISED: 403 };

export function createOfficersApi(deps: OfficersApiDeps): Koa {
  const app = new Koa();
  const router = new Router({ prefix: '/api' });
  const key = Buffer.from(deps.apiKey);
  app.use(async (ctx, next) => {
    try {
      const auth = ctx.get('authorization');
      const given = Buffer.from(auth.startsWith('Bearer ') ? auth.slice(7).trim() : '');
      if (given.length !== key.length || !timingSafeEqual(given, key)) {
        ctx.status = 401;
        ctx.body = { code: 'AUTH_REQUIRED', message: 'a valid bearer key is required' } satisfies Problem;
        return;
      }
      await next();
    } catch (error) {
      const status = (error as { status?: number }).status ?? 500;
      ctx.status = status;
      ctx.body = { code: status === 500 ? 'INTERNAL' : 'BAD_REQUEST', message: status === 500 ? 'internal error' : (error as Error).message } satisfies Problem;
      if (status === 500) ctx.app.emit('error', error, ctx);
    }
  });
  router.post('/dna/searches', async (ctx) => {
    // Officers' clients are programs holding the bearer key, not browsers: no Content-Type rule here.
    const body = await readJsonBody(ctx.req, { limitBytes: MAX_BODY_BYTES, requireJsonType: false });
    if (!body.ok) {
      ctx.status = body.code === 'PAYLOAD_TOO_LARGE' ? 413 : 400;
      ctx.body = {
        code: body.code,
        message: body.code === 'PAYLOAD_TOO_LARGE' ? `the request body is larger than ${body.limitBytes} bytes` : 'the request body is not JSON',
      } satisfies Problem;
      return;
    }
    const result = await deps.submit(body.value);
    if (!result.ok) {
      ctx.status = STATUS_OF[result.error.code] ?? 400;
      ctx.body = result.error;
      return;
    }
    ctx.status = 201;
    ctx.set('Location', `/api/dna/searches/${result.search.id}`);
    ctx.body = result.search;
  });
  router.get('/dna/searches/:id', (ctx) => {
    const view = deps.searches.get(ctx.params.id ?? '');
    if (!view) {
      ctx.status = 404;
      ctx.body = { code: 'NOT_FOUND', message: 'no such search' } satisfies Problem;
      return;
    }
    ctx.body = view;
  });
  router.get('/dna/notes', (ctx) => {
    const state = typeof ctx.query.state === 'string' && isMemberStateCode(ctx.query.state) ? ctx.query.state : undefined;
    const profileId = typeof ctx.query.profile === 'string' ? ctx.query.profile : undefined;
    ctx.body = deps.notes.list({ ...(state ? { state } : {}), ...(profileId ? { profileId } : {}) });
  });
  router.get('/statistics/:year', (ctx) => {
    const year = Number(ctx.params.year);
    if (!Number.isInteger(year) || year < 2000 || year > 9999) {
      ctx.status = 400;
      ctx.body = { code: 'INVALID_REQUEST', message: 'year must be a four-digit year' } satisfies Problem;
      return;
    }
    ctx.body = deps.statistics.annual(year);
  });
  app.use(router.routes()).use(router.allowedMethods());
  app.on('error', () => undefined);
  return app;
}

/** Plain HTTP, or HTTPS with `tls` (PEM key and certificate): the officers' LAN carries DNA profiles. */
export function listen(app: Koa, host: string, port: number, tls?: { readonly key: Buffer; readonly cert: Buffer }): Promise<{ port: number; close(): Promise<void> }> {
  return new Promise((resolve, reject) => {
    const server = tls ? createTlsServer({ key: tls.key, cert: tls.cert, minVersion: 'TLSv1.2' }, app.callback()) : createServer(app.callback());
    server.listen(port, host);
    server.once('error', reject);
    server.once('listening', () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections(); // a client's idle keep-alive connection must not hold the stop
          }),
      }),
    );
  });
}
