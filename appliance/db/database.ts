import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

export type Db = Database.Database;

/**
 * Opens the gateway's SQLite file. WAL + synchronous=FULL: a message acknowledged to SMTP
 * must survive a power cut, so every commit is flushed; WAL keeps readers (status API)
 * from blocking the writer. The file and its -wal and -shm companions are the daemon's user's
 * only (0600): they hold the national DNA database, peers' raw mail and the audit log.
 */
export function openDatabase(path: string): Db {
  preparePrivateDatabaseFile(path);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // Deleted rows (answered requests' data, expired audit months) must not linger in free pages:
  // SQLite zeroes them with this on, and it has to be on before the first delete.
  db.pragma('secure_delete = ON');
  return db;
}

/**
 * Before any SQLite file of ours is opened: the file (created empty if missing — a valid empty
 * database) and any -wal, -shm or -journal left beside it become 0600. SQLite creates -wal and -shm
 * with the main file's mode, so this also covers the ones it makes later. A folder made here is
 * private (0700); an existing one (the data folder, or a user's choice) is left as it is.
 */
export function preparePrivateDatabaseFile(path: string): void {
  if (path === ':memory:' || path === '') return;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    // Only where it is wider: a file already private may belong to another user we may not chmod for.
    if (existsSync(file) && (statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  }
}

const statements = new WeakMap<Db, Map<string, Database.Statement>>();

/**
 * The statement for `sql`, compiled once per database and kept: the queue and the pipeline run the
 * same few statements for every message, and compiling one costs about as much as running it.
 * Not for `.iterate()`: a cached statement that is still being iterated cannot run again.
 */
export function statement(db: Db, sql: string): Database.Statement {
  let cache = statements.get(db);
  if (!cache) statements.set(db, (cache = new Map()));
  let s = cache.get(sql);
  if (!s) cache.set(sql, (s = db.prepare(sql)));
  return s;
}
