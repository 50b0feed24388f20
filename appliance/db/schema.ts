import type Database from 'better-sqlite3';
import { migrateAuditSchema } from '../audit/schema.js';

/**
 * The one place the tables of the gateway's SQLite file (gateway.sqlite) are created and changed.
 * A ladder of steps numbered by SQLite's `user_version`: a file at version n gets steps n+1 … latest,
 * each in the same IMMEDIATE transaction that sets the new version, so a daemon and a `pruem` command
 * starting side by side cannot both run a step, and a crash mid-way leaves the old version whole.
 * Every store calls `migrateSchema(db)` before its first statement; after the first call on a
 * connection it costs nothing.
 *
 * Rules for the next engineer: never edit a released step; add one. A step may only add (tables,
 * columns with defaults, indexes) or move data forward; old code reading a newer file must not break.
 * File modes are openDatabase's business (database.ts), not this module's.
 */

type Db = Database.Database;

interface Step {
  readonly version: number;
  readonly what: string;
  readonly up: (db: Db) => void;
}

const STEPS: readonly Step[] = [
  {
    version: 1,
    what: 'the tables as they were before the schema was versioned (every statement IF NOT EXISTS, so files made then are taken over as they are)',
    up: (db) => {
      db.exec(`
        CREATE TABLE IF NOT EXISTS queue_inbox (
          id TEXT PRIMARY KEY,
          message_id TEXT NOT NULL UNIQUE,
          channel TEXT NOT NULL,
          received_at INTEGER NOT NULL,
          sent_at INTEGER NOT NULL,
          deadline INTEGER NOT NULL,
          mail_from TEXT NOT NULL,
          raw BLOB,
          status TEXT NOT NULL DEFAULT 'pending',
          attempts INTEGER NOT NULL DEFAULT 0,
          next_attempt_at INTEGER NOT NULL DEFAULT 0,
          sender_state TEXT,
          outcome TEXT,
          done_at INTEGER
        );
        CREATE INDEX IF NOT EXISTS queue_inbox_pending ON queue_inbox(status, next_attempt_at, sent_at);
        CREATE TABLE IF NOT EXISTS queue_outbox (
          id TEXT PRIMARY KEY,
          message_id TEXT NOT NULL UNIQUE,
          channel TEXT NOT NULL,
          peer TEXT NOT NULL,
          mail_from TEXT NOT NULL,
          rcpt_to TEXT NOT NULL,
          raw BLOB,
          created_at INTEGER NOT NULL,
          deadline INTEGER,
          correlation TEXT,
          status TEXT NOT NULL DEFAULT 'pending',
          attempts INTEGER NOT NULL DEFAULT 0,
          next_attempt_at INTEGER NOT NULL DEFAULT 0,
          last_error TEXT,
          sent_at INTEGER
        );
        CREATE INDEX IF NOT EXISTS queue_outbox_pending ON queue_outbox(status, next_attempt_at);
        CREATE TABLE IF NOT EXISTS exchange_rejections (
          at INTEGER NOT NULL, channel TEXT NOT NULL, message_id TEXT NOT NULL, mail_from TEXT NOT NULL, code TEXT NOT NULL, reason TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS exchange_links (
          state TEXT NOT NULL, channel TEXT NOT NULL,
          last_success INTEGER, last_error_at INTEGER, last_error TEXT, failing TEXT,
          PRIMARY KEY (state, channel));
        CREATE TABLE IF NOT EXISTS exchange_statistics (
          year INTEGER NOT NULL, state TEXT NOT NULL, channel TEXT NOT NULL, direction TEXT NOT NULL,
          requests INTEGER NOT NULL DEFAULT 0, no_hits INTEGER NOT NULL DEFAULT 0, errors INTEGER NOT NULL DEFAULT 0,
          hits_q1 INTEGER NOT NULL DEFAULT 0, hits_q2 INTEGER NOT NULL DEFAULT 0, hits_q3 INTEGER NOT NULL DEFAULT 0, hits_q4 INTEGER NOT NULL DEFAULT 0,
          PRIMARY KEY (year, state, channel, direction));
        CREATE TABLE IF NOT EXISTS dna_searches (
          id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, reqtype INTEGER NOT NULL,
          officer_id TEXT NOT NULL, ordering_officer_id TEXT NOT NULL, reason TEXT NOT NULL, profile_ids TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS dna_search_requests (
          request_id TEXT PRIMARY KEY, search_id TEXT NOT NULL REFERENCES dna_searches(id), state TEXT NOT NULL,
          message_id TEXT NOT NULL, deadline INTEGER NOT NULL, answered_at INTEGER);
        CREATE TABLE IF NOT EXISTS dna_search_results (
          search_id TEXT NOT NULL, request_id TEXT NOT NULL, state TEXT NOT NULL, profile_ref TEXT NOT NULL, result TEXT NOT NULL,
          hit_profile_ident TEXT, quality INTEGER, hitcount INTEGER, message TEXT);
        CREATE INDEX IF NOT EXISTS dna_search_results_search ON dna_search_results(search_id);
        CREATE TABLE IF NOT EXISTS dna_notes (
          profile_id TEXT NOT NULL, state TEXT NOT NULL, request_ref TEXT NOT NULL, requesting_profile_id TEXT NOT NULL,
          quality INTEGER NOT NULL, at INTEGER NOT NULL,
          PRIMARY KEY (profile_id, state, request_ref, requesting_profile_id));
        CREATE TABLE IF NOT EXISTS accounts_users (
          id INTEGER PRIMARY KEY,
          username TEXT NOT NULL UNIQUE COLLATE NOCASE,
          display_name TEXT NOT NULL,
          role TEXT NOT NULL CHECK (role IN ('technician', 'operator', 'auditor')),
          password_hash TEXT NOT NULL,
          language TEXT NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'ro')),
          disabled INTEGER NOT NULL DEFAULT 0,
          failed_attempts INTEGER NOT NULL DEFAULT 0,
          locked_until INTEGER,
          created_at INTEGER NOT NULL,
          last_login_at INTEGER
        );
        CREATE TABLE IF NOT EXISTS accounts_sessions (
          token_hash TEXT PRIMARY KEY,
          user_id INTEGER NOT NULL REFERENCES accounts_users(id) ON DELETE CASCADE,
          csrf_token TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          last_seen INTEGER NOT NULL,
          remote TEXT
        );
        CREATE INDEX IF NOT EXISTS accounts_sessions_user ON accounts_sessions(user_id);
        CREATE TABLE IF NOT EXISTS api_config_revisions (
          id INTEGER PRIMARY KEY,
          at INTEGER NOT NULL,
          actor TEXT NOT NULL,
          summary TEXT NOT NULL,
          revert_of INTEGER REFERENCES api_config_revisions(id),
          config TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS api_setup (step TEXT PRIMARY KEY, done_at INTEGER NOT NULL, data TEXT);
      `);
      // The audit tables keep their own definition next to the log (their layout is part of the export format).
      migrateAuditSchema(db);
    },
  },
  {
    version: 2,
    what: 'dead letters (failures counted per kind), replay protection on what the sender signed, retention indexes',
    up: (db) => {
      db.exec(`
        ALTER TABLE queue_inbox ADD COLUMN failure_code TEXT;
        ALTER TABLE queue_inbox ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE queue_inbox ADD COLUMN signed_at INTEGER;
        CREATE INDEX IF NOT EXISTS queue_inbox_done ON queue_inbox(status, done_at);
        CREATE INDEX IF NOT EXISTS queue_outbox_sent ON queue_outbox(status, sent_at);
        CREATE INDEX IF NOT EXISTS exchange_rejections_at ON exchange_rejections(at);
        -- What each peer signed and we processed: the SHA-256 of the signed content, per signer. A second
        -- message with the same signed bytes is a replay whatever its Message-ID says.
        CREATE TABLE IF NOT EXISTS exchange_signed_seen (
          sender TEXT NOT NULL,
          digest TEXT NOT NULL,
          signed_at INTEGER,
          inbox_id TEXT NOT NULL,
          message_id TEXT NOT NULL,
          seen_at INTEGER NOT NULL,
          PRIMARY KEY (sender, digest)
        );
        CREATE INDEX IF NOT EXISTS exchange_signed_seen_at ON exchange_signed_seen(seen_at);
        -- Request ids a channel has answered, per sender: the same request re-encrypted (new bytes) is a replay too.
        CREATE TABLE IF NOT EXISTS exchange_requests_seen (
          channel TEXT NOT NULL,
          sender TEXT NOT NULL,
          request_key TEXT NOT NULL,
          inbox_id TEXT NOT NULL,
          seen_at INTEGER NOT NULL,
          PRIMARY KEY (channel, sender, request_key)
        );
        CREATE INDEX IF NOT EXISTS exchange_requests_seen_at ON exchange_requests_seen(seen_at);
      `);
    },
  },
  {
    version: 3,
    what: "the officers' API client systems, each with its own credential (stored as a SHA-256 digest)",
    up: (db) => {
      db.exec(`
        CREATE TABLE IF NOT EXISTS officers_api_clients (
          id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, key_sha256 TEXT NOT NULL UNIQUE,
          created_at TEXT NOT NULL, created_by TEXT NOT NULL,
          revoked_at TEXT, revoked_by TEXT, last_used_at TEXT);
      `);
    },
  },
  {
    version: 4,
    what: "the DNA staff's hit validation list (issue 15)",
    up: (db) => {
      db.exec(`
        CREATE TABLE IF NOT EXISTS dna_hit_validations (
          id TEXT PRIMARY KEY,
          created_at INTEGER NOT NULL,
          direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
          partner TEXT NOT NULL,
          request_id TEXT NOT NULL,
          quality INTEGER NOT NULL CHECK (quality BETWEEN 1 AND 4),
          hitcount INTEGER,
          our_profile_id TEXT NOT NULL,
          our_profile TEXT,
          their_profile_ref TEXT NOT NULL,
          their_profile TEXT,
          compared_loci INTEGER,
          matched_loci INTEGER,
          differing_loci TEXT NOT NULL DEFAULT '[]',
          rmp REAL,
          status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'confirmed', 'excluded')),
          reason TEXT,
          decided_by TEXT,
          decided_at INTEGER
        );
        CREATE INDEX IF NOT EXISTS dna_hit_validations_status ON dna_hit_validations(status, quality, created_at);
      `);
    },
  },
  {
    version: 5,
    what: 'Art. 4 comparison runs by agreement, nightly and bulk (issue 15)',
    up: (db) => {
      db.exec(`
        CREATE TABLE IF NOT EXISTS dna_comparison_runs (
          id TEXT PRIMARY KEY,
          kind TEXT NOT NULL CHECK (kind IN ('nightly', 'bulk')),
          partner TEXT NOT NULL,
          type TEXT NOT NULL CHECK (type IN ('P', 'S')),
          started_at INTEGER NOT NULL,
          finished_at INTEGER,
          state TEXT NOT NULL,
          from_generation INTEGER NOT NULL,
          to_generation INTEGER NOT NULL,
          cursor_slot INTEGER NOT NULL DEFAULT 0,
          total INTEGER NOT NULL,
          sent INTEGER NOT NULL DEFAULT 0,
          messages INTEGER NOT NULL DEFAULT 0,
          day TEXT NOT NULL,
          sent_today INTEGER NOT NULL DEFAULT 0,
          last_error TEXT
        );
        CREATE INDEX IF NOT EXISTS dna_comparison_runs_partner ON dna_comparison_runs(partner, type, started_at);
        CREATE TABLE IF NOT EXISTS dna_comparison_searches (run_id TEXT NOT NULL, search_id TEXT NOT NULL, PRIMARY KEY (run_id, search_id));
        CREATE TABLE IF NOT EXISTS dna_comparison_marks (partner TEXT NOT NULL, type TEXT NOT NULL, generation INTEGER NOT NULL, PRIMARY KEY (partner, type));
      `);
    },
  },
  {
    version: 6,
    what: 'the fingerprint channel (issue 10): requests at the AFIS, our searches abroad, daily capacities, TCN serials, statistics per TOT',
    up: (db) => {
      db.exec(`
        CREATE TABLE IF NOT EXISTS fp_requests (
          id TEXT PRIMARY KEY, peer TEXT NOT NULL, tot TEXT NOT NULL, tcn TEXT NOT NULL, priority INTEGER NOT NULL,
          received_at INTEGER NOT NULL, deadline INTEGER NOT NULL, max_candidates INTEGER NOT NULL, facts TEXT NOT NULL,
          payload BLOB, status TEXT NOT NULL DEFAULT 'queued', answers_sent INTEGER NOT NULL DEFAULT 0,
          submitted_at INTEGER, answered_at INTEGER, outcome TEXT, afis_tcn TEXT NOT NULL UNIQUE);
        CREATE INDEX IF NOT EXISTS fp_requests_order ON fp_requests(status, priority, received_at);
        CREATE TABLE IF NOT EXISTS fp_searches (
          id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, tot TEXT NOT NULL, officer_id TEXT NOT NULL,
          ordering_officer_id TEXT NOT NULL, reason TEXT NOT NULL, payload BLOB);
        CREATE TABLE IF NOT EXISTS fp_search_targets (
          tcn TEXT PRIMARY KEY, search_id TEXT NOT NULL REFERENCES fp_searches(id), state TEXT NOT NULL,
          status TEXT NOT NULL, created_at INTEGER NOT NULL, message_id TEXT, sent_at INTEGER, deadline INTEGER,
          answered_at INTEGER, expected INTEGER, waiting_for TEXT);
        CREATE INDEX IF NOT EXISTS fp_search_targets_waiting ON fp_search_targets(status, created_at);
        CREATE TABLE IF NOT EXISTS fp_search_results (
          search_id TEXT NOT NULL, tcn TEXT NOT NULL, state TEXT NOT NULL, result TEXT NOT NULL, candidate TEXT,
          reference TEXT, score TEXT, info TEXT, errors TEXT NOT NULL, received_at INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS fp_search_results_search ON fp_search_results(search_id);
        CREATE TABLE IF NOT EXISTS fp_capacity_use (
          direction TEXT NOT NULL, ref TEXT NOT NULL, day TEXT NOT NULL, peer TEXT NOT NULL, tot TEXT NOT NULL, at INTEGER NOT NULL,
          PRIMARY KEY (direction, ref));
        CREATE INDEX IF NOT EXISTS fp_capacity_use_day ON fp_capacity_use(direction, day, peer, tot);
        CREATE TABLE IF NOT EXISTS fp_tcn_serial (year INTEGER PRIMARY KEY, last INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS exchange_statistics_by_type (
          year INTEGER NOT NULL, state TEXT NOT NULL, channel TEXT NOT NULL, direction TEXT NOT NULL, message_type TEXT NOT NULL,
          requests INTEGER NOT NULL DEFAULT 0, hits INTEGER NOT NULL DEFAULT 0, no_hits INTEGER NOT NULL DEFAULT 0, errors INTEGER NOT NULL DEFAULT 0,
          PRIMARY KEY (year, state, channel, direction, message_type));
      `);
    },
  },
  {
    version: 7,
    what: 'outbound dead letters: when an outbox message was given up on (relay refused it, or it stayed undeliverable past exchange.outboundGiveUpHours)',
    up: (db) => {
      db.exec(`
        ALTER TABLE queue_outbox ADD COLUMN failed_at INTEGER;
        UPDATE queue_outbox SET failed_at = created_at WHERE status = 'failed';
        CREATE INDEX IF NOT EXISTS queue_outbox_failed ON queue_outbox(status, failed_at);
      `);
    },
  },
  {
    version: 8,
    what: "the officer role (issue 11): accounts_users' role check admits 'officer' (the table is rebuilt: SQLite cannot change a CHECK)",
    up: (db) => {
      // The sessions table refers to accounts_users: renaming the old table first makes that reference follow it,
      // so nothing cascades when the copy replaces it; the sessions are then rebuilt pointing at the new table.
      db.exec(`
        ALTER TABLE accounts_users RENAME TO accounts_users_v7;
        CREATE TABLE accounts_users (
          id INTEGER PRIMARY KEY,
          username TEXT NOT NULL UNIQUE COLLATE NOCASE,
          display_name TEXT NOT NULL,
          role TEXT NOT NULL CHECK (role IN ('technician', 'operator', 'auditor', 'officer')),
          password_hash TEXT NOT NULL,
          language TEXT NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'ro')),
          disabled INTEGER NOT NULL DEFAULT 0,
          failed_attempts INTEGER NOT NULL DEFAULT 0,
          locked_until INTEGER,
          created_at INTEGER NOT NULL,
          last_login_at INTEGER
        );
        INSERT INTO accounts_users (id, username, display_name, role, password_hash, language, disabled, failed_attempts, locked_until, created_at, last_login_at)
          SELECT id, username, display_name, role, password_hash, language, disabled, failed_attempts, locked_until, created_at, last_login_at FROM accounts_users_v7;
        CREATE TABLE accounts_sessions_v8 (
          token_hash TEXT PRIMARY KEY,
          user_id INTEGER NOT NULL REFERENCES accounts_users(id) ON DELETE CASCADE,
          csrf_token TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          last_seen INTEGER NOT NULL,
          remote TEXT
        );
        INSERT INTO accounts_sessions_v8 (token_hash, user_id, csrf_token, created_at, last_seen, remote)
          SELECT token_hash, user_id, csrf_token, created_at, last_seen, remote FROM accounts_sessions;
        DROP TABLE accounts_sessions;
        ALTER TABLE accounts_sessions_v8 RENAME TO accounts_sessions;
        CREATE INDEX IF NOT EXISTS accounts_sessions_user ON accounts_sessions(user_id);
        DROP TABLE accounts_users_v7;
      `);
    },
  },
];

export const SCHEMA_VERSION = STEPS[STEPS.length - 1]!.version;

const migrated = new WeakSet<Db>();

/** Brings the file to SCHEMA_VERSION; a file written by a newer version is refused rather than guessed at. */
export function migrateSchema(db: Db): void {
  if (migrated.has(db)) return;
  const current = () => db.pragma('user_version', { simple: true }) as number;
  if (current() < SCHEMA_VERSION) {
    db.transaction(() => {
      // Read again inside the write lock: another process may have migrated meanwhile.
      for (const step of STEPS) {
        if (step.version <= current()) continue;
        step.up(db);
        db.pragma(`user_version = ${step.version}`);
      }
    }).immediate();
  }
  const version = current();
  if (version > SCHEMA_VERSION) {
    throw new Error(`the database was written by a newer gateway (schema ${version}, this one knows up to ${SCHEMA_VERSION}); refusing to touch it`);
  }
  migrated.add(db);
}

/** What `migrateSchema` would do, for diagnostics. */
export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}
