/**
 * Art. 4 comparisons by agreement (issue 15; 2008/615 Art. 4, Annex ch.1 DNA-FLOW): how national DNA databases
 * really run Prüm. Two kinds of run, one mechanism:
 *  - nightly: per partner and profile type, every profile of ours that is new or changed since the last run
 *    (the store stamps each change with the generation that published it, store.ts) is sent at `hourUtc`;
 *  - bulk: a partner's first connection compares a whole profile set (e.g. all stains), started by a technician.
 * A run sends Art. 4 requests of at most `maxProfilesPerMessage` profiles, never more than the partner's declared
 * `maxProfilesPerDay` (the rest waits for the next UTC day, visible as the run's state), each batch an ordinary
 * search of ours (submitDnaSearch: officers checked, sealed, queued and audited) whose progress — the run's
 * cursor — is written in the same transaction, so a crash or a restart resumes where it stopped and never
 * sends a batch twice. The partner's answers are filed as for any search, and their hits enter the validation
 * list (hit-validation.ts); a run's report counts them by quality.
 */
import { randomUUID } from 'node:crypto';
import { statement, type Db } from '../db/database.js';
import { migrateSchema } from '../db/schema.js';
import type { ProfileStore } from '../dna/store.js';
import type { ProfileType } from '../dna/profile.js';
import type { MemberStateCode } from '../peers/member-states.js';
import { fail, ok, type Result } from '../util/result.js';
import type { SubmitError } from './submit.js';

export interface ComparisonAgreement {
  readonly partner: MemberStateCode;
  readonly types: readonly ProfileType[];
  readonly hourUtc: number;
  readonly maxProfilesPerMessage: number;
  readonly maxProfilesPerDay: number;
  readonly officerId: string;
  readonly orderingOfficerId: string;
  readonly reason: string;
}

export type RunKind = 'nightly' | 'bulk';
export type RunState = 'running' | 'waiting-for-tomorrow' | 'done' | 'failed' | 'cancelled';

export interface ComparisonRun {
  readonly id: string;
  readonly kind: RunKind;
  readonly partner: MemberStateCode;
  readonly type: ProfileType;
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly state: RunState;
  /** Profiles published after `fromGeneration` up to `toGeneration` are in the run. */
  readonly fromGeneration: number;
  readonly toGeneration: number;
  readonly total: number;
  readonly sent: number;
  readonly messages: number;
  readonly lastError: string | null;
}

export interface RunReport extends ComparisonRun {
  readonly answered: number;
  readonly hitsByQuality: Readonly<Record<1 | 2 | 3 | 4, number>>;
}

/** What a batch needs from the search submission (submitDnaSearch bound to the daemon's parts). */
export type SubmitBatch = (raw: unknown, alsoInTransaction: (searchId: string) => void) => Promise<{ ok: true } | { ok: false; error: SubmitError }>;

export type StartCode = 'NO_AGREEMENT' | 'ALREADY_RUNNING';

type RunRow = {
  id: string; kind: RunKind; partner: MemberStateCode; type: ProfileType; started_at: number; finished_at: number | null; state: RunState;
  from_generation: number; to_generation: number; cursor_slot: number; total: number; sent: number; messages: number;
  day: string; sent_today: number; last_error: string | null;
};

/** Batches a run may send per tick of the daemon's timer (each waits for its commit before the next). */
export const BATCHES_PER_TICK = 10;

const dayOf = (d: Date) => d.toISOString().slice(0, 10);

function view(r: RunRow): ComparisonRun {
  return {
    id: r.id, kind: r.kind, partner: r.partner, type: r.type, startedAt: new Date(r.started_at).toISOString(),
    finishedAt: r.finished_at === null ? null : new Date(r.finished_at).toISOString(), state: r.state,
    fromGeneration: r.from_generation, toGeneration: r.to_generation, total: r.total, sent: r.sent, messages: r.messages, lastError: r.last_error,
  };
}

export class DnaComparisons {
  private stepping = false;

  constructor(
    private readonly db: Db,
    private readonly store: ProfileStore,
    private readonly agreements: readonly ComparisonAgreement[],
    private readonly clock: () => Date = () => new Date(),
  ) {
    migrateSchema(db);
  }

  private agreement(partner: MemberStateCode, type: ProfileType): ComparisonAgreement | undefined {
    return this.agreements.find((a) => a.partner === partner && a.types.includes(type));
  }

  private active(partner: MemberStateCode, type: ProfileType): RunRow | undefined {
    return statement(this.db, "SELECT * FROM dna_comparison_runs WHERE partner = ? AND type = ? AND state IN ('running', 'waiting-for-tomorrow')").get(partner, type) as RunRow | undefined;
  }

  /** Generation through which everything of this type has been sent to this partner (null: never compared). */
  sentThrough(partner: MemberStateCode, type: ProfileType): number | null {
    const row = statement(this.db, 'SELECT generation FROM dna_comparison_marks WHERE partner = ? AND type = ?').get(partner, type) as { generation: number } | undefined;
    return row ? row.generation : null;
  }

  private start(kind: RunKind, partner: MemberStateCode, type: ProfileType, from: number): Result<ComparisonRun, StartCode> {
    if (!this.agreement(partner, type)) return fail('NO_AGREEMENT', `no Art. 4 agreement with ${partner} for type ${type} profiles (dnaComparisons in the configuration)`);
    return this.db.transaction((): Result<ComparisonRun, StartCode> => {
      const running = this.active(partner, type);
      if (running) return fail('ALREADY_RUNNING', `a ${running.kind} run with ${partner} for type ${type} is in progress (${running.sent} of ${running.total} sent)`);
      const to = this.store.generation();
      const total = this.store.countOfType(type, from, to);
      const now = this.clock();
      const id = randomUUID();
      statement(
        this.db,
        `INSERT INTO dna_comparison_runs (id, kind, partner, type, started_at, state, from_generation, to_generation, cursor_slot, total, sent, messages, day, sent_today)
         VALUES (?, ?, ?, ?, ?, 'running', ?, ?, 0, ?, 0, 0, ?, 0)`,
      ).run(id, kind, partner, type, now.getTime(), from, to, total, dayOf(now));
      return ok(view(statement(this.db, 'SELECT * FROM dna_comparison_runs WHERE id = ?').get(id) as RunRow));
    })();
  }

  /** A technician's first-connection run: every profile of the type, whatever was sent before. */
  startBulk(partner: MemberStateCode, type: ProfileType): Result<ComparisonRun, StartCode> {
    return this.start('bulk', partner, type, -1);
  }

  /** The nightly run (also started by hand to send the changes now): what changed since the last one (since the agreement began, for the first). */
  startNightly(partner: MemberStateCode, type: ProfileType): Result<ComparisonRun, StartCode> {
    const mark = this.sentThrough(partner, type);
    // A new agreement compares from now on: the existing database is a bulk run's job (first connection).
    if (mark === null) this.mark(partner, type, this.store.generation());
    return this.start('nightly', partner, type, mark ?? this.store.generation());
  }

  cancel(id: string): boolean {
    return statement(this.db, "UPDATE dna_comparison_runs SET state = 'cancelled', finished_at = ? WHERE id = ? AND state IN ('running', 'waiting-for-tomorrow')").run(this.clock().getTime(), id).changes > 0;
  }

  private mark(partner: MemberStateCode, type: ProfileType, generation: number): void {
    statement(this.db, 'INSERT INTO dna_comparison_marks (partner, type, generation) VALUES (?, ?, ?) ON CONFLICT (partner, type) DO UPDATE SET generation = max(generation, excluded.generation)').run(partner, type, generation);
  }

  /**
   * The daemon's timer: starts tonight's runs at their hour, then lets every run in progress send up to
   * `batchesPerRun` batches (one at a time, each committed before the next is read). Returns the batches sent.
   */
  async tick(submit: SubmitBatch, batchesPerRun = BATCHES_PER_TICK): Promise<number> {
    if (this.stepping) return 0;
    this.stepping = true;
    try {
      const now = this.clock();
      for (const a of this.agreements) {
        if (now.getUTCHours() !== a.hourUtc) continue;
        for (const type of a.types) {
          const last = statement(this.db, "SELECT max(started_at) AS at FROM dna_comparison_runs WHERE partner = ? AND type = ? AND kind = 'nightly'").get(a.partner, type) as { at: number | null };
          if (last.at !== null && dayOf(new Date(last.at)) === dayOf(now)) continue;
          this.startNightly(a.partner, type);
        }
      }
      let batches = 0;
      const runs = statement(this.db, "SELECT * FROM dna_comparison_runs WHERE state IN ('running', 'waiting-for-tomorrow') ORDER BY started_at").all() as RunRow[];
      for (const first of runs) {
        let run: RunRow | undefined = first;
        for (let i = 0; i < batchesPerRun && run && (await this.step(run, now, submit)); i++) {
          batches++;
          run = statement(this.db, 'SELECT * FROM dna_comparison_runs WHERE id = ?').get(first.id) as RunRow | undefined;
        }
      }
      return batches;
    } finally {
      this.stepping = false;
    }
  }

  /** Sends the next batch of one run; false when it had nothing to send now. */
  private async step(run: RunRow, now: Date, submit: SubmitBatch): Promise<boolean> {
    const a = this.agreement(run.partner, run.type);
    const finish = (state: RunState, error: string | null) => {
      statement(this.db, 'UPDATE dna_comparison_runs SET state = ?, finished_at = ?, last_error = ? WHERE id = ?').run(state, now.getTime(), error, run.id);
    };
    if (!a) {
      finish('failed', 'the agreement was removed from the configuration');
      return false;
    }
    const today = dayOf(now);
    const sentToday = run.day === today ? run.sent_today : 0;
    const room = a.maxProfilesPerDay - sentToday;
    if (room <= 0) {
      if (run.state !== 'waiting-for-tomorrow') statement(this.db, "UPDATE dna_comparison_runs SET state = 'waiting-for-tomorrow' WHERE id = ?").run(run.id);
      return false;
    }
    const batch = this.store.pageOfType(run.type, run.from_generation, run.to_generation, run.cursor_slot, Math.min(a.maxProfilesPerMessage, room));
    if (batch.length === 0) {
      this.db.transaction(() => {
        finish('done', null);
        if (run.kind === 'nightly' || run.from_generation < 0) this.mark(run.partner, run.type, run.to_generation);
      })();
      return false;
    }
    const lastSlot = batch[batch.length - 1]!.slot;
    const submitted = await submit(
      {
        officerId: a.officerId,
        orderingOfficerId: a.orderingOfficerId,
        reason: `${a.reason} (${run.kind} run ${run.id.slice(0, 8)})`,
        reqtype: 4,
        targets: [run.partner],
        profiles: batch.map((p) => ({ id: p.id, type: p.type, agency: p.agency, loci: Object.fromEntries(Object.entries(p.profile.loci).map(([k, v]) => [k, [...v]])) })),
      },
      (searchId) => {
        statement(
          this.db,
          `UPDATE dna_comparison_runs SET cursor_slot = ?, sent = sent + ?, messages = messages + 1, day = ?, sent_today = ?, state = 'running', last_error = NULL WHERE id = ?`,
        ).run(lastSlot, batch.length, today, sentToday + batch.length, run.id);
        statement(this.db, 'INSERT INTO dna_comparison_searches (run_id, search_id) VALUES (?, ?)').run(run.id, searchId);
      },
    );
    if (!submitted.ok) {
      // An officer no longer authorised, a partner without a certificate: the run stops and says why.
      finish('failed', `${submitted.error.code}: ${submitted.error.message}`);
      return false;
    }
    return true;
  }

  runs(limit = 100): ComparisonRun[] {
    return (statement(this.db, 'SELECT * FROM dna_comparison_runs ORDER BY started_at DESC LIMIT ?').all(limit) as RunRow[]).map(view);
  }

  /** A run with what came back: requests answered, hits by quality (each hit also waits on the validation list). */
  report(id: string): RunReport | null {
    const row = statement(this.db, 'SELECT * FROM dna_comparison_runs WHERE id = ?').get(id) as RunRow | undefined;
    if (!row) return null;
    const answered = (
      statement(
        this.db,
        'SELECT count(*) AS n FROM dna_search_requests r JOIN dna_comparison_searches c ON c.search_id = r.search_id WHERE c.run_id = ? AND r.answered_at IS NOT NULL',
      ).get(id) as { n: number }
    ).n;
    const hits = { 1: 0, 2: 0, 3: 0, 4: 0 } as Record<1 | 2 | 3 | 4, number>;
    const rows = statement(
      this.db,
      'SELECT quality, count(*) AS n FROM dna_search_results s JOIN dna_comparison_searches c ON c.search_id = s.search_id WHERE c.run_id = ? AND s.quality BETWEEN 1 AND 4 GROUP BY quality',
    ).all(id) as Array<{ quality: 1 | 2 | 3 | 4; n: number }>;
    for (const r of rows) hits[r.quality] = r.n;
    return { ...view(row), answered, hitsByQuality: hits };
  }

  /** Per partner and type: the last run, and how many profiles wait for the next one. */
  overview(): Array<{ partner: MemberStateCode; type: ProfileType; hourUtc: number; sentThrough: number | null; pending: number; lastRun: RunReport | null }> {
    const out = [];
    const generation = this.store.generation();
    for (const a of this.agreements) {
      for (const type of a.types) {
        const mark = this.sentThrough(a.partner, type);
        const last = statement(this.db, 'SELECT id FROM dna_comparison_runs WHERE partner = ? AND type = ? ORDER BY started_at DESC LIMIT 1').get(a.partner, type) as { id: string } | undefined;
        out.push({
          partner: a.partner,
          type,
          hourUtc: a.hourUtc,
          sentThrough: mark,
          pending: mark === null ? this.store.countOfType(type, -1, generation) : this.store.countOfType(type, mark, generation),
          lastRun: last ? this.report(last.id) : null,
        });
      }
    }
    return out;
  }
}
