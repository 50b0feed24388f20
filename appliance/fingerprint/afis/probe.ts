import type { Transaction } from '../transaction.js';
import { readMinutiae } from '../Type9Record.js';
import { fingerPositions } from '../Type4Record.js';
import { demoImageMinutiae } from './demo-image.js';
import { minutiaKind, type FingerTemplate } from './minutiae.js';

/**
 * What the demo AFIS searches with: the Type 9 minutiae of the request (a latent's, in MPS/MMS),
 * and for ten-print images (Type 4, in CPS/PMS) the minutiae the demo images carry (demo-image.ts),
 * standing in for a vendor's extraction from the pixels. Unknown finger position (a latent) is 0.
 */
export function probeOf(t: Transaction): FingerTemplate[] {
  const probe: FingerTemplate[] = [];
  for (const r of t.records) {
    if (r.kind === 'tagged' && r.type === 9) {
      const { set } = readMinutiae(r);
      const position = set.positions.find((p) => p >= 1 && p <= 10) ?? 0;
      probe.push({ position, minutiae: set.minutiae.map((m) => ({ x: m.x, y: m.y, theta: m.theta * 2, kind: minutiaKind(m.type), quality: m.quality })) });
    } else if (r.kind === 'image' && r.type === 4) {
      const minutiae = demoImageMinutiae(r.image);
      if (!minutiae) continue;
      const position = fingerPositions(r).find((p) => p >= 1 && p <= 10) ?? 0;
      probe.push({ position, minutiae });
    }
  }
  return probe.filter((f) => f.minutiae.length > 0);
}
