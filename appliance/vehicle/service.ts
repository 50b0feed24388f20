/**
 * Our side of the Prüm vehicle search: a partner's signed SOAP request in, a signed answer or a signed
 * fault out. Order of checks: envelope → signature (pinned partner certificate, Body and Timestamp
 * covered) → timestamp window → request schema → sender and recipient → replay → authorisation for the
 * service → register search under the deadline. Every refusal is a SOAP fault with its code, and is
 * recorded (journal.ts).
 */
import { randomUUID } from 'node:crypto';
import type { MemberStateCode } from '../peers/member-states.js';
import { CURRENT_SCHEMA_VERSION, normalisePlate, normaliseVin, type SchemaVersion, type SearchResult, type VehicleSearchRequest } from './data-set.js';
import { claimedVersion, parseRequest, writeFaultDetail, writeResponse } from './codec.js';
import { fault, type VehicleFault, type VehicleFaultCode } from './faults.js';
import { faultBody } from './soap.js';
import { signEnvelope, verifyEnvelope, type XmlSigner } from './ws-security.js';
import { searchWithDeadline, resultOf, type VehicleRegister } from './register.js';
import type { ReplayMemory, VehicleExchange, VehicleJournal, VehicleService } from './journal.js';
import type { PartnerSigner, VehiclePartners } from './partners.js';

export interface VehicleServiceDeps {
  readonly ourState: MemberStateCode;
  readonly agency: string;
  readonly signer: XmlSigner;
  readonly partners: VehiclePartners;
  readonly register: VehicleRegister;
  readonly replay: ReplayMemory;
  readonly journal: VehicleJournal;
  /** The whole request's bound, from arrival to the signed answer (10 s). */
  readonly deadlineMs: number;
  readonly timestampWindowSeconds: number;
  readonly clockSkewSeconds: number;
  readonly clock?: () => Date;
}

export interface ServiceAnswer {
  /** 200 for an answer, 500 for a fault (SOAP 1.1 over HTTP). */
  readonly status: 200 | 500;
  readonly xml: string;
  /** What happened, for the operational log (no personal data). */
  readonly outcome: string;
}

/** Time kept back from the deadline for signing the answer and writing the records. */
const ANSWER_MARGIN_MS = 500;

export function serviceOf(req: VehicleSearchRequest): VehicleService {
  return req.query.kind === 'vin' ? 'vin-search' : 'plate-search';
}

function searchKey(req: VehicleSearchRequest): string {
  return req.query.kind === 'vin' ? normaliseVin(req.query.vin) : normalisePlate(req.query.licenceNumber);
}

function outcomeOf(r: SearchResult): 'hit' | 'no-hit' {
  return r.kind === 'no-match' ? 'no-hit' : 'hit';
}

export async function handleVehicleRequest(deps: VehicleServiceDeps, text: string, meta: { readonly remote: string }): Promise<ServiceAnswer> {
  const clock = deps.clock ?? (() => new Date());
  const arrived = Date.now();
  const now = clock();

  const signedFault = async (f: VehicleFault, version: SchemaVersion, inReplyTo: string | null): Promise<ServiceAnswer> => {
    const detail = writeFaultDetail({ code: f.code, inReplyTo, respondingState: deps.ourState, schemaVersion: version });
    const xml = await signEnvelope({ body: faultBody(f.code, detail), signer: deps.signer, now: clock(), bodyIsCanonical: true });
    return { status: 500, xml, outcome: `${f.code}: ${f.detail}` };
  };

  const verified = verifyEnvelope(text, {
    trust: (c) => deps.partners.trust(c),
    now,
    skewSeconds: deps.clockSkewSeconds,
    maxAgeSeconds: deps.timestampWindowSeconds,
  });
  if (!verified.ok) {
    const f = verified.fault;
    // Expired timestamps are checked after the signature: the sender is known, so it is an exchange refused.
    const signer = verified.signer as PartnerSigner | undefined;
    if (!signer) {
      deps.journal.rejected({ messageId: messageIdGuess(text), from: meta.remote, code: f.code, reason: f.detail });
      return signedFault(f, CURRENT_SCHEMA_VERSION, null);
    }
    return refuse(deps, signer.state, null, text, f, (x) => signedFault(x, CURRENT_SCHEMA_VERSION, null));
  }
  const signer = verified.message.signer as PartnerSigner;
  const version = claimedVersion(verified.message.payload) ?? CURRENT_SCHEMA_VERSION;
  const parsed = parseRequest(verified.message.payload);
  if (!parsed.ok) {
    const code: VehicleFaultCode = parsed.error.code === 'SCHEMA_VERSION_UNSUPPORTED' ? 'VRD-SCHEMA-VERSION' : 'VRD-INVALID-REQUEST';
    return refuse(deps, signer.state, null, text, fault(code, parsed.error.message), (f) => signedFault(f, version, null));
  }
  const req = parsed.value;
  const answerFault = (f: VehicleFault) => signedFault(f, req.schemaVersion, req.header.messageId);
  if (req.header.requestingState !== signer.state) {
    return refuse(deps, signer.state, req, text, fault('VRD-WRONG-SENDER', `signed by ${signer.state}, requesting State ${req.header.requestingState}`), answerFault);
  }
  if (req.header.requestedState !== deps.ourState) {
    return refuse(deps, signer.state, req, text, fault('VRD-WRONG-RECIPIENT', `addressed to ${req.header.requestedState}, we are ${deps.ourState}`), answerFault);
  }
  const forgetAfter = new Date(Math.max(verified.message.expires.getTime(), verified.message.created.getTime() + deps.timestampWindowSeconds * 1000) + deps.clockSkewSeconds * 1000);
  if (!deps.replay.claim(signer.state, req.header.messageId, now)) {
    return refuse(deps, signer.state, req, text, fault('VRD-REPLAY', `message id ${req.header.messageId.slice(0, 80)} was received before`), answerFault);
  }
  const replay = { state: signer.state, messageId: req.header.messageId, forgetAfterMs: forgetAfter.getTime() };
  try {
    return await answer(deps, signer, req, text, arrived, replay, answerFault);
  } finally {
    deps.replay.release(signer.state, req.header.messageId);
  }
}

async function answer(
  deps: VehicleServiceDeps,
  signer: PartnerSigner,
  req: VehicleSearchRequest,
  text: string,
  arrived: number,
  replay: NonNullable<VehicleExchange['replay']>,
  answerFault: (f: VehicleFault) => Promise<ServiceAnswer>,
): Promise<ServiceAnswer> {
  const clock = deps.clock ?? (() => new Date());
  const service = serviceOf(req);
  if (!deps.partners.authorised(signer.state, service)) {
    return refuse(deps, signer.state, req, text, fault('VRD-NOT-AUTHORISED', `${signer.state} is not authorised for ${service}`), answerFault, replay);
  }
  const toRegister = { type: 'request-to-register' as const, messageId: req.header.messageId, xml: JSON.stringify(req.query) };
  const left = deps.deadlineMs - (Date.now() - arrived) - ANSWER_MARGIN_MS;
  const found = await searchWithDeadline(deps.register, req.query, left);
  if (!found.ok) {
    return refuse(deps, signer.state, req, text, fault(found.failure === 'REGISTER-TIMEOUT' ? 'VRD-REGISTER-TIMEOUT' : 'VRD-REGISTER-UNAVAILABLE', found.detail), answerFault, replay, [toRegister]);
  }
  const result = resultOf(found.matches);
  const answerId = `${deps.ourState}-VRD-${randomUUID()}`;
  const body = writeResponse({
    schemaVersion: req.schemaVersion,
    header: { messageId: answerId, inReplyTo: req.header.messageId, sent: clock().toISOString(), respondingState: deps.ourState, requestingState: req.header.requestingState },
    result,
  });
  const xml = await signEnvelope({ body, signer: deps.signer, now: clock(), bodyIsCanonical: true });
  const vins = result.kind === 'full' ? [result.dataSet.vehicle.vin] : result.kind === 'refine' ? result.vehicles.map((v) => v.vin) : [];
  await deps.journal.record({
    peer: signer.state,
    service,
    replay,
    alsoKeep: [toRegister, { type: 'response-from-register', messageId: req.header.messageId, xml: JSON.stringify(result) }],
    searchingBody: { state: signer.state, agency: req.header.organisation.slice(0, 128) },
    fileManagingBody: { state: deps.ourState, agency: deps.agency },
    referenceNumbers: [req.header.messageId, answerId],
    sides: [
      { direction: 'received', role: 'request', messageId: req.header.messageId, xml: text, result: 'n/a', recordIds: [searchKey(req)], count: 1, categories: ['vehicle-search-key'], logType: 'request-from-peer' },
      {
        direction: 'sent',
        role: 'response',
        messageId: answerId,
        inReplyTo: req.header.messageId,
        xml,
        result: outcomeOf(result),
        recordIds: vins,
        count: vins.length,
        categories: vins.length ? ['vehicle-registration-data'] : ['none'],
        logType: 'response-to-peer',
      },
    ],
    statistics: { direction: 'in', outcome: outcomeOf(result) },
  });
  return { status: 200, xml, outcome: `${service} ${result.kind}` };
}

/** A refusal of a message whose sender we established: the fault, and its record in the Art. 30 log and statistics. */
async function refuse(
  deps: VehicleServiceDeps,
  peer: MemberStateCode,
  req: VehicleSearchRequest | null,
  text: string,
  f: VehicleFault,
  answer: (f: VehicleFault) => Promise<ServiceAnswer>,
  replay?: VehicleExchange['replay'],
  alsoKeep?: VehicleExchange['alsoKeep'],
): Promise<ServiceAnswer> {
  const out = await answer(f);
  const requestId = req?.header.messageId ?? messageIdGuess(text);
  const service = req ? serviceOf(req) : 'vin-search';
  await deps.journal.record({
    peer,
    service,
    ...(replay ? { replay } : {}),
    ...(alsoKeep ? { alsoKeep } : {}),
    searchingBody: { state: peer, agency: req?.header.organisation.slice(0, 128) ?? 'unknown' },
    fileManagingBody: { state: deps.ourState, agency: deps.agency },
    referenceNumbers: [requestId, `fault:${f.code}`],
    sides: [
      { direction: 'received', role: 'request', messageId: requestId, xml: text, result: 'error', recordIds: req ? [searchKey(req)] : [], count: req ? 1 : 0, categories: req ? ['vehicle-search-key'] : ['none'], logType: 'request-from-peer' },
      { direction: 'sent', role: 'response', messageId: `${requestId}#fault`, inReplyTo: requestId, xml: out.xml, result: 'error', recordIds: [], count: 0, categories: ['none'], logType: 'response-to-peer' },
    ],
    statistics: { direction: 'in', outcome: 'error' },
  });
  return out;
}

/** A message id for the records of a message we could not read properly (bounded, never trusted). */
function messageIdGuess(text: string): string {
  const m = /<(?:\w+:)?MessageId>([^<]{1,200})<\/(?:\w+:)?MessageId>/.exec(text);
  return m?.[1]?.trim() || `unread-${randomUUID()}`;
}
