/**
 * Synthetic national DNA databases for the benchmark: profiles drawn from published European allele
 * frequencies (frequencies.ts), typed with the kits a national database accumulates over two decades, with
 * partial stains, off-ladder and unresolved values, and the occasional third allele — raw, as a national
 * export would hold them before Prüm normalisation.
 *
 * Kit shares are our assumption of a mixed European database (no published figure): the loci of each kit are
 * the kit's loci that PRUEMDNA has.
 */
import { ESS_LOCI, type LocusName } from '../../../appliance/dna/loci.js';
import { EUROPE_FREQUENCIES } from '../../../appliance/dna/frequencies.js';

const SGM_CORE: LocusName[] = [...ESS_LOCI, 'd16s539', 'd2s1338', 'd19s433'];
const IDENTIFILER_EXTRA: LocusName[] = ['d13s317', 'd7s820', 'd5s818', 'csf1po', 'tpox'];

export const KITS: ReadonlyArray<{ name: string; share: number; loci: readonly LocusName[] }> = [
  { name: 'SGM Plus', share: 0.25, loci: SGM_CORE },
  { name: 'NGM SElect / ESX 17', share: 0.3, loci: [...SGM_CORE, 'se33'] },
  { name: 'Identifiler', share: 0.15, loci: [...SGM_CORE, ...IDENTIFILER_EXTRA] },
  { name: 'PowerPlex 16', share: 0.1, loci: [...ESS_LOCI, 'd16s539', ...IDENTIFILER_EXTRA, 'penta_d', 'penta_e'] },
  { name: 'GlobalFiler', share: 0.15, loci: [...SGM_CORE, ...IDENTIFILER_EXTRA, 'se33'] },
  { name: 'PowerPlex Fusion 6C', share: 0.05, loci: [...SGM_CORE, ...IDENTIFILER_EXTRA, 'se33', 'penta_d', 'penta_e'] },
];

const AGENCIES = ['IGPR Bucuresti', 'IGPR Cluj', 'IGPR Iasi', 'IGPR Timisoara', 'IGPR Constanta'];
const UNRESOLVED = ['o', 'nr', 'OL', '99', 'un'];

import { rng } from '../../dna/random.js';

export { rng };

type Cumulative = { values: string[]; cum: Float64Array };
const CUMULATIVE = new Map<LocusName, Cumulative>();
for (const [locus, table] of Object.entries(EUROPE_FREQUENCIES) as Array<[LocusName, ReadonlyArray<readonly [string, number]>]>) {
  const total = table.reduce((s, [, f]) => s + f, 0);
  const cum = new Float64Array(table.length);
  let s = 0;
  table.forEach(([, f], i) => (cum[i] = s += f / total));
  CUMULATIVE.set(locus, { values: table.map(([v]) => v), cum });
}

export function drawAllele(r: () => number, locus: LocusName): string {
  const c = CUMULATIVE.get(locus)!;
  const x = r();
  for (let i = 0; i < c.cum.length; i++) if (x < c.cum[i]!) return c.values[i]!;
  return c.values[c.values.length - 1]!;
}

export interface RawRecord {
  id: string;
  type: 'P' | 'S';
  agency: string;
  loci: Record<string, string[]>;
}

function pickKit(r: () => number): readonly LocusName[] {
  let x = r();
  for (const k of KITS) {
    if ((x -= k.share) < 0) return k.loci;
  }
  return KITS[0]!.loci;
}

/** A population profile typed with a random kit, all values designated. */
export function populationProfile(r: () => number): Record<string, string[]> {
  const loci: Record<string, string[]> = {};
  for (const l of pickKit(r)) loci[l] = [drawAllele(r, l), drawAllele(r, l)];
  loci.amelogenin = r() < 0.5 ? ['X', 'X'] : ['X', 'Y'];
  return loci;
}

/** National record number i of a database generated with `seed` (deterministic, so requests can reuse it). */
export function nationalRecord(seed: number, i: number): RawRecord {
  const r = rng(seed * 1_000_003 + i);
  const type = r() < 0.7 ? 'P' : 'S';
  const loci = populationProfile(r);
  if (type === 'S') {
    if (r() < 0.35) {
      // Partial stain: allele drop-out takes whole loci (some of these fall below the inclusion minimum).
      const names = Object.keys(loci).filter((l) => l !== 'amelogenin');
      for (let k = 1 + Math.floor(r() * 6); k > 0 && names.length > 0; k--) delete loci[names.splice(Math.floor(r() * names.length), 1)[0]!];
    }
    if (r() < 0.01) {
      const names = Object.keys(loci).filter((l) => l !== 'amelogenin');
      const l = names[Math.floor(r() * names.length)];
      if (l) loci[l]!.push(drawAllele(r, l as LocusName));
    }
  }
  const noise = type === 'S' ? 0.02 : 0.003;
  for (const [l, values] of Object.entries(loci)) {
    if (l === 'amelogenin') continue;
    for (let j = 0; j < values.length; j++) if (r() < noise) values[j] = UNRESOLVED[Math.floor(r() * UNRESOLVED.length)]!;
  }
  return { id: `RO-${String(i).padStart(9, '0')}`, type, agency: AGENCIES[Math.floor(r() * AGENCIES.length)]!, loci };
}
