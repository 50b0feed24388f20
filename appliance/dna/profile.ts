import type { LocusName } from './loci.js';

/** Two allele values of one locus; an unordered pair for matching, written low then high. */
export type AllelePair = readonly [string, string];

export type DnaLoci = Partial<Record<LocusName, AllelePair>>;

/** PRUEM_data_type (ICD §4.2.3.4): P person (reference) profile, S stain. */
export type ProfileType = 'P' | 'S';

/**
 * A profile in export form (DNA-WILD applied): every value except amelogenin's is a canonical number
 * ("14", "9.3") or the wildcard "*". Only normalise.ts builds these from raw national values.
 */
export interface NormalisedProfile {
  readonly type: ProfileType;
  readonly loci: DnaLoci;
}
