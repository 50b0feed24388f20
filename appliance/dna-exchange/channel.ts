import type { ChannelHandler, ExchangeRecord, HandlerOutcome, HandlerResult, InboundMessage } from '../exchange/handler.js';
import { IndexNotReadyError } from './national-index.js';
import type { Statistics } from '../exchange/statistics.js';
import type { MemberStateCode } from '../peers/member-states.js';
import { answerDnaRequest, type DnaHandlerContext } from '../dna/handler.js';
import { parsePruemDna, writePruemDna, type ParseResult } from '../dna/codec.js';
import type { ReadRequest } from '../dna/search-pool.js';
import type { DnaLoci } from '../dna/profile.js';
import type { PruemDnaMessage } from '../dna/message.js';
import type { NormalisedProfile } from '../dna/profile.js';
import type { Hit } from '../dna/engine.js';
import type { ProfileNotes } from './notes.js';
import type { DnaSearches } from './searches.js';
import { hitsOfExchange, type HitValidations } from './hit-validation.js';

/** The MIME type PRUEMDNA travels as inside S/MIME; peers using `openssl cms` send raw XML, which the opener labels octet-stream. */
export const DNA_CONTENT_TYPE = 'application/xml';
const ACCEPTED = new Set(['application/xml', 'text/xml', 'application/octet-stream', 'text/plain']);

export interface DnaChannelDeps {
  readonly ourState: MemberStateCode;
  /** Our NCP's agency name in audit records. */
  readonly agency: string;
  readonly generator: string;
  readonly engine: () => DnaHandlerContext['engine'];
  readonly searches: DnaSearches;
  readonly notes: ProfileNotes;
  /** Every hit, both ways, enters the DNA staff's validation list. */
  readonly validations: HitValidations;
  readonly statistics: Statistics;
  readonly clock?: () => Date;
  /**
   * Art. 4 batches off the daemon's thread (the NationalIndex's search workers): the message read (parse, XSD,
   * normalisation) and its profiles searched there. Without it, or for a single search, all happens here.
   */
  readonly batches?: {
    readRequest(payload: Uint8Array): Promise<ReadRequest | null>;
    searchBatch(profiles: readonly DnaLoci[]): Promise<Hit[][]>;
  };
}

/** One exchange's contribution to the annual counters: profiles searched, their results, hits by quality. */
function count(deps: DnaChannelDeps, now: Date, state: MemberStateCode, direction: 'in' | 'out', results: ReadonlyArray<string>, qualities: ReadonlyArray<number | undefined>): void {
  const hits: Partial<Record<1 | 2 | 3 | 4, number>> = {};
  for (const q of qualities) if (q === 1 || q === 2 || q === 3 || q === 4) hits[q] = (hits[q] ?? 0) + 1;
  deps.statistics.add({
    year: now.getUTCFullYear(),
    state,
    channel: 'dna',
    direction,
    requests: results.length,
    noHits: results.filter((r) => r === 'N').length,
    errors: results.filter((r) => r === 'E').length,
    hits,
  });
}

/** Identifiers as the audit log takes them (1–128 characters, no blanks); a peer's longer ids are cut, not refused. */
function auditIds(ids: readonly string[]): string[] {
  return [...new Set(ids.map((r) => r.trim().slice(0, 128)).filter((r) => r !== ''))];
}

function overall(results: ReadonlyArray<'H' | 'N' | 'E'>): ExchangeRecord['result'] {
  if (results.includes('H')) return 'hit';
  if (results.length > 0 && results.every((r) => r === 'E')) return 'error';
  return 'no-hit';
}

const DATAS = /<(?:[\w.-]+:)?datas[\s>/]/g;
const ANSWER = /<(?:[\w.-]+:)?direction>\s*A\s*</;

/**
 * How heavy a PRUEMDNA message is for the pipeline's scheduling (exchange/priority.ts): a request's number of
 * profiles (an Art. 3 search 1, an Art. 4 batch up to 500); a peer's answer to one of ours is filed, not
 * searched: 1. A byte scan, not a parse (~1 ms for a batch of 500); a document it misreads is parsed and
 * answered (or refused) as usual, only its place in the order can differ.
 */
export function dnaWeight(payload: Buffer): number {
  const text = payload.toString('latin1');
  if (ANSWER.test(text)) return 1;
  return Math.max(1, text.match(DATAS)?.length ?? 0);
}

/**
 * The DNA channel (Art. 3 and 4) as the pipeline sees it: a request gets the match engine's
 * answer (quality-0 echo plus hits; result E with a message for bad input, never silence);
 * an answer to one of our searches is filed against it. Notes on hit profiles and the annual
 * counters are written in the pipeline's transaction.
 */
export function dnaChannelHandler(deps: DnaChannelDeps): ChannelHandler {
  const clock = deps.clock ?? (() => new Date());
  return {
    channel: 'dna',
    accepts: (contentType) => ACCEPTED.has(contentType.split(';')[0]?.trim().toLowerCase() ?? ''),
    // Art. 3 searches and answers to file go ahead of Art. 4 batches (exchange/priority.ts).
    weigh: (message) => dnaWeight(message.payload),
    async handle(message: InboundMessage): Promise<HandlerResult> {
      const now = clock();
      // A batch (Art. 4, up to 500 profiles) is read in a search worker: parsing and validating it here held the
      // daemon's thread for most of a second. A single search is read here (~0.1 ms, no hop).
      const read = deps.batches && dnaWeight(message.payload) > 1 ? await deps.batches.readRequest(message.payload) : null;
      const parsed: ParseResult = read ? read.parsed : parsePruemDna(message.payload);
      if (parsed.ok && parsed.message.header.direction === 'A') return answerFromPeer(parsed.message, message, deps, now);

      let engine: ReturnType<DnaChannelDeps['engine']>;
      let batchHits: Hit[][] | null = null;
      try {
        engine = deps.engine();
        // Its profiles searched by the workers (both cores); the answer below takes these hits.
        if (read && deps.batches && parsed.ok && read.loci.length > 1) batchHits = await deps.batches.searchBatch(read.loci);
      } catch (e) {
        // No index yet: the request waits in the queue (not counted toward dead-lettering); it is made due when the build ends.
        if (e instanceof IndexNotReadyError) return { kind: 'defer', code: e.code, reason: e.message, waiting: true };
        throw e;
      }
      if (batchHits) {
        const hits = batchHits;
        const inner = engine;
        // The handler asks for the batch of the same profiles (normalised by the same function, in the same order).
        engine = { search: (p) => inner.search(p), searchBatch: (ps) => (ps.length === hits.length ? hits : ps.map((p) => inner.search(p))) };
      }
      const { answers, outcomes } = answerDnaRequest(
        parsed.ok ? parsed.message : parsed.error,
        { engine, ourState: deps.ourState, now, requestingState: message.sender, generator: deps.generator },
        parsed.ok ? undefined : parsed.readable,
      );
      const request = parsed.ok ? parsed.message : null;
      // A refused request is recorded under the ids it could be read with, as its E answer carries them.
      const header = answers[0]!.header;
      const requestId = header.requesting.requestId;
      const refs = auditIds([requestId, header.ref]);
      const profileRefs = auditIds(outcomes.map((o) => o.profileRef));
      const searchingAgency = (request?.datas[0]?.agency ?? answers[0]!.datas[0]?.agency ?? '').trim().slice(0, 128) || 'NCP';
      const result = overall(outcomes.map((o) => o.result));
      const hitIds = outcomes.flatMap((o) => o.hits.map((h) => h.nationalProfileId));
      const reqtype = request?.datas[0]?.reqtype ?? answers[0]!.datas[0]?.reqtype ?? 3;
      const records: ExchangeRecord[] = [
        {
          direction: 'received',
          role: 'request',
          messageType: `DNA Art. ${reqtype} request`,
          result,
          referenceNumbers: refs,
          data: { categories: ['dna-profile'], recordIds: profileRefs, count: outcomes.length },
          searchingBody: { state: message.sender, agency: searchingAgency },
          fileManagingBody: { state: deps.ourState, agency: deps.agency },
        },
        {
          direction: 'sent',
          role: 'response',
          messageType: `DNA Art. ${reqtype} answer`,
          result,
          referenceNumbers: refs,
          // A hit answer carries our hit profiles' reference numbers and loci; a no-hit answer no personal data.
          data: { categories: hitIds.length ? ['dna-profile'] : ['none'], recordIds: hitIds, count: hitIds.length },
          searchingBody: { state: message.sender, agency: searchingAgency },
          fileManagingBody: { state: deps.ourState, agency: deps.agency },
        },
      ];
      return {
        replies: answers.map((a) => ({ payload: Buffer.from(writePruemDna(a)), payloadContentType: DNA_CONTENT_TYPE, subject: `${deps.ourState}/DNA` })),
        summary: `dna request ${requestId || '(unreadable)'}: ${outcomes.length} profile(s), ${hitIds.length} hit(s)${parsed.ok ? '' : `, error ${parsed.error.code}`}`,
        records,
        // A request id answered once is not answered again, even re-encrypted (new signed bytes). Only for requests that
        // parsed: a State whose request was refused as invalid may send it corrected under the same id.
        ...(parsed.ok && requestId !== '' ? { requestKey: `request:${requestId}` } : {}),
        persist: () => {
          for (const o of outcomes) {
            for (const h of o.hits) {
              deps.notes.record({ profileId: h.nationalProfileId, state: message.sender, requestRef: requestId, requestingProfileId: o.profileRef, quality: h.quality }, now);
            }
          }
          count(deps, now, message.sender, 'in', outcomes.map((o) => o.result), outcomes.flatMap((o) => o.hits.map((h) => h.quality)));
          for (const a of answers) deps.validations.record(hitsOfExchange('in', message.sender, request, a));
        },
      };
    },
  };
}

function answerFromPeer(answer: PruemDnaMessage, message: InboundMessage, deps: DnaChannelDeps, now: Date): HandlerOutcome {
  const echoes = answer.datas.filter((d) => d.quality === 0 || d.quality === undefined);
  const hits = answer.datas.filter((d) => d.quality !== 0 && d.quality !== undefined);
  const requestId = answer.header.requesting.requestId;
  return {
    replies: [],
    summary: `dna answer ${requestId}: ${hits.length} hit(s)`,
    records: [
      {
        direction: 'received',
        role: 'response',
        messageType: 'DNA answer',
        result: overall(echoes.map((e) => e.result as 'H' | 'N' | 'E')),
        referenceNumbers: auditIds([requestId, answer.header.ref]),
        data: { categories: hits.length ? ['dna-profile'] : ['none'], recordIds: hits.map((h) => h.profileIdent), count: hits.length },
        searchingBody: { state: deps.ourState, agency: deps.agency },
        fileManagingBody: { state: message.sender, agency: hits[0]?.agency || 'NCP' },
      },
    ],
    persist: () => {
      // An answer to no search of ours is still audited above; it has nothing to be filed under.
      // Hits on a search of ours only: an answer to no search of ours has nothing to be validated against.
      if (deps.searches.answerReceived(answer, message.sender) !== null) deps.validations.record(hitsOfExchange('out', message.sender, null, answer));
      count(deps, now, message.sender, 'out', echoes.map((e) => e.result), hits.map((h) => h.quality));
    },
  };
}
