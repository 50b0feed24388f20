import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseXml, parseRequest, parseResponse, writeFaultDetail, writeRequest, writeResponse } from '../../appliance/vehicle/codec.js';
import { canonicalBody, excC14n } from '../../appliance/vehicle/ws-security.js';
import { envelope, faultBody } from '../../appliance/vehicle/soap.js';
import type { FullDataSet, SearchResult } from '../../appliance/vehicle/data-set.js';

const dataSet: FullDataSet = {
  vehicle: {
    licenceNumber: 'B 101 PRM', vin: 'PRMROZZZ000000001', countryOfRegistration: 'RO', make: 'Škoda & Söhne <"quoted">', commercialType: 'Octavia', euCategory: 'M1',
    firstRegistrationDate: '2018-01-10', registrationStart: '2022-03-01', status: { code: 'stolen', start: '2025-11-02' }, kw: 84, capacity: 1461,
  },
  holders: [
    {
      name: { surname: 'Παπαδοπούλου', infixes: 'van der', printable: 'Παπαδοπούλου van der' },
      firstName: { firstNames: 'Ελένη', initials: 'Ε.', printable: 'Ελένη' },
      address: { street: 'Οδός Εγνατίας', houseNumber: '12', placeOfResidence: 'Θεσσαλονίκη', countryOfResidence: 'EL', printable: 'Οδός Εγνατίας 12, Θεσσαλονίκη, EL' },
      gender: 'female', dateOfBirth: '1970-01-01', legalEntity: 'individual', placeOfBirth: 'Σέρρες', identification: { idNumber: 'AB123', idType: 'passport' },
      startDate: '2022-03-01', holderType: 'is-not-owner',
    },
  ],
  owners: [{ name: { surname: 'Транспорт ООД', printable: 'Транспорт ООД' }, address: { placeOfResidence: 'София', printable: 'София\r\nБългария' }, legalEntity: 'company' }],
  insurances: [{ companyName: 'Allianz-Țiriac', insuranceNumber: 'POL-1', address: { printable: 'București' } }],
  dataIsCurrent: true,
};

const { licenceNumber, vin, countryOfRegistration, make, commercialType, euCategory } = dataSet.vehicle;
const identity = { licenceNumber, vin, countryOfRegistration, make, commercialType, euCategory };

const results: SearchResult[] = [
  { kind: 'full', dataSet },
  { kind: 'refine', vehicles: [identity, { ...identity, vin: 'X2' }] },
  { kind: 'no-match' },
];

function canonicalOf(body: string): string {
  const doc = parseXml(envelope({ bodyId: 'B1', body }));
  assert.ok(doc.ok);
  const bodyEl = (doc.value.documentElement as Element).getElementsByTagNameNS('http://schemas.xmlsoap.org/soap/envelope/', 'Body')[0] as Element;
  return excC14n(bodyEl);
}

test('what the codec writes is already in exclusive-c14n form (the signer digests it without parsing)', () => {
  const bodies = [
    ...results.flatMap((result) =>
      (['1.0', '1.1'] as const).map((schemaVersion) =>
        writeResponse({ schemaVersion, header: { messageId: 'RO-1', inReplyTo: 'DE-1', sent: '2026-12-06T10:00:00.000Z', respondingState: 'RO', requestingState: 'DE' }, result }),
      ),
    ),
    writeRequest({ schemaVersion: '1.1', header: { messageId: 'DE-1', sent: '2026-12-06T10:00:00.000Z', requestingState: 'DE', requestedState: 'RO', organisation: 'Ελληνική & "Αστυνομία"', user: 'u', reason: 'a < b' }, query: { kind: 'plate', licenceNumber: 'B 1 X', vin: 'V', referenceDateTime: '2020-01-01T00:00:00.000Z' } }),
    faultBody('VRD-REPLAY', writeFaultDetail({ code: 'VRD-REPLAY', inReplyTo: 'DE-1', respondingState: 'RO', schemaVersion: '1.0' })),
  ];
  for (const body of bodies) assert.equal(canonicalBody('B1', body), canonicalOf(body));
});

test('round trip: every element of the full data set survives writing and parsing, in both versions', () => {
  for (const result of results) {
    const xml = writeResponse({ schemaVersion: '1.1', header: { messageId: 'RO-1', inReplyTo: 'DE-1', sent: '2026-12-06T10:00:00.000Z', respondingState: 'RO', requestingState: 'DE' }, result });
    const doc = parseXml(xml);
    assert.ok(doc.ok);
    const back = parseResponse(doc.value.documentElement as Element);
    assert.ok(back.ok, back.ok ? '' : back.error.message);
    // CR in a printable address comes back as written (escaped as &#xD;, not normalised away).
    assert.deepEqual(back.value.result, result);
  }
  const v10 = parseXml(writeResponse({ schemaVersion: '1.0', header: { messageId: 'RO-1', inReplyTo: 'DE-1', sent: '2026-12-06T10:00:00.000Z', respondingState: 'RO', requestingState: 'DE' }, result: { kind: 'full', dataSet } }));
  assert.ok(v10.ok);
  const r10 = parseResponse(v10.value.documentElement as Element);
  assert.ok(r10.ok && r10.value.result.kind === 'full');
  if (r10.ok && r10.value.result.kind === 'full') assert.equal(r10.value.result.dataSet.holders[0]?.identification, undefined);
});

test('bad requests are coded errors, never throws', () => {
  const cases: Array<[string, string]> = [
    ['<v:VehicleSearchRequest xmlns:v="urn:eu:pruem:vrd:1" schemaVersion="2.0"/>', 'SCHEMA_VERSION_UNSUPPORTED'],
    ['<v:VehicleSearchRequest xmlns:v="urn:eu:pruem:vrd:1" schemaVersion="1.1"><v:MessageHeader/></v:VehicleSearchRequest>', 'INVALID_MESSAGE'],
    ['<x:Other xmlns:x="urn:x"/>', 'INVALID_MESSAGE'],
  ];
  for (const [xml, code] of cases) {
    const doc = parseXml(xml);
    assert.ok(doc.ok);
    const r = parseRequest(doc.value.documentElement as Element);
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.error.code, code);
  }
  assert.equal(parseXml('<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>').ok, false);
  assert.equal(parseXml('<a><b></a>').ok, false);
});
