/** The console's only way to the gateway: same-origin fetch, JSON, coded errors (appliance/api/errors.ts). */
import type { ApiErrorBody, ApiErrorCode } from '../../appliance/api/errors.js';

export class ConsoleApiError extends Error {
  constructor(
    readonly code: ApiErrorCode | 'NETWORK',
    message: string,
    readonly status: number,
    readonly detail: Readonly<Record<string, string | number | boolean | null>> = {},
  ) {
    super(message);
  }
}

let csrfToken = '';
let onSessionLost: (code: 'SESSION_EXPIRED' | 'AUTH_REQUIRED') => void = () => undefined;

export function setCsrfToken(token: string): void {
  csrfToken = token;
}

export function onSignedOut(handler: typeof onSessionLost): void {
  onSessionLost = handler;
}

export interface RequestOptions {
  /** Polling: does not count as user activity for the idle timeout. */
  readonly background?: boolean;
  readonly body?: unknown;
}

export async function api<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  if (options.background) headers['x-pruem-background'] = '1';
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`/api${path}`, {
      method,
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
  } catch (e) {
    throw new ConsoleApiError('NETWORK', (e as Error).message, 0);
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!res.ok) {
    const error = (parsed as ApiErrorBody | null)?.error;
    const code = error?.code ?? 'INTERNAL';
    if ((code === 'SESSION_EXPIRED' || code === 'AUTH_REQUIRED') && path !== '/session') onSessionLost(code);
    throw new ConsoleApiError(code, error?.message ?? res.statusText, res.status, error?.detail ?? {});
  }
  return parsed as T;
}
