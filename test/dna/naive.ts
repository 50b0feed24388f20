/**
 * A deliberately plain matcher written straight from the Annex sentences (ch.1 §1.1–1.2), on the canonical
 * strings, sharing no code with appliance/dna/match.ts. The differential tests hold the real rules and the
 * index to it.
 */
import type { DnaLoci } from '../../appliance/dna/profile.js';

const ALL_LOCI = [
  'vwa', 'th01', 'd21s11', 'fga', 'd8s1179', 'd3s1358', 'd18s51',
  'tpox', 'csf1po', 'd13s317', 'd7s820', 'd5s818', 'd16s539', 'd2s1338', 'd19s433',
  'penta_d', 'penta_e', 'fes', 'f13a1', 'f13b', 'se33', 'cd4', 'gaba',
] as const;
const PENTA = new Set(['penta_d', 'penta_e', 'cd4']);

function split(v: string): [number, number] {
  const [w, d] = v.split('.');
  return [Number(w), d === undefined ? 0 : Number(d)];
}
function name(whole: number, digit: number): string {
  return digit === 0 ? String(whole) : `${whole}.${digit}`;
}

/** "x.1 = x, x.1, x.2" … literally, as lists of strings. */
function annexRow(locus: string, v: string): string[] {
  const [x, d] = split(v);
  const last = PENTA.has(locus) ? 4 : 3;
  if (d === 0 || d > last) return [];
  if (d === 1) return [name(x, 0), name(x, 1), name(x, 2)];
  if (d === last) return [name(x, last - 1), name(x, last), name(x + 1, 0)];
  return [name(x, d - 1), name(x, d), name(x, d + 1)];
}

type Outcome = 'equal' | 'wildcard' | 'micro' | 'mismatch';
function allele(locus: string, a: string, b: string): Outcome {
  if (a === '*' || b === '*') return 'wildcard';
  if (a === b) return 'equal';
  if (annexRow(locus, a).includes(b) || annexRow(locus, b).includes(a)) return 'micro';
  return 'mismatch';
}

// Memoised only to keep the randomised tests quick; the reading itself is the plain one below.
const readingMemo = new Map<string, Outcome[]>();
function bestReading(locus: string, a0: string, a1: string, b0: string, b1: string): Outcome[] {
  const key = `${locus}|${a0}|${a1}|${b0}|${b1}`;
  const known = readingMemo.get(key);
  if (known) return known;
  const readings: Outcome[][] = [
    [allele(locus, a0, b0), allele(locus, a1, b1)],
    [allele(locus, a0, b1), allele(locus, a1, b0)],
  ];
  // Fewest differing alleles first; among equals prefer no micro-variant, then no wildcard.
  readings.sort((p, q) => {
    const mp = p.filter((o) => o === 'mismatch').length;
    const mq = q.filter((o) => o === 'mismatch').length;
    if (mp !== mq) return mp - mq;
    const up = p.includes('micro') ? 1 : 0;
    const uq = q.includes('micro') ? 1 : 0;
    if (up !== uq) return up - uq;
    return (p.includes('wildcard') ? 1 : 0) - (q.includes('wildcard') ? 1 : 0);
  });
  readingMemo.set(key, readings[0]!);
  return readings[0]!;
}

export interface NaiveResult {
  hit: boolean;
  quality?: 1 | 2 | 3 | 4;
  hitcount?: number;
}

export function naiveCompare(request: DnaLoci, candidate: DnaLoci): NaiveResult {
  let mismatches = 0;
  let matchingDesignated = 0;
  let compared = 0;
  let micro = false;
  let wild = false;
  for (const locus of ALL_LOCI) {
    const a = request[locus];
    const b = candidate[locus];
    if (!a || !b) continue;
    compared++;
    const best = bestReading(locus, a[0], a[1], b[0], b[1]);
    const m = best.filter((o) => o === 'mismatch').length;
    mismatches += m;
    if (best.includes('micro')) micro = true;
    if (best.includes('wildcard')) wild = true;
    const designated = !a.includes('*') && !b.includes('*');
    if (designated && m === 0) matchingDesignated++;
  }
  if (mismatches > 1 || matchingDesignated < 6) return { hit: false };
  const quality = mismatches === 1 ? 4 : micro ? 3 : wild ? 2 : 1;
  return { hit: true, quality, hitcount: 2 * compared - mismatches };
}
