/**
 * The officers' API routes of the vehicle channel, mounted on the officers' API (which authenticates the
 * client system first and turns thrown ApiErrors into its error envelope): POST /api/vrd/searches runs a
 * search and answers with the consolidated result; GET /api/vrd/searches/:id shows it later (queued
 * States delivered since); GET /api/vrd/queue lists what waits for unreachable States.
 */
import Router from '@koa/router';
import { ApiError, type ApiErrorCode } from '../api/errors.js';
import { readJsonBody } from '../util/json-body.js';
import type { VehicleSearches } from './searches.js';

const MAX_BODY_BYTES = 64 * 1024;
const API_CODE: Record<string, ApiErrorCode> = { INVALID_REQUEST: 'VALIDATION_FAILED', OFFICER_NOT_AUTHORISED: 'OFFICER_NOT_AUTHORISED', NO_TARGET: 'NO_TARGET' };

export function vehicleOfficersRouter(searches: VehicleSearches): Router {
  const router = new Router({ prefix: '/api/vrd' });
  router.post('/searches', async (ctx) => {
    const body = await readJsonBody(ctx.req, { limitBytes: MAX_BODY_BYTES, requireJsonType: false });
    if (!body.ok) throw body.code === 'PAYLOAD_TOO_LARGE' ? new ApiError('PAYLOAD_TOO_LARGE', { limitBytes: body.limitBytes }) : new ApiError('BAD_JSON');
    const result = await searches.submit(body.value);
    if (!result.ok) {
      throw new ApiError(API_CODE[result.error.code] ?? 'VALIDATION_FAILED', undefined, { message: result.error.message, ...(result.error.details ? { issues: result.error.details } : {}) });
    }
    ctx.status = 201;
    ctx.set('Location', `/api/vrd/searches/${result.search.id}`);
    ctx.body = result.search;
  });
  router.get('/searches/:id', (ctx) => {
    const view = searches.get(ctx.params.id ?? '');
    if (!view) throw new ApiError('NOT_FOUND', undefined, { message: 'No such vehicle search.' });
    ctx.body = view;
  });
  router.get('/queue', (ctx) => {
    ctx.body = { queued: searches.queue() };
  });
  return router;
}
