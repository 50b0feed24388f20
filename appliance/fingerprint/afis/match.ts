import { angleDifference, normaliseAngle, type FingerTemplate, type Minutia } from './minutiae.js';

/**
 * The demo AFIS's minutiae matcher: align the probe on the candidate by a Hough vote over every
 * pair of minutiae (rotation, then translation), pair minutiae within a position and an angle
 * tolerance under the best alignments, and score the pairs. A stand-in for a vendor matcher — it
 * ignores ridge counts, cores and deltas — but a real one: mates of distorted and partial prints
 * pair far more minutiae than non-mates do, and the threshold separates them (test/fingerprint-exchange/afis-match.test.ts).
 */
export interface MatchParameters {
  /** Pixels (500 ppi): how far a paired minutia may lie from where the alignment puts it. */
  readonly distanceTolerance: number;
  /** Degrees between the paired minutiae's directions after rotation. */
  readonly angleTolerance: number;
  /** Score (0–100) at or above which a record is a candidate. */
  readonly threshold: number;
  /** Fewer paired minutiae than this is never a candidate, whatever the score (tiny latents). */
  readonly minPaired: number;
}

export const DEFAULT_MATCH_PARAMETERS: MatchParameters = { distanceTolerance: 12, angleTolerance: 15, threshold: 45, minPaired: 7 };

/** Bins of the alignment vote: 10° of rotation, 16 px of translation. */
const ROTATION_BIN = 10;
const TRANSLATION_BIN = 16;
/** Alignments tried per comparison (the best-voted bins). */
const ALIGNMENTS_TRIED = 6;
/** Fewer minutiae than this cannot be aligned meaningfully. */
const MIN_MINUTIAE = 4;

export interface Alignment {
  /** Counter-clockwise rotation in degrees applied to the probe. */
  readonly rotation: number;
  readonly dx: number;
  readonly dy: number;
}

export interface FingerComparison {
  readonly paired: number;
  /** 100 · paired / min(probe, candidate) minutiae. */
  readonly score: number;
  readonly alignment: Alignment | null;
}

/**
 * Rotates a minutia counter-clockwise (as seen on the image, y pointing down) about the origin,
 * then translates it.
 */
export function transformMinutia(m: Minutia, a: Alignment): Minutia {
  const r = (a.rotation * Math.PI) / 180;
  const cos = Math.cos(r);
  const sin = Math.sin(r);
  return { ...m, x: m.x * cos + m.y * sin + a.dx, y: -m.x * sin + m.y * cos + a.dy, theta: normaliseAngle(m.theta + a.rotation) };
}

/** Cosine and sine of each rotation bin's angle, computed once. */
const BIN_COUNT = 360 / ROTATION_BIN;
const BIN_COS = Float64Array.from({ length: BIN_COUNT + 1 }, (_, b) => Math.cos((b * ROTATION_BIN * Math.PI) / 180));
const BIN_SIN = Float64Array.from({ length: BIN_COUNT + 1 }, (_, b) => Math.sin((b * ROTATION_BIN * Math.PI) / 180));

/**
 * The alignments most pairs of minutiae agree on. Each pair votes for the two rotation bins nearest
 * to its own rotation, with the translation computed at the bin's rotation: a translation computed
 * at the pair's own (noisy) rotation would scatter over many bins far from the origin. A winning bin
 * is refined to the pairs that voted for it: their mean rotation, and the translation that takes
 * the mean of their probe minutiae onto the mean of their candidate minutiae.
 */
/** Scratch space for the votes, grown as needed and reused: comparisons run by the thousand. */
let votes = new Int32Array(8192);
let sorted = new Int32Array(8192);

function voteKey(p: Minutia, c: Minutia, bin: number): number {
  const bc = BIN_COS[bin]!;
  const bs = BIN_SIN[bin]!;
  const dx = c.x - (p.x * bc + p.y * bs);
  const dy = c.y - (-p.x * bs + p.y * bc);
  // 36 rotation bins × 4096 × 4096 translation bins fit in 31 bits.
  return ((bin % BIN_COUNT) * 4096 + ((Math.round(dx / TRANSLATION_BIN) + 2048) & 4095)) * 4096 + ((Math.round(dy / TRANSLATION_BIN) + 2048) & 4095);
}

function candidateAlignments(probe: readonly Minutia[], candidate: readonly Minutia[]): Alignment[] {
  const total = probe.length * candidate.length * 2;
  if (votes.length < total) {
    votes = new Int32Array(total * 2);
    sorted = new Int32Array(total * 2);
  }
  let n = 0;
  for (const p of probe) {
    for (const c of candidate) {
      let rotation = c.theta - p.theta;
      if (rotation < 0) rotation += 360;
      const low = Math.floor(rotation / ROTATION_BIN);
      votes[n++] = voteKey(p, c, low);
      votes[n++] = voteKey(p, c, low + 1);
    }
  }
  // The most-voted keys: sort a copy and count runs.
  const view = sorted.subarray(0, n);
  view.set(votes.subarray(0, n));
  view.sort();
  const top: Array<{ key: number; count: number }> = [];
  for (let i = 0; i < n; ) {
    let j = i + 1;
    while (j < n && view[j] === view[i]) j++;
    const count = j - i;
    if (top.length < ALIGNMENTS_TRIED || count > top[top.length - 1]!.count) {
      top.push({ key: view[i]!, count });
      top.sort((a, b) => b.count - a.count);
      if (top.length > ALIGNMENTS_TRIED) top.pop();
    }
    i = j;
  }
  // Per winning key: Σsin, Σcos of the pairs' rotations, Σ probe x/y, Σ candidate x/y, count.
  const sums = new Map<number, number[]>(top.map((t) => [t.key, [0, 0, 0, 0, 0, 0, 0]]));
  let k = 0;
  for (const p of probe) {
    for (const c of candidate) {
      for (let half = 0; half < 2; half++) {
        const acc = sums.get(votes[k++]!);
        if (!acc) continue;
        const r = ((c.theta - p.theta) * Math.PI) / 180;
        acc[0]!++;
        acc[1]! += Math.sin(r);
        acc[2]! += Math.cos(r);
        acc[3]! += p.x;
        acc[4]! += p.y;
        acc[5]! += c.x;
        acc[6]! += c.y;
      }
    }
  }
  return [...sums.values()].map((acc) => {
    const count = acc[0]!;
    const rotation = normaliseAngle((Math.atan2(acc[1]!, acc[2]!) * 180) / Math.PI);
    const centre = transformMinutia({ x: acc[3]! / count, y: acc[4]! / count, theta: 0, kind: 'other', quality: 0 }, { rotation, dx: 0, dy: 0 });
    return { rotation, dx: acc[5]! / count - centre.x, dy: acc[6]! / count - centre.y };
  });
}

/** Pairs minutiae one-to-one under an alignment, closest first; returns how many paired. */
function pairUnder(probe: readonly Minutia[], candidate: readonly Minutia[], a: Alignment, params: MatchParameters): number {
  const moved = probe.map((p) => transformMinutia(p, a));
  const close: Array<{ i: number; j: number; d: number }> = [];
  const limit = params.distanceTolerance * params.distanceTolerance;
  for (let i = 0; i < moved.length; i++) {
    const p = moved[i]!;
    for (let j = 0; j < candidate.length; j++) {
      const c = candidate[j]!;
      const d = (p.x - c.x) ** 2 + (p.y - c.y) ** 2;
      if (d <= limit && angleDifference(p.theta, c.theta) <= params.angleTolerance) close.push({ i, j, d });
    }
  }
  close.sort((x, y) => x.d - y.d);
  const usedP = new Set<number>();
  const usedC = new Set<number>();
  for (const { i, j } of close) {
    if (usedP.has(i) || usedC.has(j)) continue;
    usedP.add(i);
    usedC.add(j);
  }
  return usedP.size;
}

export function compareFingers(probe: readonly Minutia[], candidate: readonly Minutia[], params: MatchParameters = DEFAULT_MATCH_PARAMETERS): FingerComparison {
  if (probe.length < MIN_MINUTIAE || candidate.length < MIN_MINUTIAE) return { paired: 0, score: 0, alignment: null };
  let best: FingerComparison = { paired: 0, score: 0, alignment: null };
  for (const a of candidateAlignments(probe, candidate)) {
    const paired = pairUnder(probe, candidate, a, params);
    if (paired > best.paired) best = { paired, score: 0, alignment: a };
  }
  return { ...best, score: Math.round((100 * best.paired) / Math.min(probe.length, candidate.length)) };
}

export interface RecordComparison {
  /** Paired minutiae over every probe finger compared, and the score over them. */
  readonly paired: number;
  readonly score: number;
  /** The probe finger whose comparison paired most (Table 5 code), for 2.063 INF of a PMS answer. */
  readonly bestPosition: number;
}

/**
 * A probe (one latent, or a ten-print's fingers) against one enrolled record (its fingers or its
 * latent). Ten-print against ten-print compares each finger with the same finger only and pools
 * the pairs over the fingers, so ten fingers that each pair a few minutiae by chance do not add up
 * to a hit. Where a latent is involved (finger position 0: unknown), it comes from one finger: it
 * is compared with every finger of the other side and the best single comparison counts.
 */
export function compareRecord(probe: readonly FingerTemplate[], record: readonly FingerTemplate[], params: MatchParameters = DEFAULT_MATCH_PARAMETERS): RecordComparison {
  const pooled = probe.every((f) => f.position !== 0) && record.every((r) => r.position !== 0);
  if (!pooled) {
    let best: RecordComparison = { paired: 0, score: 0, bestPosition: 0 };
    for (const finger of probe) {
      for (const other of record) {
        const c = compareFingers(finger.minutiae, other.minutiae, params);
        if (c.paired > best.paired || (c.paired === best.paired && c.score > best.score)) {
          best = { paired: c.paired, score: c.score, bestPosition: finger.position || other.position };
        }
      }
    }
    return best;
  }
  let paired = 0;
  let possible = 0;
  let bestPosition = 0;
  let bestPaired = -1;
  for (const finger of probe) {
    const other = record.find((r) => r.position === finger.position);
    if (!other) continue;
    const c = compareFingers(finger.minutiae, other.minutiae, params);
    paired += c.paired;
    possible += Math.min(finger.minutiae.length, other.minutiae.length);
    if (c.paired > bestPaired) {
      bestPaired = c.paired;
      bestPosition = finger.position;
    }
  }
  return { paired, score: possible === 0 ? 0 : Math.round((100 * paired) / possible), bestPosition };
}

export function isCandidate(c: RecordComparison, params: MatchParameters = DEFAULT_MATCH_PARAMETERS): boolean {
  return c.paired >= params.minPaired && c.score >= params.threshold;
}
