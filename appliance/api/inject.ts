import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { Writable } from 'node:stream';

/**
 * In-process request injection (Fastify's light-my-request idea) for API tests: a real
 * IncomingMessage/ServerResponse pair on a socket that is never connected, so the whole Koa
 * stack runs without opening a port. Also handy for the daemon's own route tests.
 */
export interface InjectRequest {
  readonly method: string;
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** An object is sent as JSON (content-type set unless given). */
  readonly body?: string | Buffer | object;
  readonly remoteAddress?: string;
}

export interface InjectResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | number | undefined>>;
  readonly body: Buffer;
  readonly text: string;
  json<T = unknown>(): T;
  /** Set-Cookie headers as name → value (Max-Age=0 gives ''). */
  readonly cookies: Readonly<Record<string, { value: string; attributes: string }>>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

class NullSocket extends Writable {
  override _write(_chunk: unknown, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    setImmediate(callback);
  }
}

export function inject(handler: Handler, request: InjectRequest): Promise<InjectResponse> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    // Koa reads the peer address and TLS flag from here; nothing is ever read from or written to it.
    Object.defineProperty(socket, 'remoteAddress', { value: request.remoteAddress ?? '127.0.0.1' });
    const req = new IncomingMessage(socket);
    req.method = request.method.toUpperCase();
    req.url = request.url;
    req.httpVersion = '1.1';
    req.httpVersionMajor = 1;
    req.httpVersionMinor = 1;
    const headers: Record<string, string> = { host: 'gateway.test', 'user-agent': 'inject' };
    for (const [k, v] of Object.entries(request.headers ?? {})) headers[k.toLowerCase()] = v;
    let payload: Buffer | null = null;
    if (request.body !== undefined) {
      if (Buffer.isBuffer(request.body)) payload = request.body;
      else if (typeof request.body === 'string') payload = Buffer.from(request.body);
      else {
        payload = Buffer.from(JSON.stringify(request.body));
        headers['content-type'] ??= 'application/json';
      }
      headers['content-length'] = String(payload.length);
    }
    req.headers = headers;
    req.rawHeaders = Object.entries(headers).flat();
    if (payload) req.push(payload);
    req.push(null);
    req.complete = true;

    const res = new ServerResponse(req);
    const chunks: Buffer[] = [];
    res.assignSocket(new NullSocket() as unknown as Socket);
    const write = res.write.bind(res);
    const collect = (chunk: unknown, encoding?: unknown) => {
      if (chunk === undefined || chunk === null || typeof chunk === 'function') return;
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8'));
    };
    res.write = ((chunk: unknown, encoding?: unknown, cb?: unknown) => {
      collect(chunk, encoding);
      return (write as (c: unknown, e?: unknown, cb?: unknown) => boolean)(chunk, encoding, cb);
    }) as typeof res.write;
    const end = res.end.bind(res);
    res.end = ((chunk?: unknown, encoding?: unknown, cb?: unknown) => {
      collect(chunk, encoding);
      const result = (end as (c?: unknown, e?: unknown, cb?: unknown) => ServerResponse)(chunk, encoding, cb);
      const body = Buffer.concat(chunks);
      const rawCookies = res.getHeader('set-cookie');
      const cookies: Record<string, { value: string; attributes: string }> = {};
      for (const line of Array.isArray(rawCookies) ? rawCookies : rawCookies ? [String(rawCookies)] : []) {
        const [pair = '', ...attrs] = line.split(';');
        const eq = pair.indexOf('=');
        const name = pair.slice(0, eq).trim();
        const maxAgeZero = /max-age=0/i.test(line) || /expires=Thu, 01 Jan 1970/i.test(line);
        cookies[name] = { value: maxAgeZero ? '' : pair.slice(eq + 1).trim(), attributes: attrs.join(';').trim() };
      }
      resolve({
        status: res.statusCode,
        headers: res.getHeaders() as InjectResponse['headers'],
        body,
        text: body.toString('utf8'),
        json: <T>() => JSON.parse(body.toString('utf8')) as T,
        cookies,
      });
      return result;
    }) as typeof res.end;
    try {
      handler(req, res);
    } catch (e) {
      reject(e as Error);
    }
  });
}
