import Router from '@koa/router';
import type Koa from 'koa';
import { ApiError, type ApiLog } from '../api/errors.js';
import type { AuditEvent } from '../audit/events.js';
import type { Statistics } from '../exchange/statistics.js';
import { readJsonBody } from '../util/json-body.js';
import type { FpSearches } from './searches.js';
import { MAX_FP_SEARCH_BYTES, type FpSubmitError } from './submit.js';

/**
 * The fingerprint routes of the officers' client API (police LAN), mounted on the same Koa app as
 * the DNA routes (dna-exchange/officers-api.ts), behind its client-credential check and error
 * envelope:
 *   POST /api/fp/searches           { officerId, orderingOfficerId, reason, targets, transaction (base64) } → 201
 *   GET  /api/fp/searches/:id       targets (sent / waiting for capacity / answered) and results by TCR
 *   GET  /api/fp/statistics/:year   requests, hits, no-hits, errors per TOT, partner and direction
 * Reading a search's results is recorded in the Art. 30 log before it is shown, as for DNA.
 */
interface ClientState {
  client: { readonly name: string };
}

export interface FpOfficersRoutesDeps {
  readonly searches: FpSearches;
  readonly statistics: Statistics;
  readonly submit: (body: unknown) => Promise<{ ok: true; search: { id: string } } | { ok: false; error: FpSubmitError }>;
  readonly officers: { assertAuthorised(officerId: string, channel: 'fp', at: Date): { message: string } | null };
  readonly audit: { append(event: AuditEvent): unknown };
  readonly log?: ApiLog;
  readonly clock?: () => Date;
}

const OFFICER_HEADER_RE = /^[A-Za-z0-9._@-]{1,64}$/;
const CODE_OF: Record<FpSubmitError['code'], 'VALIDATION_FAILED' | 'OFFICER_NOT_AUTHORISED' | 'NIST_TRANSACTION_INVALID' | 'NO_TARGET'> = {
  INVALID_REQUEST: 'VALIDATION_FAILED',
  OFFICER_NOT_AUTHORISED: 'OFFICER_NOT_AUTHORISED',
  TRANSACTION_INVALID: 'NIST_TRANSACTION_INVALID',
  NOT_A_SEARCH: 'NIST_TRANSACTION_INVALID',
  NO_TARGET: 'NO_TARGET',
};

export function fingerprintOfficersRoutes(deps: FpOfficersRoutesDeps): Router<ClientState> {
  const router = new Router<ClientState>({ prefix: '/api/fp' });
  const log = deps.log ?? (() => undefined);
  const clock = deps.clock ?? (() => new Date());
  router.post('/searches', async (ctx) => {
    const body = await readJsonBody(ctx.req, { limitBytes: Math.ceil((MAX_FP_SEARCH_BYTES * 4) / 3) + 64 * 1024, requireJsonType: false });
    if (!body.ok) throw body.code === 'PAYLOAD_TOO_LARGE' ? new ApiError('PAYLOAD_TOO_LARGE', { limitBytes: body.limitBytes }) : new ApiError('BAD_JSON');
    const result = await deps.submit(body.value);
    if (!result.ok) {
      throw new ApiError(CODE_OF[result.error.code], { reason: result.error.code }, { message: result.error.message, ...(result.error.details ? { issues: result.error.details } : {}) });
    }
    log('officers.fp-search', { client: ctx.state.client.name, search: result.search.id });
    ctx.status = 201;
    ctx.set('Location', `/api/fp/searches/${result.search.id}`);
    ctx.body = result.search;
  });
  router.get('/searches/:id', (ctx) => {
    const view = deps.searches.get(ctx.params.id ?? '');
    if (!view) throw new ApiError('NOT_FOUND', undefined, { message: 'No such search.' });
    // Who read what, recorded before it is shown (Art. 30), naming the client and, if it says so, the officer.
    const officer = ctx.get('x-officer-id').trim();
    const named = officer !== '';
    if (named && !OFFICER_HEADER_RE.test(officer)) throw new ApiError('VALIDATION_FAILED', { field: 'X-Officer-Id' });
    const now = clock();
    const denied = named ? deps.officers.assertAuthorised(officer, 'fp', now) : null;
    if (denied) throw new ApiError('OFFICER_NOT_AUTHORISED', undefined, { message: denied.message });
    deps.audit.append({
      kind: 'admin',
      action: 'result-read',
      actor: named ? officer : `client:${ctx.state.client.name}`,
      target: `fp search ${view.id}`,
      occurredAt: now.toISOString(),
      outcome: 'success',
      details: { client: ctx.state.client.name, searchId: view.id, officerId: view.officerId, results: view.results.length, hits: view.results.filter((r) => r.result === 'hit').length },
    });
    ctx.body = view;
  });
  router.get('/statistics/:year', (ctx) => {
    const year = Number(ctx.params.year);
    if (!Number.isInteger(year) || year < 2000 || year > 9999) throw new ApiError('VALIDATION_FAILED', { field: 'year' }, { message: 'year must be a four-digit year' });
    ctx.body = deps.statistics.annualByType(year).filter((r) => r.channel === 'fp');
  });
  return router;
}

/** Adds the fingerprint routes to the officers' API app (after its credential check and error envelope). */
export function mountFingerprintRoutes<S extends ClientState>(app: Koa<S>, deps: FpOfficersRoutesDeps): void {
  const router = fingerprintOfficersRoutes(deps);
  app.use(router.routes() as unknown as Koa.Middleware<S>);
}
