import type { Parsed } from './errors.js';
import { field, matches, PERIOD_RE, SAFE_PATH_RE } from './format.js';

/** manifest.json: what the bundle says it holds (every claim is checked against the files). */
export interface ManifestPeriod {
  period: string;
  checkpoint: string;
  coverage: 'complete' | 'partial';
  entries: number;
}

export interface Manifest {
  format: string;
  exportId: string;
  origin: string;
  createdAt: string;
  filters: unknown;
  entryCount: number;
  proofMode: 'auto' | 'each';
  checkpoints: string[];
  anchor: string;
  previousAnchor: string | null;
  chainFrom: string;
  periods: ManifestPeriod[];
}

const isStr = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length < 1000;
const isCp = (v: unknown): v is string => isStr(v) && SAFE_PATH_RE.test(v) && v.startsWith('checkpoints/') && v.endsWith('.txt');
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export function checkManifest(m: unknown): Parsed<Manifest> {
  const f = (name: string): unknown => field(m, name);
  if (!isStr(f('exportId')) || !isStr(f('origin')) || !isStr(f('createdAt'))) return { ok: false, message: 'exportId, origin, createdAt required' };
  if (!isCount(f('entryCount'))) return { ok: false, message: 'bad entryCount' };
  if (f('proofMode') !== 'auto' && f('proofMode') !== 'each') return { ok: false, message: 'bad proofMode' };
  const checkpoints = f('checkpoints');
  if (!Array.isArray(checkpoints) || !checkpoints.every(isCp)) return { ok: false, message: 'bad checkpoints list' };
  const listed = checkpoints as string[];
  const anchor = f('anchor');
  if (!isCp(anchor) || !listed.includes(anchor)) return { ok: false, message: 'bad anchor' };
  const previousAnchor = f('previousAnchor');
  if (previousAnchor !== null && (!isCp(previousAnchor) || !listed.includes(previousAnchor))) return { ok: false, message: 'bad previousAnchor' };
  const chainFrom = f('chainFrom');
  if (!matches(PERIOD_RE, chainFrom)) return { ok: false, message: 'bad chainFrom' };
  const periods = f('periods');
  if (!Array.isArray(periods)) return { ok: false, message: 'bad periods' };
  for (const p of periods as unknown[]) {
    const period = field(p, 'period');
    const checkpoint = field(p, 'checkpoint');
    if (!matches(PERIOD_RE, period) || !isCp(checkpoint) || !listed.includes(checkpoint)) return { ok: false, message: 'bad period item' };
    const coverage = field(p, 'coverage');
    if (coverage !== 'complete' && coverage !== 'partial') return { ok: false, message: 'bad coverage' };
    if (!isCount(field(p, 'entries'))) return { ok: false, message: 'bad period entry count' };
    if (period < chainFrom) return { ok: false, message: 'period before chainFrom' };
  }
  return { ok: true, value: m as Manifest };
}
