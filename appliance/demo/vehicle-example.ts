import { readFileSync } from 'node:fs';
import { demoVin, DEMO_CASES } from '../vehicle/demo-seed.js';
import { demoOfficer, demoOrderingOfficer } from './network.js';

/**
 * The demo's vehicle example: RO's officer asks every State for a VIN registered in DE, through the
 * officers' API, and the lines to print — the command to repeat it and the consolidated answer.
 */
export async function vehicleExample(clientKeyPath: string, officersUrl = 'http://127.0.0.1:8090'): Promise<string[]> {
  const key = readFileSync(clientKeyPath, 'utf8').trim();
  const body = { officerId: demoOfficer('RO'), orderingOfficerId: demoOrderingOfficer('RO'), reason: 'demo: vehicle seen at a burglary', vin: demoVin('DE', DEMO_CASES.history.vin), targets: 'all' };
  const lines = [
    '',
    'Vehicle search from RO to every State by VIN (the vehicle is registered in DE):',
    `  curl -s -H "Authorization: Bearer $(cat ${clientKeyPath})" -H 'Content-Type: application/json' \\`,
    `    -d '${JSON.stringify(body)}' ${officersUrl}/api/vrd/searches`,
  ];
  try {
    const res = await fetch(`${officersUrl}/api/vrd/searches`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const view = (await res.json()) as { answered?: string[]; targets?: Array<{ state: string; status: string; result?: { kind: string; dataSet?: { vehicle: { licenceNumber: string; make: string; commercialType: string }; holders: Array<{ name: { printable: string } }> } } }> };
    lines.push(`  → HTTP ${res.status}, answered: ${(view.answered ?? []).join(', ') || 'none'}`);
    for (const t of view.targets ?? []) {
      const d = t.result?.dataSet;
      lines.push(`    ${t.state}: ${t.status}${t.result ? ` (${t.result.kind})` : ''}${d ? ` — ${d.vehicle.licenceNumber}, ${d.vehicle.make} ${d.vehicle.commercialType}, holder ${d.holders[0]?.name.printable ?? '?'}` : ''}`);
    }
  } catch (e) {
    lines.push(`  (the example search failed: ${(e as Error).message})`);
  }
  lines.push('');
  return lines;
}
