import type { LocusName } from '../../appliance/dna/loci.js';
import type { AllelePair, DnaLoci } from '../../appliance/dna/profile.js';

/** "vwa=14,17 th01=6,9.3" → loci; keeps tables readable. */
export function loci(spec: string): DnaLoci {
  const out: Partial<Record<LocusName, AllelePair>> = {};
  for (const part of spec.trim().split(/\s+/)) {
    if (part === '') continue;
    const [name, values] = part.split('=');
    const [a, b] = (values ?? '').split(',');
    out[name as LocusName] = [a ?? '', b ?? a ?? ''];
  }
  return out;
}

/** Seven ESS loci plus TPOX, fully designated. */
export const BASE =
  'vwa=14,17 th01=6,9.3 d21s11=29,30 fga=21,22 d8s1179=13,14 d3s1358=15,16 d18s51=14,15 tpox=8,11';

/** BASE restricted to its first n loci. */
export function baseLoci(n: number): string {
  return BASE.split(' ').slice(0, n).join(' ');
}

/** Replaces or adds loci in a spec. */
export function withLoci(spec: string, changes: string): string {
  const map = new Map(spec.split(' ').filter(Boolean).map((p) => [p.split('=')[0]!, p] as const));
  for (const c of changes.split(' ').filter(Boolean)) {
    const [name, value] = c.split('=');
    if (value === '-') map.delete(name!);
    else map.set(name!, c);
  }
  return [...map.values()].join(' ');
}
