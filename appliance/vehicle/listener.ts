/**
 * The vehicle service's own HTTPS listener (the TESTA side; not the console's, not the officers'):
 * POST a SOAP request to /vehicle; GET /vehicle?wsdl for the WSDL, /vehicle?xsd=vrd-1.1.xsd (or 1.0)
 * for the schemas it imports. Bodies are bounded; a request is answered within the deadline whatever
 * happens inside (a hung token or register gives a fault, never a hang).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { writeFaultDetail } from './codec.js';
import { CURRENT_SCHEMA_VERSION } from './data-set.js';
import { envelope, faultBody, SOAP_CONTENT_TYPE } from './soap.js';
import type { MemberStateCode } from '../peers/member-states.js';
import type { ServiceAnswer } from './service.js';

/** A search request is well under 10 kB; this leaves room for long certificates and chains. */
export const MAX_REQUEST_BYTES = 256 * 1024;
export const SERVICE_PATH = '/vehicle';

/** docs/vehicles/ from the source tree (appliance/vehicle/) or from a build (dist/appliance/vehicle/). */
export const VEHICLE_DOCS_DIR: string = (() => {
  for (const rel of ['../../docs/vehicles/', '../../../docs/vehicles/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}vrd.wsdl`)) return dir;
  }
  return fileURLToPath(new URL('../../docs/vehicles/', import.meta.url));
})();

const SCHEMA_FILES = new Set(['vrd-1.0.xsd', 'vrd-1.1.xsd']);
const PLAIN_SERVICE_URL: Pick<URL, 'pathname' | 'searchParams'> = { pathname: SERVICE_PATH, searchParams: new URLSearchParams() };

export interface VehicleListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: { readonly key: Buffer; readonly cert: Buffer } | null;
  readonly ourState: MemberStateCode;
  readonly deadlineMs: number;
  readonly handle: (body: string, meta: { remote: string }) => Promise<ServiceAnswer>;
  readonly onOutcome?: (o: { outcome: string; status: number; ms: number }) => void;
}

export interface VehicleListener {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage, limit: number): Promise<string | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) over = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(over ? 'too-large' : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A fault we cannot sign (the deadline passed inside the signing path): unsigned, so the partner is not left waiting. */
function unsignedFault(ourState: MemberStateCode, code: 'VRD-INTERNAL' | 'VRD-TOO-LARGE', text?: string): string {
  return envelope({ bodyId: 'Body-fault', body: faultBody(code, writeFaultDetail({ code, inReplyTo: null, respondingState: ourState, schemaVersion: CURRENT_SCHEMA_VERSION }), text) });
}

export function listenVehicleService(opts: VehicleListenerOptions): Promise<VehicleListener> {
  const scheme = opts.tls ? 'https' : 'http';
  let base = '';
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const started = Date.now();
    // Every partner's search POSTs to the bare path: no URL to parse then.
    const url = req.url === SERVICE_PATH ? PLAIN_SERVICE_URL : new URL(req.url ?? '/', 'http://x');
    const send = (status: number, type: string, body: string) => {
      if (res.headersSent) return;
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
      res.end(body);
    };
    if (url.pathname !== SERVICE_PATH) return send(404, 'text/plain; charset=utf-8', 'not found\n');
    if (req.method === 'GET') {
      if (url.searchParams.has('wsdl')) {
        const wsdl = readFileSync(`${VEHICLE_DOCS_DIR}vrd.wsdl`, 'utf8')
          .replace('schemaLocation="vrd-1.1.xsd"', `schemaLocation="${base}?xsd=vrd-1.1.xsd"`)
          .replace('location="https://localhost/vehicle"', `location="${base}"`);
        return send(200, 'text/xml; charset=utf-8', wsdl);
      }
      const xsd = url.searchParams.get('xsd');
      if (xsd && SCHEMA_FILES.has(xsd)) return send(200, 'text/xml; charset=utf-8', readFileSync(`${VEHICLE_DOCS_DIR}${xsd}`, 'utf8'));
      return send(404, 'text/plain; charset=utf-8', 'GET ?wsdl or ?xsd=vrd-1.1.xsd\n');
    }
    if (req.method !== 'POST') return send(405, 'text/plain; charset=utf-8', 'POST a SOAP request\n');
    const guard = setTimeout(() => {
      send(500, SOAP_CONTENT_TYPE, unsignedFault(opts.ourState, 'VRD-INTERNAL', `no answer within ${opts.deadlineMs} ms`));
      opts.onOutcome?.({ outcome: 'VRD-INTERNAL: deadline passed', status: 500, ms: Date.now() - started });
    }, opts.deadlineMs);
    void (async () => {
      try {
        const body = await readBody(req, MAX_REQUEST_BYTES);
        if (body === 'too-large') {
          send(500, SOAP_CONTENT_TYPE, unsignedFault(opts.ourState, 'VRD-TOO-LARGE', `larger than ${MAX_REQUEST_BYTES} bytes`));
          return;
        }
        const answer = await opts.handle(body, { remote: req.socket.remoteAddress ?? 'unknown' });
        send(answer.status, SOAP_CONTENT_TYPE, answer.xml);
        opts.onOutcome?.({ outcome: answer.outcome, status: answer.status, ms: Date.now() - started });
      } catch (e) {
        send(500, SOAP_CONTENT_TYPE, unsignedFault(opts.ourState, 'VRD-INTERNAL'));
        opts.onOutcome?.({ outcome: `VRD-INTERNAL: ${(e as Error).message}`, status: 500, ms: Date.now() - started });
      } finally {
        clearTimeout(guard);
      }
    })();
  };
  const server: Server = opts.tls ? createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert, minVersion: 'TLSv1.2' }, onRequest) : createHttpServer(onRequest);
  server.requestTimeout = opts.deadlineMs * 2;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      const port = (server.address() as AddressInfo).port;
      base = `${scheme}://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}${SERVICE_PATH}`;
      resolve({
        port,
        url: base,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}
