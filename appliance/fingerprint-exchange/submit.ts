import { z } from 'zod';
import type { OfficerRegistry } from '../audit/officers.js';
import type { PeerDirectory } from '../peers/directory.js';
import { MEMBER_STATES, type MemberStateCode } from '../peers/member-states.js';
import { formatNistError } from '../fingerprint/errors.js';
import { readType1 } from '../fingerprint/Type1Record.js';
import { isRequestTot, type RequestTot } from '../fingerprint/tot.js';
import { parseTransaction, type1 } from '../fingerprint/transaction.js';
import { validateIntI } from '../fingerprint/validate.js';
import type { TcnIssuer } from './capacity.js';
import type { FpSearches, FpSearchView } from './searches.js';
import type { FingerprintService } from './service.js';

/** A ten-print of 14 WSQ images is a few MB; base64 adds a third. */
export const MAX_FP_SEARCH_BYTES = 32 * 1024 * 1024;

/** What an officers' client sends (POST /api/fp/searches): the AFIS's transaction and where to send it. */
export const fpSearchInput = z
  .object({
    officerId: z.string().trim().min(1).max(100),
    orderingOfficerId: z.string().trim().min(1).max(100),
    reason: z.string().trim().min(3).max(1000),
    targets: z.union([z.literal('all'), z.array(z.enum(MEMBER_STATES)).min(1)]),
    /** The ANSI/NIST-ITL file made by the national AFIS, base64. */
    transaction: z.string().min(4).max(Math.ceil((MAX_FP_SEARCH_BYTES * 4) / 3) + 4),
  })
  .strict();

export type FpSubmitErrorCode = 'INVALID_REQUEST' | 'OFFICER_NOT_AUTHORISED' | 'TRANSACTION_INVALID' | 'NOT_A_SEARCH' | 'NO_TARGET';
export interface FpSubmitError {
  readonly code: FpSubmitErrorCode;
  readonly message: string;
  /** For TRANSACTION_INVALID: the Annex error lines (`<code>: IDC <idc> FIELD <t.fff> <text>`). */
  readonly details?: readonly string[];
}

export interface FpSubmitDeps {
  readonly searches: FpSearches;
  readonly service: FingerprintService;
  readonly officers: OfficerRegistry;
  readonly directory: PeerDirectory;
  readonly tcns: TcnIssuer;
  readonly ourState: MemberStateCode;
  /** The largest file that still fits one mail once encrypted, signed and base64-encoded (limits.maxMessageBytes). */
  readonly maxFileBytes?: number;
  readonly clock?: () => Date;
}

/**
 * An authorised officer's fingerprint search abroad: the officer is checked as for DNA (authorised
 * for `fp`, reason and ordering officer given — Art. 30(2)); the file must be an INT-I search
 * (CPS, PMS, MPS, MMS) without a single error before anything leaves; then each requested State
 * gets its own transaction (routing fields and TCN set per peer), sent at once or, beyond the
 * State's declared daily capacity, the next day.
 */
export async function submitFpSearch(deps: FpSubmitDeps, raw: unknown): Promise<{ ok: true; search: FpSearchView } | { ok: false; error: FpSubmitError }> {
  const parsed = fpSearchInput.safeParse(raw);
  if (!parsed.success) {
    return { ok: false, error: { code: 'INVALID_REQUEST', message: 'invalid search', details: parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`) } };
  }
  const input = parsed.data;
  const now = (deps.clock ?? (() => new Date()))();
  // Both the officer who runs the search and the one who ordered it must be on the list (Art. 30(2)(a)).
  for (const officer of [input.officerId, input.orderingOfficerId]) {
    const denied = deps.officers.assertAuthorised(officer, 'fp', now);
    if (denied) return { ok: false, error: { code: 'OFFICER_NOT_AUTHORISED', message: denied.message } };
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(input.transaction.replace(/\s+/g, ''))) {
    return { ok: false, error: { code: 'INVALID_REQUEST', message: 'transaction: not base64' } };
  }
  const file = Buffer.from(input.transaction, 'base64');
  if (deps.maxFileBytes !== undefined && file.length > deps.maxFileBytes) {
    return { ok: false, error: { code: 'INVALID_REQUEST', message: `transaction: ${file.length} bytes do not fit one mail (at most ${deps.maxFileBytes} bytes before S/MIME and base64)` } };
  }
  const t = parseTransaction(file);
  if (!t.ok) return { ok: false, error: { code: 'TRANSACTION_INVALID', message: 'the ANSI/NIST file cannot be read', details: t.errors.map(formatNistError) } };
  // DAI, ORI and TCN are set per peer below; the rest must already be INT-I.
  const errors = validateIntI(t.value).filter((e) => !['1.007', '1.008', '1.009'].includes(e.field));
  if (errors.length) return { ok: false, error: { code: 'TRANSACTION_INVALID', message: `${errors.length} INT-I error(s)`, details: errors.map(formatNistError) } };
  const tot = readType1(type1(t.value)).tot ?? '';
  if (!isRequestTot(tot)) return { ok: false, error: { code: 'NOT_A_SEARCH', message: `TOT ${tot} is not a search (CPS, PMS, MPS or MMS)` } };

  const targets = (input.targets === 'all' ? deps.directory.list().map((p) => p.code) : input.targets).filter((code) => {
    const peer = deps.directory.get(code);
    return code !== deps.ourState && peer !== undefined && peer.channels.fp.enabled && peer.encryption !== null;
  });
  if (targets.length === 0) return { ok: false, error: { code: 'NO_TARGET', message: 'none of the requested States is a configured fingerprint peer' } };

  const searchId = deps.searches.create({ tot: tot as RequestTot, officerId: input.officerId, orderingOfficerId: input.orderingOfficerId, reason: input.reason, payload: file });
  const planned = targets.map((state) => ({ searchId, state, tcn: deps.tcns.next(now), tot: tot as RequestTot }));
  // Everything starts 'waiting'; sendTarget sends what today's capacity allows and notes why the rest waits.
  for (const p of planned) deps.searches.addTarget(searchId, p.state, p.tcn, 'being sent');
  for (const p of planned) await deps.service.sendTarget(p);
  const view = deps.searches.get(searchId);
  if (!view) throw new Error(`search ${searchId} vanished`);
  return { ok: true, search: view };
}
