import type Database from 'better-sqlite3';
import type { GatewayConfig } from './config.js';
import { migrateSchema } from '../db/schema.js';

type Db = Database.Database;

/**
 * Configuration revisions: every change made through the console is kept whole, with who made
 * it, when and a one-line summary naming its target; any revision can be restored (as a new
 * revision, so history only grows). Kept in the gateway's database, table api_config_revisions.
 * Never with a literal secret: a `{ "value": … }` PIN or password is stored as `{ "redacted": true }`
 * and a restore takes the secret from the running configuration (withSecretsFrom).
 */
export interface Revision {
  readonly id: number;
  readonly at: string;
  readonly actor: string;
  readonly summary: string;
  readonly revertOf: number | null;
  readonly config: GatewayConfig;
}

export interface ConfigChange {
  readonly path: string;
  readonly before: unknown;
  readonly after: unknown;
}

interface Row {
  id: number;
  at: number;
  actor: string;
  summary: string;
  revert_of: number | null;
  config: string;
}

function toRevision(r: Row): Revision {
  return { id: r.id, at: new Date(r.at).toISOString(), actor: r.actor, summary: r.summary, revertOf: r.revert_of, config: JSON.parse(r.config) as GatewayConfig };
}

/** Canonical JSON (sorted keys) so "is it the same configuration" does not depend on key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export class RevisionStore {
  constructor(
    private readonly db: Db,
    private readonly clock: () => number = Date.now,
  ) {
    migrateSchema(db);
    scrubStoredSecrets(db);
  }

  latest(): Revision | null {
    const row = this.db.prepare('SELECT * FROM api_config_revisions ORDER BY id DESC LIMIT 1').get() as Row | undefined;
    return row ? toRevision(row) : null;
  }

  get(id: number): Revision | null {
    const row = this.db.prepare('SELECT * FROM api_config_revisions WHERE id = ?').get(id) as Row | undefined;
    return row ? toRevision(row) : null;
  }

  previous(id: number): Revision | null {
    const row = this.db.prepare('SELECT * FROM api_config_revisions WHERE id < ? ORDER BY id DESC LIMIT 1').get(id) as Row | undefined;
    return row ? toRevision(row) : null;
  }

  list(limit = 100, offset = 0): Array<Omit<Revision, 'config'>> {
    return (this.db.prepare('SELECT * FROM api_config_revisions ORDER BY id DESC LIMIT ? OFFSET ?').all(limit, offset) as Row[]).map((r) => {
      const { config: _config, ...rest } = toRevision(r);
      return rest;
    });
  }

  record(config: GatewayConfig, actor: string, summary: string, revertOf: number | null = null): Revision {
    const info = this.db
      .prepare('INSERT INTO api_config_revisions (at, actor, summary, revert_of, config) VALUES (?, ?, ?, ?, ?)')
      .run(this.clock(), actor, summary.slice(0, 300), revertOf, JSON.stringify(withoutSecrets(config)));
    const saved = this.get(Number(info.lastInsertRowid));
    if (!saved) throw new Error('revision vanished after insert');
    return saved;
  }

  /**
   * Makes the history's last revision equal to the running configuration: the first time
   * (revision 1, "configuration at first start") and after someone edited the file by hand.
   */
  sync(running: GatewayConfig): Revision {
    const last = this.latest();
    if (last && canonicalJson(last.config) === canonicalJson(withoutSecrets(running))) return last;
    return this.record(running, 'system', last ? 'configuration file changed outside the console' : 'configuration at first start');
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * What changed between two configurations, as (path, before, after) leaves. Arrays of peers are
 * matched by their `code` so adding a peer is one change, not a shift of every index after it.
 */
export function diffConfig(before: unknown, after: unknown, path = ''): ConfigChange[] {
  if (canonicalJson(before) === canonicalJson(after)) return [];
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => diffConfig(before[k], after[k], path ? `${path}.${k}` : k));
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const keyed = (xs: unknown[]) => xs.every((x) => isPlainObject(x) && typeof x['code'] === 'string');
    if (keyed(before) && keyed(after)) {
      const index = (xs: unknown[]) => new Map(xs.map((x) => [(x as Record<string, string>)['code'] ?? '', x]));
      const a = index(before);
      const b = index(after);
      const codes = [...new Set([...a.keys(), ...b.keys()])];
      return codes.flatMap((c) => diffConfig(a.get(c), b.get(c), `${path}[${c}]`));
    }
  }
  return [{ path: path || '(root)', before: before === undefined ? null : before, after: after === undefined ? null : after }];
}

const SECRET_KEY = /(pin|password|passphrase|secret|privatekey|apikey)$/i;

/** What a literal secret is stored as in a revision. */
export const STORED_SECRET = { redacted: true } as const;

/** The configuration as a revision keeps it: literal secrets (`{ value }` under a secret key) replaced by STORED_SECRET. */
export function withoutSecrets<T>(value: T, key = ''): T {
  if (SECRET_KEY.test(key) && isPlainObject(value) && 'value' in value) return STORED_SECRET as unknown as T;
  if (SECRET_KEY.test(key) && typeof value === 'string') return STORED_SECRET as unknown as T;
  if (Array.isArray(value)) return value.map((v) => withoutSecrets(v)) as unknown as T;
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutSecrets(v, k)])) as T;
  return value;
}

/**
 * A stored revision made whole for a restore: each STORED_SECRET takes the secret at the same
 * place in the running configuration. Where there is none the marker stays, and the
 * configuration check refuses it (the operator must give that secret again).
 */
export function withSecretsFrom(stored: unknown, running: unknown): unknown {
  if (isPlainObject(stored) && stored['redacted'] === true && Object.keys(stored).length === 1) return running ?? stored;
  if (Array.isArray(stored)) {
    const byCode = Array.isArray(running) ? new Map(running.filter(isPlainObject).map((r) => [r['code'], r])) : new Map<unknown, unknown>();
    return stored.map((v, i) => withSecretsFrom(v, isPlainObject(v) && 'code' in v ? byCode.get(v['code']) : Array.isArray(running) ? running[i] : undefined));
  }
  if (isPlainObject(stored)) {
    const r = isPlainObject(running) ? running : {};
    return Object.fromEntries(Object.entries(stored).map(([k, v]) => [k, withSecretsFrom(v, r[k])]));
  }
  return stored;
}

/** Revisions written by earlier versions may hold literal secrets: rewritten once, in place (secure_delete zeroes the old pages). */
function scrubStoredSecrets(db: Db): void {
  const rows = db.prepare(`SELECT id, config FROM api_config_revisions WHERE config LIKE '%"value"%'`).all() as Array<{ id: number; config: string }>;
  const update = db.prepare('UPDATE api_config_revisions SET config = ? WHERE id = ?');
  db.transaction(() => {
    for (const r of rows) {
      const clean = JSON.stringify(withoutSecrets(JSON.parse(r.config) as unknown));
      if (clean !== r.config) update.run(clean, r.id);
    }
  })();
}

/** The configuration with secret values (literal PINs, POP3 password) replaced, for display and diffs. */
export function redactConfig(value: unknown, key = ''): unknown {
  if (SECRET_KEY.test(key)) {
    // A PIN *source* naming a file or variable is not a secret and helps support; a literal is.
    if (isPlainObject(value) && ('file' in value || 'env' in value) && !('value' in value)) return value;
    return '[redacted]';
  }
  if (Array.isArray(value)) return value.map((v) => redactConfig(v));
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactConfig(v, k)]));
  return value;
}
