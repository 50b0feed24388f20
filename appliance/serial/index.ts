/**
 * The serial console inside the daemon (startGateway, when `serial.enabled`): the gateway's accounts,
 * status, token and configuration, the production provisioning with the daemon's token, and systemd for
 * restart and reboot.
 */
import type { Db } from '../db/database.js';
import type { GatewayStatus } from '../status/types.js';
import type { Token } from '../token/token.js';
import type { AuditLog } from '../audit/log.js';
import { loadConfig, type GatewayConfig } from '../config/config.js';
import { AccountService } from '../accounts/service.js';
import { auditLogSink } from '../../provisioning/audit.js';
import { provision } from '../../provisioning/production.js';
import { startSerialConsole, type SerialConsole } from './port.js';
import type { SystemActions } from './session.js';

export { startSerialConsole, type SerialConsole } from './port.js';
export { SerialSession, type SerialDeps, type SystemActions } from './session.js';

export interface GatewaySerialParts {
  readonly db: Db;
  readonly token: Token;
  readonly audit: AuditLog;
  readonly version: string;
  readonly configPath: string | null;
  readonly config: { current(): GatewayConfig; apply(next: GatewayConfig): Promise<unknown> };
  status(): GatewayStatus;
  setupCode(): string | null;
  readonly system: SystemActions;
  /** After a provisioning step: check at once whether the TESTA side can open. */
  afterProvisioning?(): void;
  readonly log?: (event: string, fields?: Record<string, unknown>) => void;
}

export function startGatewaySerial(p: GatewaySerialParts): SerialConsole {
  const settings = p.config.current().serial;
  const accounts = new AccountService(p.db);
  return startSerialConsole(
    { device: settings.device, baudRate: settings.baudRate, ...(p.log ? { log: p.log } : {}) },
    {
      accounts,
      status: () => p.status(),
      token: () => p.token.status(),
      setupCode: () => (accounts.hasAccounts() ? null : p.setupCode()),
      config: p.config,
      system: p.system,
      version: p.version,
      idleMs: settings.idleMinutes * 60_000,
      audit: (e) =>
        p.audit.append({
          kind: 'admin',
          action: e.action,
          actor: e.actor,
          target: e.target,
          occurredAt: new Date().toISOString(),
          outcome: e.outcome,
          details: { via: 'serial console', ...(e.detail ? { detail: e.detail.slice(0, 1000) } : {}) },
        }),
      async provision(input, actor, out) {
        try {
          return await provision({ configPath: p.configPath, config: p.config.current(), audit: auditLogSink(p.audit, actor, 'serial console'), token: p.token, out }, input);
        } finally {
          // The provisioning wrote the configuration file: the daemon's copy follows it.
          if (p.configPath) await p.config.apply(loadConfig(p.configPath));
          p.afterProvisioning?.();
        }
      },
    },
  );
}
