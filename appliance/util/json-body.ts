import type { IncomingMessage } from 'node:http';

export type JsonBodyError = 'UNSUPPORTED_MEDIA_TYPE' | 'PAYLOAD_TOO_LARGE' | 'BAD_JSON';

export type JsonBody = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly code: JsonBodyError; readonly limitBytes: number };

/**
 * Reads a request body as JSON, never more than `limitBytes`: a declared Content-Length over the
 * limit is refused before reading, and reading stops as soon as the limit is passed, so a client
 * cannot make us buffer an unbounded body. An empty body reads as `{}`.
 * `requireJsonType`: only `application/json` (the console's API relies on it: a cross-site form cannot
 * send that type without a CORS preflight, which backs up the CSRF token).
 */
export async function readJsonBody(req: IncomingMessage, opts: { readonly limitBytes: number; readonly requireJsonType: boolean }): Promise<JsonBody> {
  const { limitBytes } = opts;
  const fail = (code: JsonBodyError): JsonBody => ({ ok: false, code, limitBytes });
  if (opts.requireJsonType && !/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) return fail('UNSUPPORTED_MEDIA_TYPE');
  if (Number(req.headers['content-length'] ?? '0') > limitBytes) return fail('PAYLOAD_TOO_LARGE');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += buf.length;
    if (size > limitBytes) return fail('PAYLOAD_TOO_LARGE');
    chunks.push(buf);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return fail('BAD_JSON');
  }
}
