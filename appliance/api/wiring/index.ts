/**
 * Builds the API's ports from the gateway's real parts, for the composition root:
 *
 *   const api = createApiServer(buildApiDeps({ config, configPath, db, version, status, token, audit, auditSigner, ping, links… }));
 *
 * Everything here is an adapter: the rules live in the parts (provisioning/, audit/, exchange/).
 */
import { writeFileAtomic } from '../../util/fs.js';
import type Database from 'better-sqlite3';
import { loadConfig, type GatewayConfig } from '../../config/config.js';
import type { GatewayStatus } from '../../status/types.js';
import type { Token } from '../../token/token.js';
import type { AuditLog } from '../../audit/log.js';
import type { AuditSigner } from '../../audit/signer.js';
import { OfficerRegistry } from '../../audit/officers.js';
import { OfficersClients } from '../../dna-exchange/officers-clients.js';
import { ApiError } from '../errors.js';
import type { OfficersClientsPort } from '../deps.js';
import type { MailChannel, MemberStateCode } from '../../peers/member-states.js';
import { directPrivileged, orThrow, type PrivilegedActions } from '../../system/privileged.js';
import type { ApiDeps, ConfigPort, SystemPort } from '../deps.js';
import { provisioningPort } from './provisioning.js';
import { adminAuditSink, auditPort, officersPort, statisticsPort } from './audit.js';
import { Statistics } from '../../exchange/statistics.js';
import { testMessageSender } from './test-message.js';
import { networkctlReload, networkdPort } from './network.js';

export { provisioningPort, toTokenState } from './provisioning.js';
export { adminAuditSink, auditPort, officersPort, statisticsPort, entryView } from './audit.js';
export { testMessageSender } from './test-message.js';
export { networkdPort, renderNetworkdUnit, parseNetworkdUnit, networkctlReload } from './network.js';

/**
 * The configuration file as the console changes it: written whole and atomically (mode 0600, it
 * may hold a literal POP3 password). The daemon reads it at start, so changes need a restart,
 * which the console says.
 */
export function configFilePort(initial: GatewayConfig, path: string | null, onApplied?: (next: GatewayConfig) => void): ConfigPort {
  let current = initial;
  return {
    current: () => current,
    async apply(next) {
      if (path) writeFileAtomic(path, `${JSON.stringify(next, null, 2)}\n`, 0o600);
      current = next;
      onApplied?.(next);
      return { restartRequired: true };
    },
  };
}

/** The officers' API client registry as the console's port: its error values as the catalogue's errors. */
export function officersClientsPort(clients: OfficersClients): OfficersClientsPort {
  const value = <T>(r: { ok: true; value: T } | { ok: false; error: { code: 'CLIENT_NAME_INVALID' | 'CLIENT_NAME_TAKEN' | 'CLIENT_NOT_FOUND' | 'CLIENT_ALREADY_REVOKED'; message: string } }): T => {
    if (!r.ok) throw new ApiError(r.error.code, undefined, { message: r.error.message });
    return r.value;
  };
  return {
    list: async () => clients.list(),
    add: async (name, actor) => value(clients.add(name, actor)),
    revoke: async (id, actor) => value(clients.revoke(id, actor)),
  };
}

/**
 * On the appliance systemd restarts the service (Restart=always); reboot is a privileged action
 * (appliance/system/privileged.ts: this process itself, or a request to the image's root helper).
 */
export function systemPort(privileged: Pick<PrivilegedActions, 'reboot'>): SystemPort {
  return {
    async restartService() {
      process.kill(process.pid, 'SIGTERM');
    },
    async reboot() {
      orThrow(await privileged.reboot());
    },
  };
}

/** `systemctl reboot` run by this process (development machines). */
export const systemdPort: SystemPort = systemPort(directPrivileged());

export interface GatewayParts {
  readonly config: GatewayConfig;
  /** The file the daemon was started with; null: changes live in memory only (tests, demo). */
  readonly configPath: string | null;
  readonly db: Database.Database;
  readonly version: string;
  status(): GatewayStatus;
  readonly token: Token;
  readonly audit: AuditLog;
  readonly auditSigner: AuditSigner | (() => AuditSigner);
  readonly officers?: OfficerRegistry;
  /** The annual counters (the daemon's own instance; one over `db` otherwise). */
  readonly statistics?: Statistics;
  /** Queue a link-test PING (pipeline.originate); enables peer test messages. */
  readonly ping?: (peer: MemberStateCode, channel: MailChannel) => Promise<string>;
  /** systemd-networkd folder for the management interface (the image: /var/lib/pruem/network); absent: the wizard keeps the network as it is. */
  readonly network?: { readonly dir: string; readonly interface: string; readonly reload: boolean };
  /** Who does what needs root (USB mount for exports, network, reboot); absent: this process, directly. */
  readonly privileged?: PrivilegedActions;
  /** After the console imported a certificate: the daemon re-checks its provisioning at once. */
  readonly onProvisioned?: () => void;
}

export function buildApiDeps(parts: GatewayParts, overrides: Partial<ApiDeps> = {}): ApiDeps {
  const config = overrides.config ?? configFilePort(parts.config, parts.configPath);
  const officers = parts.officers ?? new OfficerRegistry(parts.db, parts.audit);
  const signer = typeof parts.auditSigner === 'function' ? parts.auditSigner : () => parts.auditSigner as AuditSigner;
  return {
    db: parts.db,
    version: parts.version,
    status: () => parts.status(),
    config,
    provisioning: provisioningPort({
      token: parts.token,
      config: () => config.current(),
      configPath: parts.configPath,
      onProvisioned: () => {
        // An import may have written the configuration file (the console's TLS pair): the console's copy follows it.
        if (parts.configPath) void config.apply(loadConfig(parts.configPath)).catch(() => undefined);
        parts.onProvisioned?.();
      },
    }),
    audit: auditPort({ log: parts.audit, signer, officers, exportRoots: parts.config.audit.exportRoots, ...(parts.privileged ? { devices: { privileged: parts.privileged } } : {}) }),
    officers: officersPort(officers),
    officersClients: officersClientsPort(new OfficersClients(parts.db, parts.audit)),
    statistics: statisticsPort(parts.statistics ?? new Statistics(parts.db)),
    auditAdmin: adminAuditSink(parts.audit),
    sendTestMessage: testMessageSender({
      config: () => config.current(),
      ...(parts.ping ? { ping: parts.ping } : {}),
      link: (peer, channel) => parts.status().peers.find((p) => p.state === peer && p.channel === channel),
    }),
    system: parts.privileged ? systemPort(parts.privileged) : systemdPort,
    ...(parts.network
      ? {
          network: networkdPort({
            dir: parts.network.dir,
            interface: parts.network.interface,
            ...(parts.privileged ? { privileged: parts.privileged } : parts.network.reload ? { reload: networkctlReload } : {}),
          }),
        }
      : {}),
    ...overrides,
  };
}
