import { randomInt } from 'node:crypto';
import { migrateSchema } from '../../db/schema.js';
import { z } from 'zod';
import type Database from 'better-sqlite3';
import { ApiError } from '../errors.js';
import type { ApiInternals, InternalRouteModule } from '../internals.js';
import type { ApiMiddleware } from '../routing.js';
import { callDependency, memberStateSchema, parseBody } from '../validate.js';
import { changeConfig } from './config.js';
import { problemError } from './session.js';
import type { CsrResult, SetupState } from '../wire.js';
import { sameToken } from '../../accounts/store.js';
import { isMemberStateCode } from '../../peers/member-states.js';

/** No 0/O, 1/I/L: the code is read off a serial console or a screen and typed by hand. */
const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
/** Wrong codes allowed before the code is replaced by a new one (shown again on the console). */
const MAX_CODE_ATTEMPTS = 10;

export function newSetupCode(): string {
  const groups: string[] = [];
  for (let g = 0; g < 3; g++) {
    let s = '';
    for (let i = 0; i < 4; i++) s += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
    groups.push(s);
  }
  return groups.join('-');
}

type Step = 'memberState' | 'network' | 'token' | 'keys';

/** Dotted quad with octets 0–255, and a /0–32 prefix when asked for. */
export function isIpv4(text: string, withPrefix: boolean): boolean {
  const m = (withPrefix ? /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/ : /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/).exec(text);
  if (!m) return false;
  const octets = m.slice(1, 5).map(Number);
  return octets.every((o) => o <= 255) && (!withPrefix || Number(m[5]) <= 32);
}

class SetupProgress {
  constructor(private readonly db: Database.Database) {
    migrateSchema(db);
  }
  done(step: Step): boolean {
    return this.db.prepare('SELECT 1 FROM api_setup WHERE step = ?').get(step) !== undefined;
  }
  mark(step: Step, now: number, data: unknown = null): void {
    this.db.prepare('INSERT OR REPLACE INTO api_setup (step, done_at, data) VALUES (?, ?, ?)').run(step, now, data === null ? null : JSON.stringify(data));
  }
  csrs(): CsrResult[] {
    const row = this.db.prepare("SELECT data FROM api_setup WHERE step = 'keys'").get() as { data: string | null } | undefined;
    return row?.data ? (JSON.parse(row.data) as CsrResult[]) : [];
  }
}

const networkSchema = z
  .object({
    network: z
      .object({
        interface: z.string().regex(/^[A-Za-z0-9._-]{1,15}$/),
        address: z.string().refine((s) => isIpv4(s, true), 'IPv4 address with prefix, e.g. 10.0.0.2/24'),
        gateway: z.string().refine((s) => isIpv4(s, false), 'IPv4 address').nullable(),
        dns: z.array(z.string().refine((s) => isIpv4(s, false), 'IPv4 address')).max(3),
      })
      .strict()
      .nullable(),
    relay: z.object({ host: z.string().trim().min(1).max(253), port: z.number().int().min(1).max(65535), requireTls: z.boolean() }).strict().nullable(),
  })
  .strict();

/**
 * The first-run wizard. While no account exists, whoever reaches the management interface could
 * otherwise claim the box; so the wizard starts with a one-time code the daemon shows on the
 * appliance's own console (deps.onSetupCode). There is no default password anywhere.
 */
export const setupRoutes: InternalRouteModule = (router, kit, internals: ApiInternals) => {
  const { deps, accounts, sessions, setupCode } = internals;
  const progress = new SetupProgress(deps.db);
  let wrongCodes = 0;

  const requireSetup: ApiMiddleware = async (ctx, next) => {
    if (accounts.hasAccounts()) throw new ApiError('SETUP_DONE');
    if (!ctx.state.setup) throw new ApiError('SETUP_CODE_INVALID');
    await next();
  };

  // CSRs are public material, but only shown to whoever runs the wizard (or a technician after it).
  const state = async (unlocked: boolean, showCsrs = unlocked): Promise<SetupState> => {
    const current = deps.config.current();
    const token = unlocked ? await deps.provisioning.tokenState().catch(() => null) : null;
    return {
      needed: !accounts.hasAccounts(),
      unlocked,
      memberState: isMemberStateCode(current.memberState) ? current.memberState : null,
      steps: {
        memberState: progress.done('memberState'),
        network: progress.done('network'),
        token: progress.done('token'),
        keys: progress.done('keys'),
        account: accounts.hasAccounts(),
      },
      csrs: showCsrs ? progress.csrs() : [],
      relay: unlocked ? current.relay : null,
      token,
    };
  };

  router.get('/setup', async (ctx) => {
    const unlocked = ctx.state.setup !== null && !accounts.hasAccounts();
    ctx.body = await state(unlocked, unlocked || ctx.state.user?.role === 'technician');
  });

  router.post('/setup/unlock', async (ctx) => {
    if (accounts.hasAccounts()) throw new ApiError('SETUP_DONE');
    const { code } = parseBody(z.object({ code: z.string().max(40) }).strict(), await kit.readJson(ctx));
    const expected = setupCode.current;
    const typed = code.toUpperCase().replace(/[^A-Z0-9]/g, '');
    if (!expected || !sameToken(typed, expected.replace(/-/g, ''))) {
      wrongCodes++;
      if (wrongCodes >= MAX_CODE_ATTEMPTS) {
        wrongCodes = 0;
        setupCode.current = newSetupCode();
        deps.onSetupCode?.(setupCode.current);
      }
      await kit.audit(ctx, { action: 'setup.unlock', target: 'first-run wizard', outcome: 'failure', detail: 'wrong set-up code' });
      throw new ApiError('SETUP_CODE_INVALID');
    }
    wrongCodes = 0;
    sessions.grantSetup(ctx);
    await kit.audit(ctx, { action: 'setup.unlock', target: 'first-run wizard', outcome: 'success' });
    ctx.body = await state(true);
  });

  router.put('/setup/member-state', requireSetup, async (ctx) => {
    const { memberState } = parseBody(z.object({ memberState: memberStateSchema }).strict(), await kit.readJson(ctx));
    const current = deps.config.current();
    if (current.memberState !== memberState) {
      await changeConfig(ctx, kit, internals, {
        action: 'setup.member-state',
        target: 'our Member State code',
        actor: 'setup wizard',
        // Our own State cannot also be a peer.
        mutate: (c) => ({ ...c, memberState, peers: c.peers.filter((p) => p.code !== memberState) }),
      });
    } else {
      await kit.audit(ctx, { action: 'setup.member-state', target: 'our Member State code', outcome: 'success', detail: `kept ${memberState}` });
    }
    progress.mark('memberState', kit.now());
    ctx.body = await state(true);
  });

  router.put('/setup/network', requireSetup, async (ctx) => {
    const body = parseBody(networkSchema, await kit.readJson(ctx));
    if (body.network) {
      if (!deps.network) throw new ApiError('NOT_CONFIGURED', { part: 'network' });
      const settings = body.network;
      await callDependency('network', () => deps.network!.apply(settings));
      await kit.audit(ctx, { action: 'setup.network', target: `interface ${settings.interface}`, outcome: 'success', detail: `${settings.address} via ${settings.gateway ?? 'no gateway'}` });
    }
    const current = deps.config.current();
    if (JSON.stringify(current.relay) !== JSON.stringify(body.relay)) {
      await changeConfig(ctx, kit, internals, { action: 'setup.relay', target: 'TESTA relay', actor: 'setup wizard', mutate: (c) => ({ ...c, relay: body.relay }) });
    }
    progress.mark('network', kit.now());
    ctx.body = await state(true);
  });

  router.post('/setup/token', requireSetup, async (ctx) => {
    const body = parseBody(
      z.union([z.object({ pin: z.string().regex(/^[0-9A-Za-z_-]{4,64}$/, '4 to 64 letters, digits, - or _') }).strict(), z.object({ keep: z.literal(true) }).strict()]),
      await kit.readJson(ctx),
    );
    if ('keep' in body) {
      // The token is already initialised and the daemon is logged in with the PIN it holds.
      const token = await callDependency('token', () => deps.provisioning.tokenState());
      if (!token.loggedIn) throw new ApiError('TOKEN_UNAVAILABLE', { reason: token.detail });
      await kit.audit(ctx, { action: 'setup.token', target: `token ${token.label ?? ''}`.trim(), outcome: 'success', detail: 'kept the PIN the token already has' });
      progress.mark('token', kit.now());
      ctx.body = await state(true);
      return;
    }
    const { pin } = body;
    try {
      const token = await callDependency('token', () => deps.provisioning.setupToken(pin));
      await kit.audit(ctx, { action: 'setup.token', target: `token ${token.label ?? ''}`.trim(), outcome: 'success', detail: token.detail });
    } catch (e) {
      await kit.audit(ctx, { action: 'setup.token', target: 'token', outcome: 'failure', detail: (e as Error).message });
      throw e;
    }
    progress.mark('token', kit.now());
    ctx.body = await state(true);
  });

  router.post('/setup/keys', requireSetup, async (ctx) => {
    if (!progress.done('token')) throw new ApiError('SETUP_STEP_INVALID', { missing: 'token' });
    const body = parseBody(z.object({ organization: z.string().trim().min(1).max(64), commonName: z.string().trim().min(1).max(48) }).strict(), await kit.readJson(ctx));
    const country = deps.config.current().memberState;
    const csrs: CsrResult[] = [];
    // Every key signs its own request; a development token's decrypt-only key cannot (see wiring/provisioning.ts), it is skipped there.
    for (const usage of ['signing', 'encryption', 'audit'] as const) {
      // newKey false: the token step already made the keys (development token) or the card came with them.
      const request = { usage, commonName: `${body.commonName} ${usage}`, organization: body.organization, country: country === 'EL' ? 'GR' : country === 'UK' ? 'GB' : country, newKey: false };
      try {
        csrs.push(await callDependency('provisioning', () => deps.provisioning.generateCsr(request)));
      } catch (e) {
        // callDependency wraps the port's error: its reason is in the detail.
        const reason = e instanceof ApiError ? String(e.detail?.['reason'] ?? e.message) : (e as Error).message;
        if (usage === 'encryption' && /decrypt-only/.test(reason)) continue;
        await kit.audit(ctx, { action: 'setup.keys', target: `${usage} key, CN=${request.commonName}`, outcome: 'failure', detail: (e as Error).message });
        throw e;
      }
      await kit.audit(ctx, { action: 'setup.keys', target: `${usage} key, CN=${request.commonName}`, outcome: 'success' });
    }
    progress.mark('keys', kit.now(), csrs);
    ctx.body = await state(true);
  });

  router.post('/setup/account', requireSetup, async (ctx) => {
    if (!progress.done('memberState')) throw new ApiError('SETUP_STEP_INVALID', { missing: 'memberState' });
    const input = parseBody(
      z.object({ username: z.string(), displayName: z.string(), password: z.string().max(1000), language: z.string().optional() }).strict(),
      await kit.readJson(ctx),
    );
    const result = await accounts.createFirst(input, kit.now());
    await kit.audit(ctx, {
      action: 'setup.account',
      target: `account ${input.username.slice(0, 40)} (technician)`,
      outcome: result.ok ? 'success' : 'failure',
      ...(result.ok ? {} : { detail: result.problem }),
    });
    if (!result.ok) throw problemError(result.problem);
    sessions.endSetup(ctx);
    setupCode.current = null;
    const { csrfToken } = sessions.signIn(ctx, result.value);
    ctx.status = 201;
    ctx.body = { ...(await state(false, true)), csrfToken };
  });
};
