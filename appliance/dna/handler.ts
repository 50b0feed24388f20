/**
 * The DNA channel handler: a parsed PRUEMDNA request (or the error that parsing produced) in, the PRUEMDNA
 * answer out. Pure apart from the engine's read-only search; no transport, no clock (ctx.now), no throwing.
 *
 * Answer layout (ICD §4.2.3.1, §4.2.3.3, DNA-REPORT): for every requesting profile, first its quality-0 datas
 * — result H with the original profile when there are hits, result N with an empty profile when there are
 * none, result E with a message when it cannot be searched — carrying `rescount`, then one datas per hit with
 * our profile: profile_ident = our national id, match_id = the requesting profile_ident, quality 1–4, hitcount.
 *
 * Header: direction A; `requesting` is the request's block unchanged (the requester's id and time, for
 * correlation); `requested` is ours: source = our State, destination = the requester (the answer travels that
 * way), request_id = the request's, date/time = now. `ref` repeats the request's ref.
 */
import { isMemberStateCode, type MemberStateCode } from '../peers/member-states.js';
import type { ReadableRequest } from './codec.js';
import type { Hit } from './engine.js';
import {
  dnaError,
  isDnaError,
  MAX_DATAS,
  SCHEMA_VERSION,
  type DnaError,
  type HeaderInfo,
  type PruemDatas,
  type PruemDnaMessage,
  type RequestType,
} from './message.js';
import { checkInclusion, normaliseProfile } from './normalise.js';
import type { DnaLoci, NormalisedProfile, ProfileType } from './profile.js';

export interface DnaHandlerContext {
  /** `searchBatch`, when the engine has it, matches an Art. 4 request's profiles in one call (the engine's batch path). */
  readonly engine: { search(profile: NormalisedProfile): Hit[]; searchBatch?(profiles: readonly NormalisedProfile[]): Hit[][] };
  readonly ourState: MemberStateCode;
  readonly now: Date;
  /** The State whose certificate signed the request (authenticated by the transport). */
  readonly requestingState: MemberStateCode;
  readonly generator: string;
}

export interface ProfileOutcome {
  readonly profileRef: string;
  readonly result: 'H' | 'N' | 'E';
  readonly hits: ReadonlyArray<{ readonly nationalProfileId: string; readonly quality: 1 | 2 | 3 | 4 }>;
}

export interface DnaAnswer {
  /** The answer; when more than 500 datas are needed this is the first of `answers`. */
  readonly answer: PruemDnaMessage;
  /** All answer messages (≤ 500 datas each, a profile's hits follow its quality-0 datas). Usually one. */
  readonly answers: readonly PruemDnaMessage[];
  readonly outcomes: readonly ProfileOutcome[];
}

export function xmlDate(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** UTC with an explicit zone, so no peer has to guess ours. */
export function xmlTime(d: Date): string {
  return `${d.toISOString().slice(11, 19)}Z`;
}

function rawLoci(loci: DnaLoci): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, pair] of Object.entries(loci)) if (pair) out[name] = [pair[0], pair[1]];
  return out;
}

/**
 * A request's profiles normalised as the answer reads them; the `ok` ones, in order, are what `searchBatch` is
 * given (the search pool, search-pool.ts, computes the same list off the daemon's thread).
 */
export function normaliseRequestProfiles(request: PruemDnaMessage): ReturnType<typeof normaliseProfile>[] {
  return request.datas.map((d) => normaliseProfile({ type: d.type, loci: rawLoci(d.profile?.loci ?? {}) }));
}

/** Packs groups (a profile's datas) into messages of at most MAX_DATAS, splitting only oversized groups. */
function pack(groups: PruemDatas[][]): PruemDatas[][] {
  const messages: PruemDatas[][] = [];
  let current: PruemDatas[] = [];
  for (const group of groups) {
    if (current.length + group.length > MAX_DATAS && current.length > 0) {
      messages.push(current);
      current = [];
    }
    for (const d of group) {
      if (current.length === MAX_DATAS) {
        messages.push(current);
        current = [];
      }
      current.push(d);
    }
  }
  if (current.length > 0 || messages.length === 0) messages.push(current);
  return messages;
}

function errorDatas(d: Pick<PruemDatas, 'reqtype' | 'date' | 'type' | 'agency' | 'profileIdent'>, message: string): PruemDatas {
  return { reqtype: d.reqtype, date: d.date, type: d.type, result: 'E', agency: d.agency, profileIdent: d.profileIdent, message, quality: 0 };
}

/** A PRUEM_string (≤ 255 characters) from text read off a refused request. */
function pruemString(s: string | undefined): string {
  return (s ?? '').slice(0, 255);
}

function isoCode(s: string | undefined): string | undefined {
  const v = s?.trim();
  return v !== undefined && isMemberStateCode(v) ? v : undefined;
}

/** An xs:date that is a real day, else undefined (the answer must pass the schema whatever the request held). */
function xsDate(s: string | undefined): string | undefined {
  const v = s?.trim();
  if (!v || !/^\d{4}-\d{2}-\d{2}$/.test(v)) return undefined;
  const d = new Date(`${v}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === v ? v : undefined;
}

function xsTime(s: string | undefined): string | undefined {
  const v = s?.trim();
  return v && /^([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?(Z|[+-](0\d|1[0-4]):[0-5]\d)?$/.test(v) ? v : undefined;
}

/**
 * `readable`: when `request` is an error, what of the refused document could still be read (codec.ts), so the
 * E answer carries its ref, request ids, requesting State and profile idents.
 */
export function answerDnaRequest(request: PruemDnaMessage | DnaError, ctx: DnaHandlerContext, readable?: ReadableRequest): DnaAnswer {
  const date = xmlDate(ctx.now);
  const time = xmlTime(ctx.now);
  const ours = (requestId: string): HeaderInfo => ({
    sourceIsocode: ctx.ourState,
    destinationIsocode: ctx.requestingState,
    requestId,
    date,
    time,
  });

  if (isDnaError(request)) {
    // The request is refused as a whole. Whatever of its header and datas could be read goes back, so the
    // requester can tell which request (and which profiles) failed; nothing readable: one anonymous E datas.
    const r = readable;
    const requestId = pruemString(r?.requesting?.requestId);
    const reqtypes = new Set((r?.datas ?? []).map((d) => d.reqtype?.trim()));
    const reqtype: RequestType = reqtypes.has('4') || (r?.datas.length ?? 0) > 1 ? 4 : 3;
    const readDatas = (r?.datas ?? []).slice(0, MAX_DATAS);
    const datas =
      readDatas.length > 0
        ? readDatas.map((d) =>
            errorDatas(
              { reqtype, date: xsDate(d.date) ?? date, type: d.type?.trim() === 'P' ? 'P' : 'S', agency: pruemString(d.agency), profileIdent: pruemString(d.profileIdent) },
              request.message,
            ),
          )
        : [errorDatas({ reqtype: 3, date, type: 'S', agency: '', profileIdent: '' }, request.message)];
    const answer: PruemDnaMessage = {
      header: {
        direction: 'A',
        ref: pruemString(r?.ref),
        generator: ctx.generator,
        schemaVersion: SCHEMA_VERSION,
        requesting: {
          sourceIsocode: isoCode(r?.requesting?.sourceIsocode) ?? ctx.requestingState,
          destinationIsocode: isoCode(r?.requesting?.destinationIsocode) ?? ctx.ourState,
          requestId,
          date: xsDate(r?.requesting?.date) ?? date,
          time: xsTime(r?.requesting?.time) ?? time,
        },
        requested: ours(requestId),
      },
      datas,
    };
    return { answer, answers: [answer], outcomes: datas.map((d) => ({ profileRef: d.profileIdent, result: 'E' as const, hits: [] })) };
  }

  const h = request.header;
  const header = {
    direction: 'A' as const,
    ref: h.ref,
    generator: ctx.generator,
    schemaVersion: SCHEMA_VERSION,
    requesting: h.requesting,
    requested: ours(h.requesting.requestId),
  };

  // Problems with the message as a whole: every profile is answered with the same error.
  let wholeError: DnaError | undefined;
  if (h.direction !== 'R') wholeError = dnaError('NOT_A_REQUEST', 'the message is an answer (direction A), not a request');
  else if (h.requesting.destinationIsocode !== ctx.ourState) {
    wholeError = dnaError('WRONG_DESTINATION', `request addressed to ${h.requesting.destinationIsocode}, this is ${ctx.ourState}`);
  } else if (h.requesting.sourceIsocode !== ctx.requestingState) {
    wholeError = dnaError('SENDER_MISMATCH', `request claims to come from ${h.requesting.sourceIsocode} but was sent by ${ctx.requestingState}`);
  }

  const groups: PruemDatas[][] = [];
  const outcomes: ProfileOutcome[] = [];
  // Requests are normalised again: DNA-WILD is idempotent and peers do not all apply it. The searchable
  // profiles are then matched in one batch (Art. 4: up to 500) when the engine has a batch path.
  const normalisedAll = wholeError ? [] : normaliseRequestProfiles(request);
  const searchable = normalisedAll.flatMap((n) => (n.ok ? [n.profile] : []));
  const batch = ctx.engine.searchBatch && searchable.length > 1 ? ctx.engine.searchBatch(searchable) : null;
  let searched = 0;
  for (const [i, d] of request.datas.entries()) {
    if (wholeError) {
      groups.push([errorDatas(d, wholeError.message)]);
      outcomes.push({ profileRef: d.profileIdent, result: 'E', hits: [] });
      continue;
    }
    const normalised = normalisedAll[i]!;
    if (!normalised.ok) {
      groups.push([errorDatas(d, `profile refused (${normalised.refusal.code}): ${normalised.refusal.reason}`)]);
      outcomes.push({ profileRef: d.profileIdent, result: 'E', hits: [] });
      continue;
    }
    const hits = batch ? batch[searched++]! : ctx.engine.search(normalised.profile);
    const result = hits.length > 0 ? 'H' : 'N';
    const echo: PruemDatas = {
      reqtype: d.reqtype,
      date: d.date,
      type: d.type,
      result,
      agency: d.agency,
      profileIdent: d.profileIdent,
      // ICD: "If direction = A AND result ≠ H: empty".
      ...(result === 'H' && d.profile ? { profile: d.profile } : {}),
      quality: 0,
      rescount: hits.length,
    };
    const group: PruemDatas[] = [echo];
    for (const hit of hits) {
      group.push({
        reqtype: d.reqtype,
        date: hit.record.storedOn,
        type: hit.record.type,
        result: 'H',
        agency: hit.record.agency,
        profileIdent: hit.nationalProfileId,
        profile: { loci: hit.record.profile.loci, profileId: hit.nationalProfileId },
        matchId: d.profileIdent,
        quality: hit.quality,
        hitcount: hit.hitcount,
      });
    }
    groups.push(group);
    outcomes.push({ profileRef: d.profileIdent, result, hits: hits.map((x) => ({ nationalProfileId: x.nationalProfileId, quality: x.quality })) });
  }
  const answers = pack(groups).map((datas) => ({ header, datas }));
  return { answer: answers[0]!, answers, outcomes };
}

// ---- outgoing requests ---------------------------------------------------------------------------------------

export interface OutgoingProfile {
  /** Our reference number for the profile (DNA-REF); comes back as match_id in hits. */
  readonly profileIdent: string;
  readonly agency: string;
  /** Date the profile was stored (xs:date). */
  readonly date: string;
  /** Already normalised (normalise.ts); type P or S comes from here. */
  readonly profile: NormalisedProfile;
}

export interface DnaRequestSpec {
  readonly reqtype: RequestType;
  readonly requestingState: MemberStateCode;
  readonly requestedState: MemberStateCode;
  readonly requestId: string;
  readonly ref?: string;
  readonly generator: string;
  readonly now: Date;
  readonly profiles: readonly OutgoingProfile[];
}

/**
 * Builds an Art. 3 (one profile) or Art. 4 (bulk) request. More than 500 profiles are split into several
 * messages whose request ids (and refs) get a "-1", "-2"… suffix. Profiles that fail DNA-INCL are refused:
 * the Annex forbids sending them.
 */
export function buildDnaRequest(spec: DnaRequestSpec): { ok: true; messages: PruemDnaMessage[] } | { ok: false; error: DnaError } {
  if (spec.profiles.length === 0) return { ok: false, error: dnaError('MISSING_PROFILE', 'a request needs at least one profile') };
  if (spec.reqtype === 3 && spec.profiles.length > 1) {
    return { ok: false, error: dnaError('ART3_SINGLE_PROFILE', `an Art. 3 request carries one profile, not ${spec.profiles.length}`) };
  }
  const seen = new Set<string>();
  for (const p of spec.profiles) {
    if (seen.has(p.profileIdent)) return { ok: false, error: dnaError('DUPLICATE_PROFILE_IDENT', `profile ${p.profileIdent} is given twice`) };
    seen.add(p.profileIdent);
    const refusal = checkInclusion(p.profile);
    if (refusal) return { ok: false, error: dnaError('PROFILE_REFUSED', `profile ${p.profileIdent} refused (${refusal.code}): ${refusal.reason}`) };
  }
  const date = xmlDate(spec.now);
  const time = xmlTime(spec.now);
  const chunks: OutgoingProfile[][] = [];
  for (let i = 0; i < spec.profiles.length; i += MAX_DATAS) chunks.push(spec.profiles.slice(i, i + MAX_DATAS));
  const messages = chunks.map((chunk, i): PruemDnaMessage => {
    const suffix = chunks.length > 1 ? `-${i + 1}` : '';
    const requestId = `${spec.requestId}${suffix}`;
    return {
      header: {
        direction: 'R',
        ref: `${spec.ref ?? spec.requestId}${suffix}`,
        generator: spec.generator,
        schemaVersion: SCHEMA_VERSION,
        requesting: { sourceIsocode: spec.requestingState, destinationIsocode: spec.requestedState, requestId, date, time },
        requested: { sourceIsocode: spec.requestedState, destinationIsocode: spec.requestingState, requestId, date, time },
      },
      datas: chunk.map((p) => ({
        reqtype: spec.reqtype,
        date: p.date,
        type: p.profile.type as ProfileType,
        result: 'U',
        agency: p.agency,
        profileIdent: p.profileIdent,
        profile: { loci: p.profile.loci, profileId: p.profileIdent },
      })),
    };
  });
  return { ok: true, messages };
}
