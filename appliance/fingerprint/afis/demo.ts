import { statement, type Db } from '../../db/database.js';
import { parseTransaction } from '../transaction.js';
import { readType1 } from '../Type1Record.js';
import { type1 } from '../transaction.js';
import type { AfisAdapter, AfisCandidate, AfisResult, AfisSearch } from './adapter.js';
import { compareRecord, isCandidate, DEFAULT_MATCH_PARAMETERS, type MatchParameters } from './match.js';
import type { FingerTemplate } from './minutiae.js';
import { probeOf } from './probe.js';

/**
 * The demo AFIS: enrolled records in SQLite (persons' ten-prints; unsolved latents), searched with
 * the minutiae matcher of match.ts. Stands in for the national AFIS in tests and on the demo
 * network, behind the same adapter a vendor integration implements; results come back
 * asynchronously, as a real AFIS's do.
 */
export type EnrolledKind = 'tenprint' | 'latent';

export interface EnrolledRecord {
  /** The national reference sent back in an SRE: a person's CRN (`CC/number`) or a latent's case number. */
  readonly reference: string;
  readonly kind: EnrolledKind;
  readonly fingers: readonly FingerTemplate[];
}

export interface DemoAfisOptions {
  readonly params?: MatchParameters;
  /** Milliseconds before a result is reported (a real AFIS takes minutes); default 0 (next turn). */
  readonly delayMs?: number;
}

/** CPS and MPS search the ten-print database; PMS and MMS the unsolved latents (Annex ch.2 §3.1.4). */
export function databaseFor(tot: string): EnrolledKind {
  return tot === 'PMS' || tot === 'MMS' ? 'latent' : 'tenprint';
}

/** Records compared between two turns of the event loop (about 10 ms of work on an idle core). */
const RECORDS_PER_SLICE = 5;

type Scored = AfisCandidate & { paired: number };

function best(scored: Scored[], max: number): AfisCandidate[] {
  scored.sort((a, b) => b.score - a.score || b.paired - a.paired || a.reference.localeCompare(b.reference));
  return scored.slice(0, Math.max(0, max)).map(({ paired: _paired, ...c }) => c);
}

export class DemoAfis implements AfisAdapter {
  readonly name = 'demo AFIS (minutiae matcher)';
  private listener: (r: AfisResult) => void = () => undefined;
  private cache = new Map<EnrolledKind, EnrolledRecord[]>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly params: MatchParameters;

  constructor(
    private readonly db: Db,
    private readonly opts: DemoAfisOptions = {},
  ) {
    this.params = opts.params ?? DEFAULT_MATCH_PARAMETERS;
    db.exec(`CREATE TABLE IF NOT EXISTS afis_records (reference TEXT PRIMARY KEY, kind TEXT NOT NULL, fingers TEXT NOT NULL)`);
  }

  enrol(record: EnrolledRecord): void {
    statement(this.db, 'INSERT OR REPLACE INTO afis_records (reference, kind, fingers) VALUES (?, ?, ?)').run(record.reference, record.kind, JSON.stringify(record.fingers));
    this.cache.delete(record.kind);
  }

  /** Many records in one transaction (seeding). */
  enrolAll(records: readonly EnrolledRecord[]): void {
    this.db.transaction(() => records.forEach((r) => this.enrol(r)))();
  }

  count(kind: EnrolledKind): number {
    return (statement(this.db, 'SELECT COUNT(*) AS n FROM afis_records WHERE kind = ?').get(kind) as { n: number }).n;
  }

  private records(kind: EnrolledKind): EnrolledRecord[] {
    let list = this.cache.get(kind);
    if (!list) {
      list = (statement(this.db, 'SELECT reference, fingers FROM afis_records WHERE kind = ? ORDER BY reference').all(kind) as Array<{ reference: string; fingers: string }>).map((r) => ({
        reference: r.reference,
        kind,
        fingers: JSON.parse(r.fingers) as FingerTemplate[],
      }));
      this.cache.set(kind, list);
    }
    return list;
  }

  /** The candidates above threshold, best first, at most `max`. */
  search(probe: readonly FingerTemplate[], kind: EnrolledKind, max: number): AfisCandidate[] {
    const scored: Scored[] = [];
    for (const record of this.records(kind)) this.score(probe, record, scored);
    return best(scored, max);
  }

  /**
   * The same, giving the event loop back every few records: the demo AFIS runs inside the daemon,
   * and a search of a few thousand finger comparisons must not hold up mail and API requests.
   */
  async searchInSlices(probe: readonly FingerTemplate[], kind: EnrolledKind, max: number): Promise<AfisCandidate[]> {
    const scored: Scored[] = [];
    const records = this.records(kind);
    for (let i = 0; i < records.length; i++) {
      this.score(probe, records[i]!, scored);
      if (i % RECORDS_PER_SLICE === RECORDS_PER_SLICE - 1) await new Promise((resolve) => setImmediate(resolve));
    }
    return best(scored, max);
  }

  private score(probe: readonly FingerTemplate[], record: EnrolledRecord, into: Scored[]): void {
    const c = compareRecord(probe, record.fingers, this.params);
    if (isCandidate(c, this.params)) into.push({ reference: record.reference, score: c.score, verified: false, fingerPosition: c.bestPosition, paired: c.paired });
  }

  /** What to search with and where, or the error the AFIS reports. */
  private prepare(search: AfisSearch): { probe: FingerTemplate[]; kind: EnrolledKind } | AfisResult {
    const parsed = parseTransaction(search.transaction);
    if (!parsed.ok) return { id: search.id, outcome: 'error', code: '999', text: 'THE AFIS COULD NOT READ THE TRANSACTION' };
    const probe = probeOf(parsed.value);
    if (probe.length === 0) return { id: search.id, outcome: 'error', code: '501', text: 'NO MINUTIAE COULD BE ENCODED FROM THE TRANSACTION' };
    const tot = readType1(type1(parsed.value)).tot ?? search.tot;
    return { probe, kind: databaseFor(tot) };
  }

  /** Searches a whole transaction synchronously (tests). */
  searchTransaction(search: AfisSearch): AfisResult {
    const p = this.prepare(search);
    if ('outcome' in p) return p;
    return { id: search.id, outcome: 'candidates', candidates: this.search(p.probe, p.kind, search.maxCandidates) };
  }

  async submit(search: AfisSearch): Promise<void> {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const p = this.prepare(search);
      if ('outcome' in p) return this.listener(p);
      void this.searchInSlices(p.probe, p.kind, search.maxCandidates).then(
        (candidates) => this.listener({ id: search.id, outcome: 'candidates', candidates }),
        () => this.listener({ id: search.id, outcome: 'error', code: '999', text: 'THE DEMO AFIS FAILED' }),
      );
    }, this.opts.delayMs ?? 0);
    this.timers.add(timer);
  }

  onResult(listener: (result: AfisResult) => void): void {
    this.listener = listener;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
