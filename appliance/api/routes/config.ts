import { z } from 'zod';
import { parseConfig, type GatewayConfig } from '../../config/config.js';
import { canonicalJson, diffConfig, redactConfig, withSecretsFrom, type RevisionStore } from '../../config/revisions.js';
import { ApiError } from '../errors.js';
import type { ApiInternals, InternalRouteModule } from '../internals.js';
import type { ApiContext, RouteKit } from '../routing.js';
import { callDependency, channelSchema, memberStateSchema, parseBody, positiveIntParam } from '../validate.js';
import type { RevisionDetail } from '../wire.js';
import type { ConfigPort } from '../deps.js';

/**
 * Applies a configuration change: validate it whole, hand it to the daemon, then record it as
 * a revision naming who, what and the target. The running file is synced first so a hand edit
 * is its own revision, not hidden inside the console's change.
 */
export async function changeConfig(
  ctx: ApiContext,
  kit: RouteKit,
  internals: { deps: { config: ConfigPort }; revisions: RevisionStore },
  change: { action: string; target: string; mutate: (current: GatewayConfig) => unknown; actor?: string; revertOf?: number },
): Promise<RevisionDetail> {
  const { deps, revisions } = internals;
  const current = deps.config.current();
  const base = revisions.sync(current);
  const parsed = parseConfig(change.mutate(structuredClone(current)));
  if (!parsed.ok) {
    await kit.audit(ctx, { action: change.action, target: change.target, outcome: 'failure', detail: parsed.error.issues.join('; ') });
    throw new ApiError('CONFIG_INVALID', { issues: parsed.error.issues.join('; ').slice(0, 500) });
  }
  const next = parsed.config;
  const changes = diffConfig(redactConfig(current), redactConfig(next));
  if (canonicalJson(current) === canonicalJson(next)) throw new ApiError('CONFIG_UNCHANGED');
  const what = changes.map((c) => `${c.path}: ${JSON.stringify(c.before)} → ${JSON.stringify(c.after)}`).join('; ');
  let restartRequired = false;
  try {
    const applied = await callDependency('configuration', () => deps.config.apply(next));
    restartRequired = applied?.restartRequired ?? false;
  } catch (e) {
    await kit.audit(ctx, { action: change.action, target: change.target, outcome: 'failure', detail: `${(e as ApiError).detail?.['reason'] ?? (e as Error).message}` });
    throw e;
  }
  const actor = change.actor ?? ctx.state.user?.username ?? 'setup';
  const saved = revisions.record(next, actor, `${change.target}: ${what}`.slice(0, 300), change.revertOf ?? null);
  await kit.audit(ctx, { action: change.action, target: change.target, outcome: 'success', detail: `revision ${saved.id} (from ${base.id}): ${what}`.slice(0, 1000) });
  return { id: saved.id, at: saved.at, actor: saved.actor, summary: saved.summary, revertOf: saved.revertOf, config: redactConfig(next), changes, restartRequired };
}

function detail(revisions: RevisionStore, id: number): RevisionDetail {
  const r = revisions.get(id);
  if (!r) throw new ApiError('REVISION_NOT_FOUND');
  const prev = revisions.previous(id);
  return {
    id: r.id,
    at: r.at,
    actor: r.actor,
    summary: r.summary,
    revertOf: r.revertOf,
    config: redactConfig(r.config),
    changes: diffConfig(redactConfig(prev?.config ?? {}), redactConfig(r.config)),
  };
}

const relaySchema = z.object({ host: z.string().trim().min(1).max(253), port: z.number().int().min(1).max(65535), requireTls: z.boolean() }).strict().nullable();

export const configRoutes: InternalRouteModule = (router, kit, internals: ApiInternals) => {
  const { deps, revisions } = internals;
  const read = kit.requirePermission('config.read');
  const write = kit.requirePermission('config.write');

  router.get('/config', read, (ctx) => {
    const current = deps.config.current();
    const latest = revisions.sync(current);
    ctx.body = { config: redactConfig(current), revision: latest.id };
  });

  router.get('/config/revisions', read, (ctx) => {
    revisions.sync(deps.config.current());
    ctx.body = { revisions: revisions.list(200) };
  });

  router.get('/config/revisions/:id', read, (ctx) => {
    ctx.body = { revision: detail(revisions, positiveIntParam(ctx.params['id'])) };
  });

  router.post('/config/revisions/:id/revert', write, async (ctx) => {
    const id = positiveIntParam(ctx.params['id']);
    const target = revisions.get(id);
    if (!target) throw new ApiError('REVISION_NOT_FOUND');
    const revision = await changeConfig(ctx, kit, internals, {
      action: 'config.revert',
      target: `configuration back to revision ${id}`,
      // Revisions keep no literal secrets: the running configuration's are put back in.
      mutate: (current) => withSecretsFrom(target.config, current),
      revertOf: id,
    });
    ctx.body = { revision };
  });

  router.put('/config/relay', write, async (ctx) => {
    const relay = parseBody(z.object({ relay: relaySchema }).strict(), await kit.readJson(ctx)).relay;
    const revision = await changeConfig(ctx, kit, internals, {
      action: 'config.relay.change',
      target: 'TESTA relay',
      mutate: (c) => ({ ...c, relay }),
    });
    ctx.body = { revision };
  });

  router.put('/config/peers/:code/channels/:channel', write, async (ctx) => {
    const code = memberStateSchema.safeParse(ctx.params['code']);
    const channel = channelSchema.safeParse(ctx.params['channel']);
    if (!code.success || !channel.success) throw new ApiError('NOT_FOUND');
    const { enabled } = parseBody(z.object({ enabled: z.boolean() }).strict(), await kit.readJson(ctx));
    const revision = await changeConfig(ctx, kit, internals, {
      action: enabled ? 'config.peer.channel.enable' : 'config.peer.channel.disable',
      target: `peer ${code.data} channel ${channel.data}`,
      mutate: (c) => {
        const exists = c.peers.some((p) => p.code === code.data);
        const peers = exists ? c.peers : [...c.peers, { code: code.data, channels: {}, certificates: {}, crypto: { allowLegacy: false, keyTransport: 'rsa-pkcs1' as const, digest: 'sha256' as const } }];
        return {
          ...c,
          peers: peers.map((p) => (p.code === code.data ? { ...p, channels: { ...p.channels, [channel.data]: { ...(p.channels[channel.data] ?? {}), enabled } } } : p)),
        };
      },
    });
    ctx.body = { revision };
  });

  router.post('/test-message', write, async (ctx) => {
    const target = parseBody(
      z.discriminatedUnion('kind', [z.object({ kind: z.literal('relay') }).strict(), z.object({ kind: z.literal('peer'), state: memberStateSchema, channel: channelSchema }).strict()]),
      await kit.readJson(ctx),
    );
    const name = target.kind === 'relay' ? 'local relay' : `peer ${target.state} ${target.channel}`;
    const result = await callDependency('transport', () => deps.sendTestMessage(target));
    await kit.audit(ctx, { action: 'test-message.send', target: name, outcome: result.ok ? 'success' : 'failure', detail: result.detail.slice(0, 300) });
    ctx.body = { result };
  });
};
