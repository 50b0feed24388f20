import Router from '@koa/router';
import type Koa from 'koa';
import { readJsonBody } from '../util/json-body.js';
import type { Statistics } from '../exchange/statistics.js';
import type { FpSearches } from './searches.js';
import { MAX_FP_SEARCH_BYTES, type FpSubmitError } from './submit.js';

/**
 * The fingerprint routes of the officers' client API (police LAN), mounted on the same Koa app and
 * behind the same bearer-key check as the DNA routes (dna-exchange/officers-api.ts):
 *   POST /api/fp/searches      { officerId, orderingOfficerId, reason, targets, transaction (base64) } → 201
 *   GET  /api/fp/searches/:id  targets (sent / waiting for capacity / answered) and results by TCR
 *   GET  /api/fp/statistics/:year  requests, hits, no-hits, errors per TOT, partner and direction
 */
export interface FpOfficersRoutesDeps {
  readonly searches: FpSearches;
  readonly statistics: Statistics;
  readonly submit: (body: unknown) => Promise<{ ok: true; search: { id: string } } | { ok: false; error: FpSubmitError }>;
}

const STATUS_OF: Record<FpSubmitError['code'], number> = { INVALID_REQUEST: 400, OFFICER_NOT_AUTHORISED: 403, TRANSACTION_INVALID: 422, NOT_A_SEARCH: 422, NO_TARGET: 422 };

export function fingerprintOfficersRoutes(deps: FpOfficersRoutesDeps): Router {
  const router = new Router({ prefix: '/api/fp' });
  router.post('/searches', async (ctx) => {
    const body = await readJsonBody(ctx.req, { limitBytes: Math.ceil((MAX_FP_SEARCH_BYTES * 4) / 3) + 64 * 1024, requireJsonType: false });
    if (!body.ok) {
      ctx.status = body.code === 'PAYLOAD_TOO_LARGE' ? 413 : 400;
      ctx.body = { code: body.code, message: body.code === 'PAYLOAD_TOO_LARGE' ? `the request body is larger than ${body.limitBytes} bytes` : 'the request body is not JSON' };
      return;
    }
    const result = await deps.submit(body.value);
    if (!result.ok) {
      ctx.status = STATUS_OF[result.error.code];
      ctx.body = result.error;
      return;
    }
    ctx.status = 201;
    ctx.set('Location', `/api/fp/searches/${result.search.id}`);
    ctx.body = result.search;
  });
  router.get('/searches/:id', (ctx) => {
    const view = deps.searches.get(ctx.params.id ?? '');
    if (!view) {
      ctx.status = 404;
      ctx.body = { code: 'NOT_FOUND', message: 'no such search' };
      return;
    }
    ctx.body = view;
  });
  router.get('/statistics/:year', (ctx) => {
    const year = Number(ctx.params.year);
    if (!Number.isInteger(year) || year < 2000 || year > 9999) {
      ctx.status = 400;
      ctx.body = { code: 'INVALID_REQUEST', message: 'year must be a four-digit year' };
      return;
    }
    ctx.body = deps.statistics.annualByType(year).filter((r) => r.channel === 'fp');
  });
  return router;
}

/** Adds the fingerprint routes to the officers' API app (after its bearer-key check). */
export function mountFingerprintRoutes(app: Koa, deps: FpOfficersRoutesDeps): void {
  const router = fingerprintOfficersRoutes(deps);
  app.use(router.routes()).use(router.allowedMethods());
}
