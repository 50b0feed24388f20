import { isAbsolute, join } from 'node:path';
import type Koa from 'koa';
import type { GatewayConfig } from '../config/config.js';
import { openDatabase, type Db } from '../db/database.js';
import type { ChannelHandler } from '../exchange/handler.js';
import type { ExchangePipeline } from '../exchange/pipeline.js';
import type { Statistics } from '../exchange/statistics.js';
import type { OfficerRegistry } from '../audit/officers.js';
import type { AuditLog } from '../audit/log.js';
import type { ApiLog } from '../api/errors.js';
import type { PeerDirectory } from '../peers/directory.js';
import type { MemberStateCode } from '../peers/member-states.js';
import type { LinkState } from '../status/types.js';
import { makeTcn } from '../fingerprint/tcn.js';
import type { RequestTot } from '../fingerprint/tot.js';
import type { AfisAdapter } from '../fingerprint/afis/adapter.js';
import { DemoAfis } from '../fingerprint/afis/demo.js';
import { seedDemoAfis } from '../fingerprint/afis/demo-seed.js';
import { DirectoryAfis } from '../fingerprint/afis/directory.js';
import { CapacityLedger, TcnIssuer, type PeerLimit } from './capacity.js';
import { fingerprintChannelHandler } from './channel.js';
import { mountFingerprintRoutes } from './officers-api.js';
import { IncomingRequests } from './requests.js';
import { FpSearches } from './searches.js';
import { FingerprintService } from './service.js';
import { submitFpSearch } from './submit.js';

/**
 * The fingerprint channel wired from the gateway's parts: the handler the pipeline dispatches to,
 * the service that talks to the AFIS and sends answers and searches later, the officers' routes.
 * main.ts calls this once (before the pipeline is built: the handler goes into its list; the
 * pipeline is reached later through the getter), starts it with the daemon and mounts the routes.
 */
export interface FingerprintChannelParts {
  readonly config: GatewayConfig;
  readonly db: Db;
  readonly statistics: Statistics;
  readonly officers: OfficerRegistry;
  /** The Art. 30 log (reads of search results are recorded in it). */
  readonly audit: Pick<AuditLog, 'append'>;
  readonly directory: PeerDirectory;
  readonly pipeline: () => ExchangePipeline;
  /** The status API's service board (names 'afis', 'fp-capacity'). */
  readonly report?: (service: 'afis' | 'fp-capacity', state: LinkState, detail: string) => void;
  readonly log?: (event: string, fields: Record<string, unknown>) => void;
  /** A vendor AFIS adapter; without it, config.fingerprint.afis decides (demo or none). */
  readonly afis?: AfisAdapter;
  readonly clock?: () => Date;
}

export interface FingerprintChannel {
  readonly handler: ChannelHandler;
  readonly service: FingerprintService;
  readonly searches: FpSearches;
  readonly requests: IncomingRequests;
  readonly capacity: CapacityLedger;
  readonly afis: AfisAdapter | null;
  submit(body: unknown): ReturnType<typeof submitFpSearch>;
  /**
   * Working-storage retention (run with the daemon's daily pruning): answered requests finished before
   * `before`, and daily capacity counts older than yesterday. Returns the rows deleted.
   */
  prune(before: Date, now?: Date): number;
  /** Adds POST/GET /api/fp/searches to the officers' API app. */
  mountOfficersRoutes<S extends { client: { readonly name: string } }>(app: Koa<S>, extra?: { log?: ApiLog }): void;
  start(): void;
  stop(): Promise<void>;
}

/** Appendix 5 agency characters; at most 32. */
function agencyName(agency: string): string {
  return agency.replace(/[^0-9A-Za-z_. -]/g, '_').slice(0, 32) || 'NCP';
}

export function composeFingerprintChannel(p: FingerprintChannelParts): FingerprintChannel {
  const { config, db } = p;
  const fp = config.fingerprint;
  const ourState = config.memberState;
  const agency = agencyName(config.agency);
  const origin = `${ourState}/${agency}`;
  const tcns = new TcnIssuer(db, makeTcn);
  const capacity = new CapacityLedger(db);
  const requests = new IncomingRequests(db);
  const searches = new FpSearches(db, p.clock);

  // The demo AFIS keeps its enrolled records in a file of its own, as a national AFIS has its own store.
  let demoDb: Db | null = null;
  let afis: AfisAdapter | null = p.afis ?? null;
  if (!afis && fp.afis === 'demo') {
    demoDb = openDatabase(join(config.dataDir, 'afis-demo.sqlite'));
    const demo = new DemoAfis(demoDb);
    if (demo.count('tenprint') === 0) seedDemoAfis(demo, ourState, fp.demoPopulation);
    afis = demo;
  } else if (!afis && typeof fp.afis === 'object') {
    const folder = isAbsolute(fp.afis.directory) ? fp.afis.directory : join(config.dataDir, fp.afis.directory);
    afis = new DirectoryAfis(folder, (problem) => p.log?.('afis-result-rejected', { problem }));
  }

  const ourLimit = (peer: MemberStateCode, tot: RequestTot): number | null => fp.capacity.oursPerPeer[peer]?.[tot] ?? fp.capacity.ours[tot] ?? null;
  const peerLimit = (peer: MemberStateCode, tot: RequestTot): PeerLimit | null => {
    const perType = fp.capacity.peers[peer]?.[tot];
    if (perType !== undefined) return { limit: perType, scope: 'type' };
    const all = p.directory.get(peer)?.dailyCapacity;
    return all === null || all === undefined ? null : { limit: all, scope: 'all' };
  };

  const service = new FingerprintService({
    ourState,
    agency,
    origin,
    afis,
    requests,
    searches,
    capacity,
    tcns,
    statistics: p.statistics,
    pipeline: p.pipeline,
    peerLimit,
    ...(p.report ? { report: p.report } : {}),
    ...(p.log ? { log: p.log } : {}),
    ...(p.clock ? { clock: p.clock } : {}),
  });
  const handler = fingerprintChannelHandler({
    ourState,
    origin,
    agency,
    tcns,
    capacity,
    ourLimit,
    afisConnected: () => afis !== null,
    peerEnabled: (peer) => p.directory.get(peer)?.channels.fp.enabled ?? false,
    requests,
    searches,
    statistics: p.statistics,
    queued: () => service.kick(),
    ...(p.clock ? { clock: p.clock } : {}),
  });
  let stopped = false;
  // The file is base64 inside the encrypted MIME entity, and the signed CMS is base64 again in the mail (RFC 5751):
  // about 1.78 times the file. The mail must stay under the limit.
  const maxFileBytes = Math.floor(config.limits.maxMessageBytes / 1.8);
  const submit = (body: unknown) => submitFpSearch({ searches, service, officers: p.officers, directory: p.directory, tcns, ourState, maxFileBytes, ...(p.clock ? { clock: p.clock } : {}) }, body);
  return {
    handler,
    service,
    searches,
    requests,
    capacity,
    afis,
    submit,
    prune: (before, now = new Date()) => db.transaction(() => requests.prune(before) + capacity.prune(new Date(now.getTime() - 86_400_000)))(),
    mountOfficersRoutes: (app, extra) => mountFingerprintRoutes(app, { searches, submit, statistics: p.statistics, officers: p.officers, audit: p.audit, ...extra }),
    start: () => service.start(),
    async stop() {
      if (stopped) return;
      stopped = true;
      await service.stop();
      demoDb?.close();
    },
  };
}
