/**
 * The demo AFIS's matcher: finger comparisons per second and a whole search (a latent MPS and a
 * ten-print CPS against N enrolled persons), against a baseline measured in the same run — the
 * textbook alignment that tries every pair of minutiae as the anchor (O(n²·m²) per comparison)
 * instead of the Hough vote (O(n·m) plus a few pairings). Both must find the same mates.
 *   node --import tsx test/bench/afis-match.ts [persons=300]
 */
import { compareFingers, DEFAULT_MATCH_PARAMETERS, transformMinutia, type Alignment } from '../../appliance/fingerprint/afis/match.js';
import { angleDifference, normaliseAngle, type Minutia } from '../../appliance/fingerprint/afis/minutiae.js';
import { DemoAfis } from '../../appliance/fingerprint/afis/demo.js';
import { latentOf, randomFinger, randomTenPrint, secondImpression, seededRandom } from '../../appliance/fingerprint/afis/synthetic.js';
import { openDatabase } from '../../appliance/db/database.js';
import { cpus } from 'node:os';

const persons = Number(process.argv[2] ?? 300);

/** Baseline: every probe/candidate pair as the anchor, greedy pairing under each. */
function anchorBaseline(probe: readonly Minutia[], candidate: readonly Minutia[]): number {
  let best = 0;
  const p = DEFAULT_MATCH_PARAMETERS;
  for (const a of probe) {
    for (const b of candidate) {
      const rotation = normaliseAngle(b.theta - a.theta);
      const moved = transformMinutia(a, { rotation, dx: 0, dy: 0 });
      const al: Alignment = { rotation, dx: b.x - moved.x, dy: b.y - moved.y };
      const used = new Set<number>();
      let paired = 0;
      for (const m of probe) {
        const t = transformMinutia(m, al);
        for (let j = 0; j < candidate.length; j++) {
          const c = candidate[j]!;
          if (!used.has(j) && (t.x - c.x) ** 2 + (t.y - c.y) ** 2 <= p.distanceTolerance ** 2 && angleDifference(t.theta, c.theta) <= p.angleTolerance) {
            used.add(j);
            paired++;
            break;
          }
        }
      }
      if (paired > best) best = paired;
    }
  }
  return best;
}

const random = seededRandom(2026);
const pairs = Array.from({ length: 200 }, () => {
  const f = randomFinger(random, 1);
  return { f, mate: secondImpression(f, random), other: randomFinger(random, 1) };
});

function rate(label: string, n: number, work: (i: number) => void): number {
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) work(i);
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  const perSecond = n / s;
  console.log(`${label.padEnd(44)} ${perSecond.toFixed(0).padStart(8)} comparisons/s  (${((s / n) * 1e3).toFixed(3)} ms each, n=${n})`);
  return perSecond;
}

console.log(`machine: ${cpus()[0]?.model ?? '?'} ×${cpus().length}`);
let agree = 0;
for (const { f, mate } of pairs.slice(0, 20)) {
  const hough = compareFingers(mate.minutiae, f.minutiae).paired;
  const base = anchorBaseline(mate.minutiae, f.minutiae);
  if (Math.abs(hough - base) <= 2) agree++;
}
console.log(`mates paired alike (±2) by both methods: ${agree}/20`);
const hough = rate('Hough vote (demo AFIS)', 2000, (i) => compareFingers(pairs[i % 200]!.mate.minutiae, pairs[i % 200]![i % 2 ? 'f' : 'other'].minutiae));
const baseline = rate('baseline: every pair as anchor', 40, (i) => anchorBaseline(pairs[i % 200]!.mate.minutiae, pairs[i % 200]![i % 2 ? 'f' : 'other'].minutiae));
console.log(`speed-up over the baseline: ×${(hough / baseline).toFixed(1)}`);

const afis = new DemoAfis(openDatabase(':memory:'));
const people = Array.from({ length: persons }, () => randomTenPrint(random));
afis.enrolAll(people.map((fingers, i) => ({ reference: `XX/P-${i}`, kind: 'tenprint' as const, fingers })));
const target = people[Math.floor(persons / 2)]!;
let t = process.hrtime.bigint();
const latentHits = afis.search([latentOf(target[4]!, random)], 'tenprint', 10);
const latentMs = Number(process.hrtime.bigint() - t) / 1e6;
t = process.hrtime.bigint();
const tenHits = afis.search(target.map((f) => secondImpression(f, random)), 'tenprint', 1);
const tenMs = Number(process.hrtime.bigint() - t) / 1e6;
console.log(`MPS (one latent) against ${persons} ten-prints: ${latentMs.toFixed(0)} ms, candidates ${latentHits.map((h) => `${h.reference}:${h.score}`).join(' ') || 'none'}`);
console.log(`CPS (ten fingers) against ${persons} ten-prints: ${tenMs.toFixed(0)} ms, candidates ${tenHits.map((h) => `${h.reference}:${h.score}`).join(' ') || 'none'}`);
if (latentHits[0]?.reference !== `XX/P-${Math.floor(persons / 2)}` || tenHits[0]?.reference !== `XX/P-${Math.floor(persons / 2)}`) {
  console.error('the mate was not found first');
  process.exitCode = 1;
}
