import 'reflect-metadata';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { GatewayConfig } from './config/config.js';
import { readSecret } from './config/config.js';
import { openDatabase, type Db } from './db/database.js';
import { MessageQueue } from './queue/queue.js';
import { LinkTracker } from './exchange/links.js';
import { ExchangePipeline, type ExchangeAudit } from './exchange/pipeline.js';
import { relaySender, smimeOpener, smimeSealer } from './exchange/smime-ports.js';
import { exchangeRetention, pruneExchange, replayWindowOf } from './exchange/retention.js';
import { mailIntake } from './exchange/intake.js';
import { checkpointIfGrown } from './audit/checkpoints.js';
import { pingHandler, pingRequest } from './exchange/ping.js';
import { ServiceBoard, gatewayStatus } from './status/status.js';
import type { GatewayStatus } from './status/types.js';
import { PeerDirectory } from './peers/directory.js';
import { isMemberStateCode, type MailChannel, type MemberStateCode } from './peers/member-states.js';
import { Token, KEY_LABELS } from './token/token.js';
import { ensureDevelopmentToken, tokenOptionsFromConfig, certsDir } from '../provisioning/index.js';
import { loadListenerTls } from '../provisioning/listener-tls.js';
import { liveAuditSigner, liveCertificate, provisioningGate } from '../provisioning/live.js';
import { signingTimeOf } from './transport/smime/index.js';
import { createSmtpSender, type SmtpSender } from './transport/mail/sender.js';
import { startSmtpReceiver, type SmtpReceiver } from './transport/mail/receiver.js';
import { createPop3Fetcher } from './transport/mail/pop3.js';
import type { CommandIo } from './cli/io.js';
import { createApiServer } from './api/server.js';
import { OfficerRegistry } from './audit/officers.js';
import { Statistics } from './exchange/statistics.js';
import { ProfileStore } from './dna/store.js';
import { DnaSearches } from './dna-exchange/searches.js';
import { NationalIndex } from './dna-exchange/national-index.js';
import { ProfileNotes } from './dna-exchange/notes.js';
import { HitValidations, VALIDATION_RETENTION_MS } from './dna-exchange/hit-validation.js';
import { dnaValidationRoutes } from './dna-exchange/validation-routes.js';
import { dnaComparisonRoutes } from './dna-exchange/comparison-routes.js';
import { dnaChannelHandler } from './dna-exchange/channel.js';
import { reportIndexBuilds, reportIndexDeltas } from './dna-exchange/index-reporting.js';
import { submitDnaSearch } from './dna-exchange/submit.js';
import { DnaComparisons } from './dna-exchange/comparisons.js';
import { createOfficersApi, listen as listenOfficersApi } from './dna-exchange/officers-api.js';
import { OfficersClients } from './dna-exchange/officers-clients.js';
import { apiLogTo } from './api/log.js';
import { ensurePrivateDir } from './util/fs.js';
import { composeFingerprintChannel, type FingerprintChannel } from './fingerprint-exchange/compose.js';
import { buildApiDeps, configFilePort, systemPort } from './api/wiring/index.js';
import { privilegedActions } from './system/privileged.js';
import type { NetworkUnitSettings } from './system/networkd.js';
import { startGatewaySerial } from './serial/index.js';
import { AuditLog } from './audit/log.js';
import type { AuditSigner } from './audit/signer.js';
import { createExchangeAudit } from './audit/exchange-audit.js';
import { tokenAuditSigner } from './audit/token-signer.js';
import { composeVehicleChannel } from './vehicle/channel.js';
import { vehicleConsoleRoutes } from './vehicle/console-routes.js';

export const VERSION = '0.1.0';
/** The `generator` we write in PRUEMDNA headers. */
const GENERATOR = `pruem-gateway ${VERSION}`;

/** How often the audit tree head is signed when it grew (a bound on what an attacker could rewrite unseen). */
const AUDIT_CHECKPOINT_MS = 5 * 60_000;
/** How often the daemon looks for an import into the national DNA database (one small read; issue 15: ≤ 5 s to searchable). */
const DNA_RELOAD_CHECK_MS = 2_000;
/** How often comparison runs send their next batch (≤ 500 profiles): ~8 M profiles a day at most, within partners' limits. */
const COMPARISON_STEP_MS = 5_000;

export type Logger = pino.Logger;

/**
 * The composition root: every part of the gateway is built and wired here, and nowhere else.
 * `composeGateway` builds the parts without opening any socket (the CLI uses it to queue link
 * tests next to a running daemon); `startGateway` adds the listeners and loops.
 */
export interface GatewayCore {
  readonly config: GatewayConfig;
  readonly db: Db;
  readonly queue: MessageQueue;
  readonly links: LinkTracker;
  readonly services: ServiceBoard;
  readonly token: Token;
  readonly directory: PeerDirectory;
  readonly pipeline: ExchangePipeline;
  /** The pipeline's Art. 30 adapter: exchanges, and refused messages as security events. */
  readonly exchangeAudit: ExchangeAudit;
  readonly audit: AuditLog;
  readonly auditSigner: AuditSigner;
  readonly officers: OfficerRegistry;
  readonly statistics: Statistics;
  readonly dna: { readonly store: ProfileStore; readonly index: NationalIndex; readonly searches: DnaSearches; readonly notes: ProfileNotes;
    readonly validations: HitValidations;
    readonly comparisons: DnaComparisons;
    /** An officer's search abroad, or a comparison run's batch (submit.ts). */
    readonly submit: (raw: unknown, alsoInTransaction?: (searchId: string) => void) => ReturnType<typeof submitDnaSearch>;
  };
  readonly fingerprint: FingerprintChannel;
  readonly log: Logger;
  readonly startedAt: Date;
  status(): GatewayStatus;
  close(): Promise<void>;
}

export interface Gateway extends GatewayCore {
  readonly apiPort: number;
  /** Where the console is: https://… when the management interface is served over TLS. */
  readonly apiUrl: string;
  readonly smtpPort: number | null;
  readonly officersPort: number | null;
  stop(): Promise<void>;
}

function logger(config: GatewayConfig): Logger {
  // Operational log only: never profile data, PINs or keys (the audit log is the legal record).
  return pino({ level: process.env.PRUEM_LOG_LEVEL ?? 'info', base: { ms: config.memberState } });
}

/** First boot: on SoftHSM2, make the development token, keys and certificates if missing. */
export async function provisionFirstBoot(config: GatewayConfig, io?: CommandIo): Promise<void> {
  ensurePrivateDir(config.dataDir);
  const result = await ensureDevelopmentToken(config);
  for (const action of result.actions) io?.stdout.write(`${action}\n`);
  if (result.status === 'created') io?.stdout.write(`development token "${config.token.label}" ready — DEVELOPMENT certificates, not for TESTA\n`);
}

export async function composeGateway(config: GatewayConfig, opts: { log?: Logger } = {}): Promise<GatewayCore> {
  const log = opts.log ?? logger(config);
  const startedAt = new Date();
  ensurePrivateDir(config.dataDir);
  await ensureDevelopmentToken(config);
  const db = openDatabase(join(config.dataDir, 'gateway.sqlite'));
  const replayWindow = replayWindowOf(config);
  // DNA-TIME order by the signed signing time, never by the unsigned Date header.
  const queue = new MessageQueue(db, undefined, { signedTimeOf: (raw) => signingTimeOf(raw, config.limits.maxMessageBytes), orderWindowMs: replayWindow.pastMs });
  const links = new LinkTracker(db);
  const services = new ServiceBoard();
  const token = await Token.open(tokenOptionsFromConfig(config, { allowNotReady: true }));
  const tokenStatus = token.status();
  services.set('token', tokenStatus.state === 'ready' ? 'up' : 'down', `${tokenStatus.state}: ${tokenStatus.detail}`);
  // Tolerant: a peer with a bad certificate is reported (status, log), the others keep working.
  const directory = new PeerDirectory(config, { tolerant: true });
  for (const problem of directory.problems) log.warn({ problem }, 'peer directory');

  const certs = certsDir(config);
  // Parsed once per version of the file (each answer is signed with it; parsing costs a third of a millisecond):
  // absent until provisioned, switched by a renewal's import, without a restart.
  const signerCert = liveCertificate(join(certs, `${KEY_LABELS.sign}.pem`));

  const opener = smimeOpener({ directory, token, maxBytes: config.limits.maxMessageBytes });
  const sealer = smimeSealer({ directory, token, signerCert });
  const auditLog = new AuditLog(db, { origin: `${config.memberState}/pruem-gateway` });
  const auditSigner = liveAuditSigner(join(certs, `${KEY_LABELS.audit}.pem`), (pem) => tokenAuditSigner(token, pem));
  const audit = createExchangeAudit(db, auditLog);
  const officers = new OfficerRegistry(db, auditLog);
  // An outgoing search by an officer who is not authorised fails inside the pipeline's transaction.
  auditLog.useSearchGuard(officers.searchGuard());
  const statistics = new Statistics(db);

  // The indexed national DNA database: the store on disk, the in-memory index built from it.
  const dnaStorePath = join(config.dataDir, 'dna.sqlite');
  const dnaStore = ProfileStore.open(dnaStorePath);
  const dnaIndex = new NationalIndex(dnaStore, {
    path: dnaStorePath,
    // Requests deferred while there was no index are answered now, not after the rest of their back-off.
    onBuild: reportIndexBuilds({
      services,
      log,
      firstReady: () => {
        if (queue.retryDeferredNow('dna') > 0) pipeline.kick();
      },
    }),
    onDelta: reportIndexDeltas({ services, log }),
  });
  const dna = { store: dnaStore, index: dnaIndex, searches: new DnaSearches(db), notes: new ProfileNotes(db), validations: new HitValidations(db) };
  const sender: SmtpSender | null = config.relay
    ? createSmtpSender({ host: config.relay.host, port: config.relay.port, requireTls: config.relay.requireTls, heloName: directory.ourAddress('dna').split('@')[1] ?? 'localhost' })
    : null;
  // The fingerprint channel (handler, AFIS service, officers' routes); it reaches the pipeline once built.
  const fingerprint = composeFingerprintChannel({
    config, db, statistics, officers, audit: auditLog, directory, pipeline: () => pipeline,
    report: (name, state, detail) => services.set(name, state, detail),
    log: (event, fields) => log.info(fields, event),
  });
  const handlers = [
    pingHandler('dna'),
    pingHandler('fp'),
    dnaChannelHandler({ ourState: config.memberState, agency: config.agency, generator: GENERATOR, engine: () => dna.index.current(), batches: dna.index, searches: dna.searches, notes: dna.notes, validations: dna.validations, statistics }),
    fingerprint.handler,
  ];
  const pipeline = new ExchangePipeline({
    db,
    queue,
    links,
    opener,
    sealer,
    sender: sender ? relaySender(sender, services) : null,
    handlers,
    audit,
    ourState: config.memberState,
    messageIdDomain: (channel) => directory.ourAddress(channel).split('@')[1] ?? 'localhost',
    log: (event, fields) => (['inbound-dead-letter', 'outbound-dead-letter', 'inbound-error', 'audit-failed'].includes(event) ? log.error(fields, event) : log.info(fields, event)),
    maxFailures: config.exchange.maxFailures,
    outboundGiveUpMs: config.exchange.outboundGiveUpHours * 3_600_000,
    replayWindow,
  });
  // An officer's search and a comparison run's batch go the same way: checked, sealed, queued and audited at once.
  const submitDna = (raw: unknown, alsoInTransaction?: (searchId: string) => void) =>
    submitDnaSearch(
      { pipeline, searches: dna.searches, officers, directory, ourState: config.memberState, agency: config.agency, generator: GENERATOR, maxProfilesPerMessage: config.limits.maxProfilesPerMessage },
      raw,
      alsoInTransaction,
    );
  const comparisons = new DnaComparisons(db, dnaStore, config.dnaComparisons);
  const peerChannels = () =>
    directory.list().flatMap((p) => (['dna', 'fp'] as const).map((channel) => ({ state: p.code, channel, enabled: p.channels[channel].enabled })));
  return {
    config,
    db,
    queue,
    links,
    services,
    token,
    directory,
    pipeline,
    exchangeAudit: audit,
    audit: auditLog,
    auditSigner,
    officers,
    statistics,
    dna: { ...dna, submit: submitDna, comparisons },
    fingerprint,
    log,
    startedAt,
    status: () => gatewayStatus({ memberState: config.memberState, version: VERSION, startedAt, demo: config.relay === null || process.env.PRUEM_DEMO === '1', queue, links, services, peerChannels }),
    async close() {
      sender?.close();
      await fingerprint.stop();
      await dnaIndex.close();
      await token.close();
      dnaStore.close();
      db.close();
    },
  };
}

export async function startGateway(config: GatewayConfig, opts: { log?: Logger; configPath?: string } = {}): Promise<Gateway> {
  const core = await composeGateway(config, opts);
  const { queue, pipeline, services, log, directory } = core;
  /**
   * What has been started, stopped in reverse order by stop() — or at once when a later step fails (a port
   * already taken): a half-started gateway must not live on answering mail without its console and APIs.
   */
  const running: Array<() => Promise<void> | void> = [() => core.close()];
  const stopAll = async (): Promise<void> => {
    for (const stop of running.splice(0).reverse()) {
      await Promise.resolve()
        .then(stop)
        .catch((e: unknown) => log.error({ reason: e instanceof Error ? e.message : String(e) }, 'error while stopping'));
    }
  };
  const checkpoint = () => checkpointIfGrown(core.audit, core.auditSigner);
  // The last signed tree head covers everything the pipeline did before it stopped.
  running.push(() => checkpoint().catch((e: Error) => log.error({ reason: e.message }, 'audit checkpoint failed')));
  const intake = mailIntake({ db: core.db, queue, directory, pipeline, audit: core.exchangeAudit, log });
  try {
    let smtpPort: number | null = null;
    // The vehicle channel's officers' routes serve at once; its TESTA-side listener opens with the rest below.
    const vehicle = await composeVehicleChannel(core);
    running.push(() => vehicle.stop());
    // The TESTA side opens once the keys and certificates are there (at once on a provisioned box).
    const openTesta = async (): Promise<void> => {
    if (config.listen.smtp) {
      const receiver: SmtpReceiver = await startSmtpReceiver({
        host: config.listen.smtp.host,
        port: config.listen.smtp.port,
        maxMessageBytes: config.limits.maxMessageBytes,
        acceptedDomains: (['dna', 'fp'] as const).map((c) => directory.ourAddress(c).split('@')[1] ?? ''),
        serverName: `gateway.${config.memberState.toLowerCase()}.pruem.local`,
        logger: log.child({ component: 'smtp-receiver' }),
        onRefused: intake.refused,
        store: intake.smtp,
      });
      running.push(() => receiver.close());
      smtpPort = receiver.port;
      services.set('smtp-receiver', 'up', `listening on ${config.listen.smtp.host}:${receiver.port}`);
    }
    if (config.pop3) {
      const p = config.pop3;
      const fetcher = createPop3Fetcher({
        host: p.host,
        port: p.port,
        user: p.user,
        password: readSecret(p.password),
        tls: p.tls,
        maxMessageBytes: config.limits.maxMessageBytes,
        logger: log.child({ component: 'pop3' }),
        onRefused: intake.refused,
      });
      const poll = async () => {
        const result = await fetcher.fetchNew(intake.pop3);
        if (result.error !== null) services.set('pop3', 'down', result.error);
        else services.set('pop3', result.failed ? 'degraded' : 'up', `fetched ${result.fetched}, failed ${result.failed}`);
        if (result.fetched) pipeline.kick();
      };
      const pop3Timer = setInterval(() => void poll().catch((e: Error) => services.set('pop3', 'down', e.message)), p.intervalSeconds * 1000);
      running.push(() => clearInterval(pop3Timer));
      void poll().catch((e: Error) => services.set('pop3', 'down', e.message));
    }
    pipeline.start();
    running.push(() => pipeline.stop());
    await vehicle.start();
    core.fingerprint.start();
    };
    const gate = await provisioningGate({
      config,
      token: core.token,
      open: openTesta,
      onWaiting: (s) => {
        services.set('smtp-receiver', 'down', `closed until provisioned: ${s.missing.join('; ')}`);
        log.warn({ missing: s.missing }, 'not provisioned: the TESTA side stays closed (pruem provision)');
      },
      onOpened: () => log.info('provisioning complete: the TESTA side is open'),
      onError: (e) => log.error({ reason: e.message }, 'the TESTA side could not open'),
    });
    running.push(() => gate.stop());
    // The vehicle channel's queue for unreachable States is a queue row of its own (issue 11 item 4).
    const fullStatus = (): GatewayStatus => {
      const s = core.status();
      // The mail queue's own vrd-out row is always empty (vehicle requests never travel by mail): this one replaces it.
      const queues = s.queues.filter((q) => !(q.channel === 'vrd' && q.direction === 'out'));
      return { ...s, queues: [...queues, vehicle.searches.queueStatus()], provisioning: gate.current() };
    };

    let officersPort: number | null = null;
    if (config.listen.officers) {
      const clients = new OfficersClients(core.db, core.audit);
      if (clients.migrateLegacyKeyFile(join(config.dataDir, 'officers-api.key'))) log.warn({ client: 'legacy-shared-key' }, "officers' API: the shared key file became a named client credential; give each client its own and revoke it");
      const app = createOfficersApi({
        clients,
        officers: core.officers,
        audit: core.audit,
        log: apiLogTo(log),
        searches: core.dna.searches,
        notes: core.dna.notes,
        statistics: core.statistics,
        submit: (body) => core.dna.submit(body),
      });
      vehicle.mountOfficersApi(app);
      core.fingerprint.mountOfficersRoutes(app, { log: apiLogTo(log) });
      const officersTls = await loadListenerTls(config, new Date(), config.listen.officers);
      if (!officersTls.ok) throw new Error(`officers' API: ${officersTls.error}`);
      const officersApi = await listenOfficersApi(app, config.listen.officers.host, config.listen.officers.port, officersTls.tls ?? undefined);
      running.push(() => officersApi.close());
      officersPort = officersApi.port;
      if (officersTls.tls) log.info({ officers: `https://${config.listen.officers.host}:${officersApi.port}`, tls: officersTls.tls.source, certificateSha256: officersTls.tls.fingerprint }, "officers' API over HTTPS");
    }

    // Built in a worker thread, so the gateway keeps answering meanwhile (about 4 s per million profiles here);
    // DNA requests that arrive before the first index is ready stay queued and are retried. Rebuilt the same way
    // when `pruem dna import` next to the daemon changed the store; searches use the previous index until then.
    services.set('dna-index', 'degraded', 'being built; DNA requests wait in the queue until it is ready');
    void core.dna.index.refresh();
    const dnaReloadTimer = setInterval(() => void core.dna.index.refresh(), DNA_RELOAD_CHECK_MS);
    // Art. 4 comparison runs: tonight's start at their hour; every run in progress sends its next batch.
    const comparisonTimer = setInterval(
      () => void core.dna.comparisons.tick((raw, also) => core.dna.submit(raw, also)).catch((e: Error) => log.error({ reason: e.message }, 'DNA comparison run step failed')),
      COMPARISON_STEP_MS,
    );
    // Signed tree heads at regular checkpoints, and the two-year retention (Art. 30(4)) once a day.
    const checkpointTimer = setInterval(() => void checkpoint().catch((e: Error) => log.error({ reason: e.message }, 'audit checkpoint failed')), AUDIT_CHECKPOINT_MS);
    // Working storage too: finished queue rows, the rejection list, replay digests past their window.
    const pruneWorking = () => {
      try {
        const pruned = pruneExchange(core.db, queue, exchangeRetention(config), new Date());
        if (pruned.inbox + pruned.outbox + pruned.rejections + pruned.seen > 0) log.info(pruned, 'working storage pruned');
        const fpRows = core.fingerprint.prune(new Date(Date.now() - exchangeRetention(config).queueMs));
        if (fpRows > 0) log.info({ rows: fpRows }, 'fingerprint working storage pruned');
        const hits = core.dna.validations.prune(new Date(Date.now() - VALIDATION_RETENTION_MS));
        if (hits > 0) log.info({ hits }, 'DNA hit validations past the two-year retention deleted');
      } catch (e) {
        log.error({ reason: e instanceof Error ? e.message : String(e) }, 'working storage retention failed');
      }
    };
    pruneWorking();
    const retentionTimer = setInterval(() => {
      pruneWorking();
      void core.audit.applyRetention(new Date(), core.auditSigner).catch((e: Error) => log.error({ reason: e.message }, 'audit retention failed'));
    }, 24 * 3_600_000);
    running.push(() => [dnaReloadTimer, comparisonTimer, checkpointTimer, retentionTimer].forEach(clearInterval));

    const tls = await loadListenerTls(config);
    if (!tls.ok) throw new Error(tls.error);
    // One configuration port for the console and the serial console, and the set-up code both show.
    const configPort = configFilePort(config, opts.configPath ?? null);
    // Mount, network, reboot: this process, or requests to the image's root helper (config `privileged`).
    const privileged = privilegedActions(config.privileged);
    let setupCode: string | null = null;
    const api = createApiServer(
      buildApiDeps({
        config,
        configPath: opts.configPath ?? null,
        db: core.db,
        version: VERSION,
        status: fullStatus,
        onProvisioned: () => void gate.check(),
        token: core.token,
        audit: core.audit,
        auditSigner: core.auditSigner,
        officers: core.officers,
        statistics: core.statistics,
        privileged,
        ...(config.privileged.networkDir ? { network: { dir: config.privileged.networkDir, interface: config.network?.interface ?? 'eth0', reload: true } } : {}),
        ping: (peer, channel) =>
          core.pipeline.originate({
            peer,
            channel,
            reply: pingRequest(config.memberState),
            correlation: null,
            records: [],
          }),
      }, {
        log: apiLogTo(log),
        config: configPort,
        onSetupCode: (code) => {
          setupCode = code;
          log.warn({ setupCode: code }, 'no console account yet: open the console and enter this set-up code');
        },
        extraRoutes: [
          dnaValidationRoutes(core.dna.validations),
          dnaComparisonRoutes(core.dna.comparisons),
          vehicleConsoleRoutes({ searches: vehicle.searches, partners: vehicle.partners, ourState: config.memberState, officers: core.officers, audit: core.audit }),
        ],
        // The Secure flag on the session cookie wherever the request came over TLS.
        security: { secureCookies: tls.tls !== null },
      }),
    );
    const listening = await api.listen(config.listen.api.host, config.listen.api.port, tls.tls ?? undefined);
    running.push(() => listening.close());
    const apiUrl = `${tls.tls ? 'https' : 'http'}://${config.listen.api.host}:${listening.port}`;
    if (config.serial.enabled) {
      const serial = startGatewaySerial({
        db: core.db, token: core.token, audit: core.audit, version: VERSION, configPath: opts.configPath ?? null, config: configPort,
        status: fullStatus, setupCode: () => setupCode, system: {
          ...systemPort(privileged),
          ...(config.privileged.networkDir ? { applyNetwork: async (n: NetworkUnitSettings) => { const r = await privileged.applyNetwork(n); return r.ok ? null : r.error.message; } } : {}),
        },
        afterProvisioning: () => void gate.check(), log: (event, fields) => log.info(fields ?? {}, event),
      });
      running.push(() => serial.close());
    }
    log.info(
      { api: apiUrl, smtp: smtpPort, ...(tls.tls ? { tls: tls.tls.source, certificateSha256: tls.tls.fingerprint } : {}) },
      tls.tls?.source === 'self-signed'
        ? 'gateway started; the console uses a self-signed certificate: check that the browser shows this SHA-256 fingerprint'
        : 'gateway started',
    );
    return { ...core, status: fullStatus, apiPort: listening.port, apiUrl, smtpPort, officersPort, stop: stopAll };
  } catch (e) {
    log.error({ reason: e instanceof Error ? e.message : String(e) }, 'gateway could not start; stopping what had started');
    await stopAll();
    throw e;
  }
}

/** `pruem run`: start, then stop cleanly on SIGTERM/SIGINT. */
export async function runDaemon(config: GatewayConfig, io: CommandIo, configPath?: string): Promise<number> {
  const gateway = await startGateway(config, configPath ? { configPath } : {});
  io.stdout.write(`pruem gateway ${config.memberState}: API and console on ${gateway.apiUrl}\n`);
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    process.once('SIGTERM', done);
    process.once('SIGINT', done);
  });
  await gateway.stop();
  return 0;
}

/** `pruem ping`: queue link tests next to a running daemon (shared SQLite and token). */
export async function queuePings(config: GatewayConfig, state: string, channel: string, count: number): Promise<string[]> {
  if (!isMemberStateCode(state)) throw new Error(`unknown Member State code "${state}"`);
  if (channel !== 'dna' && channel !== 'fp') throw new Error(`channel must be dna or fp, not "${channel}"`);
  if (!Number.isInteger(count) || count < 1 || count > 10_000) throw new Error('count must be 1…10000');
  const core = await composeGateway(config, { log: pino({ level: 'warn' }) });
  try {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      ids.push(
        await core.pipeline.originate({
          peer: state,
          channel,
          reply: pingRequest(config.memberState),
          correlation: null,
          records: [],
        }),
      );
    }
    return ids;
  } finally {
    await core.close();
  }
}

/**
 * `pruem audit …`: `verify` needs only the bundle; the other commands open the appliance's log and
 * audit key (next to a running daemon: SQLite WAL and the token allow it). `--config` picks the appliance.
 */
export async function auditCommandFromCli(argv: string[], io: CommandIo): Promise<number> {
  const { auditCommand } = await import('./audit/cli.js');
  const { loadConfig } = await import('./config/config.js');
  const rest = [...argv];
  const at = rest.findIndex((a) => a === '--config' || a === '-c');
  const configPath = at >= 0 ? rest.splice(at, 2)[1] : undefined;
  let core: GatewayCore | null = null;
  try {
    return await auditCommand(rest, io, {
      context: async () => {
        core = await composeGateway(loadConfig(configPath), { log: pino({ level: 'warn' }) });
        return { log: core.audit, officers: core.officers, signer: core.auditSigner, actor: process.env.SUDO_USER ?? userInfo().username, exportRoots: core.config.audit.exportRoots };
      },
    });
  } finally {
    await (core as GatewayCore | null)?.close();
  }
}
