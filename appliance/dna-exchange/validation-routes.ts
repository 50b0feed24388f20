/**
 * The DNA staff's validation list on the management API (console): list and workload, one hit with the two
 * profiles side by side and its statistics, the decision (confirm / exclude, with a reason), and the basis of a
 * follow-up request, only for a confirmed hit. Reading a hit's profiles, every decision and every follow-up
 * export are written to the Art. 30 log with the signed-in user as actor.
 */
import { z } from 'zod';
import { ApiError } from '../api/errors.js';
import type { RouteModule } from '../api/routing.js';
import { isMemberStateCode } from '../peers/member-states.js';
import type { HitQuality, HitValidations, ValidationStatus } from './hit-validation.js';

const decisionSchema = z.object({ status: z.enum(['confirmed', 'excluded']), reason: z.string().trim().min(1).max(2000) }).strict();
const STATUSES: readonly ValidationStatus[] = ['pending', 'confirmed', 'excluded'];

export function dnaValidationRoutes(validations: HitValidations): RouteModule {
  return (router, kit) => {
    router.get('/dna/validations', kit.requirePermission('dna.validate'), (ctx) => {
      const status = String(ctx.query['status'] ?? '');
      const partner = String(ctx.query['partner'] ?? '');
      const quality = Number(ctx.query['quality'] ?? NaN);
      ctx.body = {
        hits: validations.list({
          ...(STATUSES.includes(status as ValidationStatus) ? { status: status as ValidationStatus } : {}),
          ...(isMemberStateCode(partner) ? { partner } : {}),
          ...([1, 2, 3, 4].includes(quality) ? { quality: quality as HitQuality } : {}),
        }),
        workload: validations.workload(),
      };
    });

    router.get('/dna/validations/:id', kit.requirePermission('dna.validate'), async (ctx) => {
      const id = ctx.params['id'] ?? '';
      const hit = validations.get(id);
      if (!hit) throw new ApiError('NOT_FOUND');
      // The two profiles are personal data: reading them is an access the supervisory authority may ask about.
      await kit.audit(ctx, { action: 'dna.hit.read', target: `DNA hit ${id} (${hit.partner}, ${hit.ourProfileId} / ${hit.theirProfileRef})`, outcome: 'success' });
      ctx.body = { hit };
    });

    router.post('/dna/validations/:id/decision', kit.requirePermission('dna.validate'), async (ctx) => {
      const id = ctx.params['id'] ?? '';
      const parsed = decisionSchema.safeParse(await kit.readJson(ctx));
      if (!parsed.success) throw new ApiError('VALIDATION_FAILED', { field: String(parsed.error.issues[0]?.path[0] ?? 'body'), problem: parsed.error.issues[0]?.message ?? 'invalid' });
      const by = ctx.state.user?.username ?? 'console';
      const decided = validations.decide(id, { ...parsed.data, by });
      const target = `DNA hit ${id}`;
      if (!decided.ok) {
        await kit.audit(ctx, { action: `dna.hit.${parsed.data.status === 'confirmed' ? 'confirm' : 'exclude'}`, target, outcome: 'failure', detail: decided.error.message });
        if (decided.error.code === 'NOT_FOUND') throw new ApiError('NOT_FOUND');
        throw new ApiError('HIT_ALREADY_DECIDED', { problem: decided.error.message });
      }
      await kit.audit(ctx, {
        action: `dna.hit.${parsed.data.status === 'confirmed' ? 'confirm' : 'exclude'}`,
        target: `${target} (${decided.value.partner}, quality ${decided.value.quality})`,
        outcome: 'success',
        detail: parsed.data.reason,
      });
      ctx.body = { hit: decided.value };
    });

    router.get('/dna/validations/:id/follow-up', kit.requirePermission('dna.validate'), async (ctx) => {
      const id = ctx.params['id'] ?? '';
      const basis = validations.followUp(id);
      if (!basis.ok) {
        await kit.audit(ctx, { action: 'dna.hit.follow-up', target: `DNA hit ${id}`, outcome: 'failure', detail: basis.error.message });
        if (basis.error.code === 'NOT_FOUND') throw new ApiError('NOT_FOUND');
        throw new ApiError('HIT_NOT_CONFIRMED', { problem: basis.error.message });
      }
      await kit.audit(ctx, { action: 'dna.hit.follow-up', target: `DNA hit ${id} (${basis.value.partner})`, outcome: 'success', detail: 'basis of a follow-up request exported' });
      ctx.set('Content-Disposition', `attachment; filename="dna-hit-${id}.json"`);
      ctx.body = basis.value;
    });
  };
}
