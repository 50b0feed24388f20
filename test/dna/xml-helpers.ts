import { run } from '../../appliance/util/exec.js';
import { PRUEMDNA_XSD_PATH } from '../../appliance/dna/xsd.js';
import type { PruemDnaMessage } from '../../appliance/dna/message.js';
import type { DnaLoci } from '../../appliance/dna/profile.js';

/** The schema check done by xmllint itself, as a peer would run it. */
export async function xmllintSchema(xml: string): Promise<{ code: number; stderr: string }> {
  const r = await run('xmllint', ['--noout', '--schema', PRUEMDNA_XSD_PATH, '-'], { input: xml });
  return { code: r.code, stderr: r.stderr };
}

export const FULL_LOCI: DnaLoci = {
  vwa: ['14', '17'], th01: ['6', '9.3'], d21s11: ['29', '30.2'], fga: ['21', '22'], d8s1179: ['13', '14'],
  d3s1358: ['15', '16'], d18s51: ['14', '15'], amelogenin: ['X', 'Y'], tpox: ['8', '11'], csf1po: ['10', '12'],
  d13s317: ['11', '12'], d7s820: ['10', '11'], d5s818: ['11', '12'], d16s539: ['11', '13'], d2s1338: ['17', '24'],
  d19s433: ['14', '15.2'], penta_d: ['9', '12'], penta_e: ['7', '12'], fes: ['10', '11'], f13a1: ['5', '6'],
  f13b: ['9', '10'], se33: ['17', '28.2'], cd4: ['6', '10'], gaba: ['*', '11'],
};

export function request(datasCount = 1, reqtype: 3 | 4 = 3): PruemDnaMessage {
  return {
    header: {
      direction: 'R',
      ref: 'DE-REF-1',
      generator: 'test-generator',
      schemaVersion: '1.0',
      requesting: { sourceIsocode: 'DE', destinationIsocode: 'RO', requestId: 'DE-2024-000001', date: '2024-05-01', time: '12:00:00' },
      requested: { sourceIsocode: 'RO', destinationIsocode: 'DE', requestId: 'DE-2024-000001', date: '2024-05-01', time: '12:00:00' },
    },
    datas: Array.from({ length: datasCount }, (_, i) => ({
      reqtype,
      date: '2023-11-30',
      type: 'S' as const,
      result: 'U' as const,
      agency: 'BKA Wiesbaden',
      profileIdent: `DE-S-${i + 1}`,
      profile: { loci: FULL_LOCI, marker: 'PowerPlex 16', profileId: `DE-S-${i + 1}` },
    })),
  };
}
