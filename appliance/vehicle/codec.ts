/**
 * The vehicle messages as XML (namespace urn:eu:pruem:vrd:1, `schemaVersion` attribute; schemas in
 * docs/vehicles/vrd-1.0.xsd and vrd-1.1.xsd): writing requests, answers and fault details, and parsing
 * them from untrusted bytes into typed values. Bad input is an error value with a code, never a throw.
 */
import { createRequire } from 'node:module';
import { DOMParser } from '@xmldom/xmldom';
import { isMemberStateCode, type MemberStateCode } from '../peers/member-states.js';
import {
  GENDERS,
  HOLDER_TYPES,
  LEGAL_ENTITIES,
  VEHICLE_STATUSES,
  forSchemaVersion,
  isSchemaVersion,
  type Address,
  type FullDataSet,
  type Holder,
  type Identification,
  type Insurance,
  type Owner,
  type Party,
  type SchemaVersion,
  type SearchResult,
  type Vehicle,
  type VehicleIdentity,
  type VehicleQuery,
  type VehicleSearchRequest,
  type VehicleSearchResponse,
} from './data-set.js';

export const VRD_NS = 'urn:eu:pruem:vrd:1';

/** Longest text in any element: names and addresses in printable form fit in well under this. */
const MAX_TEXT = 512;
/** Vehicles in one refine-search answer; a plate matching more is cut here (the Annex leaves it to us). */
export const MAX_REFINE_VEHICLES = 100;

export type CodecErrorCode = 'NOT_XML' | 'INVALID_MESSAGE' | 'SCHEMA_VERSION_UNSUPPORTED';
export interface CodecError {
  readonly code: CodecErrorCode;
  readonly message: string;
}
export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: CodecError };

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/**
 * Text content, escaped as exclusive c14n writes it (&, <, >, CR), so what we write is already canonical
 * and can be digested without parsing it again (ws-security.ts). Control characters XML 1.0 forbids are
 * dropped: a register value holding one must not make the whole answer unreadable.
 */
export function escapeXml(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
    .replace(/[&<>\r]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&#xD;'));
}

function el(name: string, value: string | number | undefined | null): string {
  if (value === undefined || value === null) return '';
  return `<v:${name}>${escapeXml(String(value))}</v:${name}>`;
}

function wrap(name: string, inner: string, attrs = ''): string {
  return `<v:${name}${attrs}>${inner}</v:${name}>`;
}

function writeAddress(name: string, a: Address | undefined): string {
  if (!a) return '';
  return wrap(
    name,
    el('Street', a.street) + el('HouseNumber', a.houseNumber) + el('HouseNumberAnnex', a.houseNumberAnnex) + el('ZipCode', a.zipCode) +
      el('PlaceOfResidence', a.placeOfResidence) + el('CountryOfResidence', a.countryOfResidence) + el('Printable', a.printable),
  );
}

function writeIdentification(id: Identification | undefined, version: SchemaVersion): string {
  if (!id || version === '1.0') return '';
  return wrap('Identification', el('IdNumber', id.idNumber) + el('IdType', id.idType));
}

function writeParty(p: Party, version: SchemaVersion): string {
  return (
    wrap('Name', el('Surname', p.name.surname) + el('Infixes', p.name.infixes) + el('Titles', p.name.titles) + el('Printable', p.name.printable)) +
    (p.firstName ? wrap('FirstName', el('FirstNames', p.firstName.firstNames) + el('Initials', p.firstName.initials) + el('Printable', p.firstName.printable)) : '') +
    writeAddress('Address', p.address) +
    el('Gender', p.gender) +
    el('DateOfBirth', p.dateOfBirth) +
    el('LegalEntity', p.legalEntity) +
    el('PlaceOfBirth', p.placeOfBirth) +
    writeIdentification(p.identification, version)
  );
}

function writeIdentity(v: VehicleIdentity): string {
  return el('LicenceNumber', v.licenceNumber) + el('Vin', v.vin) + el('CountryOfRegistration', v.countryOfRegistration) + el('Make', v.make) + el('CommercialType', v.commercialType) + el('EuCategory', v.euCategory);
}

function writeVehicle(v: Vehicle): string {
  return wrap(
    'Vehicle',
    writeIdentity(v) +
      el('FirstRegistrationDate', v.firstRegistrationDate) +
      el('RegistrationStart', v.registrationStart) +
      el('RegistrationEnd', v.registrationEnd) +
      wrap('Status', el('Code', v.status.code) + el('Start', v.status.start) + el('End', v.status.end)) +
      el('Kw', v.kw) +
      el('Capacity', v.capacity) +
      el('LicenceNumberType', v.licenceNumberType) +
      el('DocumentId1', v.documentId1) +
      el('DocumentId2', v.documentId2),
  );
}

function writeFull(d: FullDataSet, version: SchemaVersion): string {
  return wrap(
    'FullDataSet',
    writeVehicle(d.vehicle) +
      d.holders.map((h) => wrap('Holder', writeParty(h, version) + el('StartDate', h.startDate) + el('EndDate', h.endDate) + el('HolderType', h.holderType))).join('') +
      d.owners.map((o) => wrap('Owner', writeParty(o, version) + el('StartDate', o.startDate) + el('EndDate', o.endDate))).join('') +
      d.insurances
        .map((i) =>
          wrap(
            'Insurance',
            el('CompanyName', i.companyName) + el('BeginDate', i.beginDate) + el('EndDate', i.endDate) + writeAddress('Address', i.address) + el('InsuranceNumber', i.insuranceNumber) + writeIdentification(i.identification, version),
          ),
        )
        .join(''),
    ` dataIsCurrent="${d.dataIsCurrent}"`,
  );
}

export function writeResult(result: SearchResult, version: SchemaVersion): string {
  const r = forSchemaVersion(result, version);
  if (r.kind === 'no-match') return '<v:NoMatch></v:NoMatch>';
  if (r.kind === 'refine') return wrap('RefineSearch', r.vehicles.map((v) => wrap('Vehicle', writeIdentity(v))).join(''));
  return writeFull(r.dataSet, version);
}

function writeQuery(q: VehicleQuery): string {
  if (q.kind === 'vin') return wrap('SearchByVin', el('Vin', q.vin) + el('ReferenceDateTime', q.referenceDateTime));
  return wrap('SearchByLicenceNumber', el('LicenceNumber', q.licenceNumber) + el('Vin', q.vin) + el('ReferenceDateTime', q.referenceDateTime));
}

/**
 * The request element that goes in the SOAP Body. What the writers here produce is in exclusive-c14n
 * form already (no whitespace between elements, start and end tags, namespace declaration before the
 * attributes, text escaped as c14n does) — test/vehicle/codec.test.ts holds them to that.
 */
export function writeRequest(r: VehicleSearchRequest): string {
  const h = r.header;
  return wrap(
    'VehicleSearchRequest',
    wrap(
      'MessageHeader',
      el('MessageId', h.messageId) + el('Sent', h.sent) + el('RequestingState', h.requestingState) + el('RequestedState', h.requestedState) + el('Organisation', h.organisation) + el('User', h.user) + el('Reason', h.reason),
    ) + writeQuery(r.query),
    ` xmlns:v="${VRD_NS}" schemaVersion="${r.schemaVersion}"`,
  );
}

export function writeResponse(r: VehicleSearchResponse): string {
  const h = r.header;
  return wrap(
    'VehicleSearchResponse',
    wrap('MessageHeader', el('MessageId', h.messageId) + el('InReplyTo', h.inReplyTo) + el('Sent', h.sent) + el('RespondingState', h.respondingState) + el('RequestingState', h.requestingState)) +
      writeResult(r.result, r.schemaVersion),
    ` xmlns:v="${VRD_NS}" schemaVersion="${r.schemaVersion}"`,
  );
}

/** The `detail` of a SOAP fault: our code, and which request it refuses when we could read that. */
export function writeFaultDetail(d: { code: string; inReplyTo: string | null; respondingState: MemberStateCode; schemaVersion: SchemaVersion }): string {
  return wrap('FaultDetail', el('Code', d.code) + el('InReplyTo', d.inReplyTo) + el('RespondingState', d.respondingState), ` xmlns:v="${VRD_NS}" schemaVersion="${d.schemaVersion}"`);
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

class Invalid extends Error {
  constructor(
    readonly code: CodecErrorCode,
    message: string,
  ) {
    super(message);
  }
}

type GrammarPart = string | RegExp;
type RegBuilder = (this: unknown, ...parts: GrammarPart[]) => RegExp;

/**
 * xmldom 0.9 builds a RegExp out of its XML-name grammar (a long Unicode expression) for every end tag it
 * reads (`g.reg('^', QName_group, S_OPT, '$')` in sax.js): V8 hashes the whole source to find the compiled
 * expression again, ~40 % of parsing one of our messages. The result depends only on the parts, and has no
 * `g` or `y` flag (no lastIndex state), so the same parts may share one RegExp: keyed by the parts
 * themselves (the grammar's RegExp objects, short strings), never by their text, and at most a few hundred
 * of them. Installed once, for every user of xmldom in the process; left alone when xmldom's layout differs.
 * Exported for the test that checks parsing is unchanged by it.
 */
export function memoiseXmldomGrammar(): boolean {
  let grammar: { reg?: RegBuilder & { memoised?: true } };
  try {
    grammar = createRequire(import.meta.url)('@xmldom/xmldom/lib/grammar.js') as typeof grammar;
  } catch {
    return false;
  }
  const original = grammar.reg;
  if (typeof original !== 'function') return false;
  if (original.memoised) return true;
  type Node = Map<unknown, Node> & { regexp?: RegExp };
  const roots = new Map<boolean, Node>();
  let size = 0;
  const memoised = function (this: unknown, ...parts: GrammarPart[]): RegExp {
    // reg() refuses a bare '|' only when called without a receiver: the receiver's kind is part of the key.
    let node: Node | undefined = roots.get(this === undefined);
    if (!node) roots.set(this === undefined, (node = new Map() as Node));
    for (const part of parts) {
      let next: Node | undefined = node.get(part);
      if (!next) node.set(part, (next = new Map() as Node));
      node = next;
    }
    if (node.regexp) return node.regexp;
    const made = original.apply(this, parts);
    if (size < 500 && !made.global && !made.sticky) {
      node.regexp = made;
      size++;
    }
    return made;
  } as RegBuilder & { memoised?: true };
  memoised.memoised = true;
  grammar.reg = memoised;
  return true;
}
memoiseXmldomGrammar();

/** Parses XML text without DTDs (no entity is ever expanded), collecting parser errors instead of printing them. */
export function parseXml(text: string): Parsed<Document> {
  if (/<!DOCTYPE/i.test(text)) return { ok: false, error: { code: 'NOT_XML', message: 'DOCTYPE is not allowed' } };
  const errors: string[] = [];
  try {
    const doc = new DOMParser({
      onError: (level: string, msg: string) => {
        if (level !== 'warning') errors.push(msg);
      },
    }).parseFromString(text, 'text/xml') as unknown as Document;
    if (errors.length || !doc.documentElement) return { ok: false, error: { code: 'NOT_XML', message: `not well-formed XML: ${errors[0] ?? 'no root element'}`.slice(0, 300) } };
    return { ok: true, value: doc };
  } catch (e) {
    return { ok: false, error: { code: 'NOT_XML', message: `not well-formed XML: ${(e as Error).message}`.slice(0, 300) } };
  }
}

export function childElements(parent: Element, ns?: string, local?: string): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType !== 1) continue;
    const e = n as Element;
    if ((ns === undefined || e.namespaceURI === ns) && (local === undefined || e.localName === local)) out.push(e);
  }
  return out;
}

function one(parent: Element, local: string): Element {
  const found = childElements(parent, VRD_NS, local);
  if (found.length !== 1) throw new Invalid('INVALID_MESSAGE', `${parent.localName}: expected one ${local}, found ${found.length}`);
  return found[0] as Element;
}

function maybe(parent: Element, local: string): Element | undefined {
  const found = childElements(parent, VRD_NS, local);
  if (found.length > 1) throw new Invalid('INVALID_MESSAGE', `${parent.localName}: more than one ${local}`);
  return found[0];
}

function textOf(e: Element): string {
  if (childElements(e).length) throw new Invalid('INVALID_MESSAGE', `${e.localName} must hold text only`);
  const t = (e.textContent ?? '').trim();
  if (t.length > MAX_TEXT) throw new Invalid('INVALID_MESSAGE', `${e.localName} is longer than ${MAX_TEXT} characters`);
  return t.normalize('NFC');
}

function req(parent: Element, local: string): string {
  const t = textOf(one(parent, local));
  if (!t) throw new Invalid('INVALID_MESSAGE', `${parent.localName}/${local} is empty`);
  return t;
}

function opt(parent: Element, local: string): string | undefined {
  const e = maybe(parent, local);
  if (!e) return undefined;
  const t = textOf(e);
  return t === '' ? undefined : t;
}

function pick<T extends string>(value: string, allowed: readonly T[], what: string): T {
  if (!(allowed as readonly string[]).includes(value)) throw new Invalid('INVALID_MESSAGE', `${what}: "${value.slice(0, 40)}" is not one of ${allowed.join(', ')}`);
  return value as T;
}

function state(value: string, what: string): MemberStateCode {
  if (!isMemberStateCode(value)) throw new Invalid('INVALID_MESSAGE', `${what}: "${value.slice(0, 10)}" is not a Member State code`);
  return value;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$/;

function date(v: string | undefined, what: string): string | undefined {
  if (v === undefined) return undefined;
  if (!DATE.test(v) || Number.isNaN(Date.parse(v))) throw new Invalid('INVALID_MESSAGE', `${what}: "${v.slice(0, 30)}" is not a date (YYYY-MM-DD)`);
  return v;
}

/** An xs:dateTime with a zone, normalised to UTC with milliseconds. */
function dateTime(v: string | undefined, what: string): string | undefined {
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  if (!DATE_TIME.test(v) || Number.isNaN(t)) throw new Invalid('INVALID_MESSAGE', `${what}: "${v.slice(0, 40)}" is not a date-time with a time zone`);
  return new Date(t).toISOString();
}

function int(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  // Attacker-controlled: digits only, bounded, so no float or exponent form slips through.
  if (!/^\d{1,7}$/.test(v)) throw new Invalid('INVALID_MESSAGE', `${what}: "${v.slice(0, 20)}" is not a whole number`);
  return Number(v);
}

function versionOf(root: Element): SchemaVersion {
  const v = root.getAttribute('schemaVersion') ?? '';
  if (!isSchemaVersion(v)) throw new Invalid('SCHEMA_VERSION_UNSUPPORTED', `schema version "${v.slice(0, 10)}" is not supported (we speak 1.0 and 1.1)`);
  return v;
}

function guard<T>(f: () => T): Parsed<T> {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    if (e instanceof Invalid) return { ok: false, error: { code: e.code, message: e.message } };
    throw e;
  }
}

function root(e: Element, local: string): void {
  if (e.namespaceURI !== VRD_NS || e.localName !== local) throw new Invalid('INVALID_MESSAGE', `expected ${local} in ${VRD_NS}, found ${e.localName}`);
}

/** The schema version a request claims, read before anything else so a fault can answer in it. */
export function claimedVersion(e: Element): SchemaVersion | null {
  const v = e.getAttribute('schemaVersion') ?? '';
  return isSchemaVersion(v) ? v : null;
}

export function parseRequest(e: Element): Parsed<VehicleSearchRequest> {
  return guard(() => {
    root(e, 'VehicleSearchRequest');
    const schemaVersion = versionOf(e);
    const h = one(e, 'MessageHeader');
    const header = {
      messageId: req(h, 'MessageId'),
      sent: dateTime(req(h, 'Sent'), 'Sent') as string,
      requestingState: state(req(h, 'RequestingState'), 'RequestingState'),
      requestedState: state(req(h, 'RequestedState'), 'RequestedState'),
      organisation: req(h, 'Organisation'),
      user: req(h, 'User'),
      reason: req(h, 'Reason'),
    };
    const byVin = maybe(e, 'SearchByVin');
    const byPlate = maybe(e, 'SearchByLicenceNumber');
    if ((byVin ? 1 : 0) + (byPlate ? 1 : 0) !== 1) throw new Invalid('INVALID_MESSAGE', 'a request holds exactly one of SearchByVin, SearchByLicenceNumber');
    let query: VehicleQuery;
    if (byVin) {
      const ref = dateTime(opt(byVin, 'ReferenceDateTime'), 'ReferenceDateTime');
      query = { kind: 'vin', vin: req(byVin, 'Vin'), ...(ref ? { referenceDateTime: ref } : {}) };
    } else {
      const p = byPlate as Element;
      const ref = dateTime(opt(p, 'ReferenceDateTime'), 'ReferenceDateTime');
      const vin = opt(p, 'Vin');
      query = { kind: 'plate', licenceNumber: req(p, 'LicenceNumber'), ...(vin ? { vin } : {}), ...(ref ? { referenceDateTime: ref } : {}) };
    }
    return { schemaVersion, header, query };
  });
}

function parseAddress(e: Element): Address {
  const o = (k: string) => opt(e, k);
  return strip({
    street: o('Street'),
    houseNumber: o('HouseNumber'),
    houseNumberAnnex: o('HouseNumberAnnex'),
    zipCode: o('ZipCode'),
    placeOfResidence: o('PlaceOfResidence'),
    countryOfResidence: o('CountryOfResidence'),
    printable: req(e, 'Printable'),
  });
}

/** Drops undefined members, so parsed values compare equal to what was written. */
function strip<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

function parseParty(e: Element): Party {
  const n = one(e, 'Name');
  const f = maybe(e, 'FirstName');
  const id = maybe(e, 'Identification');
  const gender = opt(e, 'Gender');
  return strip({
    name: strip({ surname: req(n, 'Surname'), infixes: opt(n, 'Infixes'), titles: opt(n, 'Titles'), printable: req(n, 'Printable') }),
    firstName: f ? strip({ firstNames: req(f, 'FirstNames'), initials: opt(f, 'Initials'), printable: req(f, 'Printable') }) : undefined,
    address: parseAddress(one(e, 'Address')),
    gender: gender === undefined ? undefined : pick(gender, GENDERS, 'Gender'),
    dateOfBirth: date(opt(e, 'DateOfBirth'), 'DateOfBirth'),
    legalEntity: pick(req(e, 'LegalEntity'), LEGAL_ENTITIES, 'LegalEntity'),
    placeOfBirth: opt(e, 'PlaceOfBirth'),
    identification: id ? { idNumber: req(id, 'IdNumber'), idType: req(id, 'IdType') } : undefined,
  });
}

function parseIdentity(e: Element): VehicleIdentity {
  return {
    licenceNumber: req(e, 'LicenceNumber'),
    vin: req(e, 'Vin'),
    countryOfRegistration: state(req(e, 'CountryOfRegistration'), 'CountryOfRegistration'),
    make: req(e, 'Make'),
    commercialType: req(e, 'CommercialType'),
    euCategory: req(e, 'EuCategory'),
  };
}

function parseResult(e: Element): SearchResult {
  if (maybe(e, 'NoMatch')) return { kind: 'no-match' };
  const refine = maybe(e, 'RefineSearch');
  if (refine) {
    const vehicles = childElements(refine, VRD_NS, 'Vehicle');
    if (vehicles.length > MAX_REFINE_VEHICLES) throw new Invalid('INVALID_MESSAGE', `more than ${MAX_REFINE_VEHICLES} vehicles in a refine-search answer`);
    return { kind: 'refine', vehicles: vehicles.map(parseIdentity) };
  }
  const full = maybe(e, 'FullDataSet');
  if (!full) throw new Invalid('INVALID_MESSAGE', 'an answer holds NoMatch, RefineSearch or FullDataSet');
  const v = one(full, 'Vehicle');
  const s = one(v, 'Status');
  const vehicle: Vehicle = strip({
    ...parseIdentity(v),
    firstRegistrationDate: date(req(v, 'FirstRegistrationDate'), 'FirstRegistrationDate') as string,
    registrationStart: date(req(v, 'RegistrationStart'), 'RegistrationStart') as string,
    registrationEnd: date(opt(v, 'RegistrationEnd'), 'RegistrationEnd'),
    status: strip({ code: pick(req(s, 'Code'), VEHICLE_STATUSES, 'Status/Code'), start: date(req(s, 'Start'), 'Status/Start') as string, end: date(opt(s, 'End'), 'Status/End') }),
    kw: int(opt(v, 'Kw'), 'Kw'),
    capacity: int(opt(v, 'Capacity'), 'Capacity'),
    licenceNumberType: opt(v, 'LicenceNumberType'),
    documentId1: opt(v, 'DocumentId1'),
    documentId2: opt(v, 'DocumentId2'),
  });
  const holders: Holder[] = childElements(full, VRD_NS, 'Holder').map((h) => {
    const ht = opt(h, 'HolderType');
    return strip({ ...parseParty(h), startDate: date(opt(h, 'StartDate'), 'StartDate'), endDate: date(opt(h, 'EndDate'), 'EndDate'), holderType: ht === undefined ? undefined : pick(ht, HOLDER_TYPES, 'HolderType') });
  });
  const owners: Owner[] = childElements(full, VRD_NS, 'Owner').map((o) => strip({ ...parseParty(o), startDate: date(opt(o, 'StartDate'), 'StartDate'), endDate: date(opt(o, 'EndDate'), 'EndDate') }));
  const insurances: Insurance[] = childElements(full, VRD_NS, 'Insurance').map((i) => {
    const a = maybe(i, 'Address');
    const id = maybe(i, 'Identification');
    return strip({
      companyName: opt(i, 'CompanyName'),
      beginDate: date(opt(i, 'BeginDate'), 'BeginDate'),
      endDate: date(opt(i, 'EndDate'), 'EndDate'),
      address: a ? parseAddress(a) : undefined,
      insuranceNumber: opt(i, 'InsuranceNumber'),
      identification: id ? { idNumber: req(id, 'IdNumber'), idType: req(id, 'IdType') } : undefined,
    });
  });
  const current = full.getAttribute('dataIsCurrent');
  if (current !== 'true' && current !== 'false') throw new Invalid('INVALID_MESSAGE', 'FullDataSet/@dataIsCurrent must be true or false');
  return { kind: 'full', dataSet: { vehicle, holders, owners, insurances, dataIsCurrent: current === 'true' } };
}

export function parseResponse(e: Element): Parsed<VehicleSearchResponse> {
  return guard(() => {
    root(e, 'VehicleSearchResponse');
    const schemaVersion = versionOf(e);
    const h = one(e, 'MessageHeader');
    return {
      schemaVersion,
      header: {
        messageId: req(h, 'MessageId'),
        inReplyTo: req(h, 'InReplyTo'),
        sent: dateTime(req(h, 'Sent'), 'Sent') as string,
        respondingState: state(req(h, 'RespondingState'), 'RespondingState'),
        requestingState: state(req(h, 'RequestingState'), 'RequestingState'),
      },
      result: parseResult(e),
    };
  });
}

export function parseFaultDetail(e: Element): Parsed<{ code: string; inReplyTo: string | null; respondingState: MemberStateCode }> {
  return guard(() => {
    root(e, 'FaultDetail');
    return { code: req(e, 'Code'), inReplyTo: opt(e, 'InReplyTo') ?? null, respondingState: state(req(e, 'RespondingState'), 'RespondingState') };
  });
}
