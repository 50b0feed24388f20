import { z } from 'zod';
import { ApiError, isApiErrorCode, type ApiErrorCode } from './errors.js';
import { MEMBER_STATES, CHANNELS } from '../peers/member-states.js';

/** Parses an untrusted body; the first bad field is named in the error's detail. */
export function parseBody<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new ApiError('VALIDATION_FAILED', { field: issue ? issue.path.join('.') || '(body)' : '(body)', problem: issue?.message ?? 'invalid' });
}

export const memberStateSchema = z.enum(MEMBER_STATES);
export const channelSchema = z.enum(CHANNELS as unknown as ['dna', 'fp', 'vrd']);
export const isoInstant = z.string().refine((s) => /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?$/.test(s) && Number.isFinite(Date.parse(s)), 'ISO-8601 date or instant expected');

export function positiveIntParam(value: string | undefined): number {
  if (!value || !/^\d{1,9}$/.test(value)) throw new ApiError('NOT_FOUND');
  return Number(value);
}

/** Codes a part of the gateway may put on its errors to be reported as such (the adapter in main.ts maps the rest). */
const PASSED_THROUGH: readonly ApiErrorCode[] = [
  'CERTIFICATE_INVALID',
  'TOKEN_UNAVAILABLE',
  'TOKEN_PIN_INVALID',
  'EXPORT_TARGET_INVALID',
  'PERIOD_INVALID',
  'VALIDATION_FAILED',
  'NOT_CONFIGURED',
];

/**
 * Runs a dependency call. An ApiError passes through; an error whose `code` is one of
 * PASSED_THROUGH becomes that ApiError; anything else becomes DEPENDENCY_FAILED with a short reason.
 */
export async function callDependency<T>(what: string, work: () => Promise<T> | T): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof ApiError) throw e;
    const message = e instanceof Error ? e.message : String(e);
    const code = (e as { code?: unknown }).code;
    if (isApiErrorCode(code) && PASSED_THROUGH.includes(code)) throw new ApiError(code, { part: what, reason: message.slice(0, 300) });
    throw new ApiError('DEPENDENCY_FAILED', { part: what, reason: message.slice(0, 300), ...(typeof code === 'string' ? { code } : {}) });
  }
}
