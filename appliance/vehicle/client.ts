/**
 * Our searches abroad, one partner at a time: build the request in the partner's schema version, sign it
 * on the token, POST it over HTTPS (the partner's listener checked against its configured certificate),
 * verify the signed answer against the partner's pinned certificate, and read it. Everything bounded by
 * the deadline; an unreachable partner is told apart from a slow one, so the first can be queued.
 */
import { readFileSync, statSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { SearchResult, VehicleSearchRequest } from './data-set.js';
import { parseFaultDetail, parseResponse, writeRequest } from './codec.js';
import { isFault, readFault, SEARCH_ACTION, SOAP_CONTENT_TYPE } from './soap.js';
import { signEnvelope, verifyEnvelope, type XmlSigner } from './ws-security.js';
import type { VehiclePartner } from './partners.js';

/** Largest answer we read: a full data set is a few kB, a refine set of 100 vehicles ~50 kB. */
const MAX_ANSWER_BYTES = 2 * 1024 * 1024;

export type PartnerOutcome =
  | { readonly kind: 'answered'; readonly result: SearchResult; readonly answerId: string; readonly requestXml: string; readonly answerXml: string }
  | { readonly kind: 'fault'; readonly code: string; readonly text: string; readonly requestXml: string; readonly answerXml: string }
  /** Not reached at all (refused, no route): nothing was delivered, so it can be queued and sent later. */
  | { readonly kind: 'unreachable'; readonly detail: string }
  | { readonly kind: 'timed-out'; readonly requestXml: string }
  /** Reached, but what came back is not a valid signed answer (or the transfer broke). */
  | { readonly kind: 'failed'; readonly detail: string; readonly requestXml: string };

const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);

export interface ClientDeps {
  readonly signer: XmlSigner;
  readonly skewSeconds: number;
  readonly windowSeconds: number;
  readonly clock?: () => Date;
}

/** CA files (a peer's self-signed listener certificate, or its CA), read again when they change (renewal). */
const caCache = new Map<string, { mtimeMs: number; ca: Buffer }>();
function caFor(path: string | null): Buffer | undefined {
  if (!path) return undefined;
  const mtimeMs = statSync(path).mtimeMs;
  let entry = caCache.get(path);
  if (!entry || entry.mtimeMs !== mtimeMs) {
    entry = { mtimeMs, ca: readFileSync(path) };
    caCache.set(path, entry);
  }
  return entry.ca;
}

function post(url: URL, body: string, ca: Buffer | undefined, signal: AbortSignal): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const opts = {
      method: 'POST',
      headers: { 'Content-Type': SOAP_CONTENT_TYPE, SOAPAction: `"${SEARCH_ACTION}"`, 'Content-Length': Buffer.byteLength(body) },
      signal,
      ...(ca ? { ca } : {}),
    };
    const onResponse = (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_ANSWER_BYTES) res.destroy(new Error(`answer larger than ${MAX_ANSWER_BYTES} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    };
    const req = url.protocol === 'https:' ? httpsRequest(url, { ...opts, minVersion: 'TLSv1.2' }, onResponse) : httpRequest(url, opts, onResponse);
    req.on('error', reject);
    req.end(body);
  });
}

/** One signed request to one partner, answered within `deadlineMs` or reported as timed out. */
export async function askPartner(deps: ClientDeps, partner: VehiclePartner, request: VehicleSearchRequest, deadlineMs: number): Promise<PartnerOutcome> {
  const clock = deps.clock ?? (() => new Date());
  if (!partner.url || !partner.certificate) return { kind: 'unreachable', detail: `${partner.state} has no vehicle service URL or certificate configured` };
  let ca: Buffer | undefined;
  try {
    ca = caFor(partner.tlsCertificatePath);
  } catch (e) {
    return { kind: 'unreachable', detail: `${partner.state}'s listener certificate ${partner.tlsCertificatePath} cannot be read: ${(e as Error).message}`.slice(0, 300) };
  }
  const requestXml = await signEnvelope({ body: writeRequest(request), signer: deps.signer, now: clock(), bodyIsCanonical: true });
  const signal = AbortSignal.timeout(Math.max(1, deadlineMs));
  let answer: { status: number; text: string };
  try {
    answer = await post(new URL(partner.url), requestXml, ca, signal);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (signal.aborted) return { kind: 'timed-out', requestXml };
    if (err.code && UNREACHABLE.has(err.code)) return { kind: 'unreachable', detail: `${err.code}: ${err.message}`.slice(0, 300) };
    return { kind: 'failed', detail: `${err.code ?? 'error'}: ${err.message}`.slice(0, 300), requestXml };
  }
  const pinned = partner.certificate;
  const verified = verifyEnvelope(answer.text, {
    trust: (c) => (c && c.fingerprint256 === pinned.fingerprint256 ? { certificate: pinned, label: partner.state } : null),
    now: clock(),
    skewSeconds: deps.skewSeconds,
    maxAgeSeconds: deps.windowSeconds,
  });
  if (!verified.ok) return { kind: 'failed', detail: `HTTP ${answer.status}, answer refused: ${verified.fault.code}: ${verified.fault.detail}`.slice(0, 300), requestXml };
  const payload = verified.message.payload;
  if (isFault(payload)) {
    const f = readFault(payload);
    const detail = f.detail ? parseFaultDetail(f.detail) : null;
    return { kind: 'fault', code: detail?.ok ? detail.value.code : f.faultcode || 'unknown', text: f.faultstring.slice(0, 300), requestXml, answerXml: answer.text };
  }
  const parsed = parseResponse(payload);
  if (!parsed.ok) return { kind: 'failed', detail: `answer does not follow the schema: ${parsed.error.message}`.slice(0, 300), requestXml };
  const r = parsed.value;
  if (r.header.inReplyTo !== request.header.messageId || r.header.respondingState !== partner.state) {
    return { kind: 'failed', detail: `answer belongs to ${r.header.inReplyTo} from ${r.header.respondingState}, not to our ${request.header.messageId} to ${partner.state}`.slice(0, 300), requestXml };
  }
  return { kind: 'answered', result: r.result, answerId: r.header.messageId, requestXml, answerXml: answer.text };
}
