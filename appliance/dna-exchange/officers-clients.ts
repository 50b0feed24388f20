import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import type { Db } from '../db/database.js';
import { migrateSchema } from '../db/schema.js';
import type { AuditLog } from '../audit/log.js';

/**
 * The national client systems allowed to call the officers' API: each has its own named
 * credential, shown once when it is made, stored only as a SHA-256 digest (the credential is 256
 * random bits, so a fast digest is as good as a slow one here and keeps every request cheap),
 * listed, and revocable on its own. Every change is written to the Art. 30 log in the same
 * transaction, and the log names the client that read a search's results.
 */

export interface OfficersClient {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly revokedAt: string | null;
  readonly revokedBy: string | null;
  readonly lastUsedAt: string | null;
}

export type OfficersClientErrorCode = 'CLIENT_NAME_INVALID' | 'CLIENT_NAME_TAKEN' | 'CLIENT_NOT_FOUND' | 'CLIENT_ALREADY_REVOKED';
export type ClientResult<T> = { ok: true; value: T } | { ok: false; error: { code: OfficersClientErrorCode; message: string } };

/** Client names: what the list shows and the log records (e.g. "afis-workstations", "case-system"). */
const NAME_RE = /^[a-z0-9][a-z0-9._-]{1,47}$/;
const PREFIX = 'pruem-oc';
/** How often the "last used" time is written (a busy client must not cost a write per request). */
const LAST_USED_RESOLUTION_MS = 60_000;
export const LEGACY_CLIENT_NAME = 'legacy-shared-key';

interface ClientRow {
  id: string;
  name: string;
  key_sha256: string;
  created_at: string;
  created_by: string;
  revoked_at: string | null;
  revoked_by: string | null;
  last_used_at: string | null;
}

function digest(credential: string): string {
  return createHash('sha256').update(credential, 'utf8').digest('hex');
}

export class OfficersClients {
  private readonly clock: () => Date;

  constructor(
    private readonly db: Db,
    private readonly audit: AuditLog,
    options: { clock?: () => Date } = {},
  ) {
    migrateSchema(db);
    this.clock = options.clock ?? (() => audit.now());
  }

  /** A new client and its credential; the credential is returned this once and never stored. */
  add(name: string, actor: string): ClientResult<{ client: OfficersClient; credential: string }> {
    const n = name.trim();
    if (!NAME_RE.test(n)) return { ok: false, error: { code: 'CLIENT_NAME_INVALID', message: 'client name: 2–48 characters of a–z 0–9 . _ -, starting with a letter or digit' } };
    const id = randomBytes(6).toString('hex');
    const credential = `${PREFIX}.${id}.${randomBytes(32).toString('base64url')}`;
    return this.insert(id, n, digest(credential), actor, 'add', () => ({ client: this.byId(id)!, credential }));
  }

  list(): OfficersClient[] {
    return (this.db.prepare('SELECT * FROM officers_api_clients ORDER BY created_at, name').all() as ClientRow[]).map(toClient);
  }

  /** Revokes by id or name; the client stays listed (the log refers to it). */
  revoke(idOrName: string, actor: string): ClientResult<OfficersClient> {
    const row = this.row(idOrName.trim());
    if (!row) return { ok: false, error: { code: 'CLIENT_NOT_FOUND', message: `no officers' API client ${idOrName}` } };
    if (row.revoked_at) return { ok: false, error: { code: 'CLIENT_ALREADY_REVOKED', message: `client ${row.name} was revoked at ${row.revoked_at}` } };
    const now = this.clock().toISOString();
    return this.db.transaction((): ClientResult<OfficersClient> => {
      this.db.prepare('UPDATE officers_api_clients SET revoked_at = ?, revoked_by = ? WHERE id = ?').run(now, actor, row.id);
      this.record(actor, row, 'revoke', now);
      return { ok: true, value: this.byId(row.id)! };
    })();
  }

  /** The client a presented credential belongs to, or null (unknown, revoked or malformed). */
  authenticate(presented: string): OfficersClient | null {
    if (presented.length < 16 || presented.length > 200) return null;
    const row = this.db.prepare('SELECT * FROM officers_api_clients WHERE key_sha256 = ?').get(digest(presented)) as ClientRow | undefined;
    if (!row || row.revoked_at) return null;
    const now = this.clock();
    if (!row.last_used_at || now.getTime() - Date.parse(row.last_used_at) >= LAST_USED_RESOLUTION_MS) {
      this.db.prepare('UPDATE officers_api_clients SET last_used_at = ? WHERE id = ?').run(now.toISOString(), row.id);
      return toClient({ ...row, last_used_at: now.toISOString() });
    }
    return toClient(row);
  }

  /**
   * The single shared key of earlier versions (<dataDir>/officers-api.key): taken over as the client
   * "legacy-shared-key", so the systems that use it keep working until it is revoked, and the file
   * holding the secret in clear is deleted. Returns the client when a file was migrated.
   */
  migrateLegacyKeyFile(path: string): OfficersClient | null {
    if (!existsSync(path)) return null;
    const key = readFileSync(path, 'utf8').trim();
    let client: OfficersClient | null = null;
    if (key.length >= 16 && !this.row(LEGACY_CLIENT_NAME)) {
      const r = this.insert(randomBytes(6).toString('hex'), LEGACY_CLIENT_NAME, digest(key), 'system', 'migrate-legacy-key', () => null);
      if (r.ok) client = this.row(LEGACY_CLIENT_NAME) ? toClient(this.row(LEGACY_CLIENT_NAME)!) : null;
    }
    unlinkSync(path);
    return client;
  }

  private insert<T>(id: string, name: string, keySha256: string, actor: string, change: string, result: () => T): ClientResult<T> {
    const now = this.clock().toISOString();
    return this.db.transaction((): ClientResult<T> => {
      if (this.row(name)) return { ok: false, error: { code: 'CLIENT_NAME_TAKEN', message: `a client named ${name} exists already` } };
      this.db
        .prepare('INSERT INTO officers_api_clients (id, name, key_sha256, created_at, created_by) VALUES (?, ?, ?, ?, ?)')
        .run(id, name, keySha256, now, actor);
      this.record(actor, { id, name }, change, now);
      return { ok: true, value: result() };
    })();
  }

  private record(actor: string, client: { id: string; name: string }, change: string, at: string): void {
    this.audit.append({
      kind: 'admin',
      action: 'client-credential-change',
      actor,
      target: `officers-api client ${client.name}`,
      occurredAt: at,
      outcome: 'success',
      details: { change, clientId: client.id },
    });
  }

  private row(idOrName: string): ClientRow | undefined {
    return this.db.prepare('SELECT * FROM officers_api_clients WHERE id = ? OR name = ?').get(idOrName, idOrName) as ClientRow | undefined;
  }

  private byId(id: string): OfficersClient | undefined {
    const row = this.db.prepare('SELECT * FROM officers_api_clients WHERE id = ?').get(id) as ClientRow | undefined;
    return row ? toClient(row) : undefined;
  }
}

function toClient(r: ClientRow): OfficersClient {
  return { id: r.id, name: r.name, createdAt: r.created_at, createdBy: r.created_by, revokedAt: r.revoked_at, revokedBy: r.revoked_by, lastUsedAt: r.last_used_at };
}
