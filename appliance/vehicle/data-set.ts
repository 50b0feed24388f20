/**
 * The Prüm vehicle registration data set (Decision 2008/616 Annex ch.3 §1.2.2): the refine-search set
 * sent when several vehicles match, and the full set (holder, owner, vehicle, insurance) for one match.
 *
 * M (mandatory) in the Annex means "must be sent when the national register holds it", O means "may be
 * sent". So an element that is M can still be absent for a given record (a company holder has no first
 * name, gender or date of birth): the types mark as required only what every record has; the comments say
 * M or O as the Annex tables do, with the registration-certificate code (C.1.1, D.3, …) where it has one.
 */
import type { MemberStateCode } from '../peers/member-states.js';

/** Message schema versions we speak. 1.1 adds the identification group (ID number and its type). */
export const SCHEMA_VERSIONS = ['1.0', '1.1'] as const;
export type SchemaVersion = (typeof SCHEMA_VERSIONS)[number];
export const CURRENT_SCHEMA_VERSION: SchemaVersion = '1.1';
export function isSchemaVersion(v: string): v is SchemaVersion {
  return (SCHEMA_VERSIONS as readonly string[]).includes(v);
}

/** Annex: "individual, association, company, firm etc." */
export const LEGAL_ENTITIES = ['individual', 'association', 'company', 'firm', 'public-body', 'other'] as const;
export type LegalEntity = (typeof LEGAL_ENTITIES)[number];
export const GENDERS = ['male', 'female', 'unknown'] as const;
export type Gender = (typeof GENDERS)[number];
/** Annex "Type of holder" when there is no owner (C.2). */
export const HOLDER_TYPES = ['is-owner', 'is-not-owner', 'not-identified-as-owner'] as const;
export type HolderType = (typeof HOLDER_TYPES)[number];
/** Annex: "scrapped, stolen, exported etc." */
export const VEHICLE_STATUSES = ['registered', 'suspended', 'scrapped', 'stolen', 'exported', 'deregistered'] as const;
export type VehicleStatus = (typeof VEHICLE_STATUSES)[number];

/** An ISO date (YYYY-MM-DD). */
export type IsoDate = string;
/** An ISO instant (UTC). */
export type IsoDateTime = string;

/** Separate fields and the printable form (Annex: "the Address in printable format will be communicated"). */
export interface Address {
  readonly street?: string;
  readonly houseNumber?: string;
  readonly houseNumberAnnex?: string;
  readonly zipCode?: string;
  readonly placeOfResidence?: string;
  readonly countryOfResidence?: string;
  readonly printable: string;
}

/** Schema 1.1 only: "An identifier that uniquely identifies the person or the company" and its type. */
export interface Identification {
  readonly idNumber: string;
  /** e.g. passport number, national ID, Chamber of Commerce number */
  readonly idType: string;
}

/** What holders (C.1) and owners (C.2) share. */
export interface Party {
  /** M (C.1.1 / C.2.1): (company) name — surname, infixes, titles as separate fields, and printable. */
  readonly name: { readonly surname: string; readonly infixes?: string; readonly titles?: string; readonly printable: string };
  /** M (C.1.2 / C.2.2) for persons: first names, initials, printable. */
  readonly firstName?: { readonly firstNames: string; readonly initials?: string; readonly printable: string };
  /** M (C.1.3 / C.2.3) */
  readonly address: Address;
  /** M for persons */
  readonly gender?: Gender;
  /** M for persons */
  readonly dateOfBirth?: IsoDate;
  /** M */
  readonly legalEntity: LegalEntity;
  /** O */
  readonly placeOfBirth?: string;
  /** O (schema 1.1) */
  readonly identification?: Identification;
}

export interface Holder extends Party {
  /** O: start of the holdership, often (I) on the certificate */
  readonly startDate?: IsoDate;
  /** O */
  readonly endDate?: IsoDate;
  /** O */
  readonly holderType?: HolderType;
}

export interface Owner extends Party {
  /** O */
  readonly startDate?: IsoDate;
  /** O */
  readonly endDate?: IsoDate;
}

/** §1.2.2.1 — the refine-search set; every element M. */
export interface VehicleIdentity {
  readonly licenceNumber: string;
  readonly vin: string;
  readonly countryOfRegistration: MemberStateCode;
  /** D.1 */
  readonly make: string;
  /** D.3 */
  readonly commercialType: string;
  /** J: EU category code (L1e, M1, N1, …) */
  readonly euCategory: string;
}

export interface Vehicle extends VehicleIdentity {
  /** M (B): first registration anywhere in the world */
  readonly firstRegistrationDate: IsoDate;
  /** M (I): start of the registration this certificate refers to */
  readonly registrationStart: IsoDate;
  /** M when the registration has ended or is time-limited (H) */
  readonly registrationEnd?: IsoDate;
  /** M: status and its start; O: its end */
  readonly status: { readonly code: VehicleStatus; readonly start: IsoDate; readonly end?: IsoDate };
  /** O (P.2) */
  readonly kw?: number;
  /** O (P.1), cm³ */
  readonly capacity?: number;
  /** O: regular, transito, … */
  readonly licenceNumberType?: string;
  /** O */
  readonly documentId1?: string;
  /** O */
  readonly documentId2?: string;
}

/** All O. */
export interface Insurance {
  readonly companyName?: string;
  readonly beginDate?: IsoDate;
  readonly endDate?: IsoDate;
  readonly address?: Address;
  readonly insuranceNumber?: string;
  /** schema 1.1 */
  readonly identification?: Identification;
}

/** §1.2.2.2 — the full set for one vehicle. */
export interface FullDataSet {
  readonly vehicle: Vehicle;
  readonly holders: readonly Holder[];
  readonly owners: readonly Owner[];
  readonly insurances: readonly Insurance[];
  /**
   * A search with a past reference date-time where the register keeps no history for this vehicle:
   * current data are sent, flagged as current (Annex §1.2.1).
   */
  readonly dataIsCurrent: boolean;
}

/** Annex §1.2.1: by VIN (+ reference date-time), or by licence number (+ VIN, + reference date-time). */
export type VehicleQuery =
  | { readonly kind: 'vin'; readonly vin: string; readonly referenceDateTime?: IsoDateTime }
  | { readonly kind: 'plate'; readonly licenceNumber: string; readonly vin?: string; readonly referenceDateTime?: IsoDateTime };

/** What we answer: nothing, the refine-search set (several vehicles), or the full set (one). */
export type SearchResult =
  | { readonly kind: 'no-match' }
  | { readonly kind: 'refine'; readonly vehicles: readonly VehicleIdentity[] }
  | { readonly kind: 'full'; readonly dataSet: FullDataSet };

/** The requesting side's header (Annex §2.3.3: State, organisation, user and reason travel in every message). */
export interface RequestHeader {
  readonly messageId: string;
  readonly sent: IsoDateTime;
  readonly requestingState: MemberStateCode;
  readonly requestedState: MemberStateCode;
  readonly organisation: string;
  readonly user: string;
  readonly reason: string;
}

export interface VehicleSearchRequest {
  readonly schemaVersion: SchemaVersion;
  readonly header: RequestHeader;
  readonly query: VehicleQuery;
}

export interface ResponseHeader {
  readonly messageId: string;
  readonly inReplyTo: string;
  readonly sent: IsoDateTime;
  readonly respondingState: MemberStateCode;
  readonly requestingState: MemberStateCode;
}

export interface VehicleSearchResponse {
  readonly schemaVersion: SchemaVersion;
  readonly header: ResponseHeader;
  readonly result: SearchResult;
}

/** VIN: ISO 3779 has 17 characters, but older vehicles carry shorter chassis numbers; bounded, upper-cased. */
export function normaliseVin(vin: string): string {
  return vin.replace(/[\s-]/g, '').toUpperCase();
}

/** Plates are compared without spaces and dashes, upper-cased (the Annex searches by the full plate). */
export function normalisePlate(plate: string): string {
  return plate.normalize('NFC').replace(/[\s-]/g, '').toUpperCase();
}

/** A schema 1.0 partner does not know the identification group: answers in its version leave it out. */
export function forSchemaVersion(result: SearchResult, version: SchemaVersion): SearchResult {
  if (version !== '1.0' || result.kind !== 'full') return result;
  const strip = <T extends { identification?: Identification }>(x: T): T => {
    const { identification: _dropped, ...rest } = x;
    return rest as T;
  };
  const d = result.dataSet;
  return { kind: 'full', dataSet: { ...d, holders: d.holders.map(strip), owners: d.owners.map(strip), insurances: d.insurances.map(strip) } };
}
