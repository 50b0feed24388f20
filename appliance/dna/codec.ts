/**
 * PRUEMDNA reader and writer (Annex ch.1 §4, DNA-XML).
 *
 * Reading: size and encoding checks, DOCTYPE refused, validation against the shipped XSD (xsd.ts), then a DOM
 * walk into typed values and the checks the schema cannot express (direction vs result, Art. 3 single profile,
 * Member State codes, profiles in requests). Every failure is a DnaError with a closed code and a message that
 * can go back in a result-E answer; nothing here throws on bad input.
 */
import { DOMParser, type Element as XmlElement, type Node as XmlNode } from '@xmldom/xmldom';
import { isMemberStateCode } from '../peers/member-states.js';
import { ADDITIONAL_LOCI, ESS_ISSOL_LOCI, type LocusName } from './loci.js';
import {
  dnaError,
  type DatasResult,
  type DnaError,
  type HeaderInfo,
  type HitQualityCode,
  type PruemDatas,
  type PruemDnaMessage,
  type PruemProfile,
} from './message.js';
import type { AllelePair } from './profile.js';
import { validateWithXsd, type XsdOutcome } from './xsd.js';

/** Largest document we read: 500 full profiles with answers fit in well under 2 MiB. */
export const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

/**
 * What could be read of a refused document's header and datas, as sent (unchecked, possibly invalid):
 * enough for the result-E answer to name the request it refuses (ref, request ids, the profiles' idents).
 * Absent when the document could not be parsed at all (not XML, not UTF-8, too large, a DOCTYPE).
 */
export interface ReadableRequest {
  readonly ref?: string;
  readonly requesting?: Partial<HeaderInfo>;
  readonly requested?: Partial<HeaderInfo>;
  readonly datas: ReadonlyArray<{ readonly reqtype?: string; readonly date?: string; readonly type?: string; readonly agency?: string; readonly profileIdent?: string }>;
}

export type ParseResult =
  | { readonly ok: true; readonly message: PruemDnaMessage }
  | { readonly ok: false; readonly error: DnaError; readonly readable?: ReadableRequest };

type Prepared = { ok: true; bytes: Uint8Array; text: string } | { ok: false; error: DnaError };

function prepare(xml: string | Uint8Array): Prepared {
  const bytes = typeof xml === 'string' ? Buffer.from(xml, 'utf8') : xml;
  if (bytes.length > MAX_MESSAGE_BYTES) return { ok: false, error: dnaError('TOO_LARGE', `message of ${bytes.length} bytes exceeds ${MAX_MESSAGE_BYTES}`) };
  let text: string;
  try {
    text = typeof xml === 'string' ? xml : new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, error: dnaError('NOT_UTF8', 'message is not valid UTF-8') };
  }
  // No DTDs: nothing in PRUEMDNA needs one, and refusing them rules out entity expansion attacks.
  if (/<!DOCTYPE/i.test(text)) return { ok: false, error: dnaError('DOCTYPE_FORBIDDEN', 'DOCTYPE declarations are not allowed in PRUEMDNA') };
  return { ok: true, bytes, text };
}

export function parsePruemDna(xml: string | Uint8Array): ParseResult {
  const p = prepare(xml);
  if (!p.ok) return p;
  return afterXsd(validateWithXsd(p.bytes), p.text);
}

function afterXsd(outcome: XsdOutcome, text: string): ParseResult {
  if (!outcome.valid) {
    const error = dnaError(outcome.code, outcome.message);
    // Well-formed but against the schema (reqtype 7, a missing element): read what is there, for correlation.
    const readable = outcome.code === 'SCHEMA_INVALID' ? readLeniently(text) : undefined;
    return readable ? { ok: false, error, readable } : { ok: false, error };
  }
  let message: PruemDnaMessage;
  try {
    message = fromDocument(text);
  } catch (e) {
    // Only reachable if the DOM parser disagrees with libxml2 on a document libxml2 accepted.
    return { ok: false, error: dnaError('NOT_WELL_FORMED', `unreadable after validation: ${(e as Error).message}`) };
  }
  const problem = checkSemantics(message);
  if (!problem) return { ok: true, message };
  const { header } = message;
  const readable: ReadableRequest = {
    ref: header.ref,
    requesting: header.requesting,
    requested: header.requested,
    datas: message.datas.slice(0, MAX_READABLE_DATAS).map((d) => ({ reqtype: String(d.reqtype), date: d.date, type: d.type, agency: d.agency, profileIdent: d.profileIdent })),
  };
  return { ok: false, error: problem, readable };
}

/** At most this many datas are read from a refused document (DNA-XML allows 500). */
const MAX_READABLE_DATAS = 500;

/**
 * The header and datas identifiers of a well-formed document the schema refused, each element optional.
 * Only the element text is taken; nothing is interpreted. Null when there is no PRUEMDNA root.
 */
function readLeniently(text: string): ReadableRequest | undefined {
  try {
    const doc = new DOMParser({ onError: () => undefined }).parseFromString(text, 'text/xml');
    const root = doc.documentElement;
    if (!root || root.localName !== 'PRUEMDNA') return undefined;
    const header = child(root, 'header');
    const info = (name: string): Partial<HeaderInfo> | undefined => {
      const e = header ? child(header, name) : undefined;
      if (!e) return undefined;
      const field = (n: string) => textOf(child(e, n));
      const out: { -readonly [K in keyof HeaderInfo]?: string } = {};
      const pairs = [['sourceIsocode', 'source_isocode'], ['destinationIsocode', 'destination_isocode'], ['requestId', 'request_id'], ['date', 'date'], ['time', 'time']] as const;
      for (const [key, el] of pairs) {
        const v = field(el);
        if (v !== undefined) out[key] = v;
      }
      return out;
    };
    const ref = header ? textOf(child(header, 'ref')) : undefined;
    const requesting = info('requesting');
    const requested = info('requested');
    const datas = elements(root)
      .filter((e) => e.localName === 'datas')
      .slice(0, MAX_READABLE_DATAS)
      .map((d) => {
        const out: { reqtype?: string; date?: string; type?: string; agency?: string; profileIdent?: string } = {};
        const pairs = [['reqtype', 'reqtype'], ['date', 'date'], ['type', 'type'], ['agency', 'agency'], ['profileIdent', 'profile_ident']] as const;
        for (const [key, el] of pairs) {
          const v = textOf(child(d, el));
          if (v !== undefined) out[key] = v;
        }
        return out;
      });
    return { ...(ref !== undefined ? { ref } : {}), ...(requesting ? { requesting } : {}), ...(requested ? { requested } : {}), datas };
  } catch {
    return undefined;
  }
}

// ---- DOM → values ------------------------------------------------------------------------------------------

function elements(parent: XmlNode): XmlElement[] {
  const out: XmlElement[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) if (n.nodeType === 1) out.push(n as XmlElement);
  return out;
}

function child(parent: XmlNode, name: string): XmlElement | undefined {
  return elements(parent).find((e) => e.localName === name);
}

function need(parent: XmlNode, name: string): XmlElement {
  const e = child(parent, name);
  if (!e) throw new Error(`missing ${name}`);
  return e;
}

function textOf(e: XmlElement | undefined): string | undefined {
  return e === undefined ? undefined : (e.textContent ?? '');
}

function needText(parent: XmlNode, name: string): string {
  return textOf(need(parent, name)) ?? '';
}

/** Optional element whose empty content means "absent" (ICD: "empty"). */
function optionalText(parent: XmlNode, name: string): string | undefined {
  const t = textOf(child(parent, name));
  return t === undefined || t.trim() === '' ? undefined : t;
}

function headerInfo(e: XmlElement): HeaderInfo {
  return {
    sourceIsocode: needText(e, 'source_isocode').trim(),
    destinationIsocode: needText(e, 'destination_isocode').trim(),
    requestId: needText(e, 'request_id'),
    date: needText(e, 'date').trim(),
    time: needText(e, 'time').trim(),
  };
}

function profileOf(e: XmlElement): PruemProfile | undefined {
  const loci: Partial<Record<LocusName, AllelePair>> = {};
  let any = false;
  for (const groupName of ['ess_issol', 'additional_loci'] as const) {
    const group = child(e, groupName);
    if (!group) continue;
    const names: readonly LocusName[] = groupName === 'ess_issol' ? ESS_ISSOL_LOCI : ADDITIONAL_LOCI;
    for (const name of names) {
      const locus = child(group, name);
      if (!locus) continue;
      loci[name] = [needText(locus, 'low_allele'), needText(locus, 'high_allele')];
      any = true;
    }
  }
  const marker = optionalText(e, 'marker');
  const profileId = optionalText(e, 'profile_id');
  if (!any && marker === undefined && profileId === undefined) return undefined;
  return { loci, ...(marker !== undefined ? { marker } : {}), ...(profileId !== undefined ? { profileId } : {}) };
}

function datasOf(e: XmlElement): PruemDatas {
  const message = optionalText(e, 'message');
  const profileEl = child(e, 'profile');
  const profile = profileEl ? profileOf(profileEl) : undefined;
  const matchId = optionalText(e, 'match_id');
  const quality = optionalText(e, 'quality');
  const hitcount = optionalText(e, 'hitcount');
  const rescount = optionalText(e, 'rescount');
  return {
    reqtype: needText(e, 'reqtype').trim() === '4' ? 4 : 3,
    date: needText(e, 'date').trim(),
    type: needText(e, 'type').trim() === 'P' ? 'P' : 'S',
    result: needText(e, 'result').trim() as DatasResult,
    agency: needText(e, 'agency'),
    profileIdent: needText(e, 'profile_ident'),
    ...(message !== undefined ? { message } : {}),
    ...(profile !== undefined ? { profile } : {}),
    ...(matchId !== undefined ? { matchId } : {}),
    ...(quality !== undefined ? { quality: Number(quality.trim()) as HitQualityCode } : {}),
    ...(hitcount !== undefined ? { hitcount: Number(hitcount.trim()) } : {}),
    ...(rescount !== undefined ? { rescount: Number(rescount.trim()) } : {}),
  };
}

function fromDocument(text: string): PruemDnaMessage {
  const doc = new DOMParser({ onError: () => undefined }).parseFromString(text, 'text/xml');
  const root = doc.documentElement;
  if (!root || root.localName !== 'PRUEMDNA') throw new Error('root is not PRUEMDNA');
  const header = need(root, 'header');
  return {
    header: {
      direction: needText(header, 'direction').trim() === 'A' ? 'A' : 'R',
      ref: needText(header, 'ref'),
      generator: needText(header, 'generator'),
      schemaVersion: needText(header, 'schema_version'),
      requesting: headerInfo(need(header, 'requesting')),
      requested: headerInfo(need(header, 'requested')),
    },
    datas: elements(root).filter((e) => e.localName === 'datas').map(datasOf),
  };
}

// ---- what the schema cannot say ------------------------------------------------------------------------------

function checkSemantics(m: PruemDnaMessage): DnaError | undefined {
  const h = m.header;
  for (const [where, info] of [['requesting', h.requesting], ['requested', h.requested]] as const) {
    for (const code of [info.sourceIsocode, info.destinationIsocode]) {
      if (!isMemberStateCode(code)) return dnaError('UNKNOWN_MEMBER_STATE', `${where}: "${code}" is not a Prüm Member State code`);
    }
  }
  const reqtypes = new Set(m.datas.map((d) => d.reqtype));
  if (reqtypes.size > 1) return dnaError('ART3_SINGLE_PROFILE', 'a message mixes Art. 3 and Art. 4 datas');
  if (h.direction === 'R' && m.datas.length > 1 && reqtypes.has(3)) {
    return dnaError('ART3_SINGLE_PROFILE', `an Art. 3 request carries one profile, this one has ${m.datas.length} (several only for Art. 4)`);
  }
  const seen = new Set<string>();
  for (const [i, d] of m.datas.entries()) {
    const at = `datas ${i + 1} (${d.profileIdent})`;
    if (h.direction === 'R' && d.result !== 'U') return dnaError('DIRECTION_RESULT_MISMATCH', `${at}: a request must have result U, not ${d.result}`);
    if (h.direction === 'A' && d.result === 'U') return dnaError('DIRECTION_RESULT_MISMATCH', `${at}: an answer must have result H, N or E, not U`);
    if (h.direction === 'R') {
      if (!d.profile || Object.keys(d.profile.loci).length === 0) return dnaError('MISSING_PROFILE', `${at}: a request must carry a profile with loci`);
      if (seen.has(d.profileIdent)) return dnaError('DUPLICATE_PROFILE_IDENT', `${at}: profile_ident is used twice in the request`);
      seen.add(d.profileIdent);
    }
  }
  return undefined;
}

// ---- writer ------------------------------------------------------------------------------------------------

// Characters XML 1.0 cannot carry are dropped; everything else is escaped.
const NOT_XML_CHAR = /[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu;

function esc(s: string): string {
  return s.replace(NOT_XML_CHAR, '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

class Out {
  readonly lines: string[] = [];
  el(depth: number, name: string, value: string | number): void {
    this.lines.push(`${'  '.repeat(depth)}<${name}>${esc(String(value))}</${name}>`);
  }
  open(depth: number, name: string): void {
    this.lines.push(`${'  '.repeat(depth)}<${name}>`);
  }
  close(depth: number, name: string): void {
    this.lines.push(`${'  '.repeat(depth)}</${name}>`);
  }
}

function writeInfo(o: Out, depth: number, name: string, info: HeaderInfo): void {
  o.open(depth, name);
  o.el(depth + 1, 'source_isocode', info.sourceIsocode);
  o.el(depth + 1, 'destination_isocode', info.destinationIsocode);
  o.el(depth + 1, 'request_id', info.requestId);
  o.el(depth + 1, 'date', info.date);
  o.el(depth + 1, 'time', info.time);
  o.close(depth, name);
}

function writeProfile(o: Out, depth: number, p: PruemProfile): void {
  o.open(depth, 'profile');
  for (const [groupName, names] of [['ess_issol', ESS_ISSOL_LOCI], ['additional_loci', ADDITIONAL_LOCI]] as const) {
    const present = (names as readonly LocusName[]).filter((n) => p.loci[n] !== undefined);
    if (present.length === 0) continue;
    o.open(depth + 1, groupName);
    for (const n of present) {
      const [low, high] = p.loci[n]!;
      o.open(depth + 2, n);
      o.el(depth + 3, 'low_allele', low);
      o.el(depth + 3, 'high_allele', high);
      o.close(depth + 2, n);
    }
    o.close(depth + 1, groupName);
  }
  if (p.marker !== undefined) o.el(depth + 1, 'marker', p.marker);
  if (p.profileId !== undefined) o.el(depth + 1, 'profile_id', p.profileId);
  o.close(depth, 'profile');
}

/**
 * Serialises a message in schema order; absent optional fields are left out. The caller keeps datas within
 * MAX_DATAS (handler.ts and buildDnaRequest split larger sets); nothing is dropped here.
 */
export function writePruemDna(message: PruemDnaMessage): string {
  const o = new Out();
  o.lines.push('<?xml version="1.0" encoding="UTF-8"?>');
  o.open(0, 'PRUEMDNA');
  const h = message.header;
  o.open(1, 'header');
  o.el(2, 'direction', h.direction);
  o.el(2, 'ref', h.ref);
  o.el(2, 'generator', h.generator);
  o.el(2, 'schema_version', h.schemaVersion);
  writeInfo(o, 2, 'requesting', h.requesting);
  writeInfo(o, 2, 'requested', h.requested);
  o.close(1, 'header');
  for (const d of message.datas) {
    o.open(1, 'datas');
    o.el(2, 'reqtype', d.reqtype);
    o.el(2, 'date', d.date);
    o.el(2, 'type', d.type);
    o.el(2, 'result', d.result);
    o.el(2, 'agency', d.agency);
    o.el(2, 'profile_ident', d.profileIdent);
    if (d.message !== undefined) o.el(2, 'message', d.message);
    if (d.profile !== undefined) writeProfile(o, 2, d.profile);
    if (d.matchId !== undefined) o.el(2, 'match_id', d.matchId);
    if (d.quality !== undefined) o.el(2, 'quality', d.quality);
    if (d.hitcount !== undefined) o.el(2, 'hitcount', d.hitcount);
    if (d.rescount !== undefined) o.el(2, 'rescount', d.rescount);
    o.close(1, 'datas');
  }
  o.close(0, 'PRUEMDNA');
  return `${o.lines.join('\n')}\n`;
}
