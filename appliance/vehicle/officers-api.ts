/**
 * The officers' API routes of the vehicle channel, mounted on the officers' API (which authenticates the
 * client system first and turns thrown ApiErrors into its error envelope): POST /api/vrd/searches runs a
 * search and answers with the consolidated result; GET /api/vrd/searches/:id shows it later (queued
 * States delivered since); GET /api/vrd/queue lists what waits for unreachable States.
 */
import Router from '@koa/router';
import { ApiError, type ApiErrorCode } from '../api/errors.js';
import { readJsonBody } from '../util/json-body.js';
import type { SearchError, VehicleSearches } from './searches.js';
import type { AuditEvent } from '../audit/events.js';
import type { OfficerRegistry } from '../audit/officers.js';

/** An officer id in the X-Officer-Id header, as the DNA routes accept it. */
const OFFICER_HEADER_RE = /^[A-Za-z0-9._@-]{1,64}$/;

export interface VehicleReadAudit {
  readonly audit: { append(event: AuditEvent): unknown };
  readonly officers: OfficerRegistry;
  readonly clock?: () => Date;
}

const MAX_BODY_BYTES = 64 * 1024;
const API_CODE: Record<string, ApiErrorCode> = { INVALID_REQUEST: 'VALIDATION_FAILED', OFFICER_NOT_AUTHORISED: 'OFFICER_NOT_AUTHORISED', NO_TARGET: 'NO_TARGET' };

/** A refused search as the API error both the officers' API and the console answer with. */
export function searchErrorToApi(error: SearchError): ApiError {
  return new ApiError(API_CODE[error.code] ?? 'VALIDATION_FAILED', undefined, { message: error.message, ...(error.details ? { issues: error.details } : {}) });
}

export function vehicleOfficersRouter(searches: VehicleSearches, reads: VehicleReadAudit): Router {
  const router = new Router({ prefix: '/api/vrd' });
  /** Who read an answer again, recorded before it is shown, as the DNA routes do (the answers hold owners' data). */
  const recordRead = (ctx: { get(field: string): string; state: unknown }, target: string, details: Record<string, string | number | boolean | null>) => {
    const officer = ctx.get('x-officer-id').trim();
    if (officer !== '' && !OFFICER_HEADER_RE.test(officer)) throw new ApiError('VALIDATION_FAILED', { field: 'X-Officer-Id' });
    const now = (reads.clock ?? (() => new Date()))();
    const denied = officer !== '' ? reads.officers.assertAuthorised(officer, 'vrd', now) : null;
    if (denied) throw new ApiError('OFFICER_NOT_AUTHORISED', undefined, { message: denied.message });
    const client = (ctx.state as { client?: { name?: string } }).client?.name ?? 'unknown';
    reads.audit.append({ kind: 'admin', action: 'result-read', actor: officer !== '' ? officer : `client:${client}`, target, occurredAt: now.toISOString(), outcome: 'success', details: { client, ...details } });
  };
  router.post('/searches', async (ctx) => {
    const body = await readJsonBody(ctx.req, { limitBytes: MAX_BODY_BYTES, requireJsonType: false });
    if (!body.ok) throw body.code === 'PAYLOAD_TOO_LARGE' ? new ApiError('PAYLOAD_TOO_LARGE', { limitBytes: body.limitBytes }) : new ApiError('BAD_JSON');
    const result = await searches.submit(body.value);
    if (!result.ok) throw searchErrorToApi(result.error);
    ctx.status = 201;
    ctx.set('Location', `/api/vrd/searches/${result.search.id}`);
    ctx.body = result.search;
  });
  router.get('/searches/:id', (ctx) => {
    const view = searches.get(ctx.params.id ?? '');
    if (!view) throw new ApiError('NOT_FOUND', undefined, { message: 'No such vehicle search.' });
    recordRead(ctx, `vehicle search ${view.id}`, { searchId: view.id, officerId: view.officerId, answered: view.answered.length });
    ctx.body = view;
  });
  router.get('/queue', (ctx) => {
    ctx.body = { queued: searches.queue() };
  });
  return router;
}
