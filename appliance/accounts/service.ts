import type Database from 'better-sqlite3';
import { AccountStore, type Account } from './store.js';
import { afterFailure, CLEARED, DEFAULT_LOCKOUT, isLocked, type LockoutPolicy } from './lockout.js';
import {
  burnVerification,
  checkPasswordPolicy,
  DEFAULT_SCRYPT_COST,
  hashPassword,
  needsRehash,
  verifyPassword,
  type PasswordProblem,
  type ScryptCost,
} from './passwords.js';
import { isRole, type Role } from './roles.js';
import { isLanguage, type Language } from './language.js';

type Db = Database.Database;

/** The closed list of reasons an account operation is refused. */
export type AccountProblem =
  | PasswordProblem
  | 'BAD_CREDENTIALS'
  | 'ACCOUNT_LOCKED'
  | 'USERNAME_INVALID'
  | 'USERNAME_TAKEN'
  | 'ROLE_INVALID'
  | 'LANGUAGE_INVALID'
  | 'DISPLAY_NAME_INVALID'
  | 'ACCOUNT_NOT_FOUND'
  | 'LAST_TECHNICIAN'
  | 'SETUP_DONE';

export type AccountResult<T> = { ok: true; value: T } | { ok: false; problem: AccountProblem; lockedUntil?: number };

export interface AccountInput {
  readonly username: string;
  readonly displayName: string;
  readonly role: string;
  readonly password: string;
  readonly language?: string;
}

const USERNAME = /^[A-Za-z0-9._-]{3,32}$/;

export interface AccountServiceOptions {
  readonly lockout?: LockoutPolicy;
  readonly scrypt?: ScryptCost;
}

/** Account rules: sign-in with lockout, creation with the password policy, the last-technician guard. */
export class AccountService {
  readonly store: AccountStore;
  private readonly lockout: LockoutPolicy;
  private readonly cost: ScryptCost;

  constructor(db: Db, options: AccountServiceOptions = {}) {
    this.store = new AccountStore(db);
    this.lockout = options.lockout ?? DEFAULT_LOCKOUT;
    this.cost = options.scrypt ?? DEFAULT_SCRYPT_COST;
  }

  hasAccounts(): boolean {
    return this.store.count() > 0;
  }

  async authenticate(username: string, password: string, now: number): Promise<AccountResult<Account>> {
    const found = typeof username === 'string' && USERNAME.test(username) ? this.store.byUsernameWithHash(username) : null;
    if (!found) {
      await burnVerification(password, this.cost);
      return { ok: false, problem: 'BAD_CREDENTIALS' };
    }
    const { account, passwordHash } = found;
    // A locked account is refused before the password is even checked, so guessing during
    // the lock gains nothing, and the lock is not extended by the owner's later attempts.
    if (isLocked(account, now)) return { ok: false, problem: 'ACCOUNT_LOCKED', lockedUntil: account.lockedUntil ?? now };
    const good = await verifyPassword(password, passwordHash);
    if (!good) {
      const state = afterFailure(account, now, this.lockout);
      this.store.setLockout(account.id, state);
      if (isLocked(state, now)) return { ok: false, problem: 'ACCOUNT_LOCKED', lockedUntil: state.lockedUntil ?? now };
      return { ok: false, problem: 'BAD_CREDENTIALS' };
    }
    // A disabled account says the same as a wrong password: no hint that the name exists.
    if (account.disabled) return { ok: false, problem: 'BAD_CREDENTIALS' };
    this.store.recordLogin(account.id, now);
    if (needsRehash(passwordHash, this.cost)) this.store.setPasswordHash(account.id, await hashPassword(password, this.cost));
    return { ok: true, value: this.store.byId(account.id) ?? account };
  }

  private validate(input: AccountInput): AccountProblem | null {
    if (typeof input.username !== 'string' || !USERNAME.test(input.username)) return 'USERNAME_INVALID';
    if (typeof input.displayName !== 'string' || input.displayName.trim().length < 1 || input.displayName.length > 80) return 'DISPLAY_NAME_INVALID';
    if (!isRole(input.role)) return 'ROLE_INVALID';
    if (input.language !== undefined && !isLanguage(input.language)) return 'LANGUAGE_INVALID';
    if (typeof input.password !== 'string') return 'PASSWORD_TOO_SHORT';
    return checkPasswordPolicy(input.password, input.username);
  }

  async create(input: AccountInput, now: number): Promise<AccountResult<Account>> {
    const problem = this.validate(input);
    if (problem) return { ok: false, problem };
    const hash = await hashPassword(input.password, this.cost);
    const created = this.store.insert(
      { username: input.username, displayName: input.displayName.trim(), role: input.role as Role, passwordHash: hash, language: (input.language as Language | undefined) ?? 'en' },
      now,
    );
    return created ? { ok: true, value: created } : { ok: false, problem: 'USERNAME_TAKEN' };
  }

  /** The first-run wizard's account: always a technician, and only while there is no account at all. */
  async createFirst(input: Omit<AccountInput, 'role'>, now: number): Promise<AccountResult<Account>> {
    if (this.hasAccounts()) return { ok: false, problem: 'SETUP_DONE' };
    const full = { ...input, role: 'technician' };
    const problem = this.validate(full);
    if (problem) return { ok: false, problem };
    const hash = await hashPassword(input.password, this.cost);
    const created = this.store.insertFirst(
      { username: input.username, displayName: input.displayName.trim(), role: 'technician', passwordHash: hash, language: (input.language as Language | undefined) ?? 'en' },
      now,
    );
    return created ? { ok: true, value: created } : { ok: false, problem: 'SETUP_DONE' };
  }

  /** Role/disable changes never leave the box without an enabled technician (nobody could configure it again). */
  update(id: number, changes: { role?: string; displayName?: string; disabled?: boolean }): AccountResult<Account> {
    const account = this.store.byId(id);
    if (!account) return { ok: false, problem: 'ACCOUNT_NOT_FOUND' };
    if (changes.role !== undefined && !isRole(changes.role)) return { ok: false, problem: 'ROLE_INVALID' };
    if (changes.displayName !== undefined && (typeof changes.displayName !== 'string' || !changes.displayName.trim() || changes.displayName.length > 80)) {
      return { ok: false, problem: 'DISPLAY_NAME_INVALID' };
    }
    const losesTechnician = account.role === 'technician' && !account.disabled && ((changes.role !== undefined && changes.role !== 'technician') || changes.disabled === true);
    if (losesTechnician && this.store.countActive('technician', id) === 0) return { ok: false, problem: 'LAST_TECHNICIAN' };
    this.store.update(id, {
      ...(changes.role !== undefined ? { role: changes.role as Role } : {}),
      ...(changes.displayName !== undefined ? { displayName: changes.displayName.trim() } : {}),
      ...(changes.disabled !== undefined ? { disabled: changes.disabled } : {}),
    });
    return { ok: true, value: this.store.byId(id) ?? account };
  }

  remove(id: number): AccountResult<Account> {
    const account = this.store.byId(id);
    if (!account) return { ok: false, problem: 'ACCOUNT_NOT_FOUND' };
    if (account.role === 'technician' && !account.disabled && this.store.countActive('technician', id) === 0) return { ok: false, problem: 'LAST_TECHNICIAN' };
    this.store.delete(id);
    return { ok: true, value: account };
  }

  unlock(id: number): AccountResult<Account> {
    const account = this.store.byId(id);
    if (!account) return { ok: false, problem: 'ACCOUNT_NOT_FOUND' };
    this.store.setLockout(id, CLEARED);
    return { ok: true, value: this.store.byId(id) ?? account };
  }

  setLanguage(id: number, language: string): AccountResult<Account> {
    if (!isLanguage(language)) return { ok: false, problem: 'LANGUAGE_INVALID' };
    const account = this.store.byId(id);
    if (!account) return { ok: false, problem: 'ACCOUNT_NOT_FOUND' };
    this.store.update(id, { language });
    return { ok: true, value: this.store.byId(id) ?? account };
  }

  async changePassword(id: number, current: string, next: string): Promise<AccountResult<Account>> {
    const account = this.store.byId(id);
    const hash = this.store.hashOf(id);
    if (!account || !hash) return { ok: false, problem: 'ACCOUNT_NOT_FOUND' };
    if (typeof current !== 'string' || !(await verifyPassword(current, hash))) return { ok: false, problem: 'BAD_CREDENTIALS' };
    return this.setPassword(id, next);
  }

  /** A technician's reset: no current password needed. */
  async setPassword(id: number, next: string): Promise<AccountResult<Account>> {
    const account = this.store.byId(id);
    if (!account) return { ok: false, problem: 'ACCOUNT_NOT_FOUND' };
    const problem = typeof next === 'string' ? checkPasswordPolicy(next, account.username) : 'PASSWORD_TOO_SHORT';
    if (problem) return { ok: false, problem };
    this.store.setPasswordHash(id, await hashPassword(next, this.cost));
    this.store.setLockout(id, CLEARED);
    return { ok: true, value: account };
  }
}
