import { join } from 'node:path';
import type { Statistics } from '../../exchange/statistics.js';
import type { AuditLog, EntryQuery, StoredEntry, AuditLeaf } from '../../audit/log.js';
import type { AuditSigner } from '../../audit/signer.js';
import type { OfficerRegistry, OfficerGrant } from '../../audit/officers.js';
import type { AdminAction, AuditEvent } from '../../audit/events.js';
import { exportTo, listRemovableDevices, type DeviceDeps, type ExportTarget } from '../../audit/usb.js';
import { verifyBundle, type VerifyReport } from '../../audit/verify-audit.mjs';
import type { AuditError } from '../../audit/errors.js';
import { isMemberStateCode, type Channel, type MemberStateCode } from '../../peers/member-states.js';
import type { AdminAuditEvent, AuditPort, OfficersPort, StatisticsPort } from '../deps.js';
import type { AuditEntry, AuditQuery, AuditVerifyResult, Officer, StatisticsRow, UsbDrive } from '../wire.js';

/** Offset paging reads offset+limit rows; past this the console should narrow the period instead. */
const MAX_OFFSET = 100_000;
/** Rows read per step when counting a year's statistics. */
const STATS_PAGE = 5_000;

function coded(code: 'PERIOD_INVALID' | 'VALIDATION_FAILED' | 'EXPORT_TARGET_INVALID' | 'EXPORT_ROOT_NOT_ALLOWED', message: string): Error {
  return Object.assign(new Error(message), { code });
}

function auditFailure(e: AuditError): Error {
  if (e.code === 'FILTER_INVALID') return coded('VALIDATION_FAILED', e.message);
  if (e.code === 'EXPORT_TARGET_NOT_ALLOWED') return coded('EXPORT_ROOT_NOT_ALLOWED', e.message);
  if (e.code === 'EXPORT_TARGET_NOT_EMPTY' || e.code.startsWith('DEVICE_') || e.code === 'MOUNT_FAILED') return coded('EXPORT_TARGET_INVALID', `${e.code}: ${e.message}`);
  return Object.assign(new Error(`${e.code}: ${e.message}`), { auditCode: e.code });
}

function toQuery(q: { from: string; to: string; state?: string; channel?: string; officer?: string; reference?: string }): EntryQuery {
  return {
    from: new Date(q.from),
    to: new Date(q.to),
    ...(q.state ? { state: q.state } : {}),
    ...(q.channel ? { channel: q.channel } : {}),
    ...(q.officer ? { officerId: q.officer } : {}),
    ...(q.reference ? { referenceNumber: q.reference } : {}),
  };
}

/** One stored entry as the console's table shows it. */
export function entryView(stored: StoredEntry): AuditEntry {
  const leaf = JSON.parse(stored.leaf) as AuditLeaf;
  const e: AuditEvent = leaf.event;
  const base = { seq: stored.index, reference: null as string | null };
  switch (e.kind) {
    case 'exchange':
      return {
        ...base,
        at: e.occurredAt,
        kind: `${e.channel}.${e.role}.${e.direction}`,
        channel: e.channel,
        state: e.peerState,
        direction: e.direction === 'sent' ? 'out' : 'in',
        officer: e.direction === 'sent' && e.role === 'request' ? e.officerId : null,
        reference: e.referenceNumbers.join(', ') || null,
        outcome: e.result,
        summary: `${e.messageType}${e.automated ? '' : ' (not automated)'} · ${e.searchingBody.state} → ${e.fileManagingBody.state}${e.direction === 'sent' && e.role === 'request' ? ` · reason: ${e.reason}` : ''}`,
      };
    case 'admin':
      return {
        ...base,
        at: e.occurredAt,
        kind: `admin.${e.action}`,
        channel: null,
        state: null,
        direction: null,
        officer: null,
        outcome: e.outcome,
        summary: `${e.actor}: ${e.target ?? ''}${e.details?.['consoleAction'] ? ` (${String(e.details['consoleAction'])})` : ''}${e.details?.['detail'] ? ` — ${String(e.details['detail'])}` : ''}`,
      };
    case 'non-automated':
      return {
        ...base,
        at: e.occurredAt,
        kind: `non-automated.${e.direction}`,
        channel: e.channel === 'other' ? null : e.channel,
        state: e.peerState,
        direction: e.direction === 'sent' ? 'out' : 'in',
        officer: e.officerId,
        reference: e.referenceNumbers.join(', ') || null,
        outcome: null,
        summary: `${e.dataSupplied.description} · reason: ${e.reason}`,
      };
  }
}

export interface AuditWiring {
  readonly log: AuditLog;
  readonly signer: () => AuditSigner;
  readonly officers?: OfficerRegistry;
  /** Folders a directory export may be written below (configuration `audit.exportRoots`). */
  readonly exportRoots: readonly string[];
  readonly now?: () => Date;
  /** Tests: where drives are mounted, loop devices accepted, another lsblk. */
  readonly devices?: { readonly mountRoot?: string; readonly allowNonRemovable?: boolean; readonly run?: DeviceDeps['run']; readonly privileged?: DeviceDeps['privileged'] };
}

function verification(report: VerifyReport): AuditVerifyResult {
  const entries = typeof report.summary['entries'] === 'number' ? report.summary['entries'] : 0;
  return {
    ok: report.ok,
    entries,
    problems: report.errors.map((e) => `${e.code}: ${e.message}`),
    detail: [...report.facts, ...report.warnings.map((w) => `warning ${w.code}: ${w.message}`)].join('\n').slice(0, 4000),
  };
}

/**
 * Search, export and verification on the Art. 30 log (appliance/audit). Exports go through the one
 * export path the CLI uses too (audit/usb.ts exportTo): a USB drive is mounted privately, written,
 * flushed, unmounted, remounted read-only, verified from the device and unmounted; a folder must lie
 * below an allowed root.
 */
export function auditPort(w: AuditWiring): AuditPort {
  const now = w.now ?? (() => new Date());
  const deviceDeps: DeviceDeps = { ...(w.devices?.run ? { run: w.devices.run } : {}), ...(w.devices?.privileged ? { privileged: w.devices.privileged } : {}) };
  return {
    async search(q: AuditQuery) {
      if (q.offset > MAX_OFFSET) throw coded('VALIDATION_FAILED', `offset above ${MAX_OFFSET}: narrow the period`);
      // The log's one search (newest first, with the total); the CLI's export filters are the same EntryQuery.
      const found = w.log.search(toQuery(q), { offset: q.offset, limit: q.limit });
      return { entries: found.entries.map(entryView), total: found.total };
    },

    async usbDrives() {
      const devices = await listRemovableDevices(deviceDeps);
      if (!devices.ok) throw auditFailure(devices.error);
      return devices.value
        .filter((d) => d.type === 'part' || d.children.length === 0)
        .map((d): UsbDrive => ({ id: `dev:${d.path}`, label: d.label ?? d.name, mountPoint: d.mountpoint, sizeBytes: d.sizeBytes, freeBytes: null }));
    },

    async exportBundle(request, actor, onProgress) {
      const stamp = now().toISOString().replace(/[:.]/g, '-');
      const target: ExportTarget =
        request.target.kind === 'usb'
          ? { kind: 'device', device: request.target.driveId.replace(/^dev:/, '') }
          : { kind: 'directory', path: join(request.target.path, `pruem-audit-${stamp}`) };
      const result = await exportTo(
        target,
        w.log,
        {
          filters: {
            from: new Date(request.from),
            to: new Date(request.to),
            ...(request.state ? { state: request.state } : {}),
            ...(request.channel ? { channel: request.channel } : {}),
            ...(request.officer ? { officerId: request.officer } : {}),
            ...(request.reference ? { referenceNumber: request.reference } : {}),
          },
          actor,
          signer: w.signer(),
          ...(w.officers ? { officers: w.officers } : {}),
          onProgress: (p) => onProgress({ phase: p.phase, done: p.done, total: p.total }),
        },
        { roots: w.exportRoots, ...(w.devices?.mountRoot ? { mountRoot: w.devices.mountRoot } : {}), ...(w.devices?.allowNonRemovable ? { allowNonRemovable: true } : {}) },
        deviceDeps,
      );
      if (!result.ok) throw auditFailure(result.error);
      const path = target.kind === 'device' ? `${target.device}:${result.value.dir}` : result.value.dir;
      return { path, entries: result.value.entries, files: result.value.files, verification: verification(result.value.readBack) };
    },

    async verifyBundle(path) {
      return verification(await verifyBundle(path));
    },
  };
}

/** Officers as the console shows them: one row per officer, from the newest grant. */
function officerView(grants: readonly OfficerGrant[], now: Date): Officer | null {
  const latest = grants.at(-1);
  if (!latest) return null;
  const t = now.toISOString();
  const active = grants.some((g) => g.authorisedFrom <= t && (g.authorisedUntil === null || t < g.authorisedUntil) && (g.revokedAt === null || t < g.revokedAt));
  return {
    id: latest.officerId,
    name: latest.name,
    agency: latest.unit ?? '',
    channels: latest.channels,
    active,
    authorisedFrom: latest.authorisedFrom,
    authorisedUntil: latest.revokedAt ?? latest.authorisedUntil,
  };
}

export function officersPort(registry: OfficerRegistry, now: () => Date = () => new Date()): OfficersPort {
  const byOfficer = () => {
    const map = new Map<string, OfficerGrant[]>();
    for (const g of registry.list()) map.set(g.officerId, [...(map.get(g.officerId) ?? []), g]);
    return map;
  };
  const one = (id: string): Officer => {
    const v = officerView(byOfficer().get(id) ?? [], now());
    if (!v) throw Object.assign(new Error(`no officer ${id}`), { code: 'VALIDATION_FAILED' });
    return v;
  };
  return {
    async list() {
      return [...byOfficer().values()].map((g) => officerView(g, now())).filter((o): o is Officer => o !== null);
    },
    async save(input, actor) {
      // Grants are never edited in place (the registry keeps history): a change is revoke + grant.
      const current = byOfficer().get(input.id);
      if (current && officerView(current, now())?.active) {
        const r = registry.revoke(input.id, actor, 'changed from the console');
        if (!r.ok) throw Object.assign(new Error(r.error.message), { code: 'VALIDATION_FAILED' });
      }
      const r = registry.grant({
        officerId: input.id,
        name: input.name,
        unit: input.agency,
        channels: [...input.channels],
        authorisedUntil: input.authorisedUntil ? new Date(input.authorisedUntil) : null,
        grantedBy: actor,
      });
      if (!r.ok) throw Object.assign(new Error(r.error.message), { code: 'VALIDATION_FAILED' });
      return one(input.id);
    },
    async revoke(id, actor) {
      const r = registry.revoke(id, actor);
      if (!r.ok) throw Object.assign(new Error(r.error.message), { code: 'VALIDATION_FAILED' });
      return one(id);
    },
  };
}

/**
 * Annual statistics (Annex ch. 4): the counters the pipeline keeps in the transaction of each exchange
 * (exchange/statistics.ts), the one source — they outlive the log's two-year retention, which the yearly
 * return to the Council needs. out = our searches in that State; in = that State's searches in our data.
 */
export function statisticsPort(statistics: Statistics): StatisticsPort {
  return {
    async annual(year) {
      return statistics.annual(year).map(({ state, channel, direction, requests, hits, hitsByQuality, noHits, errors }) => ({ state, channel, direction, requests, hits, hitsByQuality, noHits, errors }));
    },
  };
}

/** Console actions → the log's admin vocabulary; the console's own verb is kept in details.consoleAction. */
function adminActionOf(e: AdminAuditEvent): AdminAction {
  if (e.action === 'session.sign-in') return e.outcome === 'success' ? 'login' : 'login-failed';
  if (e.action === 'session.sign-out') return 'logout';
  if (e.action.startsWith('certificate.') || e.action === 'setup.keys') return 'certificate-change';
  if (e.action === 'setup.token') return 'token-operation';
  if (e.action.startsWith('officer.')) return 'officer-change';
  if (e.action.startsWith('officers-client.')) return 'client-credential-change';
  if (e.action.startsWith('audit.export') || e.action === 'statistics.export' || e.action === 'diagnostics.download') return 'export';
  // account.*, config.*, setup.*, system.*, test-message.*, access.denied: the log has no closer word yet.
  return 'config-change';
}

/**
 * Writes the console's administrative actions to the Art. 30 log. Successful officer changes and
 * exports are skipped: the registry and the exporter record those themselves, in their own
 * transaction, and a second record would count them twice.
 */
export function adminAuditSink(log: AuditLog): (e: AdminAuditEvent) => void {
  return (e) => {
    if (e.outcome === 'success' && (e.action.startsWith('officer.') || e.action.startsWith('officers-client.') || e.action === 'audit.export' || e.action === 'audit.export.start')) return;
    const action = adminActionOf(e);
    const details: Record<string, string | number | boolean | null> = {
      consoleAction: e.action,
      ...(e.role ? { role: e.role } : {}),
      ...(e.remote ? { remote: e.remote } : {}),
      ...(e.outcome === 'denied' ? { denied: true } : {}),
      ...(e.detail ? { detail: e.detail.slice(0, 1000) } : {}),
    };
    log.append({
      kind: 'admin',
      action,
      actor: e.actor ?? (e.role === 'setup' ? 'setup-wizard' : 'anonymous'),
      target: e.target.slice(0, 500),
      occurredAt: e.at,
      outcome: e.outcome === 'success' ? 'success' : 'failure',
      details,
    } as AuditEvent);
  };
}
