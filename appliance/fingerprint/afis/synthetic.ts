import { transformMinutia } from './match.js';
import { normaliseAngle, type FingerTemplate, type Minutia, type MinutiaKind } from './minutiae.js';

/**
 * Synthetic minutiae for the demo AFIS's enrolled records, the demo network's example search and
 * the tests: random fingers, and "another impression" of a finger — rotated, shifted, each minutia
 * displaced a little, some missed, some spurious, optionally only a part (a latent). Seeded, so
 * every run has the same population.
 */

/** xorshift32 (same generator as the demo DNA population). */
export function seededRandom(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

/** A finger impression at 500 ppi is about 400 × 500 px (Annex Table 4 image sizes). */
export const FINGER_WIDTH = 400;
export const FINGER_HEIGHT = 500;

export function randomFinger(random: () => number, position: number, count = 35 + Math.floor(random() * 25)): FingerTemplate {
  const minutiae: Minutia[] = [];
  let tries = 0;
  while (minutiae.length < count && tries++ < count * 50) {
    const x = 20 + random() * (FINGER_WIDTH - 40);
    const y = 20 + random() * (FINGER_HEIGHT - 40);
    // Real minutiae are rarely closer than a ridge period or two (~10 px at 500 ppi).
    if (minutiae.some((m) => (m.x - x) ** 2 + (m.y - y) ** 2 < 12 * 12)) continue;
    const kind: MinutiaKind = random() < 0.5 ? 'ending' : 'bifurcation';
    minutiae.push({ x: Math.round(x), y: Math.round(y), theta: Math.floor(random() * 180) * 2, kind, quality: 40 + Math.floor(random() * 60) });
  }
  return { position, minutiae };
}

export function randomTenPrint(random: () => number): FingerTemplate[] {
  return Array.from({ length: 10 }, (_, i) => randomFinger(random, i + 1));
}

export interface Distortion {
  /** Degrees, applied about the image centre. */
  readonly rotation: number;
  readonly dx: number;
  readonly dy: number;
  /** Maximum displacement of each minutia (px) and of its direction (degrees). */
  readonly jitter: number;
  readonly angleJitter: number;
  /** Share of minutiae the other impression misses (0–1). */
  readonly missed: number;
  /** Spurious minutiae added. */
  readonly spurious: number;
  /** Keep only the minutiae inside this window of the original (a latent is partial). */
  readonly window?: { readonly x: number; readonly y: number; readonly width: number; readonly height: number };
  /** Finger position to give the impression (0 for a latent of unknown finger). */
  readonly position?: number;
}

export function distort(finger: FingerTemplate, d: Distortion, random: () => number): FingerTemplate {
  const inWindow = (m: Minutia) => !d.window || (m.x >= d.window.x && m.x < d.window.x + d.window.width && m.y >= d.window.y && m.y < d.window.y + d.window.height);
  const cx = FINGER_WIDTH / 2;
  const cy = FINGER_HEIGHT / 2;
  const kept = finger.minutiae.filter(inWindow).filter(() => random() >= d.missed);
  const moved = kept.map((m) => {
    const centred = transformMinutia({ ...m, x: m.x - cx, y: m.y - cy }, { rotation: d.rotation, dx: cx + d.dx, dy: cy + d.dy });
    return {
      ...centred,
      x: Math.round(centred.x + (random() * 2 - 1) * d.jitter),
      y: Math.round(centred.y + (random() * 2 - 1) * d.jitter),
      theta: Math.round(normaliseAngle(centred.theta + (random() * 2 - 1) * d.angleJitter) / 2) * 2 % 360,
    };
  });
  const box = d.window ?? { x: 0, y: 0, width: FINGER_WIDTH, height: FINGER_HEIGHT };
  for (let i = 0; i < d.spurious; i++) {
    moved.push({
      x: Math.round(box.x + random() * box.width + d.dx),
      y: Math.round(box.y + random() * box.height + d.dy),
      theta: Math.floor(random() * 180) * 2,
      kind: random() < 0.5 ? 'ending' : 'bifurcation',
      quality: 20 + Math.floor(random() * 40),
    });
  }
  return { position: d.position ?? finger.position, minutiae: moved.map((m) => ({ ...m, x: Math.max(0, m.x), y: Math.max(0, m.y) })) };
}

/** Another rolled or plain impression of the same finger: a little rotation and shift, some noise. */
export function secondImpression(finger: FingerTemplate, random: () => number): FingerTemplate {
  return distort(
    finger,
    { rotation: (random() * 2 - 1) * 15, dx: (random() * 2 - 1) * 30, dy: (random() * 2 - 1) * 30, jitter: 3, angleJitter: 6, missed: 0.15, spurious: 5 },
    random,
  );
}

/** A latent of the finger: a third of the area or so, any rotation, more noise, finger unknown. */
export function latentOf(finger: FingerTemplate, random: () => number): FingerTemplate {
  const width = 240;
  const height = 260;
  const x = Math.floor(random() * (FINGER_WIDTH - width));
  const y = Math.floor(random() * (FINGER_HEIGHT - height));
  return distort(
    finger,
    { rotation: (random() * 2 - 1) * 60, dx: (random() * 2 - 1) * 40, dy: (random() * 2 - 1) * 40, jitter: 4, angleJitter: 7, missed: 0.2, spurious: 4, window: { x, y, width, height }, position: 0 },
    random,
  );
}
