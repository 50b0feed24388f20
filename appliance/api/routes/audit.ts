import { randomUUID } from 'node:crypto';
import { isAbsolute, normalize } from 'node:path';
import { z } from 'zod';
import { ApiError } from '../errors.js';
import type { InternalRouteModule } from '../internals.js';
import { callDependency, channelSchema, isoInstant, memberStateSchema, parseBody } from '../validate.js';
import type { AuditExportJob, AuditExportRequest, AuditQuery } from '../wire.js';
import type { ApiDeps } from '../deps.js';
import { isAllowedExportPath } from '../../audit/usb.js';

/** A search page is bounded: the console pages through results, it never pulls the whole log. */
const MAX_PAGE = 200;
/** Jobs kept for the console to show; older ones are forgotten (the log has the record). */
const KEPT_JOBS = 20;

const filters = {
  state: memberStateSchema.optional(),
  channel: channelSchema.optional(),
  officer: z.string().trim().min(1).max(64).optional(),
  reference: z.string().trim().min(1).max(128).optional(),
};

const querySchema = z
  .object({
    from: isoInstant,
    to: isoInstant,
    ...filters,
    limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(50),
    offset: z.coerce.number().int().min(0).max(10_000_000).default(0),
  })
  .strict();

const exportSchema = z
  .object({
    target: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('usb'), driveId: z.string().min(1).max(200) }).strict(),
      z.object({ kind: z.literal('directory'), path: z.string().min(1).max(1000) }).strict(),
    ]),
    from: isoInstant,
    to: isoInstant,
    ...filters,
  })
  .strict();

function checkPeriod(from: string, to: string): void {
  if (Date.parse(from) >= Date.parse(to)) throw new ApiError('PERIOD_INVALID');
}

function withoutEmpty(q: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(q)) if (typeof v === 'string' && v !== '') out[k] = v;
  return out;
}

function describeRequest(r: AuditExportRequest): string {
  const f = [r.state && `State ${r.state}`, r.channel && `channel ${r.channel}`, r.officer && 'one officer', r.reference && 'one reference'].filter(Boolean);
  const where = r.target.kind === 'usb' ? `USB drive ${r.target.driveId}` : `directory ${r.target.path}`;
  return `${where}, ${r.from} to ${r.to}${f.length ? `, ${f.join(', ')}` : ''}`;
}

/** Export jobs run one at a time in the background; the console polls their progress. */
class ExportJobs {
  private readonly jobs = new Map<string, AuditExportJob>();
  private running: string | null = null;

  constructor(
    private readonly deps: ApiDeps,
    private readonly now: () => number,
  ) {}

  get(id: string): AuditExportJob | null {
    return this.jobs.get(id) ?? null;
  }

  list(): AuditExportJob[] {
    return [...this.jobs.values()].reverse();
  }

  start(request: AuditExportRequest, actor: string, onEnd: (job: AuditExportJob) => void): AuditExportJob {
    if (this.running) throw new ApiError('EXPORT_BUSY');
    const id = randomUUID();
    const job: AuditExportJob = {
      id,
      startedAt: new Date(this.now()).toISOString(),
      finishedAt: null,
      request,
      progress: { phase: 'collecting', done: 0, total: 0 },
      result: null,
      verification: null,
      error: null,
    };
    this.jobs.set(id, job);
    while (this.jobs.size > KEPT_JOBS) {
      const oldest = this.jobs.keys().next().value;
      if (oldest === undefined || oldest === this.running) break;
      this.jobs.delete(oldest);
    }
    this.running = id;
    const update = (changes: Partial<AuditExportJob>) => {
      const current = this.jobs.get(id);
      if (current) this.jobs.set(id, { ...current, ...changes });
    };
    void (async () => {
      try {
        const result = await this.deps.audit.exportBundle(request, actor, (progress) => update({ progress }));
        update({ result, progress: { phase: 'verifying', done: result.entries, total: result.entries } });
        // Verified by reading back what was written (from the drive, remounted), as the auditor's offline check would.
        const verification = result.verification ?? (await this.deps.audit.verifyBundle(result.path));
        update({ verification, progress: { phase: verification.ok ? 'done' : 'failed', done: result.entries, total: result.entries } });
      } catch (e) {
        const current = this.jobs.get(id);
        update({ error: (e as Error).message.slice(0, 500), progress: { ...(current?.progress ?? { done: 0, total: 0 }), phase: 'failed' } });
      } finally {
        update({ finishedAt: new Date(this.now()).toISOString() });
        this.running = null;
        const done = this.jobs.get(id);
        if (done) onEnd(done);
      }
    })();
    return job;
  }
}

/** Audit log search and export, for auditors only (technicians never read the Art. 30 log). */
export const auditRoutes: InternalRouteModule = (router, kit, { deps }) => {
  const jobs = new ExportJobs(deps, kit.now);

  router.get('/audit/entries', kit.requirePermission('audit.read'), async (ctx) => {
    const q = parseBody(querySchema, withoutEmpty(ctx.query));
    checkPeriod(q.from, q.to);
    const query: AuditQuery = q;
    ctx.body = await callDependency('audit', () => deps.audit.search(query));
  });

  router.get('/audit/usb-drives', kit.requirePermission('audit.export'), async (ctx) => {
    ctx.body = { drives: await callDependency('audit', () => deps.audit.usbDrives()) };
  });

  router.get('/audit/exports', kit.requirePermission('audit.export'), (ctx) => {
    ctx.body = { exports: jobs.list() };
  });

  router.get('/audit/exports/:id', kit.requirePermission('audit.export'), (ctx) => {
    const job = jobs.get(ctx.params['id'] ?? '');
    if (!job) throw new ApiError('EXPORT_NOT_FOUND');
    ctx.body = { export: job };
  });

  router.post('/audit/exports', kit.requirePermission('audit.export'), async (ctx) => {
    const request = parseBody(exportSchema, await kit.readJson(ctx)) as AuditExportRequest;
    checkPeriod(request.from, request.to);
    if (request.target.kind === 'directory') {
      const p = request.target.path;
      if (!isAbsolute(p) || normalize(p) !== p.replace(/\/+$/, '') || p.split('/').includes('..')) {
        throw new ApiError('EXPORT_TARGET_INVALID', { reason: 'an absolute path without ".." is needed' });
      }
      // The same allow-list the export itself applies (audit/usb.ts), checked here to answer at once.
      const roots = deps.config.current().audit.exportRoots;
      if (!isAllowedExportPath(p, roots)) throw new ApiError('EXPORT_ROOT_NOT_ALLOWED', { roots: roots.join(', ') });
    } else {
      const drives = await callDependency('audit', () => deps.audit.usbDrives());
      const driveId = request.target.driveId;
      if (!drives.some((d) => d.id === driveId)) throw new ApiError('EXPORT_TARGET_INVALID', { reason: 'no such USB drive is attached' });
    }
    const described = describeRequest(request);
    const user = ctx.state.user ?? undefined;
    const job = jobs.start(request, user?.username ?? 'console', (done) => {
      void kit.audit(
        ctx,
        {
          action: 'audit.export',
          target: described,
          outcome: done.verification?.ok ? 'success' : 'failure',
          detail: done.error ?? (done.verification ? `${done.result?.entries ?? 0} entries, verification ${done.verification.ok ? 'passed' : `failed: ${done.verification.problems.join('; ')}`}` : 'not verified'),
        },
        user,
      );
    });
    await kit.audit(ctx, { action: 'audit.export.start', target: described, outcome: 'success' });
    ctx.status = 202;
    ctx.body = { export: job };
  });
};
