/**
 * Officers' vehicle searches abroad (Annex ch.3 §1.2.1): by licence number in one given State, by VIN in
 * one, several or all States. A multiple-country inquiry asks every State in parallel, each bounded by the
 * 10-second deadline, and gives one consolidated answer: which States answered (and what), which refused
 * with a fault, which failed, which timed out. A State that cannot be reached at all gets the request
 * queued (asynchronous mode, VRD-CORE): it stays in SQLite, survives a restart, and is delivered when the
 * State is back, re-signed with a fresh timestamp under the same message id; the search shows it.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { statement, type Db } from '../db/database.js';
import { MEMBER_STATES, type MemberStateCode } from '../peers/member-states.js';
import type { OfficerRegistry } from '../audit/officers.js';
import { normalisePlate, normaliseVin, type SearchResult, type VehicleQuery, type VehicleSearchRequest } from './data-set.js';
import { askPartner, type ClientDeps, type PartnerOutcome } from './client.js';
import type { VehiclePartner, VehiclePartners } from './partners.js';
import type { VehicleJournal, VehicleService } from './journal.js';
import type { QueueStatus } from '../status/types.js';

export const vehicleSearchInput = z
  .object({
    officerId: z.string().trim().min(1).max(100),
    orderingOfficerId: z.string().trim().min(1).max(100),
    reason: z.string().trim().min(3).max(1000),
    vin: z.string().trim().min(1).max(64).optional(),
    licenceNumber: z.string().trim().min(1).max(32).optional(),
    referenceDateTime: z.iso.datetime({ offset: true }).optional(),
    /** 'all' (VIN only) or the States to ask; a licence number is searched in exactly one State. */
    targets: z.union([z.literal('all'), z.array(z.enum(MEMBER_STATES)).min(1).max(MEMBER_STATES.length)]),
  })
  .strict();
export type VehicleSearchInput = z.infer<typeof vehicleSearchInput>;

export type TargetStatus = 'pending' | 'answered' | 'fault' | 'failed' | 'timed-out' | 'queued' | 'expired';

export interface TargetView {
  readonly state: MemberStateCode;
  readonly status: TargetStatus;
  readonly messageId: string;
  readonly result?: SearchResult;
  readonly fault?: { readonly code: string; readonly text: string };
  readonly detail?: string;
  readonly attempts: number;
  readonly updatedAt: string;
}

export interface VehicleSearchView {
  readonly id: string;
  readonly createdAt: string;
  readonly officerId: string;
  readonly orderingOfficerId: string;
  readonly reason: string;
  readonly query: VehicleQuery;
  readonly targets: readonly TargetView[];
  /** The consolidated answer: States by outcome. */
  readonly answered: readonly MemberStateCode[];
  readonly faults: readonly MemberStateCode[];
  readonly failed: readonly MemberStateCode[];
  readonly timedOut: readonly MemberStateCode[];
  readonly queued: readonly MemberStateCode[];
  /** Every State has a final outcome (none pending or queued). */
  readonly complete: boolean;
}

export type SearchErrorCode = 'INVALID_REQUEST' | 'OFFICER_NOT_AUTHORISED' | 'NO_TARGET';
export interface SearchError {
  readonly code: SearchErrorCode;
  readonly message: string;
  readonly details?: readonly string[];
}

export interface SearchesDeps {
  readonly db: Db;
  readonly ourState: MemberStateCode;
  readonly agency: string;
  readonly partners: VehiclePartners;
  readonly officers: OfficerRegistry;
  readonly journal: VehicleJournal;
  readonly client: ClientDeps;
  readonly deadlineMs: number;
  readonly queueHours: number;
  readonly clock?: () => Date;
  /** Told when the number of queued requests changes (the service board). */
  readonly onQueueChange?: (queued: number) => void;
}

interface SearchRow { id: string; created_at: number; officer_id: string; ordering_officer_id: string; reason: string; query: string }
interface TargetRow {
  search_id: string; state: MemberStateCode; status: TargetStatus; message_id: string; result: string | null; fault_code: string | null; fault_text: string | null;
  detail: string | null; attempts: number; updated_at: number; next_attempt_at: number | null; expires_at: number | null; schema_version: string;
}

/** Back-off for a queued request: 2 s, 4 s, … up to a minute between attempts. */
function retryDelayMs(attempts: number): number {
  return Math.min(60_000, 2_000 * 2 ** Math.min(attempts, 5));
}

/** Time kept back from the deadline for verifying the answer and writing the records. */
const CLIENT_MARGIN_MS = 300;

export class VehicleSearches {
  private delivering = false;

  constructor(private readonly deps: SearchesDeps) {
    deps.db.exec(`CREATE TABLE IF NOT EXISTS vehicle_searches (
      id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, officer_id TEXT NOT NULL, ordering_officer_id TEXT NOT NULL, reason TEXT NOT NULL, query TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS vehicle_search_targets (
      search_id TEXT NOT NULL REFERENCES vehicle_searches(id), state TEXT NOT NULL, status TEXT NOT NULL, message_id TEXT NOT NULL UNIQUE,
      result TEXT, fault_code TEXT, fault_text TEXT, detail TEXT, attempts INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL,
      next_attempt_at INTEGER, expires_at INTEGER, schema_version TEXT NOT NULL, PRIMARY KEY (search_id, state));
    CREATE INDEX IF NOT EXISTS vehicle_search_targets_queue ON vehicle_search_targets (status, next_attempt_at);`);
  }

  private now(): Date {
    return (this.deps.clock ?? (() => new Date()))();
  }

  async submit(raw: unknown): Promise<{ ok: true; search: VehicleSearchView } | { ok: false; error: SearchError }> {
    const parsed = vehicleSearchInput.safeParse(raw);
    if (!parsed.success) {
      return { ok: false, error: { code: 'INVALID_REQUEST', message: 'invalid vehicle search', details: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`) } };
    }
    const input = parsed.data;
    if (!input.vin && !input.licenceNumber) return { ok: false, error: { code: 'INVALID_REQUEST', message: 'give a VIN, a licence number, or both' } };
    if (input.licenceNumber && (input.targets === 'all' || input.targets.length !== 1)) {
      return { ok: false, error: { code: 'INVALID_REQUEST', message: 'a search by licence number goes to exactly one State (Annex ch.3 §1.2.1)' } };
    }
    const started = Date.now();
    const now = this.now();
    // Both the officer who searches and the one who ordered it must be on the list (Art. 30(2)(a)).
    for (const officer of [input.officerId, input.orderingOfficerId]) {
      const denied = this.deps.officers.assertAuthorised(officer, 'vrd', now);
      if (denied) return { ok: false, error: { code: 'OFFICER_NOT_AUTHORISED', message: denied.message } };
    }

    const searchable = new Map(this.deps.partners.searchable().map((p) => [p.state, p]));
    const wanted = input.targets === 'all' ? [...searchable.keys()] : [...new Set(input.targets)];
    const targets = wanted.filter((s) => s !== this.deps.ourState && searchable.has(s));
    const notPartners = wanted.filter((s) => !targets.includes(s));
    if (targets.length === 0) return { ok: false, error: { code: 'NO_TARGET', message: 'none of the requested States is a vehicle partner with a URL and certificate', details: notPartners } };

    const ref = input.referenceDateTime ? new Date(input.referenceDateTime).toISOString() : undefined;
    const query: VehicleQuery = input.licenceNumber
      ? { kind: 'plate', licenceNumber: input.licenceNumber, ...(input.vin ? { vin: input.vin } : {}), ...(ref ? { referenceDateTime: ref } : {}) }
      : { kind: 'vin', vin: input.vin as string, ...(ref ? { referenceDateTime: ref } : {}) };
    const id = randomUUID();
    const db = this.deps.db;
    db.transaction(() => {
      statement(db, 'INSERT INTO vehicle_searches VALUES (?, ?, ?, ?, ?, ?)').run(id, now.getTime(), input.officerId, input.orderingOfficerId, input.reason, JSON.stringify(query));
      for (const state of targets) {
        const partner = searchable.get(state) as VehiclePartner;
        statement(db, "INSERT INTO vehicle_search_targets (search_id, state, status, message_id, updated_at, schema_version) VALUES (?, ?, 'pending', ?, ?, ?)").run(
          id,
          state,
          `${this.deps.ourState}-VRD-${randomUUID()}`,
          now.getTime(),
          partner.schemaVersion,
        );
      }
    })();
    this.deps.journal.keep(serviceOf(query), 'client-request', this.deps.ourState, id, JSON.stringify({ ...input }));
    const search = this.row(id) as SearchRow;
    const deadline = this.deps.deadlineMs - (Date.now() - started) - CLIENT_MARGIN_MS;
    await Promise.all(this.targetRows(id).map((t) => this.ask(search, t, searchable.get(t.state) as VehiclePartner, deadline)));
    const view = this.get(id) as VehicleSearchView;
    this.deps.journal.keep(serviceOf(query), 'response-to-client', this.deps.ourState, id, JSON.stringify(view));
    return { ok: true, search: view };
  }

  private request(search: SearchRow, t: TargetRow): VehicleSearchRequest {
    return {
      schemaVersion: t.schema_version === '1.0' ? '1.0' : '1.1',
      header: {
        messageId: t.message_id,
        sent: this.now().toISOString(),
        requestingState: this.deps.ourState,
        requestedState: t.state,
        organisation: this.deps.agency,
        user: search.officer_id,
        reason: search.reason,
      },
      query: JSON.parse(search.query) as VehicleQuery,
    };
  }

  /** Asks one State and files the outcome; `queuedBefore`: a delivery from the queue. */
  private async ask(search: SearchRow, t: TargetRow, partner: VehiclePartner, deadlineMs: number): Promise<TargetStatus> {
    const request = this.request(search, t);
    const outcome = await askPartner(this.deps.client, partner, request, deadlineMs);
    const now = this.now();
    const db = this.deps.db;
    const update = (status: TargetStatus, fields: { result?: string | null; faultCode?: string | null; faultText?: string | null; detail?: string | null; next?: number | null; expires?: number | null }) =>
      statement(
        db,
        'UPDATE vehicle_search_targets SET status = ?, result = ?, fault_code = ?, fault_text = ?, detail = ?, attempts = attempts + 1, updated_at = ?, next_attempt_at = ?, expires_at = ? WHERE search_id = ? AND state = ?',
      ).run(status, fields.result ?? null, fields.faultCode ?? null, fields.faultText ?? null, fields.detail ?? null, now.getTime(), fields.next ?? null, fields.expires ?? t.expires_at, search.id, t.state);

    if (outcome.kind === 'unreachable') {
      const expires = t.expires_at ?? now.getTime() + this.deps.queueHours * 3_600_000;
      const status: TargetStatus = now.getTime() >= expires ? 'expired' : 'queued';
      update(status, { detail: outcome.detail, next: status === 'queued' ? now.getTime() + retryDelayMs(t.attempts) : null, expires });
      this.deps.onQueueChange?.(this.queuedCount());
      return status;
    }
    const status: TargetStatus = outcome.kind === 'answered' ? 'answered' : outcome.kind === 'fault' ? 'fault' : outcome.kind === 'timed-out' ? 'timed-out' : 'failed';
    // The request left: the Art. 30 record of it (and of the answer, if one came), the statistics and the target row, together.
    db.transaction(() => {
      update(status, {
        result: outcome.kind === 'answered' ? JSON.stringify(outcome.result) : null,
        faultCode: outcome.kind === 'fault' ? outcome.code : null,
        faultText: outcome.kind === 'fault' ? outcome.text : null,
        detail: outcome.kind === 'failed' ? outcome.detail : outcome.kind === 'timed-out' ? `no answer within ${deadlineMs} ms` : null,
        next: null,
      });
      this.recordExchange(search, t, request, outcome);
    })();
    if (t.status === 'queued') this.deps.onQueueChange?.(this.queuedCount());
    return status;
  }

  private recordExchange(search: SearchRow, t: TargetRow, request: VehicleSearchRequest, outcome: Exclude<PartnerOutcome, { kind: 'unreachable' }>): void {
    const q = request.query;
    const key = q.kind === 'vin' ? normaliseVin(q.vin) : normalisePlate(q.licenceNumber);
    const hit = outcome.kind === 'answered' && outcome.result.kind !== 'no-match';
    const vins = outcome.kind === 'answered' ? (outcome.result.kind === 'full' ? [outcome.result.dataSet.vehicle.vin] : outcome.result.kind === 'refine' ? outcome.result.vehicles.map((v) => v.vin) : []) : [];
    const answerSide =
      outcome.kind === 'answered' || outcome.kind === 'fault'
        ? [
            {
              direction: 'received' as const,
              role: 'response' as const,
              messageId: outcome.kind === 'answered' ? outcome.answerId : `${t.message_id}#fault`,
              inReplyTo: t.message_id,
              xml: outcome.answerXml,
              result: outcome.kind === 'fault' ? ('error' as const) : hit ? ('hit' as const) : ('no-hit' as const),
              recordIds: vins,
              count: vins.length,
              categories: vins.length ? (['vehicle-registration-data'] as const) : (['none'] as const),
              logType: 'response-from-peer' as const,
            },
          ]
        : [];
    this.deps.journal.recordNow({
      peer: t.state,
      service: serviceOf(q),
      searchingBody: { state: this.deps.ourState, agency: this.deps.agency },
      fileManagingBody: { state: t.state, agency: 'NCP' },
      referenceNumbers: [t.message_id, search.id],
      search: { reason: search.reason, officerId: search.officer_id, orderingOfficerId: search.ordering_officer_id },
      sides: [
        { direction: 'sent', role: 'request', messageId: t.message_id, xml: outcome.requestXml, result: 'n/a', recordIds: [key], count: 1, categories: ['vehicle-search-key'], logType: 'request-to-peer' },
        ...answerSide,
      ],
      statistics: { direction: 'out', outcome: outcome.kind === 'answered' ? (hit ? 'hit' : 'no-hit') : 'error' },
    });
  }

  /** Sends queued requests that are due (the State may be back); runs one pass at a time. */
  async deliverDue(): Promise<number> {
    if (this.delivering) return 0;
    this.delivering = true;
    try {
      const due = statement(this.deps.db, "SELECT * FROM vehicle_search_targets WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT 20").all(this.now().getTime()) as TargetRow[];
      let delivered = 0;
      await Promise.all(
        due.map(async (t) => {
          const search = this.row(t.search_id);
          const partner = this.deps.partners.get(t.state);
          if (!search || !partner) return;
          try {
            const status = await this.ask(search, t, partner, this.deps.deadlineMs - CLIENT_MARGIN_MS);
            if (status !== 'queued' && status !== 'expired') delivered++;
          } catch (e) {
            // e.g. the officer's authorisation ended while the request waited: the audit log refuses the record.
            statement(this.deps.db, "UPDATE vehicle_search_targets SET status = 'failed', detail = ?, updated_at = ? WHERE search_id = ? AND state = ?").run(
              (e as Error).message.slice(0, 300),
              this.now().getTime(),
              t.search_id,
              t.state,
            );
          }
        }),
      );
      return delivered;
    } finally {
      this.delivering = false;
    }
  }

  /**
   * Targets still 'pending' when the daemon starts were being asked when it stopped: whether the request
   * left is unknown, so they are failed with that reason rather than left pending for ever (or sent twice).
   */
  recoverInterrupted(): number {
    return statement(this.deps.db, "UPDATE vehicle_search_targets SET status = 'failed', detail = 'interrupted: the gateway stopped while this State was being asked', updated_at = ? WHERE status = 'pending'").run(this.now().getTime()).changes;
  }

  queuedCount(): number {
    return (statement(this.deps.db, "SELECT count(*) AS n FROM vehicle_search_targets WHERE status = 'queued'").get() as { n: number }).n;
  }

  /** The queue as the status API shows it: what waits for which State, since when, next attempt. */
  queue(): Array<{ searchId: string; state: MemberStateCode; messageId: string; attempts: number; nextAttemptAt: string | null; expiresAt: string | null; detail: string | null }> {
    return (statement(this.deps.db, "SELECT * FROM vehicle_search_targets WHERE status = 'queued' ORDER BY next_attempt_at").all() as TargetRow[]).map((t) => ({
      searchId: t.search_id,
      state: t.state,
      messageId: t.message_id,
      attempts: t.attempts,
      nextAttemptAt: t.next_attempt_at === null ? null : new Date(t.next_attempt_at).toISOString(),
      expiresAt: t.expires_at === null ? null : new Date(t.expires_at).toISOString(),
      detail: t.detail,
    }));
  }

  /** An officer's own searches, newest first (the console lists them). */
  listFor(officerId: string, limit: number): VehicleSearchView[] {
    const ids = statement(this.deps.db, 'SELECT id FROM vehicle_searches WHERE officer_id = ? COLLATE NOCASE ORDER BY created_at DESC LIMIT ?').all(officerId, limit) as Array<{ id: string }>;
    return ids.map((r) => this.get(r.id)).filter((v): v is VehicleSearchView => v !== null);
  }

  /** The queue as a row of the status API's queues: requests waiting for unreachable States, the nearest expiry. */
  queueStatus(): QueueStatus {
    const now = this.now().getTime();
    const rows = statement(
      this.deps.db,
      "SELECT t.state, t.expires_at, s.created_at FROM vehicle_search_targets t JOIN vehicle_searches s ON s.id = t.search_id WHERE t.status = 'queued'",
    ).all() as Array<{ state: MemberStateCode; expires_at: number | null; created_at: number }>;
    const allowedMs = this.deps.queueHours * 3_600_000;
    const expiries = rows.map((r) => r.expires_at ?? r.created_at + allowedMs);
    const oldest = rows.length ? Math.min(...rows.map((r) => r.created_at)) : null;
    return {
      channel: 'vrd',
      direction: 'out',
      depth: rows.length,
      oldestAgeSeconds: oldest === null ? null : Math.max(0, Math.round((now - oldest) / 1000)),
      nearestDeadline: expiries.length ? new Date(Math.min(...expiries)).toISOString() : null,
      // As for the mail queues: less than a fifth of the allowed time left (here: before the request is given up).
      atRisk: expiries.filter((e) => e - now < allowedMs / 5).length,
      waitingFor: [...new Set(rows.map((r) => r.state))].sort(),
    };
  }

  private row(id: string): SearchRow | undefined {
    return statement(this.deps.db, 'SELECT * FROM vehicle_searches WHERE id = ?').get(id) as SearchRow | undefined;
  }

  private targetRows(id: string): TargetRow[] {
    return statement(this.deps.db, 'SELECT * FROM vehicle_search_targets WHERE search_id = ? ORDER BY state').all(id) as TargetRow[];
  }

  get(id: string): VehicleSearchView | null {
    const s = this.row(id);
    if (!s) return null;
    const targets: TargetView[] = this.targetRows(id).map((t) => ({
      state: t.state,
      status: t.status,
      messageId: t.message_id,
      ...(t.result ? { result: JSON.parse(t.result) as SearchResult } : {}),
      ...(t.fault_code ? { fault: { code: t.fault_code, text: t.fault_text ?? '' } } : {}),
      ...(t.detail ? { detail: t.detail } : {}),
      attempts: t.attempts,
      updatedAt: new Date(t.updated_at).toISOString(),
    }));
    const by = (...st: TargetStatus[]) => targets.filter((t) => st.includes(t.status)).map((t) => t.state);
    return {
      id: s.id,
      createdAt: new Date(s.created_at).toISOString(),
      officerId: s.officer_id,
      orderingOfficerId: s.ordering_officer_id,
      reason: s.reason,
      query: JSON.parse(s.query) as VehicleQuery,
      targets,
      answered: by('answered'),
      faults: by('fault'),
      failed: by('failed', 'expired'),
      timedOut: by('timed-out'),
      queued: by('queued'),
      complete: targets.every((t) => t.status !== 'pending' && t.status !== 'queued'),
    };
  }
}

function serviceOf(q: VehicleQuery): VehicleService {
  return q.kind === 'vin' ? 'vin-search' : 'plate-search';
}
