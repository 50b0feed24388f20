/**
 * Art. 4 comparison runs on the management API: the DNA staff see each partner's last run, what is pending and
 * the hits by quality; a technician starts a partner's first-connection (bulk) run or cancels a run. Starting and
 * cancelling are recorded in the audit log; every batch a run sends is an audited search of its own.
 */
import { z } from 'zod';
import { ApiError } from '../api/errors.js';
import type { RouteModule } from '../api/routing.js';
import { MEMBER_STATES } from '../peers/member-states.js';
import type { DnaComparisons } from './comparisons.js';

/** 'bulk': the whole profile set (a partner's first connection); 'changes': what the nightly run would send, now. */
const startSchema = z.object({ partner: z.enum(MEMBER_STATES), type: z.enum(['P', 'S']), kind: z.enum(['bulk', 'changes']).default('bulk') }).strict();

export function dnaComparisonRoutes(comparisons: DnaComparisons): RouteModule {
  return (router, kit) => {
    router.get('/dna/comparisons', kit.requirePermission('dna.validate'), (ctx) => {
      ctx.body = { agreements: comparisons.overview(), runs: comparisons.runs(50) };
    });

    router.get('/dna/comparisons/:id', kit.requirePermission('dna.validate'), (ctx) => {
      const report = comparisons.report(ctx.params['id'] ?? '');
      if (!report) throw new ApiError('NOT_FOUND');
      ctx.body = { run: report };
    });

    router.post('/dna/comparisons', kit.requirePermission('config.write'), async (ctx) => {
      const parsed = startSchema.safeParse(await kit.readJson(ctx));
      if (!parsed.success) throw new ApiError('VALIDATION_FAILED', { field: String(parsed.error.issues[0]?.path[0] ?? 'body'), problem: parsed.error.issues[0]?.message ?? 'invalid' });
      const { partner, type, kind } = parsed.data;
      const started = kind === 'bulk' ? comparisons.startBulk(partner, type) : comparisons.startNightly(partner, type);
      const target = `DNA comparison with ${partner}, type ${type} profiles`;
      if (!started.ok) {
        await kit.audit(ctx, { action: 'dna.comparison.start', target, outcome: 'failure', detail: started.error.message });
        throw new ApiError('COMPARISON_REFUSED', { problem: started.error.message });
      }
      await kit.audit(ctx, { action: 'dna.comparison.start', target, outcome: 'success', detail: `${started.value.kind} run ${started.value.id}: ${started.value.total} profiles` });
      ctx.status = 201;
      ctx.body = { run: started.value };
    });

    router.post('/dna/comparisons/:id/cancel', kit.requirePermission('config.write'), async (ctx) => {
      const id = ctx.params['id'] ?? '';
      if (!comparisons.cancel(id)) throw new ApiError('NOT_FOUND');
      await kit.audit(ctx, { action: 'dna.comparison.cancel', target: `DNA comparison run ${id}`, outcome: 'success' });
      ctx.body = { run: comparisons.report(id) };
    });
  };
}
