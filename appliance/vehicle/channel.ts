/**
 * The vehicle channel in the daemon: built from the gateway's parts (token, peer directory, audit log,
 * statistics, officers), started with its own listener and queue loop, and its officers' routes mounted on
 * the officers' API. main.ts calls composeVehicleChannel(core), start(), mountOfficersApi(app), stop().
 */
import { existsSync, readFileSync } from 'node:fs';
import { liveCertificate } from '../../provisioning/live.js';
import { join } from 'node:path';
import type Koa from 'koa';
import type { GatewayConfig } from '../config/config.js';
import type { Db } from '../db/database.js';
import type { Token } from '../token/token.js';
import { KEY_LABELS } from '../token/token.js';
import type { PeerDirectory } from '../peers/directory.js';
import type { AuditLog } from '../audit/log.js';
import type { OfficerRegistry } from '../audit/officers.js';
import type { Statistics } from '../exchange/statistics.js';
import type { ServiceBoard } from '../status/status.js';
import { certsDir } from '../../provisioning/index.js';
import { loadListenerTls } from '../../provisioning/listener-tls.js';
import { DemoVehicleRegister } from './demo-register.js';
import { seedDemoRegister } from './demo-seed.js';
import { HttpVehicleRegister } from './register-http.js';
import type { VehicleRegister } from './register.js';
import { ReplayMemory, VehicleJournal } from './journal.js';
import { VehiclePartners } from './partners.js';
import { handleVehicleRequest, type ServiceAnswer } from './service.js';
import { VehicleSearches } from './searches.js';
import { tokenXmlSigner, type XmlSigner } from './ws-security.js';
import { listenVehicleService, type VehicleListener } from './listener.js';
import { vehicleOfficersRouter } from './officers-api.js';
import { startJournalCommitter } from './journal-committer.js';

/** How often queued requests for unreachable States are looked at (each has its own back-off). */
const QUEUE_POLL_MS = 1_000;

export interface VehicleCoreParts {
  readonly config: GatewayConfig;
  readonly db: Db;
  readonly token: Token;
  readonly directory: PeerDirectory;
  readonly audit: AuditLog;
  readonly officers: OfficerRegistry;
  readonly statistics: Statistics;
  readonly services: ServiceBoard;
  readonly log: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void };
}

export interface VehicleChannel {
  readonly partners: VehiclePartners;
  readonly register: VehicleRegister;
  readonly journal: VehicleJournal;
  readonly searches: VehicleSearches;
  readonly signer: XmlSigner;
  /** A partner's SOAP request → our signed answer or fault (what the listener calls). */
  handle(body: string, meta: { remote: string }): Promise<ServiceAnswer>;
  /** The listener (if configured) and the queue loop. */
  start(): Promise<{ url: string | null }>;
  mountOfficersApi(app: Koa): void;
  stop(): Promise<void>;
}

export function openRegister(config: GatewayConfig): VehicleRegister {
  const r = config.vehicle.register;
  if (r.kind === 'http') return new HttpVehicleRegister(r.url);
  const fresh = !existsSync(r.path);
  const register = new DemoVehicleRegister(r.path, { state: config.memberState, simulatedDelayMs: r.simulatedDelayMs });
  // The demo register is filled with synthetic vehicles the first time it is made, never afterwards.
  if (fresh && r.seedVehicles > 0) seedDemoRegister(register, config.memberState, { randomVehicles: r.seedVehicles });
  return register;
}

export async function composeVehicleChannel(core: VehicleCoreParts): Promise<VehicleChannel> {
  const { config } = core;
  const v = config.vehicle;
  // The current signing certificate, read when a message is signed: the box may start unprovisioned.
  const signer = tokenXmlSigner(core.token, KEY_LABELS.sign, liveCertificate(join(certsDir(config), `${KEY_LABELS.sign}.pem`)));
  const partners = new VehiclePartners(config, core.directory);
  for (const problem of partners.problems) core.log.warn({ problem }, 'vehicle partners');
  const register = openRegister(config);
  const journal = new VehicleJournal(core.db, core.audit, core.statistics, v.logging);
  // Answers' records are committed in a thread of their own: waiting for the disk must not stop verification and signing.
  const committer = startJournalCommitter({ dbPath: core.db.name, origin: `${config.memberState}/pruem-gateway`, logging: v.logging });
  journal.useCommitter(committer);
  const replay = new ReplayMemory(core.db);
  const deadlineMs = v.deadlineSeconds * 1000;
  const searches = new VehicleSearches({
    db: core.db,
    ourState: config.memberState,
    agency: config.agency,
    partners,
    officers: core.officers,
    journal,
    client: { signer, skewSeconds: v.clockSkewSeconds, windowSeconds: v.timestampWindowSeconds },
    deadlineMs,
    queueHours: v.queueHours,
    onQueueChange: (n) => core.services.set('vehicle-queue', n === 0 ? 'up' : 'degraded', n === 0 ? 'no vehicle search waiting' : `${n} vehicle search(es) queued for unreachable States`),
  });
  const handle = (body: string, meta: { remote: string }) =>
    handleVehicleRequest(
      { ourState: config.memberState, agency: config.agency, signer, partners, register, replay, journal, deadlineMs, timestampWindowSeconds: v.timestampWindowSeconds, clockSkewSeconds: v.clockSkewSeconds },
      body,
      meta,
    );
  let listener: VehicleListener | null = null;
  let timer: NodeJS.Timeout | null = null;
  return {
    partners,
    register,
    journal,
    searches,
    signer,
    handle,
    async start() {
      const interrupted = searches.recoverInterrupted();
      if (interrupted > 0) core.log.warn({ interrupted }, 'vehicle searches interrupted by the last stop marked failed');
      const queued = searches.queuedCount();
      core.services.set('vehicle-queue', queued === 0 ? 'up' : 'degraded', queued === 0 ? 'no vehicle search waiting' : `${queued} vehicle search(es) queued for unreachable States`);
      timer = setInterval(() => {
        void searches.deliverDue().then(
          (n) => n > 0 && core.log.info({ delivered: n }, 'queued vehicle searches delivered'),
          (e: Error) => core.log.error({ reason: e.message }, 'vehicle queue'),
        );
      }, QUEUE_POLL_MS);
      if (!v.listen) return { url: null };
      // The TESTA side is HTTPS even on loopback (partners check our listener's certificate).
      const listen = { ...v.listen, tls: v.listen.tls ?? 'self-signed' };
      const tls = await loadListenerTls(config, new Date(), listen);
      if (!tls.ok) throw new Error(`vehicle service: ${tls.error}`);
      listener = await listenVehicleService({
        host: listen.host,
        port: listen.port,
        tls: tls.tls,
        ourState: config.memberState,
        deadlineMs,
        handle,
        onOutcome: (o) => core.log.info({ vrd: o.outcome, status: o.status, ms: o.ms }, 'vehicle request'),
      });
      core.services.set('vehicle-service', 'up', `listening on ${listener.url}`);
      core.log.info({ vehicle: listener.url, ...(tls.tls ? { certificateSha256: tls.tls.fingerprint } : {}) }, 'vehicle service listening');
      return { url: listener.url };
    },
    mountOfficersApi(app) {
      const router = vehicleOfficersRouter(searches, { audit: core.audit, officers: core.officers });
      app.use(router.routes()).use(router.allowedMethods());
    },
    async stop() {
      if (timer) clearInterval(timer);
      await listener?.close();
      journal.useCommitter(null);
      await committer.close();
      await register.close();
    },
  };
}
