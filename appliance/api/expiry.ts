/** Certificate expiry warnings (issue 6 §3): at 60, 30 and 7 days. Pure; the console uses it too. */
export type ExpiryLevel = 'ok' | 'notice' | 'warning' | 'critical' | 'expired';

export const EXPIRY_STEPS = [
  { days: 7, level: 'critical' },
  { days: 30, level: 'warning' },
  { days: 60, level: 'notice' },
] as const;

const DAY_MS = 86_400_000;

export function daysLeft(notAfter: string, now: number): number {
  return Math.floor((Date.parse(notAfter) - now) / DAY_MS);
}

export function expiryLevel(notAfter: string, now: number): ExpiryLevel {
  const ms = Date.parse(notAfter) - now;
  if (!Number.isFinite(ms)) return 'critical';
  if (ms <= 0) return 'expired';
  for (const step of EXPIRY_STEPS) if (ms <= step.days * DAY_MS) return step.level;
  return 'ok';
}
