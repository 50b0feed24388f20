/**
 * SOAP 1.1 for the vehicle service: the envelope (Header with wsse:Security, Body with a wsu:Id so the
 * signature can point at it), reading an envelope from untrusted text, and faults carrying our code.
 */
import { childElements, parseXml, type Parsed } from './codec.js';
import { VEHICLE_FAULTS, type VehicleFaultCode } from './faults.js';
import { escapeXml } from './codec.js';

export const SOAP_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const WSSE_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
export const WSU_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
export const DS_NS = 'http://www.w3.org/2000/09/xmldsig#';
export const SOAP_CONTENT_TYPE = 'text/xml; charset=utf-8';
/** SOAPAction of the one operation (WSDL: docs/vehicles/vrd.wsdl). */
export const SEARCH_ACTION = 'urn:eu:pruem:vrd:1/VehicleSearch';

/** An envelope around a Body element; `security` is the content of wsse:Security (token, timestamp, signature). */
export function envelope(parts: { bodyId: string; body: string; security?: string }): string {
  const header = parts.security === undefined ? '' : `<soap:Header><wsse:Security soap:mustUnderstand="1">${parts.security}</wsse:Security></soap:Header>`;
  return (
    `<?xml version="1.0" encoding="UTF-8"?>` +
    `<soap:Envelope xmlns:soap="${SOAP_NS}" xmlns:wsse="${WSSE_NS}" xmlns:wsu="${WSU_NS}">` +
    header +
    `<soap:Body wsu:Id="${parts.bodyId}">${parts.body}</soap:Body></soap:Envelope>`
  );
}

export interface SoapEnvelope {
  readonly doc: Document;
  readonly envelope: Element;
  readonly header: Element | null;
  readonly body: Element;
  /** The one element inside the Body (request, response or Fault). */
  readonly payload: Element;
}

export function parseEnvelope(text: string): Parsed<SoapEnvelope> {
  const parsed = parseXml(text);
  if (!parsed.ok) return parsed;
  const env = parsed.value.documentElement as Element;
  const bad = (message: string): Parsed<SoapEnvelope> => ({ ok: false, error: { code: 'INVALID_MESSAGE', message } });
  if (env.namespaceURI !== SOAP_NS || env.localName !== 'Envelope') return bad('the root element is not a SOAP 1.1 Envelope');
  const headers = childElements(env, SOAP_NS, 'Header');
  const bodies = childElements(env, SOAP_NS, 'Body');
  if (headers.length > 1 || bodies.length !== 1) return bad('an Envelope holds at most one Header and exactly one Body');
  const body = bodies[0] as Element;
  const inside = childElements(body);
  if (inside.length !== 1) return bad('the Body must hold exactly one element');
  return { ok: true, value: { doc: parsed.value, envelope: env, header: headers[0] ?? null, body, payload: inside[0] as Element } };
}

/** The Fault element (Body content) for one of our codes; `detail` is the FaultDetail element. */
export function faultBody(code: VehicleFaultCode, detail: string, text?: string): string {
  const f = VEHICLE_FAULTS[code];
  return `<soap:Fault><faultcode>soap:${f.side}</faultcode><faultstring xml:lang="en">${escapeXml(`${code}: ${text ?? f.text}`)}</faultstring><detail>${detail}</detail></soap:Fault>`;
}

export function isFault(payload: Element): boolean {
  return payload.namespaceURI === SOAP_NS && payload.localName === 'Fault';
}

/** faultcode, faultstring and the first element of detail. */
export function readFault(payload: Element): { faultcode: string; faultstring: string; detail: Element | null } {
  const pick = (name: string) => childElements(payload).find((e) => e.localName === name && (e.namespaceURI === null || e.namespaceURI === ''));
  const detail = pick('detail');
  return {
    faultcode: (pick('faultcode')?.textContent ?? '').trim(),
    faultstring: (pick('faultstring')?.textContent ?? '').trim(),
    detail: detail ? (childElements(detail)[0] ?? null) : null,
  };
}
