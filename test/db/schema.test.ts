/** The one versioned schema module (issue 12 item 8): every store's tables from one user_version ladder. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openDatabase } from '../../appliance/db/database.js';
import { migrateSchema, schemaVersion, SCHEMA_VERSION } from '../../appliance/db/schema.js';
import { MessageQueue } from '../../appliance/queue/queue.js';
import { AuditLog } from '../../appliance/audit/log.js';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'schema-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const tables = (db: Database.Database) => (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).all() as Array<{ name: string }>).map((r) => r.name);
const columns = (db: Database.Database, table: string) => (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name);

test('a new file gets every store\'s tables at the latest version, whichever store opens it first', () => {
  withDir((dir) => {
    const db = openDatabase(join(dir, 'gw.sqlite'));
    new AuditLog(db); // not the queue: any store brings the whole schema
    assert.equal(schemaVersion(db), SCHEMA_VERSION);
    for (const t of ['queue_inbox', 'queue_outbox', 'exchange_rejections', 'exchange_links', 'exchange_statistics', 'exchange_signed_seen', 'exchange_requests_seen', 'dna_searches', 'dna_notes', 'accounts_users', 'api_config_revisions', 'api_setup', 'audit_entries', 'audit_officer_grants']) {
      assert.ok(tables(db).includes(t), `table ${t}`);
    }
    db.close();
  });
});

test('a file from before versioning (user_version 0, old columns, rows) is taken over: columns added, rows kept', () => {
  withDir((dir) => {
    const path = join(dir, 'gw.sqlite');
    const old = new Database(path);
    // What MessageQueue.migrate created before the schema module.
    old.exec(`CREATE TABLE queue_inbox (id TEXT PRIMARY KEY, message_id TEXT NOT NULL UNIQUE, channel TEXT NOT NULL, received_at INTEGER NOT NULL,
      sent_at INTEGER NOT NULL, deadline INTEGER NOT NULL, mail_from TEXT NOT NULL, raw BLOB, status TEXT NOT NULL DEFAULT 'pending',
      attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL DEFAULT 0, sender_state TEXT, outcome TEXT, done_at INTEGER);
      CREATE TABLE exchange_rejections (at INTEGER NOT NULL, channel TEXT NOT NULL, message_id TEXT NOT NULL, mail_from TEXT NOT NULL, code TEXT NOT NULL, reason TEXT NOT NULL);`);
    old.prepare(`INSERT INTO queue_inbox (id, message_id, channel, received_at, sent_at, deadline, mail_from, raw) VALUES ('a', 'm@x', 'dna', 1, 1, 2, 'f', x'00')`).run();
    assert.equal(schemaVersion(old), 0);
    old.close();

    const db = openDatabase(path);
    const queue = new MessageQueue(db);
    assert.equal(schemaVersion(db), SCHEMA_VERSION);
    for (const c of ['failure_code', 'failures', 'signed_at']) assert.ok(columns(db, 'queue_inbox').includes(c), `column ${c}`);
    assert.equal(queue.nextInbound()?.messageId, 'm@x', 'the pending message survived the migration');
    // A second connection (a pruem command beside the daemon) finds it done and changes nothing.
    const other = openDatabase(path);
    migrateSchema(other);
    assert.equal(schemaVersion(other), SCHEMA_VERSION);
    other.close();
    db.close();
  });
});

test('a file written by a newer gateway is refused, not guessed at', () => {
  withDir((dir) => {
    const path = join(dir, 'gw.sqlite');
    const newer = new Database(path);
    newer.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    newer.close();
    const db = openDatabase(path);
    assert.throws(() => migrateSchema(db), /written by a newer gateway/);
    db.close();
  });
});
