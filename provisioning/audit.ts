import { join } from 'node:path';
import type { GatewayConfig } from '../appliance/config/config.js';
import { openDatabase, type Db } from '../appliance/db/database.js';
import { AuditLog } from '../appliance/audit/log.js';
import type { AuditEvent } from '../appliance/audit/events.js';
import type { ProvisioningAuditSink } from './production.js';

/** Provisioning steps as admin entries of the Art. 30 log (action, target, outcome, detail). */
export function auditLogSink(log: AuditLog, actor: string, via: string): ProvisioningAuditSink {
  return (e) => {
    const event: AuditEvent = {
      kind: 'admin',
      action: e.action,
      actor,
      target: e.target.slice(0, 500),
      occurredAt: new Date().toISOString(),
      outcome: e.outcome,
      details: { via, ...(e.detail ? { detail: e.detail.slice(0, 1000) } : {}) },
    };
    log.append(event);
  };
}

/** The appliance's audit log opened next to a running daemon (SQLite WAL), for the CLI. */
export function openApplianceAudit(config: GatewayConfig): { db: Db; log: AuditLog; close(): void } {
  const db = openDatabase(join(config.dataDir, 'gateway.sqlite'));
  const log = new AuditLog(db, { origin: `${config.memberState}/pruem-gateway` });
  return { db, log, close: () => db.close() };
}
