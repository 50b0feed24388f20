import { z } from 'zod';
import { ApiError } from '../errors.js';
import type { InternalRouteModule } from '../internals.js';
import { callDependency, channelSchema, isoInstant, parseBody } from '../validate.js';
import { toCsv } from '../../util/csv.js';
import { statisticsReport } from '../statistics-report.js';

const officerSchema = z
  .object({
    name: z.string().trim().min(1).max(120),
    agency: z.string().trim().min(1).max(120),
    channels: z.array(channelSchema).min(1).max(3),
    authorisedUntil: isoInstant.nullable(),
  })
  .strict();

const OFFICER_ID = /^[A-Za-z0-9._/-]{2,64}$/;

/** Authorised officers (technicians manage, auditors read) and the annual statistics. */
export const officerRoutes: InternalRouteModule = (router, kit, { deps }) => {
  router.get('/officers', kit.requirePermission('officers.read'), async (ctx) => {
    ctx.body = { officers: await callDependency('officers', () => deps.officers.list()) };
  });

  router.put('/officers/:id', kit.requirePermission('officers.write'), async (ctx) => {
    const id = ctx.params['id'] ?? '';
    if (!OFFICER_ID.test(id)) throw new ApiError('VALIDATION_FAILED', { field: 'id', problem: '2 to 64 letters, digits, . _ / -' });
    const body = parseBody(officerSchema, await kit.readJson(ctx));
    const existed = (await callDependency('officers', () => deps.officers.list())).some((o) => o.id === id);
    try {
      const officer = await callDependency('officers', () => deps.officers.save({ id, ...body }, ctx.state.user?.username ?? 'console'));
      await kit.audit(ctx, {
        action: existed ? 'officer.update' : 'officer.authorise',
        target: `officer ${id}`,
        outcome: 'success',
        detail: `channels ${body.channels.join(',')}, until ${body.authorisedUntil ?? 'revoked'}`,
      });
      ctx.status = existed ? 200 : 201;
      ctx.body = { officer };
    } catch (e) {
      await kit.audit(ctx, { action: existed ? 'officer.update' : 'officer.authorise', target: `officer ${id}`, outcome: 'failure', detail: (e as Error).message });
      throw e;
    }
  });

  router.post('/officers/:id/revoke', kit.requirePermission('officers.write'), async (ctx) => {
    const id = ctx.params['id'] ?? '';
    if (!OFFICER_ID.test(id)) throw new ApiError('NOT_FOUND');
    try {
      const officer = await callDependency('officers', () => deps.officers.revoke(id, ctx.state.user?.username ?? 'console'));
      await kit.audit(ctx, { action: 'officer.revoke', target: `officer ${id}`, outcome: 'success' });
      ctx.body = { officer };
    } catch (e) {
      await kit.audit(ctx, { action: 'officer.revoke', target: `officer ${id}`, outcome: 'failure', detail: (e as Error).message });
      throw e;
    }
  });

  const year = (value: string | undefined): number => {
    const y = Number(value);
    if (!/^\d{4}$/.test(value ?? '') || y < 2008 || y > 2100) throw new ApiError('VALIDATION_FAILED', { field: 'year', problem: 'a year from 2008' });
    return y;
  };

  router.get('/statistics/:year', kit.requirePermission('statistics.read'), async (ctx) => {
    const raw = ctx.params['year'] ?? '';
    const format = raw.endsWith('.csv') ? 'csv' : raw.endsWith('.html') ? 'html' : 'json';
    const y = year(format === 'json' ? raw : raw.slice(0, raw.lastIndexOf('.')));
    const rows = await callDependency('statistics', () => deps.statistics.annual(y));
    if (format === 'json') {
      ctx.body = { year: y, rows };
      return;
    }
    if (format === 'html') {
      // The printable return for the Council (Annex ch.4 §2.1): a page of its own, no script, print styles.
      ctx.type = 'text/html; charset=utf-8';
      ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'");
      ctx.body = statisticsReport(y, deps.config.current().memberState, rows, new Date(kit.now()));
    } else {
      ctx.type = 'text/csv; charset=utf-8';
      ctx.set('Content-Disposition', `attachment; filename="pruem-statistics-${y}.csv"`);
      ctx.body = toCsv(
        ['year', 'state', 'channel', 'direction', 'requests', 'hits', 'hits_q1', 'hits_q2', 'hits_q3', 'hits_q4', 'no_hits', 'errors'],
        rows.map((r) => [y, r.state, r.channel, r.direction, r.requests, r.hits, r.hitsByQuality[1], r.hitsByQuality[2], r.hitsByQuality[3], r.hitsByQuality[4], r.noHits, r.errors]),
      );
    }
    await kit.audit(ctx, { action: 'statistics.export', target: `annual statistics ${y}`, outcome: 'success', detail: `${rows.length} rows as ${format.toUpperCase()}` });
  });

};
