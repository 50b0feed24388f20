import { z } from 'zod';
import { MEMBER_STATES, type Channel, type MemberStateCode } from '../peers/member-states.js';

/**
 * What the Art. 30 record holds. One audit entry = one event; the log adds the index, the period
 * and the time it was recorded (see log.ts). Field bounds are generous but finite: an entry is a
 * legal record, not a place for payloads.
 */

/** ISO 8601 UTC with milliseconds: Art. 30(2)(b)(ii) asks for the exact date and time. */
export type IsoInstant = string;

/** A body by its code: the Member State and the agency inside it (e.g. RO / IGPR-CCPI). */
export interface BodyRef {
  state: MemberStateCode;
  agency: string;
}

/**
 * The kinds of personal data a payload carried. "none" is for messages without personal data
 * (a no-hit answer, an error message).
 */
export type DataCategory =
  | 'dna-profile'
  | 'dactyloscopic-data'
  | 'vehicle-search-key'
  | 'vehicle-registration-data'
  | 'personal-data'
  | 'none';

/**
 * "The data supplied" (Art. 30(1)(b), 30(2)(b)(i)) — recorded by reference, not by copy.
 *
 * Art. 26(2) and (3) let the receiving side keep supplied data only as long as needed for comparing,
 * answering and the Art. 30 record, and SPEC DP-PURPOSE deletes it right after. Copying DNA profiles,
 * fingerprint images or owner data into a log kept two years would turn the log into a second
 * database of exactly the data the law wants gone. So the record keeps what makes the supply
 * identifiable and checkable:
 *   - the reference numbers / identifiers of the supplied records (DNA reference numbers, TCN/TCR,
 *     the searched plate or VIN) — the Prüm "reference data", which lead back to the record in the
 *     file-managing State's own system;
 *   - the categories and count of data items;
 *   - the SHA-256 of the payload exactly as exchanged (after decryption), which binds the record to
 *     the one message that was sent: anyone holding a copy (the peer, the sender's national system)
 *     can prove or disprove that this was it.
 * For non-automated transmissions (Art. 30(1)) the officer adds a short description in words.
 */
export interface DataSupplied {
  categories: DataCategory[];
  /** Identifiers of the supplied records (reference numbers, TCN/TCR, plate or VIN searched). */
  recordIds: string[];
  /** Number of profiles / fingerprint records / vehicles in the payload. */
  count: number;
  /** SHA-256 (lower-case hex) of the payload exactly as exchanged. */
  sha256: string;
  byteLength: number;
  /** Plain-language description; required by the schema for non-automated transmissions. */
  description?: string;
}

export type ExchangeResult = 'hit' | 'no-hit' | 'error' | 'n/a';

interface ExchangeCommon {
  kind: 'exchange';
  channel: Channel;
  /** The Annex's message type (e.g. "DNA search request", "CPS", "TPRS", "VRD vehicle inquiry"). */
  messageType: string;
  /** Automated search/answer (Art. 30(2)) or not. */
  automated: boolean;
  dataSupplied: DataSupplied;
  occurredAt: IsoInstant;
  searchingBody: BodyRef;
  fileManagingBody: BodyRef;
  peerState: MemberStateCode;
  messageId: string;
  /** Exchange-level reference numbers: request id, TCN/TCR, national case reference. */
  referenceNumbers: string[];
  result: ExchangeResult;
}

/** Our outgoing search: Art. 30(2) last subparagraph — reason and both officers are mandatory. */
export interface OutgoingSearchEvent extends ExchangeCommon {
  direction: 'sent';
  role: 'request';
  reason: string;
  officerId: string;
  orderingOfficerId: string;
}

/** Our answer to a peer's search. */
export interface OutgoingResponseEvent extends ExchangeCommon {
  direction: 'sent';
  role: 'response';
  /** The message id of the request this answers. */
  inReplyTo?: string;
}

/** A peer's search received. */
export interface IncomingRequestEvent extends ExchangeCommon {
  direction: 'received';
  role: 'request';
}

/** A peer's answer to one of our searches. */
export interface IncomingResponseEvent extends ExchangeCommon {
  direction: 'received';
  role: 'response';
  inReplyTo?: string;
}

export type ExchangeEvent = OutgoingSearchEvent | OutgoingResponseEvent | IncomingRequestEvent | IncomingResponseEvent;

export type AdminAction =
  | 'login'
  | 'logout'
  | 'login-failed'
  | 'config-change'
  | 'certificate-change'
  | 'export'
  | 'token-operation'
  | 'officer-change'
  | 'entry-blocked'
  | 'entry-unblocked'
  | 'retention-deletion'
  // Security events of the exchange (no personal data: such messages were never decrypted or are purged):
  // an inbound message refused (unknown signer, bad signature, undecryptable, oversized, replay, …) …
  | 'message-rejected'
  // … and one given up on after failing the same way `exchange.maxFailures` times (its data purged).
  | 'message-dead-lettered'
  /** An officers' API client credential made, revoked or migrated. */
  | 'client-credential-change'
  /** A search's results or the notes read through the officers' API (who saw which answers). */
  | 'result-read';

export type AdminDetails = Record<string, string | number | boolean | null>;

interface AdminCommon {
  kind: 'admin';
  /** Who did it: a console user, an officer id, or "system" for the appliance itself. */
  actor: string;
  occurredAt: IsoInstant;
  outcome: 'success' | 'failure';
  details?: AdminDetails;
}

export interface SessionAdminEvent extends AdminCommon {
  action: 'login' | 'logout' | 'login-failed';
  target?: string;
}

/** Changes need a target: which setting, which certificate, which officer, which entry. */
export interface TargetedAdminEvent extends AdminCommon {
  action: Exclude<AdminAction, 'login' | 'logout' | 'login-failed'>;
  target: string;
}

export type AdminEvent = SessionAdminEvent | TargetedAdminEvent;

/** Art. 30(1): a non-automated transmission or receipt (e.g. follow-up data after a hit). */
export interface NonAutomatedEvent {
  kind: 'non-automated';
  direction: 'sent' | 'received';
  channel: Channel | 'other';
  reason: string;
  dataSupplied: DataSupplied & { description: string };
  occurredAt: IsoInstant;
  searchingBody: BodyRef;
  fileManagingBody: BodyRef;
  peerState: MemberStateCode;
  referenceNumbers: string[];
  /** The officer who sent or received it. */
  officerId: string;
  messageId?: string;
}

export type AuditEvent = ExchangeEvent | AdminEvent | NonAutomatedEvent;

// ---------------------------------------------------------------------------------------------
// Runtime schema (events may come from other processes and the console, not only from typed code)
// ---------------------------------------------------------------------------------------------

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const instant = z
  .string()
  .regex(ISO_MS, 'ISO 8601 UTC with milliseconds, e.g. 2026-11-23T10:15:30.123Z')
  .refine((s) => !Number.isNaN(Date.parse(s)) && new Date(s).toISOString() === s, 'not a real instant');
const text = (max: number) => z.string().trim().min(1).max(max);
const identifier = text(128);
const state = z.enum(MEMBER_STATES);
const channel = z.enum(['dna', 'fp', 'vrd']);
const body = z.object({ state, agency: text(128) }).strict();

const dataSupplied = z
  .object({
    categories: z
      .array(z.enum(['dna-profile', 'dactyloscopic-data', 'vehicle-search-key', 'vehicle-registration-data', 'personal-data', 'none']))
      .min(1)
      .max(6),
    recordIds: z.array(identifier).max(1000),
    count: z.number().int().min(0).max(1_000_000),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'lower-case hex SHA-256'),
    byteLength: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    description: text(2000).optional(),
  })
  .strict();

const exchangeCommon = {
  kind: z.literal('exchange'),
  channel,
  messageType: text(100),
  automated: z.boolean(),
  dataSupplied,
  occurredAt: instant,
  searchingBody: body,
  fileManagingBody: body,
  peerState: state,
  messageId: text(256),
  referenceNumbers: z.array(identifier).max(100),
  result: z.enum(['hit', 'no-hit', 'error', 'n/a']),
};

const adminCommon = {
  kind: z.literal('admin'),
  actor: identifier,
  occurredAt: instant,
  outcome: z.enum(['success', 'failure']),
  details: z.record(z.string().max(64), z.union([z.string().max(2000), z.number().int(), z.boolean(), z.null()])).optional(),
};

const outgoingSearchSchema = z
  .object({ ...exchangeCommon, direction: z.literal('sent'), role: z.literal('request'), reason: text(1000), officerId: identifier, orderingOfficerId: identifier })
  .strict();
const outgoingResponseSchema = z.object({ ...exchangeCommon, direction: z.literal('sent'), role: z.literal('response'), inReplyTo: text(256).optional() }).strict();
const incomingRequestSchema = z.object({ ...exchangeCommon, direction: z.literal('received'), role: z.literal('request') }).strict();
const incomingResponseSchema = z.object({ ...exchangeCommon, direction: z.literal('received'), role: z.literal('response'), inReplyTo: text(256).optional() }).strict();
const SESSION_ACTIONS = ['login', 'logout', 'login-failed'] as const;
const TARGETED_ACTIONS = [
  'config-change',
  'certificate-change',
  'export',
  'token-operation',
  'officer-change',
  'entry-blocked',
  'entry-unblocked',
  'retention-deletion',
  'message-rejected',
  'message-dead-lettered',
  'client-credential-change',
  'result-read',
] as const;
const sessionAdminSchema = z.object({ ...adminCommon, action: z.enum(SESSION_ACTIONS), target: text(500).optional() }).strict();
const targetedAdminSchema = z.object({ ...adminCommon, action: z.enum(TARGETED_ACTIONS), target: text(500) }).strict();
const nonAutomatedSchema = z
  .object({
    kind: z.literal('non-automated'),
    direction: z.enum(['sent', 'received']),
    channel: z.enum(['dna', 'fp', 'vrd', 'other']),
    reason: text(1000),
    dataSupplied: dataSupplied.extend({ description: text(2000) }),
    occurredAt: instant,
    searchingBody: body,
    fileManagingBody: body,
    peerState: state,
    referenceNumbers: z.array(identifier).max(100),
    officerId: identifier,
    messageId: text(256).optional(),
  })
  .strict();

export const auditEventSchema = z.union([
  outgoingSearchSchema,
  outgoingResponseSchema,
  incomingRequestSchema,
  incomingResponseSchema,
  sessionAdminSchema,
  targetedAdminSchema,
  nonAutomatedSchema,
]);

/** The one branch an input claims to be, by its discriminators, so errors name the missing field. */
function branchFor(input: unknown): z.ZodType<AuditEvent> | EventIssue {
  if (typeof input !== 'object' || input === null) return { path: '', message: 'an audit event must be an object' };
  const o = input as Record<string, unknown>;
  switch (o.kind) {
    case 'exchange': {
      if (o.direction !== 'sent' && o.direction !== 'received') return { path: 'direction', message: "direction must be 'sent' or 'received'" };
      if (o.role !== 'request' && o.role !== 'response') return { path: 'role', message: "role must be 'request' or 'response'" };
      if (o.direction === 'sent') return o.role === 'request' ? outgoingSearchSchema : outgoingResponseSchema;
      return o.role === 'request' ? incomingRequestSchema : incomingResponseSchema;
    }
    case 'admin':
      if ((SESSION_ACTIONS as readonly unknown[]).includes(o.action)) return sessionAdminSchema;
      if ((TARGETED_ACTIONS as readonly unknown[]).includes(o.action)) return targetedAdminSchema;
      return { path: 'action', message: `action must be one of ${[...SESSION_ACTIONS, ...TARGETED_ACTIONS].join(', ')}` };
    case 'non-automated':
      return nonAutomatedSchema;
    default:
      return { path: 'kind', message: "kind must be 'exchange', 'admin' or 'non-automated'" };
  }
}

// The hand-written types above are the documentation; this keeps the schema from drifting from them.
type Parsed = z.infer<typeof auditEventSchema>;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemaMatchesTypes: Same<Parsed, AuditEvent> = true;
void schemaMatchesTypes;

export interface EventIssue {
  path: string;
  message: string;
}

// ---------------------------------------------------------------------------------------------
// The exchange events' fast path: every message of every channel records two of them, and zod's
// general machinery costs more than the rest of an append. isCleanExchangeEvent() answers true only
// for an input the schema above accepts *unchanged* (nothing to trim, no key to drop, every bound
// kept); anything else — a bad event, a string with spaces around it, an unusual object — goes
// through zod as before, so the rules and the error messages stay the schema's.
// test/audit/events-fast.test.ts checks the two against each other.
// ---------------------------------------------------------------------------------------------

const STATE_SET: ReadonlySet<string> = new Set(MEMBER_STATES);
const CHANNELS: ReadonlySet<unknown> = new Set(['dna', 'fp', 'vrd']);
const CATEGORIES: ReadonlySet<unknown> = new Set(['dna-profile', 'dactyloscopic-data', 'vehicle-search-key', 'vehicle-registration-data', 'personal-data', 'none']);
const RESULTS: ReadonlySet<unknown> = new Set(['hit', 'no-hit', 'error', 'n/a']);
const SHA256_HEX = /^[0-9a-f]{64}$/;
const EXCHANGE_KEYS: ReadonlySet<string> = new Set([
  'kind', 'channel', 'messageType', 'automated', 'dataSupplied', 'occurredAt', 'searchingBody', 'fileManagingBody', 'peerState', 'messageId', 'referenceNumbers', 'result', 'direction', 'role',
]);
const DATA_KEYS: ReadonlySet<string> = new Set(['categories', 'recordIds', 'count', 'sha256', 'byteLength', 'description']);

function plainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
/** text(max) that zod would return as it is: a string, already trimmed, 1..max long. */
function cleanText(v: unknown, max: number): boolean {
  return typeof v === 'string' && v.length >= 1 && v.length <= max && v.trim() === v;
}
function cleanTexts(v: unknown, maxItems: number, maxLength: number): boolean {
  if (!Array.isArray(v) || v.length > maxItems) return false;
  for (let i = 0; i < v.length; i++) if (!cleanText(v[i], maxLength)) return false;
  return true;
}
function cleanInt(v: unknown, min: number, max: number): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
}
function cleanInstant(v: unknown): boolean {
  return typeof v === 'string' && ISO_MS.test(v) && !Number.isNaN(Date.parse(v)) && new Date(v).toISOString() === v;
}
function cleanBody(v: unknown): boolean {
  if (!plainObject(v)) return false;
  let n = 0;
  for (const k in v) {
    if (!Object.prototype.hasOwnProperty.call(v, k)) return false;
    if (k !== 'state' && k !== 'agency') return false;
    n++;
  }
  return n === 2 && typeof v.state === 'string' && STATE_SET.has(v.state) && cleanText(v.agency, 128);
}
function cleanDataSupplied(v: unknown): boolean {
  if (!plainObject(v)) return false;
  for (const k of Object.keys(v)) if (!DATA_KEYS.has(k) || v[k] === undefined) return false;
  const cats = v.categories;
  if (!Array.isArray(cats) || cats.length < 1 || cats.length > 6) return false;
  for (let i = 0; i < cats.length; i++) if (!CATEGORIES.has(cats[i])) return false;
  return (
    cleanTexts(v.recordIds, 1000, 128) &&
    cleanInt(v.count, 0, 1_000_000) &&
    typeof v.sha256 === 'string' &&
    SHA256_HEX.test(v.sha256) &&
    cleanInt(v.byteLength, 0, Number.MAX_SAFE_INTEGER) &&
    (!('description' in v) || cleanText(v.description, 2000))
  );
}

/**
 * True when `input` is an exchange event that the schema accepts exactly as it is (so its canonical JSON
 * is the same whether it went through zod or not). False says nothing: the input then goes through zod.
 */
export function isCleanExchangeEvent(input: unknown): input is ExchangeEvent {
  if (!plainObject(input) || input.kind !== 'exchange') return false;
  const o = input;
  const extra = o.direction === 'sent' && o.role === 'request' ? ['reason', 'officerId', 'orderingOfficerId'] : o.role === 'response' && (o.direction === 'sent' || o.direction === 'received') ? ['inReplyTo'] : [];
  if (o.role !== 'request' && o.role !== 'response') return false;
  if (o.direction !== 'sent' && o.direction !== 'received') return false;
  for (const k of Object.keys(o)) {
    if (o[k] === undefined) return false;
    if (!EXCHANGE_KEYS.has(k) && !extra.includes(k)) return false;
  }
  if (
    !CHANNELS.has(o.channel) ||
    !cleanText(o.messageType, 100) ||
    typeof o.automated !== 'boolean' ||
    !cleanDataSupplied(o.dataSupplied) ||
    !cleanInstant(o.occurredAt) ||
    !cleanBody(o.searchingBody) ||
    !cleanBody(o.fileManagingBody) ||
    typeof o.peerState !== 'string' ||
    !STATE_SET.has(o.peerState) ||
    !cleanText(o.messageId, 256) ||
    !cleanTexts(o.referenceNumbers, 100, 128) ||
    !RESULTS.has(o.result)
  ) {
    return false;
  }
  if (o.direction === 'sent' && o.role === 'request') return cleanText(o.reason, 1000) && cleanText(o.officerId, 128) && cleanText(o.orderingOfficerId, 128);
  if (o.role === 'response' && 'inReplyTo' in o) return cleanText(o.inReplyTo, 256);
  return true;
}

/** Validates an event; returns the parsed (trimmed) event or the list of problems. */
export function parseAuditEvent(input: unknown): { ok: true; event: AuditEvent } | { ok: false; issues: EventIssue[] } {
  if (isCleanExchangeEvent(input)) return { ok: true, event: input };
  return parseAuditEventWithSchema(input);
}

/** parseAuditEvent() through the zod schema always (the reference the fast path is tested against). */
export function parseAuditEventWithSchema(input: unknown): { ok: true; event: AuditEvent } | { ok: false; issues: EventIssue[] } {
  const branch = branchFor(input);
  if (!('safeParse' in branch)) return { ok: false, issues: [branch] };
  const result = branch.safeParse(input);
  if (result.success) return { ok: true, event: result.data };
  return {
    ok: false,
    issues: result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.path.length === 1 && i.code === 'invalid_type' ? `${String(i.path[0])} is required (${i.message})` : i.message })),
  };
}

/** Is this an outgoing automated search, the case where Art. 30(2)(a) requires an authorised officer? */
export function isOutgoingSearch(event: AuditEvent): event is OutgoingSearchEvent {
  return event.kind === 'exchange' && event.direction === 'sent' && event.role === 'request';
}

// ---------------------------------------------------------------------------------------------
// Canonical JSON: one byte string per value, so a leaf hash is reproducible from the exported line
// ---------------------------------------------------------------------------------------------

/**
 * Keys sorted (UTF-16 order), no whitespace, undefined members dropped; only integers are allowed
 * among numbers so no float formatting question arises. JSON.stringify escapes line breaks, so a
 * canonical value is always a single line.
 */
export function canonicalJson(value: unknown): string {
  // Native JSON.stringify with a replacer that sorts keys: several times faster than a
  // hand-written serialiser, and the output is identical for the values we allow.
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new TypeError(`canonical JSON allows safe integers only, got ${v}`);
    if (typeof v === 'bigint' || typeof v === 'function' || typeof v === 'symbol') throw new TypeError(`canonical JSON cannot encode ${typeof v}`);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const sorted: Record<string, unknown> = {};
      for (const k of Object.keys(o).sort()) sorted[k] = o[k];
      return sorted;
    }
    return v;
  });
  if (text === undefined) throw new TypeError('canonical JSON cannot encode undefined');
  return text;
}
