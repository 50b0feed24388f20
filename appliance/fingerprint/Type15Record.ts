/**
 * Type 15, variable-resolution palm print (Annex ch.2 §8, Table 8): same tagged layout as Type 13
 * for fields 001–013 (015.013 is PLP, the palm codes of Table 10) and binary 15.999 last.
 */
import { makeVariableResolutionImage, readVariableResolutionImage, type ImageSpec, type VariableResolutionImage } from './Type13Record.js';
import type { TaggedRecord } from './TaggedRecord.js';

export const TYPE15_FIELDS = {
  LEN: 1, IDC: 2, IMP: 3, SRC: 4, PCD: 5, HLL: 6, VLL: 7, SLC: 8, HPS: 9, VPS: 10, CGA: 11, BPX: 12, PLP: 13, SHPS: 16, SVPS: 17, COM: 20, PQM: 24, DAT: 999,
} as const;

export function readPalmImage(r: TaggedRecord): VariableResolutionImage {
  return readVariableResolutionImage(r);
}

export function makeType15(spec: ImageSpec): TaggedRecord {
  return makeVariableResolutionImage(15, spec);
}
