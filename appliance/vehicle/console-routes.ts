/**
 * The officers' vehicle search in the console (issue 11 item 5): the same VehicleSearches the officers' API
 * calls (POST /api/vrd/searches there), behind the console's session instead of a client credential. The
 * signed-in account is the officer — its user name is the identifier checked against the list of authorised
 * officers (channel vrd) and written to the Art. 30 record; the form gives the ordering officer and the reason.
 *
 *   POST /api/vrd/searches            run a search; 201 with the consolidated answer
 *   GET  /api/vrd/searches            the officer's own recent searches: outcomes per State, no answers
 *   GET  /api/vrd/searches/:id/progress   outcomes per State of one of them, no answers (what the page polls)
 *   GET  /api/vrd/searches/:id        one of them with the answers — recorded as `result-read` first
 *   GET  /api/vrd/partners            the States that can be asked
 *
 * Every route needs `vrd.search`; an officer sees only searches they made themselves (another's is NOT_FOUND).
 */
import { z } from 'zod';
import { ApiError } from '../api/errors.js';
import type { ApiContext, RouteModule } from '../api/routing.js';
import { parseBody } from '../api/validate.js';
import type { AuditEvent } from '../audit/events.js';
import type { OfficerRegistry } from '../audit/officers.js';
import { MEMBER_STATES, type MemberStateCode } from '../peers/member-states.js';
import type { VehiclePartners } from './partners.js';
import { searchErrorToApi } from './officers-api.js';
import type { TargetView, VehicleSearches, VehicleSearchView } from './searches.js';

export interface VehicleConsoleDeps {
  readonly searches: VehicleSearches;
  readonly partners: VehiclePartners;
  readonly ourState: MemberStateCode;
  readonly officers: OfficerRegistry;
  readonly audit: { append(event: AuditEvent): unknown };
  readonly clock?: () => Date;
}

/** What the console's form sends: everything the officers' API takes except the officer, who is the signed-in user. */
const consoleSearch = z
  .object({
    orderingOfficerId: z.string(),
    reason: z.string(),
    vin: z.string().optional(),
    licenceNumber: z.string().optional(),
    referenceDateTime: z.string().optional(),
    targets: z.union([z.literal('all'), z.array(z.enum(MEMBER_STATES))]),
  })
  .strict();

/** A search's outcomes without the answers (no holders' or owners' data): safe to poll and to list. */
export type VehicleSearchProgress = Omit<VehicleSearchView, 'targets'> & { readonly targets: ReadonlyArray<Omit<TargetView, 'result'> & { readonly result?: { readonly kind: string } }> };

function progressOf(view: VehicleSearchView): VehicleSearchProgress {
  return { ...view, targets: view.targets.map(({ result, ...t }) => ({ ...t, ...(result ? { result: { kind: result.kind } } : {}) })) };
}

export function vehicleConsoleRoutes(deps: VehicleConsoleDeps): RouteModule {
  const now = () => (deps.clock ?? (() => new Date()))();
  return (router, kit) => {
    const allowed = kit.requirePermission('vrd.search');
    const username = (ctx: ApiContext): string => {
      const user = ctx.state.user;
      if (!user) throw new ApiError('AUTH_REQUIRED');
      return user.username;
    };
    /** One of the officer's own searches; someone else's does not exist for them. */
    const own = (ctx: ApiContext): VehicleSearchView => {
      const view = deps.searches.get(ctx.params['id'] ?? '');
      if (!view || view.officerId.toLowerCase() !== username(ctx).toLowerCase()) throw new ApiError('NOT_FOUND', undefined, { message: 'No such vehicle search.' });
      return view;
    };

    router.get('/vrd/partners', allowed, (ctx) => {
      ctx.body = { ourState: deps.ourState, states: deps.partners.searchable().filter((p) => p.state !== deps.ourState).map((p) => ({ state: p.state, plateSearch: true })) };
    });

    router.post('/vrd/searches', allowed, async (ctx) => {
      const input = parseBody(consoleSearch, await kit.readJson(ctx));
      const result = await deps.searches.submit({ ...input, officerId: username(ctx) });
      if (!result.ok) throw searchErrorToApi(result.error);
      ctx.status = 201;
      ctx.set('Location', `/api/vrd/searches/${result.search.id}`);
      ctx.body = result.search;
    });

    router.get('/vrd/searches', allowed, (ctx) => {
      ctx.body = { searches: deps.searches.listFor(username(ctx), 20).map(progressOf) };
    });

    router.get('/vrd/searches/:id/progress', allowed, (ctx) => {
      ctx.body = progressOf(own(ctx));
    });

    // Reading the answers again is recorded before they are shown, as on the officers' API (they hold owners' data).
    router.get('/vrd/searches/:id', allowed, (ctx) => {
      const view = own(ctx);
      const officer = username(ctx);
      const at = now();
      const denied = deps.officers.assertAuthorised(officer, 'vrd', at);
      if (denied) throw new ApiError('OFFICER_NOT_AUTHORISED', undefined, { message: denied.message });
      deps.audit.append({
        kind: 'admin',
        action: 'result-read',
        actor: officer,
        target: `vehicle search ${view.id}`,
        occurredAt: at.toISOString(),
        outcome: 'success',
        details: { client: 'console', searchId: view.id, officerId: view.officerId, answered: view.answered.length },
      });
      ctx.body = view;
    });
  };
}
