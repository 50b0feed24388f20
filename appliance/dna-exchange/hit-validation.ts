/**
 * The DNA staff's validation list (issue 15). A raw Prüm hit is not a result: most near matches, and many
 * full matches on few loci, lead nowhere (the Netherlands: two thirds of 71 511 matches; Sweden–Czechia: 43 of
 * 53 raw hits false). Every hit — ours on a partner's request ('in') and a partner's on our search ('out') —
 * enters this list with the two profiles side by side and the figures that help judge it (hit-statistics.ts).
 * Staff mark it confirmed or excluded with a reason; only a confirmed hit can be exported as the basis of a
 * follow-up request, the human decision Regulation (EU) 2024/982 makes explicit before core data are released.
 *
 * Data kept: our profile in full (it is ours), and the partner's profile as it was sent — the one exception to
 * purging supplied data at once (DP-PURPOSE), limited to profiles that hit, because the comparison cannot be
 * checked without it. An exclusion purges the partner's profile at once; a confirmed hit keeps it until the
 * record is pruned with the audit log's two-year retention (`prune`).
 *
 * Entries are written in the pipeline's transaction that files the exchange, so a hit is listed exactly once.
 */
import { randomUUID } from 'node:crypto';
import { statement, type Db } from '../db/database.js';
import { migrateSchema } from '../db/schema.js';
import { hitStatistics, type HitStatistics } from '../dna/hit-statistics.js';
import type { PruemDnaMessage } from '../dna/message.js';
import type { DnaLoci } from '../dna/profile.js';
import type { MemberStateCode } from '../peers/member-states.js';
import { fail, ok, type Result } from '../util/result.js';

export type HitDirection = 'in' | 'out';
export type ValidationStatus = 'pending' | 'confirmed' | 'excluded';
export type HitQuality = 1 | 2 | 3 | 4;

/** A hit as it enters the list. */
export interface HitForValidation {
  readonly direction: HitDirection;
  readonly partner: MemberStateCode;
  readonly requestId: string;
  readonly quality: HitQuality;
  readonly hitcount: number | null;
  readonly ourProfileId: string;
  readonly ourProfile: DnaLoci | null;
  readonly theirProfileRef: string;
  readonly theirProfile: DnaLoci | null;
}

export interface ValidationSummary {
  readonly id: string;
  readonly createdAt: string;
  readonly direction: HitDirection;
  readonly partner: MemberStateCode;
  readonly requestId: string;
  readonly quality: HitQuality;
  readonly hitcount: number | null;
  readonly ourProfileId: string;
  readonly theirProfileRef: string;
  readonly comparedLoci: number | null;
  readonly matchedLoci: number | null;
  readonly differingLoci: readonly string[];
  readonly randomMatchProbability: number | null;
  readonly status: ValidationStatus;
  readonly reason: string | null;
  readonly decidedBy: string | null;
  readonly decidedAt: string | null;
}

export interface ValidationDetail extends ValidationSummary {
  readonly ourProfile: DnaLoci | null;
  /** Null once purged (an exclusion) or when the partner's message did not carry it. */
  readonly theirProfile: DnaLoci | null;
  readonly statistics: HitStatistics | null;
}

export interface Workload {
  readonly byQuality: ReadonlyArray<{ quality: HitQuality; pending: number; confirmed: number; excluded: number }>;
  readonly byPartner: ReadonlyArray<{ partner: MemberStateCode; pending: number; confirmed: number; excluded: number }>;
}

export type DecisionCode = 'NOT_FOUND' | 'ALREADY_DECIDED' | 'REASON_REQUIRED';
export type FollowUpCode = 'NOT_FOUND' | 'NOT_CONFIRMED';

/** The basis of a follow-up (mutual legal assistance) request: references only, never the profiles. */
export interface FollowUpBasis {
  readonly validationId: string;
  readonly direction: HitDirection;
  readonly partner: MemberStateCode;
  readonly requestId: string;
  readonly quality: HitQuality;
  readonly ourProfileId: string;
  readonly theirProfileRef: string;
  readonly matchedLoci: number | null;
  readonly randomMatchProbability: number | null;
  readonly confirmedBy: string;
  readonly confirmedAt: string;
  readonly reason: string;
}

const HIT_QUALITIES = new Set([1, 2, 3, 4]);
/** As long as the Art. 30 log that records the decisions (DP-RETAIN: two years). */
export const VALIDATION_RETENTION_MS = 2 * 365 * 86_400_000;

/**
 * The hits of one exchange, read from the messages themselves. `request` is the partner's request ('in', the
 * profiles as they sent them) and `answer` ours to it; or `answer` is the partner's answer to our search ('out':
 * their hit profiles, and our own profile echoed back in the quality-0 datas).
 */
export function hitsOfExchange(direction: HitDirection, partner: MemberStateCode, request: PruemDnaMessage | null, answer: PruemDnaMessage): HitForValidation[] {
  const requestId = answer.header.requesting.requestId;
  const echoes = new Map(answer.datas.filter((d) => !d.quality).map((d) => [d.profileIdent, d]));
  const requested = new Map((request?.datas ?? []).map((d) => [d.profileIdent, d]));
  const out: HitForValidation[] = [];
  for (const d of answer.datas) {
    if (d.quality === undefined || !HIT_QUALITIES.has(d.quality)) continue;
    const matchId = d.matchId ?? '';
    if (direction === 'in') {
      out.push({
        direction, partner, requestId, quality: d.quality as HitQuality, hitcount: d.hitcount ?? null,
        ourProfileId: d.profileIdent, ourProfile: d.profile?.loci ?? null,
        theirProfileRef: matchId, theirProfile: requested.get(matchId)?.profile?.loci ?? null,
      });
    } else {
      out.push({
        direction, partner, requestId, quality: d.quality as HitQuality, hitcount: d.hitcount ?? null,
        ourProfileId: matchId, ourProfile: echoes.get(matchId)?.profile?.loci ?? null,
        theirProfileRef: d.profileIdent, theirProfile: d.profile?.loci ?? null,
      });
    }
  }
  return out;
}

type Row = {
  id: string; created_at: number; direction: HitDirection; partner: MemberStateCode; request_id: string; quality: HitQuality;
  hitcount: number | null; our_profile_id: string; our_profile: string | null; their_profile_ref: string; their_profile: string | null;
  compared_loci: number | null; matched_loci: number | null; differing_loci: string; rmp: number | null;
  status: ValidationStatus; reason: string | null; decided_by: string | null; decided_at: number | null;
};

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export class HitValidations {
  constructor(
    private readonly db: Db,
    private readonly clock: () => Date = () => new Date(),
  ) {
    migrateSchema(db);
  }

  /** Enters hits into the list; call inside the transaction that files the exchange. */
  record(hits: readonly HitForValidation[]): void {
    const insert = statement(
      this.db,
      `INSERT INTO dna_hit_validations (id, created_at, direction, partner, request_id, quality, hitcount, our_profile_id, our_profile,
         their_profile_ref, their_profile, compared_loci, matched_loci, differing_loci, rmp, status)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')`,
    );
    const now = this.clock().getTime();
    for (const h of hits) {
      const stats = h.ourProfile && h.theirProfile ? hitStatistics(h.ourProfile, h.theirProfile) : null;
      insert.run(
        randomUUID(), now, h.direction, h.partner, h.requestId, h.quality, h.hitcount, h.ourProfileId,
        h.ourProfile ? JSON.stringify(h.ourProfile) : null, h.theirProfileRef, h.theirProfile ? JSON.stringify(h.theirProfile) : null,
        stats?.comparedLoci ?? null, stats?.matchedLoci ?? null, JSON.stringify(stats?.differingLoci ?? []), stats?.randomMatchProbability ?? null,
      );
    }
  }

  list(filter: { status?: ValidationStatus; partner?: MemberStateCode; quality?: HitQuality } = {}, limit = 500): ValidationSummary[] {
    const rows = statement(
      this.db,
      `SELECT * FROM dna_hit_validations
       WHERE (@status IS NULL OR status = @status) AND (@partner IS NULL OR partner = @partner) AND (@quality IS NULL OR quality = @quality)
       ORDER BY status = 'pending' DESC, quality DESC, created_at LIMIT @limit`,
    ).all({ status: filter.status ?? null, partner: filter.partner ?? null, quality: filter.quality ?? null, limit }) as Row[];
    return rows.map(summary);
  }

  get(id: string): ValidationDetail | null {
    const row = statement(this.db, 'SELECT * FROM dna_hit_validations WHERE id = ?').get(id) as Row | undefined;
    if (!row) return null;
    const ourProfile = row.our_profile ? (JSON.parse(row.our_profile) as DnaLoci) : null;
    const theirProfile = row.their_profile ? (JSON.parse(row.their_profile) as DnaLoci) : null;
    return { ...summary(row), ourProfile, theirProfile, statistics: ourProfile && theirProfile ? hitStatistics(ourProfile, theirProfile) : null };
  }

  /** A member of the DNA staff confirms or excludes a hit; once decided it stays decided (a new hit is a new entry). */
  decide(id: string, decision: { status: 'confirmed' | 'excluded'; reason: string; by: string }): Result<ValidationSummary, DecisionCode> {
    const reason = decision.reason.trim();
    if (reason === '') return fail('REASON_REQUIRED', 'a decision needs its reason');
    const row = statement(this.db, 'SELECT * FROM dna_hit_validations WHERE id = ?').get(id) as Row | undefined;
    if (!row) return fail('NOT_FOUND', `no hit ${id} on the validation list`);
    if (row.status !== 'pending') return fail('ALREADY_DECIDED', `hit ${id} was already ${row.status} by ${row.decided_by ?? '?'}`);
    // An excluded hit has no further use for the partner's profile: it is purged with the decision.
    statement(
      this.db,
      `UPDATE dna_hit_validations SET status = ?, reason = ?, decided_by = ?, decided_at = ?,
         their_profile = CASE WHEN ? = 'excluded' THEN NULL ELSE their_profile END
       WHERE id = ? AND status = 'pending'`,
    ).run(decision.status, reason.slice(0, 2000), decision.by, this.clock().getTime(), decision.status, id);
    return ok(summary(statement(this.db, 'SELECT * FROM dna_hit_validations WHERE id = ?').get(id) as Row));
  }

  /** The basis of a follow-up request: only for a confirmed hit. */
  followUp(id: string): Result<FollowUpBasis, FollowUpCode> {
    const row = statement(this.db, 'SELECT * FROM dna_hit_validations WHERE id = ?').get(id) as Row | undefined;
    if (!row) return fail('NOT_FOUND', `no hit ${id} on the validation list`);
    if (row.status !== 'confirmed') return fail('NOT_CONFIRMED', `hit ${id} is ${row.status}: only a confirmed hit can be the basis of a follow-up request`);
    return ok({
      validationId: row.id, direction: row.direction, partner: row.partner, requestId: row.request_id, quality: row.quality,
      ourProfileId: row.our_profile_id, theirProfileRef: row.their_profile_ref, matchedLoci: row.matched_loci, randomMatchProbability: row.rmp,
      confirmedBy: row.decided_by ?? '', confirmedAt: iso(row.decided_at) ?? '', reason: row.reason ?? '',
    });
  }

  /** The staff's workload: hits by quality and by partner, per status. */
  workload(): Workload {
    const count = (by: 'quality' | 'partner') =>
      statement(
        this.db,
        `SELECT ${by} AS key, sum(status = 'pending') AS pending, sum(status = 'confirmed') AS confirmed, sum(status = 'excluded') AS excluded
         FROM dna_hit_validations GROUP BY ${by} ORDER BY ${by}`,
      ).all() as Array<{ key: HitQuality & MemberStateCode; pending: number; confirmed: number; excluded: number }>;
    return {
      byQuality: count('quality').map((r) => ({ quality: r.key, pending: r.pending, confirmed: r.confirmed, excluded: r.excluded })),
      byPartner: count('partner').map((r) => ({ partner: r.key, pending: r.pending, confirmed: r.confirmed, excluded: r.excluded })),
    };
  }

  /** Drops entries older than the audit log's retention (DP-RETAIN: two years). */
  prune(before: Date): number {
    return statement(this.db, 'DELETE FROM dna_hit_validations WHERE created_at < ?').run(before.getTime()).changes;
  }
}

function summary(r: Row): ValidationSummary {
  return {
    id: r.id, createdAt: iso(r.created_at) ?? '', direction: r.direction, partner: r.partner, requestId: r.request_id, quality: r.quality,
    hitcount: r.hitcount, ourProfileId: r.our_profile_id, theirProfileRef: r.their_profile_ref, comparedLoci: r.compared_loci,
    matchedLoci: r.matched_loci, differingLoci: JSON.parse(r.differing_loci) as string[], randomMatchProbability: r.rmp,
    status: r.status, reason: r.reason, decidedBy: r.decided_by, decidedAt: iso(r.decided_at),
  };
}
