import type BetterSqlite3 from 'better-sqlite3';
import { CHANNELS, type Channel } from '../peers/member-states.js';
import { AuditError, fail, ok, type Outcome } from './errors.js';
import type { OutgoingSearchEvent } from './events.js';
import type { AuditLog } from './log.js';
import { migrateSchema } from '../db/schema.js';
import { toCsv } from '../util/csv.js';

type Database = BetterSqlite3.Database;

/**
 * Officers of the national contact point specially authorised to run automated searches
 * (2008/615 Art. 30(2)(a)): who, for which channels, since when, granted by whom, until when or
 * revoked by whom. Grants are never edited in place — a change is a revocation plus a new grant —
 * so the list shows who was authorised at any past moment, which is what an auditor checks a
 * logged search against. Every change is written to the audit log in the same transaction.
 */

export interface OfficerGrant {
  grantId: number;
  officerId: string;
  name: string;
  /** Unit or agency of the officer. */
  unit: string | null;
  channels: Channel[];
  authorisedFrom: string;
  authorisedUntil: string | null;
  grantedBy: string;
  grantedAt: string;
  revokedAt: string | null;
  revokedBy: string | null;
  revokeReason: string | null;
}

export interface GrantInput {
  officerId: string;
  name: string;
  unit?: string | null;
  channels: Channel[];
  /** Default: now. */
  authorisedFrom?: Date;
  authorisedUntil?: Date | null;
  grantedBy: string;
}

export interface OfficerListExport {
  format: 'pruem-authorised-officers/1';
  generatedAt: string;
  /** Art. 30(2)(a) */
  legalBasis: string;
  officers: OfficerGrant[];
}

interface GrantRow {
  id: number;
  officer_id: string;
  name: string;
  unit: string | null;
  channels: string;
  authorised_from: string;
  authorised_until: string | null;
  granted_by: string;
  granted_at: string;
  revoked_at: string | null;
  revoked_by: string | null;
  revoke_reason: string | null;
}

const ID_RE = /^[A-Za-z0-9._@-]{1,64}$/;

export class OfficerRegistry {
  private readonly clock: () => Date;

  static migrate(db: Database): void {
    migrateSchema(db);
  }

  constructor(
    private readonly db: Database,
    private readonly log: AuditLog,
    options: { clock?: () => Date } = {},
  ) {
    OfficerRegistry.migrate(db);
    this.clock = options.clock ?? (() => log.now());
  }

  /** Grants an officer the right to run automated searches on the given channels. Audited. */
  grant(input: GrantInput): Outcome<OfficerGrant> {
    const officerId = input.officerId.trim();
    const name = input.name.trim();
    const grantedBy = input.grantedBy.trim();
    if (!ID_RE.test(officerId)) return fail('OFFICER_INVALID', 'officer id: 1–64 characters of A–Z a–z 0–9 . _ @ -');
    if (name.length === 0 || name.length > 200) return fail('OFFICER_INVALID', 'name: 1–200 characters');
    if (!ID_RE.test(grantedBy)) return fail('OFFICER_INVALID', 'grantedBy: an account or officer id');
    const channels = [...new Set(input.channels)];
    if (channels.length === 0 || !channels.every((c) => (CHANNELS as readonly string[]).includes(c))) {
      return fail('OFFICER_INVALID', `channels: one or more of ${CHANNELS.join(', ')}`);
    }
    const now = this.clock();
    const from = input.authorisedFrom ?? now;
    const until = input.authorisedUntil ?? null;
    if (Number.isNaN(from.getTime()) || (until && (Number.isNaN(until.getTime()) || until <= from))) {
      return fail('OFFICER_INVALID', 'authorisedUntil must be a valid instant after authorisedFrom');
    }
    const unit = input.unit?.trim() || null;
    return this.db.transaction((): Outcome<OfficerGrant> => {
      if (this.activeGrants(officerId, now).length > 0 || this.futureGrants(officerId, now).length > 0) {
        return fail('OFFICER_EXISTS', `officer ${officerId} already holds an authorisation; revoke it first to change it`);
      }
      const r = this.db
        .prepare<[string, string, string | null, string, string, string | null, string, string]>(
          `INSERT INTO audit_officer_grants (officer_id, name, unit, channels, authorised_from, authorised_until, granted_by, granted_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(officerId, name, unit, channels.join(','), from.toISOString(), until?.toISOString() ?? null, grantedBy, now.toISOString());
      this.log.append({
        kind: 'admin',
        action: 'officer-change',
        actor: grantedBy,
        target: `officer ${officerId}`,
        occurredAt: now.toISOString(),
        outcome: 'success',
        details: { change: 'grant', channels: channels.join(','), authorisedFrom: from.toISOString(), authorisedUntil: until?.toISOString() ?? null },
      });
      return ok(this.byId(Number(r.lastInsertRowid)));
    })();
  }

  /** Revokes an officer's current (and not yet started) authorisations. Audited. */
  revoke(officerId: string, revokedBy: string, reason?: string): Outcome<OfficerGrant[]> {
    if (!ID_RE.test(revokedBy.trim())) return fail('OFFICER_INVALID', 'revokedBy: an account or officer id');
    const why = reason?.trim() || null;
    if (why !== null && why.length > 500) return fail('OFFICER_INVALID', 'reason: at most 500 characters');
    const now = this.clock();
    return this.db.transaction((): Outcome<OfficerGrant[]> => {
      const grants = this.rows(officerId);
      if (grants.length === 0) return fail('OFFICER_UNKNOWN', `no officer ${officerId}`);
      const open = grants.filter((g) => g.revoked_at === null && (g.authorised_until === null || g.authorised_until > now.toISOString()));
      if (open.length === 0) return fail('OFFICER_ALREADY_REVOKED', `officer ${officerId} holds no current authorisation`);
      const stmt = this.db.prepare<[string, string, string | null, number]>(
        `UPDATE audit_officer_grants SET revoked_at = ?, revoked_by = ?, revoke_reason = ? WHERE id = ?`,
      );
      for (const g of open) stmt.run(now.toISOString(), revokedBy.trim(), why, g.id);
      this.log.append({
        kind: 'admin',
        action: 'officer-change',
        actor: revokedBy.trim(),
        target: `officer ${officerId}`,
        occurredAt: now.toISOString(),
        outcome: 'success',
        details: { change: 'revoke', reason: why },
      });
      return ok(open.map((g) => this.byId(g.id)));
    })();
  }

  /**
   * Whether `officerId` was authorised for automated searches on `channel` at `at`.
   * Returns null when authorised, otherwise the reason as an error value (never throws).
   */
  assertAuthorised(officerId: string, channel: Channel, at: Date): AuditError | null {
    const grants = this.rows(officerId);
    if (grants.length === 0) return new AuditError('OFFICER_UNKNOWN', `${officerId} is not on the list of authorised officers`);
    const t = at.toISOString();
    const inForce = grants.filter((g) => g.authorised_from <= t && (g.authorised_until === null || t < g.authorised_until) && (g.revoked_at === null || t < g.revoked_at));
    if (inForce.some((g) => g.channels.split(',').includes(channel))) return null;
    if (inForce.length > 0) {
      return new AuditError('OFFICER_NOT_AUTHORISED_FOR_CHANNEL', `${officerId} is not authorised for the ${channel} channel`, { officerId, channel });
    }
    if (grants.some((g) => g.authorised_from > t && (g.revoked_at === null || g.revoked_at > g.authorised_from))) {
      return new AuditError('OFFICER_NOT_YET_AUTHORISED', `${officerId}'s authorisation has not started at ${t}`, { officerId });
    }
    return new AuditError('OFFICER_REVOKED', `${officerId}'s authorisation was revoked or had ended at ${t}`, { officerId });
  }

  /**
   * A guard for AuditLog.useSearchGuard: every automated outgoing search is checked when it is
   * recorded — the officer who ran it and the one who ordered it — so an unauthorised one fails
   * inside the pipeline's transaction and is never sent.
   */
  searchGuard(): (event: OutgoingSearchEvent) => AuditError | null {
    return (event) => {
      const at = new Date(event.occurredAt);
      return this.assertAuthorised(event.officerId, event.channel, at) ?? this.assertAuthorised(event.orderingOfficerId, event.channel, at);
    };
  }

  /** All grants, newest first; by default including revoked and ended ones (the history matters). */
  list(options: { activeOnly?: boolean; at?: Date } = {}): OfficerGrant[] {
    const rows = this.db.prepare<[], GrantRow>(`SELECT * FROM audit_officer_grants ORDER BY officer_id, id`).all().map(toGrant);
    if (!options.activeOnly) return rows;
    const t = (options.at ?? this.clock()).toISOString();
    return rows.filter((g) => g.authorisedFrom <= t && (g.authorisedUntil === null || t < g.authorisedUntil) && (g.revokedAt === null || t < g.revokedAt));
  }

  /** The list for the supervisory authority and other Member States (Art. 30(2)(a)). */
  exportList(): OfficerListExport {
    return {
      format: 'pruem-authorised-officers/1',
      generatedAt: this.clock().toISOString(),
      legalBasis: 'Council Decision 2008/615/JHA Art. 30(2)(a): officers specially authorised to carry out automated searches',
      officers: this.list(),
    };
  }

  exportCsv(): string {
    const header = ['officerId', 'name', 'unit', 'channels', 'authorisedFrom', 'authorisedUntil', 'grantedBy', 'grantedAt', 'revokedAt', 'revokedBy', 'revokeReason'];
    const rows = this.list().map((g) => [
      g.officerId, g.name, g.unit ?? '', g.channels.join(' '), g.authorisedFrom, g.authorisedUntil ?? '', g.grantedBy, g.grantedAt,
      g.revokedAt ?? '', g.revokedBy ?? '', g.revokeReason ?? '',
    ]);
    return toCsv(header, rows);
  }

  private rows(officerId: string): GrantRow[] {
    return this.db.prepare<[string], GrantRow>(`SELECT * FROM audit_officer_grants WHERE officer_id = ? ORDER BY id`).all(officerId.trim());
  }

  private activeGrants(officerId: string, now: Date): GrantRow[] {
    const t = now.toISOString();
    return this.rows(officerId).filter((g) => g.revoked_at === null && g.authorised_from <= t && (g.authorised_until === null || t < g.authorised_until));
  }

  private futureGrants(officerId: string, now: Date): GrantRow[] {
    const t = now.toISOString();
    return this.rows(officerId).filter((g) => g.revoked_at === null && g.authorised_from > t);
  }

  private byId(id: number): OfficerGrant {
    const row = this.db.prepare<[number], GrantRow>(`SELECT * FROM audit_officer_grants WHERE id = ?`).get(id);
    if (!row) throw new AuditError('OFFICER_UNKNOWN', `grant ${id} vanished`);
    return toGrant(row);
  }
}

function toGrant(r: GrantRow): OfficerGrant {
  return {
    grantId: r.id,
    officerId: r.officer_id,
    name: r.name,
    unit: r.unit,
    channels: r.channels.split(',').filter((c): c is Channel => (CHANNELS as readonly string[]).includes(c)),
    authorisedFrom: r.authorised_from,
    authorisedUntil: r.authorised_until,
    grantedBy: r.granted_by,
    grantedAt: r.granted_at,
    revokedAt: r.revoked_at,
    revokedBy: r.revoked_by,
    revokeReason: r.revoke_reason,
  };
}
