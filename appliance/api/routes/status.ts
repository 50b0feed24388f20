import { z } from 'zod';
import { ApiError } from '../errors.js';
import type { InternalRouteModule } from '../internals.js';
import { callDependency, parseBody } from '../validate.js';
import { evaluateHealth, DEFAULT_THRESHOLDS } from '../../health/thresholds.js';
import { buildDiagnosticsBundle, pseudonym, type DiagnosticsSection } from '../diagnostics/bundle.js';
import { redactConfig } from '../../config/revisions.js';

/** /api/status answers within this or says STATUS_UNAVAILABLE: a stuck part must not hang monitoring. */
const STATUS_TIMEOUT_MS = 3_000;

async function withTimeout<T>(work: () => T | Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      Promise.resolve().then(work),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/**
 * Read-only, no sign-in (issue 2 §10): /api/health and /api/status carry no personal data and
 * the API listens on the management interface only, where monitoring probes them.
 */
export const statusRoutes: InternalRouteModule = (router, kit, { deps }) => {
  router.get('/health', async (ctx) => {
    try {
      const status = await withTimeout(() => deps.status(), STATUS_TIMEOUT_MS);
      ctx.body = { status: 'ok', memberState: status.memberState, version: deps.version, now: new Date(kit.now()).toISOString() };
    } catch (e) {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', version: deps.version, now: new Date(kit.now()).toISOString(), reason: (e as Error).message.slice(0, 200) };
    }
  });

  router.get('/status', async (ctx) => {
    try {
      ctx.body = await withTimeout(() => deps.status(), STATUS_TIMEOUT_MS);
    } catch (e) {
      throw new ApiError('STATUS_UNAVAILABLE', { reason: (e as Error).message.slice(0, 200) });
    }
  });
};

const confirmSchema = (word: string) => z.object({ confirm: z.string() }).strict().refine((b) => b.confirm.trim().toLowerCase() === word, 'confirmation word missing');

export const systemRoutes: InternalRouteModule = (router, kit, internals) => {
  const { deps, health, revisions, accounts } = internals;

  router.get('/system/health', kit.requirePermission('health.read'), async (ctx) => {
    const sample = await callDependency('health', () => (deps.health ? deps.health.sample() : health.sample()));
    ctx.body = evaluateHealth(sample, deps.healthThresholds ?? DEFAULT_THRESHOLDS);
  });

  for (const action of ['restart', 'reboot'] as const) {
    router.post(`/system/${action}`, kit.requirePermission('operations.restart'), async (ctx) => {
      const body = await kit.readJson(ctx);
      const confirmed = confirmSchema(action).safeParse(body);
      if (!confirmed.success) throw new ApiError('CONFIRMATION_REQUIRED', { word: action });
      const target = action === 'restart' ? 'gateway service' : 'appliance';
      // Answer first, then act: the restart takes this very process down.
      await kit.audit(ctx, { action: `system.${action}`, target, outcome: 'success', detail: 'requested from the console' });
      ctx.status = 202;
      ctx.body = { accepted: true, action };
      const run = action === 'restart' ? () => deps.system.restartService() : () => deps.system.reboot();
      setTimeout(() => {
        run().catch((e: unknown) => {
          deps.log?.('system.action.failed', { action, reason: e instanceof Error ? e.message : String(e) });
          void kit.audit(ctx, { action: `system.${action}`, target, outcome: 'failure', detail: e instanceof Error ? e.message : String(e) });
        });
      }, 200).unref();
    });
  }

  router.get('/system/diagnostics', kit.requirePermission('operations.diagnostics'), async (ctx) => {
    const now = new Date(kit.now());
    const sections: DiagnosticsSection[] = [
      { file: 'status.json', collect: () => deps.status() },
      { file: 'health.json', collect: async () => evaluateHealth(await (deps.health ? deps.health.sample() : health.sample()), deps.healthThresholds ?? DEFAULT_THRESHOLDS) },
      { file: 'config.json', collect: () => redactConfig(deps.config.current()) },
      {
        file: 'config-revisions.json',
        collect: () => revisions.list(50).map((r) => ({ ...r, actor: r.actor === 'system' ? 'system' : pseudonym(r.actor) })),
      },
      { file: 'token.json', collect: () => deps.provisioning.tokenState() },
      { file: 'certificates.json', collect: () => deps.provisioning.certificates() },
      {
        file: 'accounts.json',
        collect: () => {
          const list = accounts.store.list();
          return {
            total: list.length,
            byRole: Object.fromEntries(['technician', 'operator', 'auditor'].map((r) => [r, list.filter((a) => a.role === r).length])),
            locked: list.filter((a) => a.lockedUntil !== null && a.lockedUntil > kit.now()).length,
            disabled: list.filter((a) => a.disabled).length,
          };
        },
      },
    ];
    if (deps.diagnostics) {
      try {
        const extra = await deps.diagnostics.sections();
        for (const [name, text] of Object.entries(extra)) {
          const safe = name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 60) || 'section';
          sections.push({ file: `extra/${safe}.txt`, collect: () => text });
        }
      } catch (e) {
        sections.push({ file: 'extra/unavailable.txt', collect: () => Promise.reject(e instanceof Error ? e : new Error(String(e))) });
      }
    }
    const bundle = await buildDiagnosticsBundle(sections, { version: deps.version, now });
    const name = `pruem-diagnostics-${now.toISOString().replace(/[:.]/g, '-')}.tar.gz`;
    await kit.audit(ctx, { action: 'diagnostics.download', target: 'support bundle', outcome: 'success', detail: `${bundle.length} bytes` });
    ctx.set('Content-Disposition', `attachment; filename="${name}"`);
    ctx.type = 'application/gzip';
    ctx.body = bundle;
  });
};
