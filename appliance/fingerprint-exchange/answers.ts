import type { MemberStateCode } from '../peers/member-states.js';
import { ermText, type NistError } from '../fingerprint/errors.js';
import { makeType1, readType1 } from '../fingerprint/Type1Record.js';
import { makeType2, readType2 } from '../fingerprint/Type2Record.js';
import { checkTcn } from '../fingerprint/tcn.js';
import { type1, withContents, writeTransaction, type Transaction } from '../fingerprint/transaction.js';
import type { TaggedRecord } from '../fingerprint/TaggedRecord.js';

/**
 * Our answers to other States' fingerprint searches, as the Annex lays them out: an ERR is Type 1 +
 * Type 2 with the error lines in 2.074 ERM (Table A.6.3); an SRE is Type 1 + Type 2 with 2.064 RLS,
 * one transaction per candidate (Table A.6.2). Both carry the request's TCN as TCR (1.010), which
 * is how the requesting State files them. Pure: bytes in, bytes out.
 */
export interface RequestFacts {
  readonly tot?: string;
  readonly tcn?: string;
  /** The requester's ORI (`CC/agency`): our answer's DAI. */
  readonly origin?: string;
  readonly priority?: number;
  /** 2.010 CRN (ten-print searches) and 2.007 CNO / 2.008 SQN / 2.009 MID (latent searches). */
  readonly criminalReference?: string;
  readonly caseNumber?: string;
  readonly sequenceNumber?: string;
  readonly latentId?: string;
  readonly expectedCandidates?: number;
  readonly palm: boolean;
}

/** What can be read of a request, even of an invalid one (for its ERR). */
export function requestFacts(t: Transaction | null): RequestFacts {
  if (!t) return { palm: false };
  const header = readType1(type1(t));
  const t2 = t.records.find((r): r is TaggedRecord => r.kind === 'tagged' && r.type === 2);
  const d = t2 ? readType2(t2) : undefined;
  return {
    tot: header.tot,
    tcn: header.tcn,
    origin: header.origin,
    priority: header.priority,
    criminalReference: d?.criminalReference,
    caseNumber: d?.caseNumber,
    sequenceNumber: d?.sequenceNumber,
    latentId: d?.latentId,
    expectedCandidates: d?.expectedCandidates,
    palm: t.records.some((r) => r.type === 15),
  };
}

/** An unknown TCN is zeros with its check character (Annex ch.2 §3.1.9). */
export const UNKNOWN_TCN = '0000000000Z';

/** The request's TCN as our TCR: echoed when it has the TCN shape (even with a wrong check character, so the requester can still find it). */
function tcrFor(facts: RequestFacts): string {
  const tcn = facts.tcn ?? '';
  return /^\d{10}[A-Z]$/.test(tcn) ? tcn : UNKNOWN_TCN;
}

/** `CC/number` → `number` (MN1/MN2 carry the reference "without the primary country code"). */
function withoutCountry(ref: string | undefined): string | undefined {
  if (ref === undefined) return undefined;
  const m = /^[A-Z]{2}\/(.+)$/.exec(ref);
  return m ? m[1] : ref;
}

/** 1.007 DAI of an answer: the requester's ORI when it names the requester, else its NCP. */
function destinationFor(facts: RequestFacts, requester: MemberStateCode): string {
  // Only a well-formed ORI naming the requester is echoed: whatever else an invalid file holds stays out of our answer.
  return facts.origin && facts.origin.startsWith(`${requester}/`) && AGENCY.test(facts.origin) ? facts.origin : `${requester}/NCP`;
}

/** `CC/agency` (Appendix 5 characters). */
const AGENCY = /^[A-Z]{2}\/[0-9A-Za-z_. -]{1,32}$/;

/** What of the request's 2.008 SQN and 2.009 MID may be echoed (their INT-I forms only). */
function sequenceNumber(f: RequestFacts): string | undefined {
  return f.sequenceNumber !== undefined && /^\d{1,4}$/.test(f.sequenceNumber) ? f.sequenceNumber : undefined;
}
function latentId(f: RequestFacts): string | undefined {
  return f.latentId !== undefined && /^[A-Z]{1,2}$/.test(f.latentId) ? f.latentId : undefined;
}
function caseNumber(f: RequestFacts): string | undefined {
  const n = withoutCountry(f.caseNumber);
  return n === undefined ? undefined : sanitise(n);
}

export interface AnswerContext {
  readonly facts: RequestFacts;
  readonly requester: MemberStateCode;
  /** Our ORI, `CC/agency`. */
  readonly origin: string;
  /** A TCN we issued for this answer. */
  readonly tcn: string;
  readonly now: Date;
}

function header(tot: 'SRE' | 'ERR', c: AnswerContext): TaggedRecord {
  return makeType1({ tot, destination: destinationFor(c.facts, c.requester), origin: c.origin, tcn: c.tcn, tcr: tcrFor(c.facts), priority: c.facts.priority, now: c.now });
}

/** The ERR answer: every error of the request, one ERM line each. */
export function errTransaction(c: AnswerContext, errors: readonly NistError[]): Buffer {
  const f = c.facts;
  const latent = f.tot === 'MPS' || f.tot === 'MMS';
  // MN1 is mandatory in an ERR (Table A.6.3): the request's CRN without country code, or its case
  // number for a latent search, or its TCN when neither could be read.
  const mn1 = withoutCountry(f.criminalReference) ?? withoutCountry(f.caseNumber) ?? f.tcn ?? UNKNOWN_TCN;
  const t2 = makeType2({
    idc: 0,
    mn1: sanitise(mn1),
    mn2: latent ? caseNumber(f) : undefined,
    mn3: latent ? sequenceNumber(f) : undefined,
    mn4: latent ? latentId(f) : undefined,
    errorMessage: ermText(errors),
  });
  return writeTransaction(withContents({ records: [header('ERR', c), t2] }));
}

export interface SreCandidate {
  /** 1-based place among `total`. */
  readonly index: number;
  readonly total: number;
  /** Our national reference of the matched record (`CC/number`). */
  readonly reference: string;
  readonly score: number;
  readonly verified: boolean;
  readonly fingerPosition?: number;
}

/** One SRE: a hit (one candidate) or, with `candidate` null, the no-hit answer. */
export function sreTransaction(c: AnswerContext, searchTot: string, candidate: SreCandidate | null): Buffer {
  const f = c.facts;
  const latent = searchTot === 'MPS' || searchTot === 'MMS';
  const three = (n: number) => String(n).padStart(3, '0');
  const t2 = makeType2({
    idc: 0,
    criminalReference: candidate?.reference,
    mn1: latent ? undefined : (() => { const n = withoutCountry(f.criminalReference); return n === undefined ? undefined : sanitise(n); })(),
    mn2: latent ? caseNumber(f) : undefined,
    mn3: latent ? sequenceNumber(f) : undefined,
    mn4: latent ? latentId(f) : undefined,
    // PMS: the finger of the ten-print that hit the latent (2.063, Table 5 code in two digits).
    info: candidate && searchTot === 'PMS' && candidate.fingerPosition ? String(candidate.fingerPosition).padStart(2, '0') : undefined,
    respondents: candidate
      ? {
          tot: searchTot,
          result: 'I',
          candidate: `${three(candidate.index)}/${three(candidate.total)}`,
          score: candidate.verified ? '999999' : String(Math.max(0, Math.min(999_998, Math.round(candidate.score)))),
        }
      : { tot: searchTot, result: 'N' },
  });
  return writeTransaction(withContents({ records: [header('SRE', c), t2] }));
}

/** INT-I AN fields: keep what the character set allows. */
function sanitise(s: string): string {
  return s.replace(/[^0-9A-Za-z_.\-/ ]/g, '').slice(0, 32) || '0';
}

/** Whether a TCR names a TCN we could have issued. */
export function isWellFormedTcn(s: string | undefined): s is string {
  return s !== undefined && checkTcn(s).ok;
}
