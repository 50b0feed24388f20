/**
 * One line of the national export (`pruem dna import`), JSON Lines:
 *   {"id": "RO-000123", "type": "P" | "S", "agency": "...", "loci": {"vwa": ["14", "17"], ...}}
 *   {"id": "RO-000123", "op": "delete"}
 * Locus names as in the schema, values as the national database holds them (normalised here).
 * A later line with the same id replaces the profile.
 */
import { normaliseProfile, type RefusalCode } from './normalise.js';
import type { NormalisedProfile } from './profile.js';

/** Longest line we read: a 24-locus profile with long agency names is well under 4 KiB. */
export const MAX_LINE_LENGTH = 64 * 1024;
/** Bounds of the identifiers we store and later write into PRUEMDNA (schema bounds). */
export const MAX_ID_LENGTH = 128;
export const MAX_AGENCY_LENGTH = 255;

export type LineRefusalCode = 'LINE_TOO_LONG' | 'BAD_JSON' | 'BAD_RECORD' | 'UNKNOWN_ID' | RefusalCode;

export type ProfileLine =
  | { readonly kind: 'blank' }
  | { readonly kind: 'upsert'; readonly id: string; readonly agency: string; readonly profile: NormalisedProfile }
  | { readonly kind: 'delete'; readonly id: string }
  | { readonly kind: 'refused'; readonly id?: string; readonly code: LineRefusalCode; readonly reason: string };

// Control characters would end up in XML text and logs.
const CONTROL = /[\u0000-\u001f\u007f]/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function text(v: unknown, max: number): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= max && !CONTROL.test(v) ? v : undefined;
}

export function parseProfileLine(line: string): ProfileLine {
  if (line.length > MAX_LINE_LENGTH) return { kind: 'refused', code: 'LINE_TOO_LONG', reason: `line longer than ${MAX_LINE_LENGTH} characters` };
  if (line.trim() === '') return { kind: 'blank' };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    return { kind: 'refused', code: 'BAD_JSON', reason: `not JSON: ${(e as Error).message}` };
  }
  if (!isRecord(value)) return { kind: 'refused', code: 'BAD_RECORD', reason: 'a line must be a JSON object' };
  const id = text(value.id, MAX_ID_LENGTH);
  if (id === undefined) return { kind: 'refused', code: 'BAD_RECORD', reason: `"id" must be a string of 1–${MAX_ID_LENGTH} printable characters` };
  const op = value.op ?? 'upsert';
  if (op === 'delete') return { kind: 'delete', id };
  if (op !== 'upsert') return { kind: 'refused', id, code: 'BAD_RECORD', reason: '"op" must be "upsert" or "delete"' };
  if (value.type !== 'P' && value.type !== 'S') return { kind: 'refused', id, code: 'BAD_RECORD', reason: '"type" must be "P" or "S"' };
  const agency = text(value.agency, MAX_AGENCY_LENGTH);
  if (agency === undefined) return { kind: 'refused', id, code: 'BAD_RECORD', reason: `"agency" must be a string of 1–${MAX_AGENCY_LENGTH} printable characters` };
  if (!isRecord(value.loci)) return { kind: 'refused', id, code: 'BAD_RECORD', reason: '"loci" must be an object' };
  const raw = value.loci;
  const loci: Record<string, readonly string[]> = {};
  for (const name in raw) {
    const values = raw[name];
    if (!Array.isArray(values)) return { kind: 'refused', id, code: 'BAD_RECORD', reason: `locus "${name.slice(0, 40)}" must be an array of strings` };
    let strings = true;
    for (const v of values) {
      if (typeof v === 'string') continue;
      if (typeof v === 'number' && Number.isFinite(v)) strings = false;
      else return { kind: 'refused', id, code: 'BAD_RECORD', reason: `locus "${name.slice(0, 40)}" must be an array of strings` };
    }
    loci[name] = strings ? (values as string[]) : values.map(String);
  }
  const r = normaliseProfile({ type: value.type, loci });
  if (!r.ok) return { kind: 'refused', id, code: r.refusal.code, reason: r.refusal.reason };
  return { kind: 'upsert', id, agency, profile: r.profile };
}
