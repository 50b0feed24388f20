import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { Language } from './language.js';
import type { Role } from './roles.js';
import { migrateSchema } from '../db/schema.js';
import type { LockoutState } from './lockout.js';

type Db = Database.Database;

/** A local account as the rest of the program sees it (never with its hash). */
export interface Account {
  readonly id: number;
  readonly username: string;
  readonly displayName: string;
  readonly role: Role;
  readonly language: Language;
  readonly disabled: boolean;
  readonly failedAttempts: number;
  readonly lockedUntil: number | null;
  readonly createdAt: number;
  readonly lastLoginAt: number | null;
}

interface UserRow {
  id: number;
  username: string;
  display_name: string;
  role: Role;
  password_hash: string;
  language: Language;
  disabled: number;
  failed_attempts: number;
  locked_until: number | null;
  created_at: number;
  last_login_at: number | null;
}

function toAccount(row: UserRow): Account {
  return {
    id: row.id,
    username: row.username,
    displayName: row.display_name,
    role: row.role,
    language: row.language,
    disabled: row.disabled !== 0,
    failedAttempts: row.failed_attempts,
    lockedUntil: row.locked_until,
    createdAt: row.created_at,
    lastLoginAt: row.last_login_at,
  };
}

export function migrateAccounts(db: Db): void {
  migrateSchema(db);
}

export interface NewAccount {
  readonly username: string;
  readonly displayName: string;
  readonly role: Role;
  readonly passwordHash: string;
  readonly language: Language;
}

/** SQL for accounts; no policy here (that is in service.ts). */
export class AccountStore {
  constructor(private readonly db: Db) {
    migrateAccounts(db);
  }

  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM accounts_users').get() as { n: number }).n;
  }

  countActive(role: Role, exceptId?: number): number {
    return (
      this.db
        .prepare('SELECT count(*) AS n FROM accounts_users WHERE role = ? AND disabled = 0 AND id != ?')
        .get(role, exceptId ?? -1) as { n: number }
    ).n;
  }

  list(): Account[] {
    return (this.db.prepare('SELECT * FROM accounts_users ORDER BY username').all() as UserRow[]).map(toAccount);
  }

  byId(id: number): Account | null {
    const row = this.db.prepare('SELECT * FROM accounts_users WHERE id = ?').get(id) as UserRow | undefined;
    return row ? toAccount(row) : null;
  }

  byUsernameWithHash(username: string): { account: Account; passwordHash: string } | null {
    const row = this.db.prepare('SELECT * FROM accounts_users WHERE username = ?').get(username) as UserRow | undefined;
    return row ? { account: toAccount(row), passwordHash: row.password_hash } : null;
  }

  hashOf(id: number): string | null {
    const row = this.db.prepare('SELECT password_hash FROM accounts_users WHERE id = ?').get(id) as { password_hash: string } | undefined;
    return row?.password_hash ?? null;
  }

  /** Returns null when the user name is taken (case-insensitively). */
  insert(account: NewAccount, now: number): Account | null {
    try {
      const info = this.db
        .prepare(
          `INSERT INTO accounts_users (username, display_name, role, password_hash, language, created_at)
           VALUES (?, ?, ?, ?, ?, ?)`,
        )
        .run(account.username, account.displayName, account.role, account.passwordHash, account.language, now);
      return this.byId(Number(info.lastInsertRowid));
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return null;
      throw e;
    }
  }

  /** Inserts only while the table is empty, atomically: two browsers finishing the wizard at once get one account. */
  insertFirst(account: NewAccount, now: number): Account | null {
    return this.db.transaction(() => (this.count() === 0 ? this.insert(account, now) : null)).immediate();
  }

  setLockout(id: number, state: LockoutState): void {
    this.db.prepare('UPDATE accounts_users SET failed_attempts = ?, locked_until = ? WHERE id = ?').run(state.failedAttempts, state.lockedUntil, id);
  }

  recordLogin(id: number, now: number): void {
    this.db.prepare('UPDATE accounts_users SET failed_attempts = 0, locked_until = NULL, last_login_at = ? WHERE id = ?').run(now, id);
  }

  setPasswordHash(id: number, hash: string): void {
    this.db.prepare('UPDATE accounts_users SET password_hash = ? WHERE id = ?').run(hash, id);
  }

  update(id: number, changes: { role?: Role; displayName?: string; disabled?: boolean; language?: Language }): void {
    if (changes.role !== undefined) this.db.prepare('UPDATE accounts_users SET role = ? WHERE id = ?').run(changes.role, id);
    if (changes.displayName !== undefined) this.db.prepare('UPDATE accounts_users SET display_name = ? WHERE id = ?').run(changes.displayName, id);
    if (changes.disabled !== undefined) this.db.prepare('UPDATE accounts_users SET disabled = ? WHERE id = ?').run(changes.disabled ? 1 : 0, id);
    if (changes.language !== undefined) this.db.prepare('UPDATE accounts_users SET language = ? WHERE id = ?').run(changes.language, id);
  }

  delete(id: number): void {
    this.db.prepare('DELETE FROM accounts_users WHERE id = ?').run(id);
  }
}

export interface SessionRecord {
  readonly userId: number;
  readonly csrfToken: string;
  readonly createdAt: number;
  readonly lastSeen: number;
}

export interface SessionLimits {
  /** Signed out after this long without a user action (issue 6 §9). */
  readonly idleMinutes: number;
  /** Signed out after this long whatever happens: a stolen cookie does not live for ever. */
  readonly absoluteHours: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = { idleMinutes: 15, absoluteHours: 12 };

/**
 * Sessions: the cookie holds 32 random bytes; the table holds only their SHA-256, so a copy of
 * the database does not contain live sessions. Each session has its own CSRF token.
 */
export class SessionStore {
  constructor(
    private readonly db: Db,
    private readonly limits: SessionLimits,
  ) {
    migrateAccounts(db);
  }

  static hashToken(token: string): string {
    return createHash('sha256').update(token).digest('hex');
  }

  create(userId: number, now: number, remote: string | null): { token: string; csrfToken: string } {
    const token = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(32).toString('base64url');
    this.db
      .prepare('INSERT INTO accounts_sessions (token_hash, user_id, csrf_token, created_at, last_seen, remote) VALUES (?, ?, ?, ?, ?, ?)')
      .run(SessionStore.hashToken(token), userId, csrfToken, now, now, remote);
    return { token, csrfToken };
  }

  /** The live session for a cookie value; 'expired' when it existed but timed out (and is now gone). */
  resolve(token: string, now: number): SessionRecord | 'expired' | null {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
    const hash = SessionStore.hashToken(token);
    const row = this.db.prepare('SELECT user_id, csrf_token, created_at, last_seen FROM accounts_sessions WHERE token_hash = ?').get(hash) as
      | { user_id: number; csrf_token: string; created_at: number; last_seen: number }
      | undefined;
    if (!row) return null;
    if (now - row.last_seen > this.limits.idleMinutes * 60_000 || now - row.created_at > this.limits.absoluteHours * 3_600_000) {
      this.db.prepare('DELETE FROM accounts_sessions WHERE token_hash = ?').run(hash);
      return 'expired';
    }
    return { userId: row.user_id, csrfToken: row.csrf_token, createdAt: row.created_at, lastSeen: row.last_seen };
  }

  touch(token: string, now: number): void {
    this.db.prepare('UPDATE accounts_sessions SET last_seen = ? WHERE token_hash = ?').run(now, SessionStore.hashToken(token));
  }

  destroy(token: string): void {
    this.db.prepare('DELETE FROM accounts_sessions WHERE token_hash = ?').run(SessionStore.hashToken(token));
  }

  destroyAllFor(userId: number, exceptToken?: string): void {
    this.db
      .prepare('DELETE FROM accounts_sessions WHERE user_id = ? AND token_hash != ?')
      .run(userId, exceptToken ? SessionStore.hashToken(exceptToken) : '');
  }

  purgeExpired(now: number): number {
    return this.db
      .prepare('DELETE FROM accounts_sessions WHERE last_seen < ? OR created_at < ?')
      .run(now - this.limits.idleMinutes * 60_000, now - this.limits.absoluteHours * 3_600_000).changes;
  }
}

export function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
