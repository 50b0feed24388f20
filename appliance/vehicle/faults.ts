/**
 * The closed list of SOAP fault codes the vehicle service answers with, each with its SOAP 1.1
 * faultcode (Client: the sender must change something; Server: ours or the register's problem) and
 * the HTTP status SOAP 1.1 over HTTP uses for faults (500). Matched by code, never by text.
 */
export const VEHICLE_FAULTS = {
  'VRD-NOT-SOAP': { side: 'Client', text: 'the request is not a SOAP 1.1 envelope' },
  'VRD-TOO-LARGE': { side: 'Client', text: 'the request is larger than the service accepts' },
  'VRD-SIGNATURE-MISSING': { side: 'Client', text: 'the message carries no WS-Security signature' },
  'VRD-SIGNATURE-INVALID': { side: 'Client', text: 'the WS-Security signature does not verify' },
  'VRD-UNKNOWN-SENDER': { side: 'Client', text: 'the signing certificate is not a partner\'s vehicle certificate' },
  'VRD-TIMESTAMP-MISSING': { side: 'Client', text: 'the message carries no signed wsu:Timestamp' },
  'VRD-TIMESTAMP-EXPIRED': { side: 'Client', text: 'the message timestamp is outside the accepted window' },
  'VRD-REPLAY': { side: 'Client', text: 'this message was received before' },
  'VRD-NOT-AUTHORISED': { side: 'Client', text: 'the requesting State is not authorised for this service' },
  'VRD-WRONG-SENDER': { side: 'Client', text: 'the requesting State in the message is not the State that signed it' },
  'VRD-WRONG-RECIPIENT': { side: 'Client', text: 'the message is addressed to another State' },
  'VRD-SCHEMA-VERSION': { side: 'Client', text: 'the schema version is not supported' },
  'VRD-INVALID-REQUEST': { side: 'Client', text: 'the request does not follow the schema' },
  'VRD-REGISTER-TIMEOUT': { side: 'Server', text: 'the national register did not answer in time' },
  'VRD-REGISTER-UNAVAILABLE': { side: 'Server', text: 'the national register is unavailable' },
  'VRD-INTERNAL': { side: 'Server', text: 'internal error' },
} as const satisfies Record<string, { side: 'Client' | 'Server'; text: string }>;

export type VehicleFaultCode = keyof typeof VEHICLE_FAULTS;

export function isVehicleFaultCode(code: string): code is VehicleFaultCode {
  return Object.hasOwn(VEHICLE_FAULTS, code);
}

/** A refusal or failure as a value: the code, and a detail for our logs (never sent beyond the fault text). */
export interface VehicleFault {
  readonly code: VehicleFaultCode;
  readonly detail: string;
}

export function fault(code: VehicleFaultCode, detail: string = VEHICLE_FAULTS[code].text): VehicleFault {
  return { code, detail };
}
