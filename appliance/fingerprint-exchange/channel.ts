import type { ChannelHandler, ExchangeRecord, HandlerOutcome, InboundMessage } from '../exchange/handler.js';
import type { Statistics } from '../exchange/statistics.js';
import type { MemberStateCode } from '../peers/member-states.js';
import { deadlineFor } from '../queue/deadlines.js';
import { nistError, type NistError } from '../fingerprint/errors.js';
import { readType1 } from '../fingerprint/Type1Record.js';
import { readType2 } from '../fingerprint/Type2Record.js';
import { candidateLimit, isRequestTot, type RequestTot } from '../fingerprint/tot.js';
import { parseTransaction, type1, type Transaction } from '../fingerprint/transaction.js';
import type { TaggedRecord } from '../fingerprint/TaggedRecord.js';
import { validateIntI } from '../fingerprint/validate.js';
import { errTransaction, requestFacts, type RequestFacts } from './answers.js';
import { nextUtcDay, type CapacityLedger, type TcnIssuer } from './capacity.js';
import type { IncomingRequests } from './requests.js';
import type { FpSearches } from './searches.js';
import { fingerprintData } from './records.js';

/**
 * ANSI/NIST files travel as raw bytes inside S/MIME: application/octet-stream (what `openssl cms`
 * peers produce too); a few peers label them with an ANSI/NIST type.
 */
export const FP_CONTENT_TYPE = 'application/octet-stream';
const ACCEPTED = new Set(['application/octet-stream', 'application/x-ansi-nist', 'application/x-an2', 'application/octet']);

export interface FpChannelDeps {
  readonly ourState: MemberStateCode;
  /** Our ORI: `CC/agency` (Appendix 5 character set). */
  readonly origin: string;
  readonly agency: string;
  readonly tcns: TcnIssuer;
  readonly capacity: CapacityLedger;
  /** Searches per day of this type we answer for this peer (null: no limit). */
  readonly ourLimit: (peer: MemberStateCode, tot: RequestTot) => number | null;
  /** Whether a national AFIS is connected at all. */
  readonly afisConnected: () => boolean;
  /** Whether fingerprint exchange with this peer is enabled in our peer directory (absent: every signed peer). */
  readonly peerEnabled?: (peer: MemberStateCode) => boolean;
  readonly requests: IncomingRequests;
  readonly searches: FpSearches;
  readonly statistics: Statistics;
  /** Called after a request was queued for the AFIS (the service hands it over). */
  readonly queued?: () => void;
  readonly clock?: () => Date;
}

function type2Of(t: Transaction): TaggedRecord | undefined {
  return t.records.find((r): r is TaggedRecord => r.kind === 'tagged' && r.type === 2);
}

/**
 * The fingerprint channel as the pipeline sees it. A search from another State (CPS, PMS, MPS,
 * MMS) is read and checked against INT-I at once: an invalid one, one beyond our declared daily
 * capacity for that State and type, or any search while no AFIS is connected, is answered with an
 * ERR straight away; a valid one is queued for the national AFIS (fingerprint-exchange/service.ts
 * hands it over and sends the SREs back later through the pipeline). An SRE or ERR answering one of
 * our searches is filed against it by its TCR. Nothing is dropped without an answer or a record.
 */
export function fingerprintChannelHandler(deps: FpChannelDeps): ChannelHandler {
  const clock = deps.clock ?? (() => new Date());
  return {
    channel: 'fp',
    accepts: (contentType) => ACCEPTED.has(contentType.split(';')[0]?.trim().toLowerCase() ?? ''),
    handle(message: InboundMessage): HandlerOutcome {
      const now = clock();
      const parsed = parseTransaction(message.payload);
      const t = parsed.ok ? parsed.value : null;
      const facts = requestFacts(t);
      if (t && (facts.tot === 'SRE' || facts.tot === 'ERR')) return answerFromPeer(deps, t, facts, message, now);

      const errors: NistError[] = parsed.ok ? validateIntI(parsed.value, { self: deps.ourState, peer: message.sender }) : [...parsed.errors];
      if (!errors.length && !isRequestTot(facts.tot ?? '')) errors.push(nistError('116', -1, '1.004', `${facts.tot ?? ''} IS NOT A SEARCH`));
      if (errors.length) return refuse(deps, message, facts, errors, now, 'invalid');
      const tot = facts.tot as RequestTot;
      if (deps.peerEnabled && !deps.peerEnabled(message.sender)) {
        return refuse(deps, message, facts, [nistError('003', -1, '1.008', `FINGERPRINT EXCHANGE WITH ${message.sender} IS NOT ENABLED AT THE REQUESTED NCP`)], now, 'peer not enabled');
      }
      if (!deps.afisConnected()) {
        return refuse(deps, message, facts, [nistError('999', -1, '1.004', 'NO AFIS IS CONNECTED TO THE REQUESTED NCP; SEARCH NOT RUN')], now, 'no AFIS');
      }
      const limit = deps.ourLimit(message.sender, tot);
      const place = deps.capacity.reserveIncoming(message.inboxId, message.sender, tot, limit, now);
      if (!place.ok) {
        const again = nextUtcDay(now).toISOString().replace(/\.\d{3}Z$/, 'Z');
        return refuse(
          deps,
          message,
          facts,
          // One ERM line is at most 128 characters: this one stays under it.
          [nistError('999', -1, '1.004', `DAILY CAPACITY REACHED: ${place.limit} ${tot} PER DAY FOR ${message.sender} (ART. 13); SEND AGAIN AFTER ${again}`)],
          now,
          'over capacity',
        );
      }
      const tcn = facts.tcn ?? '';
      // Our own TCN for the AFIS: the requests of two States may carry the same TCN.
      const afisTcn = deps.tcns.next(now);
      // ENC asks for at most this many; Table 11 caps it for the type of search.
      const maxCandidates = Math.min(candidateLimit(tot, facts.palm), facts.expectedCandidates ?? Number.MAX_SAFE_INTEGER);
      const received: ExchangeRecord = {
        direction: 'received',
        role: 'request',
        messageType: tot,
        result: 'n/a',
        referenceNumbers: [tcn],
        data: fingerprintData(t!),
        searchingBody: bodyOf(facts.origin, message.sender),
        fileManagingBody: { state: deps.ourState, agency: deps.agency },
      };
      return {
        replies: [],
        summary: `fp ${tot} ${tcn} from ${message.sender}: queued for the AFIS (priority ${facts.priority ?? 9}, at most ${maxCandidates} candidate(s))`,
        records: [received],
        // The same search (by its TCN) accepted twice is a replay; one we refused may be sent again.
        requestKey: `search:${tcn}`,
        persist: () => {
          deps.requests.add({
            id: message.inboxId,
            afisTcn,
            peer: message.sender,
            tot,
            tcn,
            // PRY is optional (Annex ch.2 §3.1.6): without it, lowest priority.
            priority: facts.priority ?? 9,
            receivedAt: message.receivedAt,
            deadline: deadlineFor('fp', message.receivedAt),
            maxCandidates,
            facts,
            transaction: message.payload,
          });
          deps.capacity.commitIncoming(message.inboxId, now);
          deps.statistics.add({ year: now.getUTCFullYear(), state: message.sender, channel: 'fp', direction: 'in', requests: 1, messageType: tot });
          if (deps.queued) setImmediate(deps.queued);
        },
      };
    },
  };
}

/** `CC/agency` from a Type 1 ORI, when it names the sender; else the sender's NCP. */
function bodyOf(ori: string | undefined, sender: MemberStateCode): { state: MemberStateCode; agency: string } {
  return { state: sender, agency: ori && ori.startsWith(`${sender}/`) ? ori.slice(3) : 'NCP' };
}

function refuse(deps: FpChannelDeps, message: InboundMessage, facts: RequestFacts, errors: readonly NistError[], now: Date, why: string): HandlerOutcome {
  deps.capacity.release(message.inboxId);
  const tcn = deps.tcns.next(now);
  const payload = errTransaction({ facts, requester: message.sender, origin: deps.origin, tcn, now }, errors);
  const messageType = facts.tot && isRequestTot(facts.tot) ? facts.tot : 'fingerprint request';
  const refs = [facts.tcn ?? '', tcn].filter((r) => r !== '');
  const searchingBody = bodyOf(facts.origin, message.sender);
  const fileManagingBody = { state: deps.ourState, agency: deps.agency };
  return {
    replies: [{ payload, payloadContentType: FP_CONTENT_TYPE, subject: `${deps.ourState}/ERR` }],
    summary: `fp ${messageType} ${facts.tcn ?? '(no TCN)'} from ${message.sender} refused (${why}): ${errors.length} error(s), first ${errors[0]?.code ?? ''}`,
    records: [
      { direction: 'received', role: 'request', messageType, result: 'error', referenceNumbers: refs.slice(0, 1), data: { categories: ['dactyloscopic-data'], recordIds: facts.tcn ? [facts.tcn] : [], count: 1 }, searchingBody, fileManagingBody },
      { direction: 'sent', role: 'response', messageType: 'ERR', result: 'error', referenceNumbers: refs, data: { categories: ['none'], recordIds: [tcn], count: 0 }, searchingBody, fileManagingBody },
    ],
    persist: () => {
      deps.statistics.add({ year: now.getUTCFullYear(), state: message.sender, channel: 'fp', direction: 'in', requests: 1, errors: 1, messageType });
    },
  };
}

function answerFromPeer(deps: FpChannelDeps, t: Transaction, facts: RequestFacts, message: InboundMessage, now: Date): HandlerOutcome {
  const header = readType1(type1(t));
  const t2 = type2Of(t);
  const d = t2 ? readType2(t2) : undefined;
  const tcr = header.tcr ?? '';
  const isErr = facts.tot === 'ERR';
  const rls = d?.respondents;
  const result: 'hit' | 'no-hit' | 'error' = isErr ? 'error' : rls?.result === 'I' ? 'hit' : 'no-hit';
  const errors = isErr ? (d?.errorMessage ?? '').split(/\r?\n/).filter((l) => l.trim() !== '') : [];
  const searchedTot = rls?.tot && isRequestTot(rls.tot) ? rls.tot : undefined;
  return {
    replies: [],
    summary: `fp ${facts.tot} ${header.tcn ?? ''} from ${message.sender} for our ${tcr}: ${result}${rls?.candidate ? ` ${rls.candidate}` : ''}`,
    ...(header.tcn ? { requestKey: `answer:${header.tcn}` } : {}),
    records: [
      {
        direction: 'received',
        role: 'response',
        messageType: facts.tot ?? 'SRE',
        result,
        referenceNumbers: [tcr, header.tcn ?? ''].filter((r) => r !== ''),
        data: { categories: t.records.some((r) => r.type === 4 || r.type === 13 || r.type === 15) ? ['dactyloscopic-data'] : ['none'], recordIds: d?.criminalReference ? [d.criminalReference] : [], count: result === 'hit' ? 1 : 0 },
        searchingBody: { state: deps.ourState, agency: deps.agency },
        fileManagingBody: bodyOf(header.origin, message.sender),
      },
    ],
    persist: () => {
      // An answer to nothing we sent is still audited above; it has nothing to be filed under.
      const search = deps.searches.answerReceived(tcr, message.sender, {
        result,
        ...(rls?.candidate !== undefined ? { candidate: rls.candidate } : {}),
        ...(d?.criminalReference !== undefined ? { reference: d.criminalReference } : {}),
        ...(rls?.score !== undefined ? { score: rls.score } : {}),
        ...(d?.info !== undefined ? { info: d.info } : {}),
        errors,
      });
      if (search) {
        deps.statistics.add({
          year: now.getUTCFullYear(),
          state: message.sender,
          channel: 'fp',
          direction: 'out',
          ...(result === 'hit' ? { hits: { 1: 1 } } : result === 'no-hit' ? { noHits: 1 } : { errors: 1 }),
          ...(searchedTot ? { messageType: searchedTot } : {}),
        });
      }
    },
  };
}
