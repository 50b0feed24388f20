import type { AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import Koa from 'koa';
import Router from '@koa/router';
import type { ProfileNotes } from './notes.js';
import type { DnaSearches, SearchView } from './searches.js';
import type { Statistics } from '../exchange/statistics.js';
import type { AuditEvent } from '../audit/events.js';
import { isMemberStateCode } from '../peers/member-states.js';
import { readJsonBody } from '../util/json-body.js';
import { ApiError, errorEnvelope, type ApiLog } from '../api/errors.js';
import type { OfficersClient } from './officers-clients.js';
import type { SubmitError } from './submit.js';

/**
 * The officers' client API on the police LAN (national side), separate from the management
 * interface: each national search client authenticates with its own named credential
 * (officers-clients.ts; made, listed and revoked in the console or with `pruem officers-client`);
 * the officer who runs a search and the one who ordered it travel in the request and are checked
 * against the list of authorised officers (DP-AUTH) before anything leaves. Reading a search's
 * results or the notes is recorded in the Art. 30 log, naming the client (and the officer, when
 * the client says who it is with `X-Officer-Id`), before the answer is given. Errors come in the
 * console API's envelope from the same catalogue (api/errors.ts).
 */

/** A search of 10,000 profiles with 24 loci fits in well under this. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;
const OFFICER_HEADER_RE = /^[A-Za-z0-9._@-]{1,64}$/;

export interface OfficersApiDeps {
  readonly clients: { authenticate(credential: string): OfficersClient | null };
  readonly searches: Pick<DnaSearches, 'get'>;
  readonly notes: Pick<ProfileNotes, 'list'>;
  readonly statistics: Pick<Statistics, 'annual'>;
  readonly submit: (body: unknown, client: OfficersClient) => Promise<{ ok: true; search: { id: string } } | { ok: false; error: SubmitError }>;
  /** The authorised officers: an officer a client names in `X-Officer-Id` must be on the list. */
  readonly officers?: { assertAuthorised(officerId: string, channel: 'dna', at: Date): { message: string } | null };
  /** The Art. 30 log (reads of results are recorded; synchronous so a failed record withholds the answer). */
  readonly audit: { append(event: AuditEvent): unknown };
  /** The daemon's logger; 500s are logged here with their stack. */
  readonly log?: ApiLog;
  readonly clock?: () => Date;
}

interface OfficersState {
  client: OfficersClient;
}

export function createOfficersApi(deps: OfficersApiDeps): Koa<OfficersState> {
  const app = new Koa<OfficersState>();
  app.silent = true;
  const log = deps.log ?? (() => undefined);
  const clock = deps.clock ?? (() => new Date());
  const router = new Router<OfficersState>({ prefix: '/api' });

  /** Who read what, recorded before it is shown (Art. 30: the record names every access to the answers). */
  const recordRead = (ctx: Koa.ParameterizedContext<OfficersState>, target: string, details: Record<string, string | number | boolean | null>) => {
    const officer = ctx.get('x-officer-id').trim();
    const named = officer !== '';
    if (named && !OFFICER_HEADER_RE.test(officer)) throw new ApiError('VALIDATION_FAILED', { field: 'X-Officer-Id' });
    const now = clock();
    const denied = named ? deps.officers?.assertAuthorised(officer, 'dna', now) : null;
    if (denied) throw new ApiError('OFFICER_NOT_AUTHORISED', undefined, { message: denied.message });
    deps.audit.append({
      kind: 'admin',
      action: 'result-read',
      actor: named ? officer : `client:${ctx.state.client.name}`,
      target,
      occurredAt: now.toISOString(),
      outcome: 'success',
      details: { client: ctx.state.client.name, ...details },
    });
  };

  app.use(errorEnvelope(log));
  app.use(async (ctx, next) => {
    const auth = ctx.get('authorization');
    const client = auth.startsWith('Bearer ') ? deps.clients.authenticate(auth.slice(7).trim()) : null;
    if (!client) {
      // Attempted access is worth seeing in the daemon's log (never the credential itself).
      log('officers.auth.refused', { remote: ctx.ip, method: ctx.method, path: ctx.path, presented: auth !== '' });
      throw new ApiError('CLIENT_CREDENTIAL_REQUIRED');
    }
    ctx.state.client = client;
    await next();
    if (ctx.status === 404 && ctx.body === undefined) throw new ApiError('NOT_FOUND');
  });
  router.post('/dna/searches', async (ctx) => {
    // Officers' clients are programs holding a credential, not browsers: no Content-Type rule here.
    const body = await readJsonBody(ctx.req, { limitBytes: MAX_BODY_BYTES, requireJsonType: false });
    if (!body.ok) throw body.code === 'PAYLOAD_TOO_LARGE' ? new ApiError('PAYLOAD_TOO_LARGE', { limitBytes: body.limitBytes }) : new ApiError('BAD_JSON');
    const result = await deps.submit(body.value, ctx.state.client);
    if (!result.ok) throw new ApiError(result.error.code, undefined, { message: result.error.message, ...(result.error.details ? { issues: result.error.details } : {}) });
    log('officers.search', { client: ctx.state.client.name, search: result.search.id });
    ctx.status = 201;
    ctx.set('Location', `/api/dna/searches/${result.search.id}`);
    ctx.body = result.search;
  });
  router.get('/dna/searches/:id', (ctx) => {
    const view: SearchView | null = deps.searches.get(ctx.params.id ?? '');
    if (!view) throw new ApiError('NOT_FOUND', undefined, { message: 'No such search.' });
    recordRead(ctx, `dna search ${view.id}`, {
      searchId: view.id,
      officerId: view.officerId,
      results: view.results.length,
      hits: view.results.filter((r) => r.hit !== null).length,
    });
    ctx.body = view;
  });
  router.get('/dna/notes', (ctx) => {
    const state = typeof ctx.query.state === 'string' && isMemberStateCode(ctx.query.state) ? ctx.query.state : undefined;
    const profileId = typeof ctx.query.profile === 'string' ? ctx.query.profile : undefined;
    const notes = deps.notes.list({ ...(state ? { state } : {}), ...(profileId ? { profileId } : {}) });
    recordRead(ctx, 'dna notes', { state: state ?? null, profile: profileId ?? null, notes: notes.length });
    ctx.body = notes;
  });
  router.get('/statistics/:year', (ctx) => {
    const year = Number(ctx.params.year);
    if (!Number.isInteger(year) || year < 2000 || year > 9999) throw new ApiError('VALIDATION_FAILED', { field: 'year' }, { message: 'year must be a four-digit year' });
    ctx.body = deps.statistics.annual(year);
  });
  app.use(router.routes()).use(
    router.allowedMethods({
      throw: true,
      methodNotAllowed: () => new ApiError('METHOD_NOT_ALLOWED'),
      notImplemented: () => new ApiError('METHOD_NOT_ALLOWED'),
    }),
  );
  return app;
}

/** Plain HTTP, or HTTPS with `tls` (PEM key and certificate): the officers' LAN carries DNA profiles. */
export function listen(app: Koa<OfficersState>, host: string, port: number, tls?: { readonly key: Buffer; readonly cert: Buffer }): Promise<{ port: number; close(): Promise<void> }> {
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
