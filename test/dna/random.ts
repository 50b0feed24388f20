/** Seeded random profiles that stress the rules: few allele values, micro-variants, wildcards, gaps. */
import { MATCH_LOCI, PENTA_LOCI, type LocusName } from '../../appliance/dna/loci.js';
import type { AllelePair, DnaLoci } from '../../appliance/dna/profile.js';
import { ProfileStore } from '../../appliance/dna/store.js';

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Gen {
  constructor(readonly r: () => number) {}
  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  chance(p: number): boolean {
    return this.r() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  /** Values clustered on 8…13 so that random profiles collide often; a quarter are micro-variants. */
  allele(locus: LocusName): string {
    const whole = 8 + this.int(6);
    if (!this.chance(0.25)) return String(whole);
    const digit = 1 + this.int(PENTA_LOCI.has(locus) ? 5 : 4); // includes a digit beyond the table
    return `${whole}.${digit}`;
  }

  /** A value next to v: an equivalent micro-variant or an almost-equivalent one. */
  neighbour(locus: LocusName, v: string): string {
    if (v === '*') return this.allele(locus);
    const [w, d] = v.split('.');
    const whole = Number(w);
    const digit = d === undefined ? 0 : Number(d);
    const options = [
      `${whole}.${digit + 1}`, digit > 0 ? (digit === 1 ? String(whole) : `${whole}.${digit - 1}`) : `${whole - 1}.3`,
      String(whole + 1), `${whole - 1}.4`, `${whole}.2`, String(whole),
    ];
    return this.pick(options.filter((o) => !o.startsWith('0') && !o.startsWith('-')));
  }

  profile(minLoci = 4, maxLoci = MATCH_LOCI.length): DnaLoci {
    const n = minLoci + this.int(maxLoci - minLoci + 1);
    const loci = [...MATCH_LOCI].sort(() => this.r() - 0.5).slice(0, n);
    const out: Partial<Record<LocusName, AllelePair>> = {};
    for (const l of loci) {
      const a = this.chance(0.04) ? '*' : this.allele(l);
      const b = this.chance(0.15) ? a : this.chance(0.04) ? '*' : this.allele(l);
      out[l] = [a, b];
    }
    if (this.chance(0.3)) out.amelogenin = this.pick([['X', 'X'], ['X', 'Y']] as const);
    return out;
  }

  /** A relative of p: dropped, added, wildcarded, micro-shifted, mismatched, homozygous-ised loci. */
  variant(p: DnaLoci, strength = 1): DnaLoci {
    const out: Partial<Record<LocusName, AllelePair>> = {};
    for (const l of MATCH_LOCI) {
      const pair = p[l];
      if (!pair) {
        if (this.chance(0.05 * strength)) out[l] = [this.allele(l), this.allele(l)];
        continue;
      }
      if (this.chance(0.08 * strength)) continue;
      let [a, b] = pair;
      if (this.chance(0.04 * strength)) a = '*';
      if (this.chance(0.02 * strength)) b = '*';
      if (this.chance(0.06 * strength)) a = this.neighbour(l, a);
      if (this.chance(0.03 * strength)) b = this.allele(l);
      if (this.chance(0.04 * strength)) b = a;
      out[l] = this.chance(0.5) ? [a, b] : [b, a];
    }
    if (p.amelogenin) out.amelogenin = this.chance(0.1) ? ['X', 'Y'] : p.amelogenin;
    return out;
  }
}

/**
 * A national database shaped like a real one: most profiles share one of a few locus sets (kits),
 * each family of `base` profiles has 12 relatives (near and micro-variant hits), plus unrelated
 * profiles. Each profile goes to `put`; returns the family bases (requests that hit).
 */
export function populate(g: Gen, put: (loci: DnaLoci) => unknown, families: number, loners: number): DnaLoci[] {
  const kits = [10, 15, 16, 20, 23].map((k) => g.profile(k, k));
  const bases: DnaLoci[] = [];
  for (let i = 0; i < families; i++) {
    const kit = g.pick(kits);
    const base: DnaLoci = {};
    for (const l of Object.keys(kit) as Array<keyof DnaLoci>) (base as Record<string, unknown>)[l] = g.profile(23, 23)[l];
    bases.push(base);
    put(base);
    for (let j = 0; j < 12; j++) put(g.variant(base, g.pick([0.5, 1, 2])));
  }
  for (let i = 0; i < loners; i++) put(g.profile(3, 23));
  return bases;
}

/** A store file filled by `populate`, with what it holds read back (slot → loci, for the naive matcher). */
export interface PopulatedStore {
  readonly store: ProfileStore;
  readonly bases: DnaLoci[];
  readonly mirror: Map<number, DnaLoci>;
  put(loci: DnaLoci): number;
}

export function populatedStore(g: Gen, path: string, families = 120, loners = 600): PopulatedStore {
  const store = ProfileStore.open(path);
  const mirror = new Map<number, DnaLoci>();
  let n = 0;
  const put = (loci: DnaLoci) => {
    const { slot } = store.put(`T-${n++}`, 'lab', { type: 'S', loci }, '2024-01-01');
    mirror.set(slot, store.get(slot)!.profile.loci);
    return slot;
  };
  const bases = populate(g, put, families, loners);
  return { store, bases, mirror, put };
}
