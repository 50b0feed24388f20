import { existsSync, statfsSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { AuditLog, EntryQuery, StoredEntry, AuditLeaf } from '../../audit/log.js';
import type { AuditSigner } from '../../audit/signer.js';
import type { OfficerRegistry, OfficerGrant } from '../../audit/officers.js';
import type { AdminAction, AuditEvent } from '../../audit/events.js';
import { exportBundle } from '../../audit/export.js';
import { verifyBundle } from '../../audit/verify-audit.mjs';
import type { AuditError } from '../../audit/errors.js';
import { run } from '../../util/exec.js';
import { isMemberStateCode, type Channel, type MemberStateCode } from '../../peers/member-states.js';
import type { AdminAuditEvent, AuditPort, OfficersPort, StatisticsPort } from '../deps.js';
import type { AuditEntry, AuditQuery, Officer, StatisticsRow, UsbDrive } from '../wire.js';

/** Offset paging reads offset+limit rows; past this the console should narrow the period instead. */
const MAX_OFFSET = 100_000;
/** Rows read per step when counting a year's statistics. */
const STATS_PAGE = 5_000;

function coded(code: 'PERIOD_INVALID' | 'VALIDATION_FAILED' | 'EXPORT_TARGET_INVALID', message: string): Error {
  return Object.assign(new Error(message), { code });
}

function auditFailure(e: AuditError): Error {
  if (e.code === 'FILTER_INVALID') return coded('VALIDATION_FAILED', e.message);
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

interface LsblkDevice {
  name?: string;
  tran?: string | null;
  rm?: boolean | string | null;
  mountpoint?: string | null;
  label?: string | null;
  size?: number | string | null;
  fsavail?: number | string | null;
  children?: LsblkDevice[];
}

/** Mounted removable (or USB-attached) file systems from `lsblk --json`. Pure, so it is tested on captured output. */
export function drivesFromLsblk(json: string): UsbDrive[] {
  let parsed: { blockdevices?: LsblkDevice[] };
  try {
    parsed = JSON.parse(json) as { blockdevices?: LsblkDevice[] };
  } catch {
    return [];
  }
  const out: UsbDrive[] = [];
  const num = (v: number | string | null | undefined) => (v === null || v === undefined || v === '' ? null : Number(v));
  const walk = (devices: LsblkDevice[] | undefined, removable: boolean) => {
    for (const d of devices ?? []) {
      const isRemovable = removable || d.tran === 'usb' || d.rm === true || d.rm === '1';
      if (isRemovable && d.mountpoint && d.name) {
        out.push({ id: `dev:${d.name}`, label: d.label || d.name, mountPoint: d.mountpoint, sizeBytes: num(d.size), freeBytes: num(d.fsavail) });
      }
      walk(d.children, isRemovable);
    }
  };
  walk(parsed.blockdevices, false);
  return out;
}

export async function listUsbDrives(extraRoots: readonly string[] = []): Promise<UsbDrive[]> {
  let drives: UsbDrive[] = [];
  try {
    const r = await run('lsblk', ['--json', '--bytes', '-o', 'NAME,TRAN,RM,MOUNTPOINT,LABEL,SIZE,FSAVAIL'], { timeoutMs: 5_000 });
    if (r.code === 0) drives = drivesFromLsblk(r.stdout.toString('utf8'));
  } catch {
    // No lsblk: only the configured roots are offered.
  }
  for (const root of extraRoots) {
    if (!existsSync(root)) continue;
    let size: number | null = null;
    let free: number | null = null;
    try {
      const s = statfsSync(root);
      size = s.blocks * s.bsize;
      free = s.bavail * s.bsize;
    } catch {
      // statfs is informative only.
    }
    drives.push({ id: `dir:${root}`, label: basename(root), mountPoint: root, sizeBytes: size, freeBytes: free });
  }
  return drives;
}

export interface AuditWiring {
  readonly log: AuditLog;
  readonly signer: () => AuditSigner;
  readonly officers?: OfficerRegistry;
  /** Directories offered as export drives besides removable devices (an appliance's mounted USB slot, a test's folder). */
  readonly usbRoots?: readonly string[];
  readonly now?: () => Date;
}

/** Search, export and verification on the Art. 30 log (appliance/audit). */
export function auditPort(w: AuditWiring): AuditPort {
  const now = w.now ?? (() => new Date());
  return {
    async search(q: AuditQuery) {
      if (q.offset > MAX_OFFSET) throw coded('VALIDATION_FAILED', `offset above ${MAX_OFFSET}: narrow the period`);
      const query = toQuery(q);
      let total = 0;
      for (const n of w.log.countEntriesByPeriod(query, Number.MAX_SAFE_INTEGER).values()) total += n;
      const rows = w.log.queryEntries(query, -1, Number.MAX_SAFE_INTEGER, q.offset + q.limit).slice(q.offset);
      return { entries: rows.map(entryView), total };
    },

    usbDrives: () => listUsbDrives(w.usbRoots),

    async exportBundle(request, actor, onProgress) {
      const drives = request.target.kind === 'usb' ? await listUsbDrives(w.usbRoots) : [];
      const base = request.target.kind === 'usb' ? drives.find((d) => request.target.kind === 'usb' && d.id === request.target.driveId)?.mountPoint : request.target.path;
      if (!base) throw coded('EXPORT_TARGET_INVALID', 'the USB drive is no longer mounted');
      const stamp = now().toISOString().replace(/[:.]/g, '-');
      const outDir = join(base, `pruem-audit-${stamp}`);
      const result = await exportBundle(w.log, outDir, {
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
        destination: request.target.kind === 'usb' ? `USB drive ${request.target.driveId} at ${base}` : `directory ${base}`,
        onProgress: (p) => onProgress({ phase: p.phase, done: p.done, total: p.total }),
      });
      if (!result.ok) throw auditFailure(result.error);
      return { path: result.value.dir, entries: result.value.entries, files: result.value.files };
    },

    async verifyBundle(path) {
      const report = await verifyBundle(path);
      const entries = typeof report.summary['entries'] === 'number' ? report.summary['entries'] : 0;
      return {
        ok: report.ok,
        entries,
        problems: report.errors.map((e) => `${e.code}: ${e.message}`),
        detail: [...report.facts, ...report.warnings.map((w) => `warning ${w.code}: ${w.message}`)].join('\n').slice(0, 4000),
      };
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
 * Annual statistics (Annex ch. 4) counted from the log itself, so they agree with what an auditor
 * can verify: requests are request events, hits/no-hits/errors are the results of the answers.
 * out = our searches in that State (answers we received); in = that State's searches in our data (answers we sent).
 */
export function statisticsPort(log: AuditLog): StatisticsPort {
  return {
    async annual(year) {
      const query: EntryQuery = { from: new Date(Date.UTC(year, 0, 1)), to: new Date(Date.UTC(year + 1, 0, 1)) };
      const rows = new Map<string, StatisticsRow & { requests: number; hits: number; noHits: number; errors: number }>();
      const row = (state: MemberStateCode, channel: Channel, direction: 'in' | 'out') => {
        const key = `${state}/${channel}/${direction}`;
        let r = rows.get(key);
        if (!r) rows.set(key, (r = { state, channel, direction, requests: 0, hits: 0, noHits: 0, errors: 0 }));
        return r;
      };
      let after = -1;
      for (;;) {
        const page = log.queryEntries(query, after, Number.MAX_SAFE_INTEGER, STATS_PAGE);
        if (page.length === 0) break;
        for (const stored of page) {
          after = stored.index;
          const e = (JSON.parse(stored.leaf) as AuditLeaf).event;
          if (e.kind !== 'exchange' || !isMemberStateCode(e.peerState)) continue;
          const ours = (e.direction === 'sent') === (e.role === 'request');
          const r = row(e.peerState, e.channel, ours ? 'out' : 'in');
          if (e.role === 'request') r.requests++;
          else if (e.result === 'hit') r.hits++;
          else if (e.result === 'no-hit') r.noHits++;
          else if (e.result === 'error') r.errors++;
        }
      }
      return [...rows.values()].sort((a, b) => a.state.localeCompare(b.state) || a.channel.localeCompare(b.channel) || a.direction.localeCompare(b.direction));
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
