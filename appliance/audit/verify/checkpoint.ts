import { createHash } from 'node:crypto';
import type { Parsed } from './errors.js';
import { CHECKPOINT_HEADER, HEX64_RE, ORIGIN_RE, PERIOD_RE, SIZE_RE, TIME_RE } from './format.js';

/** A signed tree head as written by the appliance (audit/log.ts), parsed. */
export interface ParsedCheckpoint {
  origin: string;
  period: string;
  size: number;
  root: Buffer;
  time: string;
  previousPeriod: string | null;
  previousFinalHead: string | null;
  final: boolean;
  signer: string;
  /** The exact bytes the signature covers. */
  body: Buffer;
  /** SHA-256 (hex) of the body: what the next period's checkpoint links to. */
  hash: string;
}

/** Parses a decimal size written by the appliance; attacker-controlled, so strictly. */
export function parseSize(text: unknown): number | undefined {
  if (typeof text !== 'string' || !SIZE_RE.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

const KEYS = ['origin', 'period', 'size', 'root', 'time', 'previous-period', 'previous-final-head', 'final', 'signer'] as const;
type Key = (typeof KEYS)[number];

/**
 * Parses a checkpoint body. The format is fixed line by line (no reordering, no extra lines),
 * so exactly one byte string corresponds to each tree head.
 */
export function parseCheckpoint(text: string): Parsed<ParsedCheckpoint> {
  if (typeof text !== 'string' || !text.endsWith('\n')) return { ok: false, message: 'checkpoint must end with a newline' };
  const lines = text.slice(0, -1).split('\n');
  if (lines.length !== KEYS.length + 1 || lines[0] !== CHECKPOINT_HEADER) {
    return { ok: false, message: `checkpoint must be "${CHECKPOINT_HEADER}" followed by ${KEYS.length} lines` };
  }
  const f = {} as Record<Key, string>;
  for (const [i, key] of KEYS.entries()) {
    const line = lines[i + 1] ?? '';
    const prefix = `${key} `;
    if (!line.startsWith(prefix)) return { ok: false, message: `line ${i + 2} must start with "${prefix}"` };
    f[key] = line.slice(prefix.length);
  }
  const size = parseSize(f.size);
  if (!ORIGIN_RE.test(f.origin)) return { ok: false, message: 'bad origin' };
  if (!PERIOD_RE.test(f.period)) return { ok: false, message: 'bad period' };
  if (size === undefined) return { ok: false, message: 'bad size' };
  if (!HEX64_RE.test(f.root)) return { ok: false, message: 'bad root' };
  if (!TIME_RE.test(f.time) || Number.isNaN(Date.parse(f.time))) return { ok: false, message: 'bad time' };
  const first = f['previous-period'] === '-';
  if (first !== (f['previous-final-head'] === '-')) return { ok: false, message: 'previous-period and previous-final-head must both be "-" or both be set' };
  if (!first && (!PERIOD_RE.test(f['previous-period']) || !HEX64_RE.test(f['previous-final-head']))) {
    return { ok: false, message: 'bad previous period or head' };
  }
  if (!first && f['previous-period'] >= f.period) return { ok: false, message: 'previous period must precede the period' };
  if (f.final !== 'yes' && f.final !== 'no') return { ok: false, message: 'final must be yes or no' };
  if (!HEX64_RE.test(f.signer)) return { ok: false, message: 'bad signer fingerprint' };
  return {
    ok: true,
    value: {
      origin: f.origin,
      period: f.period,
      size,
      root: Buffer.from(f.root, 'hex'),
      time: f.time,
      previousPeriod: first ? null : f['previous-period'],
      previousFinalHead: first ? null : f['previous-final-head'],
      final: f.final === 'yes',
      signer: f.signer,
      body: Buffer.from(text, 'utf8'),
      hash: createHash('sha256').update(text, 'utf8').digest('hex'),
    },
  };
}
