/**
 * One appliance's vehicle channel in process, as the daemon builds it (development token on SoftHSM2,
 * SQLite, audit log, peer directory), with partners whose keys are plain files made by openssl — so a
 * test can sign as a partner with xmlsec1 or with our code, and check our answers with xmlsec1.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, resolvePaths, type GatewayConfig } from '../../appliance/config/config.js';
import { openDatabase, type Db } from '../../appliance/db/database.js';
import { Token } from '../../appliance/token/token.js';
import { ensureDevelopmentToken, tokenOptionsFromConfig } from '../../provisioning/index.js';
import { AuditLog } from '../../appliance/audit/log.js';
import { OfficerRegistry } from '../../appliance/audit/officers.js';
import { Statistics } from '../../appliance/exchange/statistics.js';
import { ServiceBoard } from '../../appliance/status/status.js';
import { PeerDirectory } from '../../appliance/peers/directory.js';
import type { MemberStateCode } from '../../appliance/peers/member-states.js';
import { composeVehicleChannel, type VehicleChannel } from '../../appliance/vehicle/channel.js';
import { writeRequest } from '../../appliance/vehicle/codec.js';
import { signEnvelope } from '../../appliance/vehicle/ws-security.js';
import type { SchemaVersion, VehicleQuery } from '../../appliance/vehicle/data-set.js';
import { makeIdentity, type TestIdentity } from './support.js';

export const silentLog: { info(o: object, m: string): void; warn(o: object, m: string): void; error(o: object, m: string): void } = { info: () => {}, warn: () => {}, error: () => {} };

export interface Appliance {
  readonly dir: string;
  readonly config: GatewayConfig;
  readonly db: Db;
  readonly token: Token;
  readonly audit: AuditLog;
  readonly officers: OfficerRegistry;
  readonly statistics: Statistics;
  readonly channel: VehicleChannel;
  readonly partners: Readonly<Record<string, TestIdentity>>;
  /** Our signing certificate (PEM path), as partners pin it. */
  readonly certificatePath: string;
  close(): Promise<void>;
}

export interface PartnerSpec {
  readonly code: MemberStateCode;
  readonly authorised: ReadonlyArray<'vin-search' | 'plate-search'>;
  readonly url?: string;
  readonly schemaVersion?: SchemaVersion;
}

export async function startAppliance(opts: {
  state?: MemberStateCode;
  partners: readonly PartnerSpec[];
  vehicle?: Record<string, unknown>;
  log?: typeof silentLog;
}): Promise<Appliance> {
  const dir = mkdtempSync(join(tmpdir(), 'pruem-vrd-'));
  const identities: Record<string, TestIdentity> = {};
  for (const p of opts.partners) identities[p.code] = await makeIdentity(`${p.code} vehicle service`);
  const parsed = parseConfig({
    memberState: opts.state ?? 'RO',
    dataDir: 'data',
    listen: { smtp: null, officers: null },
    peers: opts.partners.map((p) => ({
      code: p.code,
      certificates: { signing: (identities[p.code] as TestIdentity).certPath },
      vehicle: { authorised: [...p.authorised], ...(p.url ? { url: p.url } : {}), ...(p.schemaVersion ? { schemaVersion: p.schemaVersion } : {}) },
    })),
    vehicle: { register: { kind: 'demo', seedVehicles: 20 }, ...opts.vehicle },
  });
  if (!parsed.ok) throw parsed.error;
  const config = resolvePaths(parsed.config, dir);
  await ensureDevelopmentToken(config);
  const token = await Token.open(tokenOptionsFromConfig(config));
  const db = openDatabase(join(config.dataDir, 'gateway.sqlite'));
  const audit = new AuditLog(db, { origin: `${config.memberState}/pruem-gateway` });
  const officers = new OfficerRegistry(db, audit);
  audit.useSearchGuard(officers.searchGuard());
  const statistics = new Statistics(db);
  const directory = new PeerDirectory(config);
  const channel = await composeVehicleChannel({ config, db, token, directory, audit, officers, statistics, services: new ServiceBoard(), log: opts.log ?? silentLog });
  const certificatePath = join(config.dataDir, 'certs', 'ncp-sign.pem');
  return {
    dir,
    config,
    db,
    token,
    audit,
    officers,
    statistics,
    channel,
    partners: identities,
    certificatePath,
    async close() {
      await channel.stop();
      await token.close();
      db.close();
      for (const id of Object.values(identities)) id.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let seq = 0;
export function requestBody(from: MemberStateCode, to: MemberStateCode, query: VehicleQuery, opts: { version?: SchemaVersion; messageId?: string; organisation?: string } = {}): string {
  return writeRequest({
    schemaVersion: opts.version ?? '1.1',
    header: {
      messageId: opts.messageId ?? `${from}-TEST-${process.pid}-${++seq}`,
      sent: new Date().toISOString(),
      requestingState: from,
      requestedState: to,
      organisation: opts.organisation ?? `${from} police`,
      user: `${from}-OFFICER-9`,
      reason: 'test: stolen vehicle check',
    },
    query,
  });
}

/** A request signed by a partner with our code (its software key). */
export function signedAs(partner: TestIdentity, body: string, now = new Date(), ttlSeconds?: number): Promise<string> {
  return signEnvelope({ body, signer: partner.signer, now, ...(ttlSeconds ? { ttlSeconds } : {}) });
}

export function writeTemp(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
