/**
 * A national register behind HTTP (the "legacy register" of Annex ch.3 §2.3.3, message types 4 and 9):
 * POST {query} as JSON, get {matches: FullDataSet[]}. Also the small server that exposes a register this
 * way — the demo register for the benchmark's plain round trip, or a national system's test double.
 */
import { Agent, createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FullDataSet, VehicleQuery } from './data-set.js';
import type { VehicleRegister } from './register.js';

const MAX_BYTES = 4 * 1024 * 1024;

function looksLikeDataSets(v: unknown): v is FullDataSet[] {
  return (
    Array.isArray(v) &&
    v.every((d) => {
      if (typeof d !== 'object' || d === null) return false;
      const x = d as Record<string, unknown>;
      const veh = x.vehicle as Record<string, unknown> | undefined;
      return typeof veh === 'object' && veh !== null && typeof veh.vin === 'string' && Array.isArray(x.holders) && Array.isArray(x.owners) && Array.isArray(x.insurances) && typeof x.dataIsCurrent === 'boolean';
    })
  );
}

export class HttpVehicleRegister implements VehicleRegister {
  /** Connections to the register are kept and reused: a new one per search costs more than the search. */
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 32 });
  /** Parsed once: http.request() would parse the URL string again for every search. */
  private readonly target: { readonly protocol: string; readonly hostname: string; readonly port: string; readonly path: string };
  constructor(private readonly url: string) {
    const u = new URL(url);
    this.target = { protocol: u.protocol, hostname: u.hostname.replace(/^\[|\]$/g, ''), port: u.port, path: `${u.pathname}${u.search}` };
  }

  search(query: VehicleQuery, { signal }: { readonly signal: AbortSignal }): Promise<readonly FullDataSet[]> {
    const body = JSON.stringify({ query });
    if (signal.aborted) return Promise.reject(new Error('register search abandoned'));
    return new Promise<readonly FullDataSet[]>((fulfil, fail) => {
      // The deadline's abort destroys the request. Not through request()'s `signal` option: that hooks the
      // request's whole stream life cycle for every search, a tenth of a millisecond we spend on nothing.
      const onAbort = () => req.destroy(new Error('register search abandoned'));
      const resolve = (v: readonly FullDataSet[]) => {
        signal.removeEventListener('abort', onAbort);
        fulfil(v);
      };
      const reject = (e: Error) => {
        signal.removeEventListener('abort', onAbort);
        fail(e);
      };
      const req = request({ ...this.target, method: 'POST', agent: this.agent, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BYTES) res.destroy(new Error('register answer too large'));
          else chunks.push(c);
        });
        res.on('error', reject);
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`register answered HTTP ${res.statusCode}`));
          try {
            const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { matches?: unknown };
            if (!looksLikeDataSets(parsed.matches)) return reject(new Error('register answer is not a list of data sets'));
            resolve(parsed.matches);
          } catch (e) {
            reject(new Error(`register answer is not JSON: ${(e as Error).message}`));
          }
        });
      });
      signal.addEventListener('abort', onAbort, { once: true });
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Serves `register` as {query} → {matches}; plain HTTP on loopback (a national LAN stand-in). */
export function serveRegisterOverHttp(register: VehicleRegister, host = '127.0.0.1', port = 0): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        try {
          const { query } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { query: VehicleQuery };
          const matches = await register.search(query, { signal: new AbortController().signal });
          const out = JSON.stringify({ matches });
          res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(out) });
          res.end(out);
        } catch (e) {
          res.writeHead(500, { 'Content-Type': 'text/plain' });
          res.end((e as Error).message);
        }
      })();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () =>
      resolve({
        url: `http://${host}:${(server.address() as AddressInfo).port}/register`,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      }),
    );
  });
}
