/**
 * Lockout after repeated failed sign-ins: after `maxFailures` consecutive failures the account
 * is locked for `lockMinutes`. The counter is not reset when the lock expires, so each further
 * wrong password locks again at once: a guesser gets one try per lock period, a person who
 * remembers the password gets in. A success (or a technician's unlock) resets it.
 */
export interface LockoutPolicy {
  readonly maxFailures: number;
  readonly lockMinutes: number;
}

export const DEFAULT_LOCKOUT: LockoutPolicy = { maxFailures: 5, lockMinutes: 15 };

export interface LockoutState {
  readonly failedAttempts: number;
  /** ms since epoch; null when not locked. */
  readonly lockedUntil: number | null;
}

export function isLocked(state: LockoutState, now: number): boolean {
  return state.lockedUntil !== null && state.lockedUntil > now;
}

export function afterFailure(state: LockoutState, now: number, policy: LockoutPolicy): LockoutState {
  const failedAttempts = state.failedAttempts + 1;
  const lockedUntil = failedAttempts >= policy.maxFailures ? now + policy.lockMinutes * 60_000 : state.lockedUntil;
  return { failedAttempts, lockedUntil };
}

export const CLEARED: LockoutState = { failedAttempts: 0, lockedUntil: null };
