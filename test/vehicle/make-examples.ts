/** Regenerates docs/vehicles/examples/ (signed requests and answers, and their Bodies formatted): node --import tsx test/vehicle/make-examples.ts */
import { writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { startAppliance, requestBody, signedAs } from './harness.js';
import { demoVin, demoPlate, DEMO_CASES } from '../../appliance/vehicle/demo-seed.js';
const ro = await startAppliance({ partners: [{ code: 'DE', authorised: ['vin-search', 'plate-search'] }, { code: 'AT', authorised: ['vin-search'] }] });
const de = ro.partners.DE!;
const at = ro.partners.AT!;
const dir = 'docs/vehicles/examples';
const save = (name: string, xml: string) => {
  writeFileSync(`${dir}/${name}.xml`, xml);
  const m = /<soap:Body[^>]*>([\s\S]*)<\/soap:Body>/.exec(xml);
  writeFileSync(`${dir}/${name}.body.xml`, execFileSync('xmllint', ['--format', '-'], { input: `<?xml version="1.0" encoding="UTF-8"?>${m![1]!.replace("<soap:Fault>", "<soap:Fault xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\">")}` }));
};
const cases: Array<[string, string]> = [
  ['vin-search', await signedAs(de, requestBody('DE', 'RO', { kind: 'vin', vin: demoVin('RO', DEMO_CASES.history.vin), referenceDateTime: '2020-06-01T12:00:00.000Z' }, { messageId: 'DE-VRD-EXAMPLE-1', organisation: 'Kraftfahrt-Bundesamt' }))],
  ['plate-search', await signedAs(de, requestBody('DE', 'RO', { kind: 'plate', licenceNumber: demoPlate('RO', DEMO_CASES.sharedPlate.plate) }, { messageId: 'DE-VRD-EXAMPLE-2', organisation: 'Kraftfahrt-Bundesamt' }))],
  ['vin-search-1.0-no-history', await signedAs(de, requestBody('DE', 'RO', { kind: 'vin', vin: demoVin('RO', DEMO_CASES.noHistory.vin), referenceDateTime: '2015-01-01T00:00:00.000Z' }, { version: '1.0', messageId: 'DE-VRD-EXAMPLE-3', organisation: 'Kraftfahrt-Bundesamt' }))],
  ['plate-search-not-authorised', await signedAs(at, requestBody('AT', 'RO', { kind: 'plate', licenceNumber: demoPlate('RO', 2) }, { messageId: 'AT-VRD-EXAMPLE-4', organisation: 'BMI Österreich' }))],
];
for (const [name, req] of cases) {
  save(`${name}-request`, req);
  const a = await ro.channel.handle(req, { remote: '127.0.0.1' });
  save(`${name}-answer`, a.xml);
}
writeFileSync(`${dir}/example-partner-DE.pem`, de.certificate.toString());
writeFileSync(`${dir}/example-RO.pem`, execFileSync('cat', [ro.certificatePath]));
await ro.close();
