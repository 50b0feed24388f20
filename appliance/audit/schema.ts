import type BetterSqlite3 from 'better-sqlite3';

type Database = BetterSqlite3.Database;

/**
 * The audit tables (all prefixed audit_) in the caller's database, so the exchange pipeline can
 * append to the log in the same transaction as its queue changes. Idempotent.
 */
const DDL = `
CREATE TABLE IF NOT EXISTS audit_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;

-- One Merkle tree per calendar month (UTC). A period is ended when the clock passes into the next
-- month; its final head is then signed and referenced by every checkpoint of the next period.
CREATE TABLE IF NOT EXISTS audit_periods (
  id TEXT PRIMARY KEY,
  seq INTEGER NOT NULL UNIQUE,
  prev_id TEXT,
  first_index INTEGER NOT NULL,
  size INTEGER NOT NULL DEFAULT 0,
  opened_at TEXT NOT NULL,
  ended_at TEXT,
  final_checkpoint_id INTEGER,
  deleted_at TEXT
) STRICT;

-- The leaf text is the canonical JSON that is hashed; the other columns are copies for filtering.
-- idx is global and dense; a period's entries are idx first_index .. first_index + size - 1, so
-- per-period work uses the primary key and no (period, leaf_index) index is kept (each index costs
-- every append).
CREATE TABLE IF NOT EXISTS audit_entries (
  idx INTEGER PRIMARY KEY,
  period TEXT NOT NULL,
  leaf_index INTEGER NOT NULL,
  leaf TEXT NOT NULL,
  recorded_at TEXT NOT NULL,
  occurred_at TEXT NOT NULL,
  kind TEXT NOT NULL,
  channel TEXT,
  peer_state TEXT,
  officer_id TEXT,
  ordering_officer_id TEXT,
  blocked_at TEXT,
  block_reason TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS audit_entries_occurred ON audit_entries (occurred_at);

CREATE TABLE IF NOT EXISTS audit_entry_refs (
  ref TEXT NOT NULL,
  idx INTEGER NOT NULL,
  PRIMARY KEY (ref, idx)
) STRICT, WITHOUT ROWID;

-- Perfect subtree hashes: level 0 are the leaf hashes. Hashes only, no personal data.
CREATE TABLE IF NOT EXISTS audit_nodes (
  period TEXT NOT NULL,
  level INTEGER NOT NULL,
  pos INTEGER NOT NULL,
  hash BLOB NOT NULL,
  PRIMARY KEY (period, level, pos)
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS audit_signers (
  fingerprint TEXT PRIMARY KEY,
  certificate_pem TEXT NOT NULL,
  chain_pem TEXT NOT NULL,
  first_used_at TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS audit_checkpoints (
  id INTEGER PRIMARY KEY,
  period TEXT NOT NULL,
  size INTEGER NOT NULL,
  root BLOB NOT NULL,
  time TEXT NOT NULL,
  final INTEGER NOT NULL,
  body TEXT NOT NULL,
  signature BLOB NOT NULL,
  signer TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS audit_checkpoints_period ON audit_checkpoints (period, size);

CREATE TABLE IF NOT EXISTS audit_deletions (
  period TEXT PRIMARY KEY,
  deleted_at TEXT NOT NULL,
  final_checkpoint_id INTEGER NOT NULL,
  entries_deleted INTEGER NOT NULL,
  blocked_retained TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS audit_exports (
  id TEXT PRIMARY KEY,
  created_at TEXT NOT NULL,
  actor TEXT NOT NULL,
  filters TEXT NOT NULL,
  entry_count INTEGER NOT NULL,
  destination TEXT NOT NULL,
  anchor_body TEXT NOT NULL,
  anchor_signature BLOB NOT NULL,
  sums_sha256 TEXT NOT NULL
) STRICT;

-- Officers specially authorised for automated searches (Art. 30(2)(a)); one row per grant.
CREATE TABLE IF NOT EXISTS audit_officer_grants (
  id INTEGER PRIMARY KEY,
  officer_id TEXT NOT NULL,
  name TEXT NOT NULL,
  unit TEXT,
  channels TEXT NOT NULL,
  authorised_from TEXT NOT NULL,
  authorised_until TEXT,
  granted_by TEXT NOT NULL,
  granted_at TEXT NOT NULL,
  revoked_at TEXT,
  revoked_by TEXT,
  revoke_reason TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS audit_officer_grants_officer ON audit_officer_grants (officer_id);
`;

export const AUDIT_SCHEMA_VERSION = '1';

export function migrateAuditSchema(db: Database): void {
  db.exec(DDL);
  db.prepare(`INSERT INTO audit_meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO NOTHING`).run(AUDIT_SCHEMA_VERSION);
}
