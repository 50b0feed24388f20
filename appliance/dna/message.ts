/**
 * PRUEMDNA as typed values (Annex ch.1 §4.2, DNA-XML). Field names are the ICD's, in camelCase; values keep
 * their XML text (dates "YYYY-MM-DD", times "HH:MM:SS", alleles as sent) so a message round-trips unchanged.
 */
import type { DnaLoci, ProfileType } from './profile.js';

export type Direction = 'R' | 'A';
export type RequestType = 3 | 4;
export type DatasResult = 'U' | 'H' | 'N' | 'E';
export type HitQualityCode = 0 | 1 | 2 | 3 | 4;

/** Schema version we write; read from any peer regardless. */
export const SCHEMA_VERSION = '1.0';
/** ICD §4.2.1: datas occurs 1 … 500. */
export const MAX_DATAS = 500;

export interface HeaderInfo {
  readonly sourceIsocode: string;
  readonly destinationIsocode: string;
  readonly requestId: string;
  readonly date: string;
  readonly time: string;
}

export interface PruemHeader {
  readonly direction: Direction;
  readonly ref: string;
  readonly generator: string;
  readonly schemaVersion: string;
  readonly requesting: HeaderInfo;
  readonly requested: HeaderInfo;
}

/** IPSG_DNA_profile: loci with their raw low/high values, plus marker and profile_id. */
export interface PruemProfile {
  readonly loci: DnaLoci;
  readonly marker?: string;
  readonly profileId?: string;
}

export interface PruemDatas {
  readonly reqtype: RequestType;
  readonly date: string;
  readonly type: ProfileType;
  readonly result: DatasResult;
  readonly agency: string;
  readonly profileIdent: string;
  readonly message?: string;
  readonly profile?: PruemProfile;
  readonly matchId?: string;
  readonly quality?: HitQualityCode;
  readonly hitcount?: number;
  readonly rescount?: number;
}

export interface PruemDnaMessage {
  readonly header: PruemHeader;
  readonly datas: readonly PruemDatas[];
}

/** Closed list of reasons a PRUEMDNA document or request is refused. */
export type DnaErrorCode =
  | 'TOO_LARGE'
  | 'NOT_UTF8'
  | 'DOCTYPE_FORBIDDEN'
  | 'NOT_WELL_FORMED'
  | 'SCHEMA_INVALID'
  | 'VALIDATOR_UNAVAILABLE'
  | 'DIRECTION_RESULT_MISMATCH'
  | 'ART3_SINGLE_PROFILE'
  | 'UNKNOWN_MEMBER_STATE'
  | 'DUPLICATE_PROFILE_IDENT'
  | 'MISSING_PROFILE'
  | 'NOT_A_REQUEST'
  | 'WRONG_DESTINATION'
  | 'SENDER_MISMATCH'
  | 'PROFILE_REFUSED';

/** An error value: a code to branch on, and a message fit for a result-E `message` element (≤ 4000 chars). */
export interface DnaError {
  readonly code: DnaErrorCode;
  readonly message: string;
}

export const MAX_ERROR_MESSAGE = 4000;

export function dnaError(code: DnaErrorCode, message: string): DnaError {
  return { code, message: message.length > MAX_ERROR_MESSAGE ? `${message.slice(0, MAX_ERROR_MESSAGE - 1)}…` : message };
}

export function isDnaError(x: PruemDnaMessage | DnaError): x is DnaError {
  return typeof (x as DnaError).code === 'string' && typeof (x as DnaError).message === 'string';
}
