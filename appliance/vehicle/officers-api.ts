/**
 * The officers' API routes of the vehicle channel, mounted on the officers' API (which checks the
 * bearer key first): POST /api/vrd/searches runs a search and answers with the consolidated result;
 * GET /api/vrd/searches/:id shows it later (queued States delivered since); GET /api/vrd/queue lists
 * what waits for unreachable States.
 */
import Router from '@koa/router';
import { readJsonBody } from '../util/json-body.js';
import type { VehicleSearches } from './searches.js';

const MAX_BODY_BYTES = 64 * 1024;
const STATUS_OF: Record<string, number> = { INVALID_REQUEST: 400, OFFICER_NOT_AUTHORISED: 403, NO_TARGET: 422 };

export function vehicleOfficersRouter(searches: VehicleSearches): Router {
  const router = new Router({ prefix: '/api/vrd' });
  router.post('/searches', async (ctx) => {
    const body = await readJsonBody(ctx.req, { limitBytes: MAX_BODY_BYTES, requireJsonType: false });
    if (!body.ok) {
      ctx.status = body.code === 'PAYLOAD_TOO_LARGE' ? 413 : 400;
      ctx.body = { code: body.code, message: body.code === 'PAYLOAD_TOO_LARGE' ? `the request body is larger than ${body.limitBytes} bytes` : 'the request body is not JSON' };
      return;
    }
    const result = await searches.submit(body.value);
    if (!result.ok) {
      ctx.status = STATUS_OF[result.error.code] ?? 400;
      ctx.body = result.error;
      return;
    }
    ctx.status = 201;
    ctx.set('Location', `/api/vrd/searches/${result.search.id}`);
    ctx.body = result.search;
  });
  router.get('/searches/:id', (ctx) => {
    const view = searches.get(ctx.params.id ?? '');
    if (!view) {
      ctx.status = 404;
      ctx.body = { code: 'NOT_FOUND', message: 'no such vehicle search' };
      return;
    }
    ctx.body = view;
  });
  router.get('/queue', (ctx) => {
    ctx.body = { queued: searches.queue() };
  });
  return router;
}
