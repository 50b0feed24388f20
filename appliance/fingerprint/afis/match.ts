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

/**
 * The alignments most pairs of minutiae agree on. Each pair votes for the two rotation bins nearest
 * to its own rotation, with the translation computed at the bin's rotation: a translation computed
 * at the pair's own (noisy) rotation would scatter over many bins far from the origin. The winners
 * are refined with the mean rotation and translation of the pairs that voted for them.
 */
function candidateAlignments(probe: readonly Minutia[], candidate: readonly Minutia[]): Alignment[] {
  const votes = (visit: (key: string, p: Minutia, c: Minutia) => void) => {
    for (const p of probe) {
      for (const c of candidate) {
        const rotation = normaliseAngle(c.theta - p.theta);
        const low = Math.floor(rotation / ROTATION_BIN);
        for (const bin of [low, low + 1]) {
          const moved = transformMinutia(p, { rotation: bin * ROTATION_BIN, dx: 0, dy: 0 });
          visit(`${bin % (360 / ROTATION_BIN)}:${Math.round((c.x - moved.x) / TRANSLATION_BIN)}:${Math.round((c.y - moved.y) / TRANSLATION_BIN)}`, p, c);
        }
      }
    }
  };
  const counts = new Map<string, number>();
  votes((key) => counts.set(key, (counts.get(key) ?? 0) + 1));
  const best = new Set([...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, ALIGNMENTS_TRIED).map(([key]) => key));
  const pairs = new Map<string, Array<[Minutia, Minutia]>>();
  votes((key, p, c) => {
    if (best.has(key)) pairs.set(key, [...(pairs.get(key) ?? []), [p, c]]);
  });
  return [...pairs.values()].map((list) => {
    let sin = 0;
    let cos = 0;
    for (const [p, c] of list) {
      const r = (normaliseAngle(c.theta - p.theta) * Math.PI) / 180;
      sin += Math.sin(r);
      cos += Math.cos(r);
    }
    const rotation = normaliseAngle((Math.atan2(sin, cos) * 180) / Math.PI);
    let dx = 0;
    let dy = 0;
    for (const [p, c] of list) {
      const moved = transformMinutia(p, { rotation, dx: 0, dy: 0 });
      dx += c.x - moved.x;
      dy += c.y - moved.y;
    }
    return { rotation, dx: dx / list.length, dy: dy / list.length };
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
 * latent). A known finger position is compared only with the same position; an unknown one (0,
 * usual for latents) with every finger of the record, keeping the best. The record's score pools
 * the pairs over the fingers compared, so ten fingers that each pair a few minutiae by chance do
 * not add up to a hit.
 */
export function compareRecord(probe: readonly FingerTemplate[], record: readonly FingerTemplate[], params: MatchParameters = DEFAULT_MATCH_PARAMETERS): RecordComparison {
  let paired = 0;
  let possible = 0;
  let bestPosition = 0;
  let bestPaired = -1;
  for (const finger of probe) {
    const others = record.filter((r) => finger.position === 0 || r.position === 0 || r.position === finger.position);
    let fingerBest: FingerComparison | null = null;
    let fingerPossible = 0;
    for (const other of others) {
      const c = compareFingers(finger.minutiae, other.minutiae, params);
      if (!fingerBest || c.paired > fingerBest.paired) {
        fingerBest = c;
        fingerPossible = Math.min(finger.minutiae.length, other.minutiae.length);
      }
    }
    if (!fingerBest) continue;
    paired += fingerBest.paired;
    possible += fingerPossible;
    if (fingerBest.paired > bestPaired) {
      bestPaired = fingerBest.paired;
      bestPosition = finger.position;
    }
  }
  return { paired, score: possible === 0 ? 0 : Math.round((100 * paired) / possible), bestPosition };
}

export function isCandidate(c: RecordComparison, params: MatchParameters = DEFAULT_MATCH_PARAMETERS): boolean {
  return c.paired >= params.minPaired && c.score >= params.threshold;
}
