import type { ExchangePipeline } from '../exchange/pipeline.js';
import type { ExchangeRecord } from '../exchange/handler.js';
import type { Statistics } from '../exchange/statistics.js';
import type { MemberStateCode } from '../peers/member-states.js';
import { Mutex } from '../util/mutex.js';
import type { AfisAdapter, AfisResult } from '../fingerprint/afis/adapter.js';
import type { RequestTot } from '../fingerprint/tot.js';
import { parseTransaction } from '../fingerprint/transaction.js';
import { nistError } from '../fingerprint/errors.js';
import { errTransaction, sreTransaction } from './answers.js';
import { nextUtcDay, type CapacityLedger, type PeerLimit, type TcnIssuer } from './capacity.js';
import { FP_CONTENT_TYPE } from './channel.js';
import { routeSearch } from './outgoing.js';
import { fingerprintData } from './records.js';
import type { IncomingRequest, IncomingRequests } from './requests.js';
import type { FpSearches } from './searches.js';

export interface FingerprintServiceDeps {
  readonly ourState: MemberStateCode;
  readonly agency: string;
  /** Our ORI, `CC/agency`. */
  readonly origin: string;
  readonly afis: AfisAdapter | null;
  readonly requests: IncomingRequests;
  readonly searches: FpSearches;
  readonly capacity: CapacityLedger;
  readonly tcns: TcnIssuer;
  readonly statistics: Statistics;
  readonly pipeline: () => ExchangePipeline;
  /** What the peer declared it answers per day of this type (null: no figure, no limit). */
  readonly peerLimit: (peer: MemberStateCode, tot: RequestTot) => PeerLimit | null;
  /** Operator-visible state (the status API's services). */
  readonly report?: (service: 'afis' | 'fp-capacity', state: 'up' | 'degraded' | 'down', detail: string) => void;
  readonly log?: (event: string, fields: Record<string, unknown>) => void;
  readonly clock?: () => Date;
}

/** How often queued work is looked at when nothing kicked it. */
const TICK_MS = 5_000;
/** Requests handed to the AFIS per round. */
const BATCH = 20;

/**
 * The asynchronous half of the fingerprint channel, beside the pipeline:
 * - hands queued requests from other States to the national AFIS, priority 1 first, then by arrival;
 * - turns the AFIS's results into SRE (one per candidate, at most the limit) or ERR transactions and
 *   sends them through the pipeline's `originate` — the same seal/queue/audit path as every message;
 * - sends our officers' searches to each State within its declared daily capacity, the rest the
 *   next UTC day.
 */
export class FingerprintService {
  private readonly clock: () => Date;
  private readonly log: (event: string, fields: Record<string, unknown>) => void;
  private timer: NodeJS.Timeout | null = null;
  /** One round of work at a time; outgoing capacity checks and their sends are not interleaved. */
  private readonly work = new Mutex();
  private readonly outgoing = new Mutex();
  private results: Promise<void> = Promise.resolve();
  private stopped = true;

  constructor(private readonly d: FingerprintServiceDeps) {
    this.clock = d.clock ?? (() => new Date());
    this.log = d.log ?? (() => undefined);
    d.afis?.onResult((r) => this.enqueueResult(r));
  }

  start(): void {
    this.stopped = false;
    if (this.d.afis) this.d.report?.('afis', 'up', this.d.afis.name);
    else this.d.report?.('afis', 'down', 'no national AFIS connected: fingerprint searches from other States are answered with an ERR');
    // Handed over before a restart and not answered: hand over again (adapters take a known id twice harmlessly).
    for (const r of this.d.requests.submitted()) void this.submit(r);
    this.timer = setInterval(() => this.kick(), TICK_MS);
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.work.run(async () => undefined);
    await this.results;
    await this.d.afis?.close();
  }

  /** Look at the queues now (a request was queued, a search submitted). */
  kick(): void {
    if (this.stopped) return;
    void this.work
      .run(() => this.round())
      .catch((e: unknown) => this.log('fp-round-failed', { reason: e instanceof Error ? e.message : String(e) }));
  }

  /** One round: hand queued requests to the AFIS, poll it, send searches whose day has come. */
  async round(): Promise<void> {
    // FP-TIME: 24 h from arrival. An AFIS that has not answered by then gets no more time: the
    // requesting State is told so with an ERR rather than left waiting.
    for (const r of this.d.requests.overdue(this.clock())) {
      this.enqueueResult({ id: r.afisTcn, outcome: 'error', code: '999', text: 'THE AFIS DID NOT ANSWER WITHIN 24 HOURS OF ARRIVAL' });
    }
    if (this.d.afis) {
      for (const r of this.d.requests.queued(BATCH)) {
        if (!(await this.submit(r))) break;
      }
      if (this.d.afis.poll) for (const result of await this.d.afis.poll()) this.enqueueResult(result);
      const pending = this.d.requests.pending();
      this.d.report?.(
        'afis',
        'up',
        pending.count === 0 ? `${this.d.afis.name}: no search waiting` : `${this.d.afis.name}: ${pending.count} search(es) from other States at the AFIS, nearest deadline ${pending.nearestDeadline?.toISOString()}`,
      );
    }
    await this.releaseWaiting();
  }

  private async submit(r: IncomingRequest): Promise<boolean> {
    const afis = this.d.afis;
    if (!afis || !r.transaction) return false;
    try {
      await afis.submit({ id: r.afisTcn, tcn: r.tcn, tot: r.tot, priority: r.priority, transaction: r.transaction, maxCandidates: r.maxCandidates });
      this.d.requests.markSubmitted(r.id, this.clock());
      this.d.report?.('afis', 'up', afis.name);
      return true;
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      this.d.report?.('afis', 'down', `${afis.name}: ${reason}; requests wait in the queue`);
      this.log('afis-submit-failed', { id: r.id, reason });
      return false;
    }
  }

  private enqueueResult(result: AfisResult): void {
    this.results = this.results
      .then(() => this.answer(result))
      .catch((e: unknown) => {
        // Sealing or the database failed: the request goes back to the queue and the AFIS is asked again.
        this.log('fp-answer-failed', { id: result.id, reason: e instanceof Error ? e.message : String(e) });
        const request = this.d.requests.byAfisTcn(result.id);
        if (request) this.d.requests.requeue(request.id);
      });
  }

  /** Waits until every result reported so far has been answered (tests, shutdown). */
  async settled(): Promise<void> {
    await this.results;
  }

  /** The AFIS's result as SRE transactions (or an ERR), queued through the pipeline one by one. */
  async answer(result: AfisResult): Promise<void> {
    const request = this.d.requests.byAfisTcn(result.id);
    if (!request || request.status === 'answered') return;
    const now = this.clock();
    const facts = request.facts;
    const context = () => ({ facts, requester: request.peer, origin: this.d.origin, tcn: this.d.tcns.next(now), now });
    const searchingBody = { state: request.peer, agency: facts.origin?.startsWith(`${request.peer}/`) ? facts.origin.slice(3) : 'NCP' };
    const fileManagingBody = { state: this.d.ourState, agency: this.d.agency };
    const answers: Array<{ payload: Buffer; tot: 'SRE' | 'ERR'; result: ExchangeRecord['result']; reference: string | null }> = [];
    if (result.outcome === 'error') {
      answers.push({ payload: errTransaction(context(), [nistError(result.code, -1, '1.004', result.text)]), tot: 'ERR', result: 'error', reference: null });
    } else {
      // ENC and Table 11 bound the candidates, whatever the AFIS returned.
      const candidates = result.candidates.slice(0, request.maxCandidates);
      if (candidates.length === 0) answers.push({ payload: sreTransaction(context(), request.tot, null), tot: 'SRE', result: 'no-hit', reference: null });
      candidates.forEach((c, i) => {
        answers.push({
          payload: sreTransaction(context(), request.tot, { index: i + 1, total: candidates.length, reference: c.reference, score: c.score, verified: c.verified, ...(c.fingerPosition !== undefined ? { fingerPosition: c.fingerPosition } : {}) }),
          tot: 'SRE',
          result: 'hit',
          reference: c.reference,
        });
      });
    }
    const outcome = result.outcome === 'error' ? `ERR ${result.code}` : answers[0]?.result === 'no-hit' ? 'no hit' : `${answers.length} candidate(s)`;
    // All the answers of one search are queued as one unit (originateAll): every SRE or none, and the
    // request marked answered in the same transaction — a restart never sends half of them, or twice.
    const hits = answers.filter((x) => x.result === 'hit').length;
    await this.d.pipeline().originateAll(
      answers.map((a) => {
        const parsed = parseTransaction(a.payload);
        return {
          peer: request.peer,
          channel: 'fp' as const,
          reply: { payload: a.payload, payloadContentType: FP_CONTENT_TYPE, subject: `${this.d.ourState}/${a.tot}` },
          correlation: request.id,
          // Due by the request's 24 h (FP-TIME) counted from its receipt, not from when the AFIS answered.
          deadline: request.deadline,
          records: [
            {
              direction: 'sent' as const,
              role: 'response' as const,
              messageType: a.tot,
              result: a.result,
              referenceNumbers: [request.tcn, parsed.ok ? (fingerprintData(parsed.value).recordIds[0] ?? '') : ''].filter((x) => x !== ''),
              // An SRE names the matched record by reference only; no images are sent back.
              data: { categories: ['none' as const], recordIds: a.reference ? [a.reference] : [], count: a.reference ? 1 : 0 },
              searchingBody,
              fileManagingBody,
            },
          ],
          persist: () => this.d.requests.answerQueued(request.id),
        };
      }),
      () => {
        this.d.requests.answered(request.id, outcome, now);
        this.d.statistics.add({
          year: now.getUTCFullYear(),
          state: request.peer,
          channel: 'fp',
          direction: 'in',
          ...(hits ? { hits: { 1: hits } } : answers[0]?.result === 'no-hit' ? { noHits: 1 } : { errors: 1 }),
          messageType: request.tot,
        });
      },
    );
    this.log('fp-answered', { id: request.id, peer: request.peer, tot: request.tot, outcome });
  }

  /**
   * Sends one of our searches to one State now if its daily capacity allows; otherwise leaves it
   * waiting (with the reason) for the next UTC day. Returns whether it was sent.
   */
  async sendTarget(t: { searchId: string; tcn: string; state: MemberStateCode; tot: RequestTot }): Promise<boolean> {
    return this.outgoing.run(async () => {
      // Two rounds may both have seen it waiting: only the first sends it.
      if (!this.d.searches.isWaiting(t.tcn)) return false;
      const now = this.clock();
      const limit = this.d.peerLimit(t.state, t.tot);
      if (!this.d.capacity.allowsOutgoing(t.state, t.tot, limit, now)) {
        const what = limit?.scope === 'type' ? `${t.tot} searches` : 'fingerprint searches';
        this.d.searches.waitingFor(t.tcn, `${t.state} declared ${limit?.limit} ${what} per day (2008/616 Art. 13); sent after ${nextUtcDay(now).toISOString()}`);
        return false;
      }
      const file = this.d.searches.payload(t.searchId);
      const meta = this.d.searches.searchMeta(t.searchId);
      if (!file || !meta) return false;
      const payload = routeSearch(file, { peer: t.state, origin: this.d.origin, tcn: t.tcn, now });
      const parsed = parseTransaction(payload);
      await this.d.pipeline().originate({
        peer: t.state,
        channel: 'fp',
        reply: { payload, payloadContentType: FP_CONTENT_TYPE, subject: `${this.d.ourState}/${t.tot}` },
        correlation: t.searchId,
        records: [
          {
            direction: 'sent',
            role: 'request',
            messageType: t.tot,
            result: 'n/a',
            referenceNumbers: [t.tcn, t.searchId],
            data: parsed.ok ? fingerprintData(parsed.value) : { categories: ['dactyloscopic-data'], recordIds: [t.tcn], count: 0 },
            searchingBody: { state: this.d.ourState, agency: this.d.agency },
            fileManagingBody: { state: t.state, agency: 'NCP' },
            search: { reason: meta.reason, officerId: meta.officerId, orderingOfficerId: meta.orderingOfficerId },
          },
        ],
        persist: (_db, messageId) => {
          this.d.searches.sent(t.tcn, messageId, now);
          this.d.capacity.recordOutgoing(t.tcn, t.state, t.tot, now);
          this.d.statistics.add({ year: now.getUTCFullYear(), state: t.state, channel: 'fp', direction: 'out', requests: 1, messageType: t.tot });
        },
      });
      return true;
    });
  }

  /** Waiting searches, oldest first, as far as each State's capacity allows today. */
  async releaseWaiting(): Promise<void> {
    const full = new Set<string>();
    for (const w of this.d.searches.waiting()) {
      const key = `${w.state}/${w.tot}`;
      if (full.has(key)) continue;
      if (!(await this.sendTarget(w))) full.add(key);
    }
    const waiting = this.d.searches.waitingCounts();
    if (waiting.length === 0) this.d.report?.('fp-capacity', 'up', 'no fingerprint search waits for a peer\'s daily capacity');
    else
      this.d.report?.(
        'fp-capacity',
        'degraded',
        `waiting for the next UTC day (peers' declared capacity): ${waiting.map((w) => `${w.count} ${w.tot} to ${w.state}`).join(', ')}`,
      );
  }
}
