import { z } from 'zod';
import type { ExchangePipeline, OriginMessage } from '../exchange/pipeline.js';
import { MEMBER_STATES, type MemberStateCode } from '../peers/member-states.js';
import type { OfficerRegistry } from '../audit/officers.js';
import { normaliseProfile } from '../dna/normalise.js';
import { buildDnaRequest, xmlDate, type OutgoingProfile } from '../dna/handler.js';
import { writePruemDna } from '../dna/codec.js';
import { MAX_DATAS } from '../dna/message.js';
import type { DnaSearches, SearchView } from './searches.js';
import { DNA_CONTENT_TYPE } from './channel.js';

/** What an officer's client sends (POST /api/dna/searches). Loci are raw national values; we normalise. */
export const dnaSearchInput = z
  .object({
    officerId: z.string().trim().min(1).max(100),
    orderingOfficerId: z.string().trim().min(1).max(100),
    reason: z.string().trim().min(3).max(1000),
    /** 3: one profile after a national search; 4: comparison of unidentified profiles by agreement. */
    reqtype: z.union([z.literal(3), z.literal(4)]).optional(),
    targets: z.union([z.literal('all'), z.array(z.enum(MEMBER_STATES)).min(1)]),
    profiles: z
      .array(
        z
          .object({
            id: z.string().trim().min(1).max(128),
            type: z.enum(['P', 'S']),
            agency: z.string().max(255).optional(),
            loci: z.record(z.string(), z.array(z.string().max(32)).min(1).max(3)),
          })
          .strict(),
      )
      .min(1)
      .max(10_000),
  })
  .strict();

export type DnaSearchInput = z.infer<typeof dnaSearchInput>;

export type SubmitErrorCode = 'VALIDATION_FAILED' | 'OFFICER_NOT_AUTHORISED' | 'PROFILE_REFUSED' | 'NO_TARGET' | 'ART3_SINGLE_PROFILE';
export interface SubmitError {
  readonly code: SubmitErrorCode;
  readonly message: string;
  readonly details?: readonly string[];
}

export interface SubmitDeps {
  readonly pipeline: Pick<ExchangePipeline, 'originateAll'>;
  readonly searches: DnaSearches;
  readonly officers: OfficerRegistry;
  /** The peer directory (PeerDirectory): which States are DNA peers we can encrypt to. */
  readonly directory: {
    list(): readonly { readonly code: MemberStateCode }[];
    get(code: MemberStateCode): { readonly channels: { readonly dna: { readonly enabled: boolean } }; readonly encryption: unknown } | undefined;
  };
  readonly ourState: MemberStateCode;
  readonly agency: string;
  readonly generator: string;
  readonly maxProfilesPerMessage: number;
  readonly clock?: () => Date;
}

/**
 * An authorised officer's search abroad: checked (both officers authorised for DNA, reason given —
 * Art. 30(2)), normalised for export (DNA-WILD, DNA-INCL), split per message-size limit, then
 * sealed for every requested State and queued and audited for all of them at once, or not at all.
 */
export async function submitDnaSearch(
  deps: SubmitDeps,
  raw: unknown,
  /** Written in the same transaction as the search (a comparison run's progress: a crash never sends a batch twice). */
  alsoInTransaction?: (searchId: string) => void,
): Promise<{ ok: true; search: SearchView } | { ok: false; error: SubmitError }> {
  const parsed = dnaSearchInput.safeParse(raw);
  if (!parsed.success) {
    return {
      ok: false,
      error: { code: 'VALIDATION_FAILED', message: 'invalid search', details: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`) },
    };
  }
  const input = parsed.data;
  const now = (deps.clock ?? (() => new Date()))();
  // Both the officer who runs the search and the one who ordered it must be on the list (Art. 30(2)(a)).
  for (const officer of [input.officerId, input.orderingOfficerId]) {
    const denied = deps.officers.assertAuthorised(officer, 'dna', now);
    if (denied) return { ok: false, error: { code: 'OFFICER_NOT_AUTHORISED', message: denied.message } };
  }
  const reqtype = input.reqtype ?? (input.profiles.length > 1 ? 4 : 3);
  if (reqtype === 3 && input.profiles.length > 1) {
    return { ok: false, error: { code: 'ART3_SINGLE_PROFILE', message: `an Art. 3 search carries one profile, not ${input.profiles.length}` } };
  }

  const refused: string[] = [];
  const outgoing: OutgoingProfile[] = [];
  for (const p of input.profiles) {
    const n = normaliseProfile({ type: p.type, loci: p.loci });
    if (!n.ok) refused.push(`${p.id}: ${n.refusal.code}: ${n.refusal.reason}`);
    else outgoing.push({ profileIdent: p.id, agency: p.agency ?? deps.agency, date: xmlDate(now), profile: n.profile });
  }
  if (refused.length) return { ok: false, error: { code: 'PROFILE_REFUSED', message: `${refused.length} profile(s) refused`, details: refused } };

  const targets = (
    input.targets === 'all' ? deps.directory.list().map((p) => p.code) : input.targets
  ).filter((code) => {
    const peer = deps.directory.get(code);
    return code !== deps.ourState && peer !== undefined && peer.channels.dna.enabled && peer.encryption !== null;
  });
  if (targets.length === 0) return { ok: false, error: { code: 'NO_TARGET', message: 'none of the requested States is a configured DNA peer' } };

  const search = deps.searches.prepare({ reqtype, officerId: input.officerId, orderingOfficerId: input.orderingOfficerId, reason: input.reason, profileIds: outgoing.map((o) => o.profileIdent) });
  const perMessage = Math.min(deps.maxProfilesPerMessage, MAX_DATAS);
  const messages: OriginMessage[] = [];
  for (const state of targets) {
    for (let i = 0, part = 1; i < outgoing.length; i += perMessage, part++) {
      const chunk = outgoing.slice(i, i + perMessage);
      const multi = outgoing.length > perMessage;
      const requestId = `${deps.ourState}-${search.id.slice(0, 8)}-${state}${multi ? `-${part}` : ''}`;
      const built = buildDnaRequest({ reqtype, requestingState: deps.ourState, requestedState: state, requestId, generator: deps.generator, now, profiles: chunk });
      if (!built.ok) return { ok: false, error: { code: 'PROFILE_REFUSED', message: built.error.message } };
      for (const message of built.messages) {
        const id = message.header.requesting.requestId;
        messages.push({
          peer: state,
          channel: 'dna',
          reply: { payload: Buffer.from(writePruemDna(message)), payloadContentType: DNA_CONTENT_TYPE, subject: `${deps.ourState}/DNA` },
          correlation: search.id,
          records: [
            {
              direction: 'sent',
              role: 'request',
              messageType: `DNA Art. ${reqtype} request`,
              result: 'n/a',
              referenceNumbers: [id, search.id],
              data: { categories: ['dna-profile'], recordIds: message.datas.map((d) => d.profileIdent), count: message.datas.length },
              searchingBody: { state: deps.ourState, agency: deps.agency },
              fileManagingBody: { state, agency: 'NCP' },
              search: { reason: input.reason, officerId: input.officerId, orderingOfficerId: input.orderingOfficerId },
            },
          ],
          persist: (_db, messageId) => deps.searches.requestSent(search.id, state, id, messageId),
        });
      }
    }
  }
  // All or nothing: every target's message is sealed before any is queued, and the search, its
  // requests, queue rows and audit records are written in one transaction.
  await deps.pipeline.originateAll(messages, () => {
    deps.searches.insert(search);
    alsoInTransaction?.(search.id);
  });
  const view = deps.searches.get(search.id);
  if (!view) throw new Error(`search ${search.id} vanished`);
  return { ok: true, search: view };
}
