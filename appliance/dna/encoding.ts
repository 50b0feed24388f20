/**
 * Compact forms of a normalised profile's matching loci (all but amelogenin), shared by the store and the
 * index: a fixed Uint16Array of 2 × 23 allele codes (allele.ts), ABSENT where the profile has no value,
 * and a variable-length blob (locus index, low, high) for the SQLite row.
 */
import { alleleCode, alleleFromCode, WILDCARD_CODE } from './allele.js';
import { MATCH_LOCI, type LocusName } from './loci.js';
import type { AllelePair, DnaLoci } from './profile.js';

export const MATCH_LOCUS_COUNT = MATCH_LOCI.length; // 23
export const ABSENT = 0xffff;

export function encodeLoci(loci: DnaLoci, out: Uint16Array = new Uint16Array(MATCH_LOCUS_COUNT * 2)): Uint16Array {
  for (let l = 0; l < MATCH_LOCUS_COUNT; l++) {
    const pair = loci[MATCH_LOCI[l]!];
    if (pair === undefined) {
      out[2 * l] = ABSENT;
      out[2 * l + 1] = ABSENT;
    } else {
      const a = alleleCode(pair[0]) ?? WILDCARD_CODE;
      const b = alleleCode(pair[1]) ?? WILDCARD_CODE;
      // Ascending with the wildcard (0) first: one key per unordered genotype.
      out[2 * l] = a <= b ? a : b;
      out[2 * l + 1] = a <= b ? b : a;
    }
  }
  return out;
}

export function decodeLoci(codes: Uint16Array): Partial<Record<LocusName, AllelePair>> {
  const loci: Partial<Record<LocusName, AllelePair>> = {};
  for (let l = 0; l < MATCH_LOCUS_COUNT; l++) {
    const lo = codes[2 * l]!;
    if (lo === ABSENT) continue;
    const hi = codes[2 * l + 1]!;
    // Export order: numbers ascending, the wildcard last.
    loci[MATCH_LOCI[l]!] = lo === WILDCARD_CODE ? [alleleFromCode(hi), alleleFromCode(lo)] : [alleleFromCode(lo), alleleFromCode(hi)];
  }
  return loci;
}

/** codes → blob of 5 bytes per present locus: index, low (LE), high (LE). */
export function codesToBlob(codes: Uint16Array): Buffer {
  let n = 0;
  for (let l = 0; l < MATCH_LOCUS_COUNT; l++) if (codes[2 * l] !== ABSENT) n++;
  const buf = Buffer.allocUnsafe(n * 5);
  let o = 0;
  for (let l = 0; l < MATCH_LOCUS_COUNT; l++) {
    const lo = codes[2 * l]!;
    if (lo === ABSENT) continue;
    buf[o] = l;
    buf.writeUInt16LE(lo, o + 1);
    buf.writeUInt16LE(codes[2 * l + 1]!, o + 3);
    o += 5;
  }
  return buf;
}

/** blob → codes; returns false when the blob is not one we wrote (the store then reports the row). */
export function blobToCodes(blob: Uint8Array, out: Uint16Array): boolean {
  out.fill(ABSENT);
  if (blob.length % 5 !== 0) return false;
  for (let o = 0; o < blob.length; o += 5) {
    const l = blob[o]!;
    if (l >= MATCH_LOCUS_COUNT) return false;
    out[2 * l] = blob[o + 1]! | (blob[o + 2]! << 8);
    out[2 * l + 1] = blob[o + 3]! | (blob[o + 4]! << 8);
  }
  return true;
}
