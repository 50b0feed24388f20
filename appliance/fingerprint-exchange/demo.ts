import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MemberStateCode } from '../peers/member-states.js';
import { makeTcn } from '../fingerprint/tcn.js';
import { demoSearchTransaction, demoSubjectProbe } from '../fingerprint/afis/demo-seed.js';

/**
 * Example fingerprint searches for the demo network, written next to a gateway's data: ready-made
 * bodies for POST /api/fp/searches. The MPS carries a latent of the demo subject (DE's demo AFIS
 * holds the subject's ten-print: a hit); the CPS another impression of the subject's ten-print
 * (a hit in DE); the PMS the same ten-print against unsolved latents (AT holds one the subject left).
 */
export function writeFingerprintExamples(dataDir: string, state: MemberStateCode, officerId: string, now = new Date()): { mps: string; cps: string; pms: string } {
  const paths = { mps: join(dataDir, 'fp-example-mps.json'), cps: join(dataDir, 'fp-example-cps.json'), pms: join(dataDir, 'fp-example-pms.json') };
  const body = (tot: 'MPS' | 'CPS' | 'PMS', reference: string) =>
    JSON.stringify(
      {
        officerId,
        orderingOfficerId: `${state}-PROSECUTOR-7`,
        reason: `demo: ${tot === 'MPS' ? 'latent from burglary scene' : 'suspect ten-print'}, case 123/2026`,
        targets: 'all',
        transaction: demoSearchTransaction({
          tot,
          from: state,
          agency: 'AFIS',
          destination: 'DE/NCP',
          // Replaced per requested State when sent.
          tcn: makeTcn(now.getUTCFullYear(), 1),
          priority: 4,
          now,
          reference: reference,
          fingers: demoSubjectProbe(tot === 'MPS' ? 'latent' : 'tenprint'),
        }).toString('base64'),
      },
      null,
      2,
    );
  writeFileSync(paths.mps, body('MPS', 'SCENE-123-2026'));
  writeFileSync(paths.cps, body('CPS', 'P-123-2026'));
  writeFileSync(paths.pms, body('PMS', 'P-123-2026'));
  return paths;
}
