import { writeFileSync } from 'node:fs';
import type { MemberStateCode } from '../peers/member-states.js';

/**
 * Synthetic national DNA databases for the demo network: plausible allele ranges per locus
 * (common alleles of European populations, rounded; not a frequency model — the match-engine
 * benchmark has that), drawn from a seeded generator so every run has the same data. Every
 * State gets the demo profile below in some form, so a newcomer's first search finds something:
 * DE holds it exactly (quality 1), AT with one allele different (a near match, quality 4).
 */
const RANGES: Record<string, readonly [number, number]> = {
  vwa: [13, 20], th01: [6, 10], d21s11: [27, 33], fga: [19, 26], d8s1179: [10, 16], d3s1358: [14, 19], d18s51: [12, 20],
  tpox: [8, 11], csf1po: [9, 13], d13s317: [8, 14], d7s820: [8, 12], d5s818: [9, 13], d16s539: [9, 13], d2s1338: [16, 25],
  d19s433: [12, 16], penta_d: [9, 13], penta_e: [5, 20],
};

/** Typed in every profile: national databases hold reference profiles with the full ESS set. */
const ESS = new Set(['vwa', 'th01', 'd21s11', 'fga', 'd8s1179', 'd3s1358', 'd18s51']);

export const DEMO_PROFILE: Readonly<Record<string, readonly [string, string]>> = {
  vwa: ['14', '17'], th01: ['6', '9.3'], d21s11: ['29', '30'], fga: ['21', '24'], d8s1179: ['13', '14'], d3s1358: ['15', '16'],
  d18s51: ['14', '17'], d16s539: ['11', '12'], d2s1338: ['19', '23'], amelogenin: ['X', 'Y'],
};

/** xorshift32: small, seeded, good enough to spread synthetic alleles. */
export function seededRandom(seed: number): () => number {
  let x = seed || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

export function syntheticProfiles(state: MemberStateCode, count: number): string[] {
  const random = seededRandom([...state].reduce((a, c) => a * 31 + c.charCodeAt(0), 7));
  const lines: string[] = [];
  for (let i = 1; i <= count; i++) {
    const loci: Record<string, string[]> = {};
    for (const [locus, [lo, hi]] of Object.entries(RANGES)) {
      if (!ESS.has(locus) && random() < 0.3) continue; // older kits did not type every additional locus
      const a = lo + Math.floor(random() * (hi - lo + 1));
      const b = lo + Math.floor(random() * (hi - lo + 1));
      loci[locus] = [String(Math.min(a, b)), String(Math.max(a, b))];
    }
    loci.amelogenin = random() < 0.5 ? ['X', 'X'] : ['X', 'Y'];
    lines.push(JSON.stringify({ id: `${state}-${String(i).padStart(6, '0')}`, type: random() < 0.7 ? 'P' : 'S', agency: `${state}-FORENSIC`, loci }));
  }
  const demo = Object.fromEntries(Object.entries(DEMO_PROFILE).map(([k, v]) => [k, [...v]]));
  if (state === 'DE') lines.push(JSON.stringify({ id: 'DE-DEMO-0001', type: 'S', agency: 'DE-BKA', loci: demo }));
  if (state === 'AT') lines.push(JSON.stringify({ id: 'AT-DEMO-0001', type: 'S', agency: 'AT-BK', loci: { ...demo, vwa: ['14', '18'] } }));
  return lines;
}

export function writeSyntheticDatabase(path: string, state: MemberStateCode, count: number): void {
  writeFileSync(path, `${syntheticProfiles(state, count).join('\n')}\n`);
}
