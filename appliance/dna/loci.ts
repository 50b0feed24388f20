/**
 * The 24 loci of a PRUEMDNA profile (Annex ch.1 §1.1 and the ICD §4.2.3.7–4.2.3.8), named exactly as
 * the XML elements are. The order is the schema order: the ESS/ISSOL group first, then the additional loci.
 */
export const ESS_ISSOL_LOCI = ['vwa', 'th01', 'd21s11', 'fga', 'd8s1179', 'd3s1358', 'd18s51', 'amelogenin'] as const;
export const ADDITIONAL_LOCI = [
  'tpox', 'csf1po', 'd13s317', 'd7s820', 'd5s818', 'd16s539', 'd2s1338', 'd19s433',
  'penta_d', 'penta_e', 'fes', 'f13a1', 'f13b', 'se33', 'cd4', 'gaba',
] as const;

export type EssIssolLocus = (typeof ESS_ISSOL_LOCI)[number];
export type AdditionalLocus = (typeof ADDITIONAL_LOCI)[number];
export type LocusName = EssIssolLocus | AdditionalLocus;

export const LOCI: readonly LocusName[] = [...ESS_ISSOL_LOCI, ...ADDITIONAL_LOCI];

export const AMELOGENIN = 'amelogenin' as const;

/** The seven ESS loci "on grey background" (Annex ch.1 §1.1): the inclusion rule for reference profiles counts these. */
export const ESS_LOCI: readonly LocusName[] = ['vwa', 'th01', 'd21s11', 'fga', 'd8s1179', 'd3s1358', 'd18s51'];

/** The loci that take part in matching: all but amelogenin (Annex ch.1 §1.2: "în afara amelogeninei"). */
export const MATCH_LOCI: readonly LocusName[] = LOCI.filter((l) => l !== AMELOGENIN);

/** Penta-nucleotide loci (Annex ch.1 §1.1); every other locus is compared with the tetra-nucleotide table. */
export const PENTA_LOCI: ReadonlySet<LocusName> = new Set<LocusName>(['penta_d', 'penta_e', 'cd4']);

const BY_NAME: ReadonlyMap<string, LocusName> = new Map(LOCI.map((l) => [l, l]));

/** Locus names are matched case-insensitively ("CSF1PO", "Penta_D"), nothing else is guessed. */
export function locusByName(name: string): LocusName | undefined {
  return BY_NAME.get(name) ?? BY_NAME.get(name.toLowerCase());
}

/** Index of a locus within MATCH_LOCI (0…22), or -1 for amelogenin. */
export function matchLocusIndex(locus: LocusName): number {
  return MATCH_LOCI.indexOf(locus);
}
