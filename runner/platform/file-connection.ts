import type { InStatement, ResultSet, Row } from "@libsql/client";
import { pathToFileURL } from "node:url";
import Sqlite from "libsql";
import type { Writes } from "../../functions/store.ts";

/** Distinct statements kept prepared: the multi-row INSERTs for 1..n rows, the upserts, BEGIN and COMMIT, an export's reads. */
const CACHED_STATEMENTS = 64;

type Statement = Sqlite.Statement;

/**
 * WAL frames after which the webhook's commits also checkpoint: copy the WAL
 * into the file and sync it, during which no report is answered. Since the
 * webhook writes the WAL out behind its commits (../webhook/wal-flusher.ts), that
 * stall hardly grows with the WAL, so rarer checkpoints gave the lower p99.
 * The WAL file grows to some 64 MB and is reused from its start after each
 * checkpoint. Figures: docs/performance.md, "Settings chosen by measurement".
 */
export const WEBHOOK_WAL_AUTOCHECKPOINT = 16000;

/**
 * The webhook's page cache, in KiB (SQLite's default is 2,000). Appending
 * reports touches a few dozen pages: the right edge of the table and of
 * the time index, one leaf per agent in (claude_name, timestamp_ms), the
 * agents' table. A 2,000 KiB cache fills with pages never read again and
 * stays resident; at 512 KiB commits cost no more, while at 128 KiB, where
 * the pages in use no longer fit, they cost more. Figures: docs/performance.md, "Settings chosen by measurement".
 */
export const WEBHOOK_CACHE_KIB = 512;

export interface FileConnectionOptions {
  busyTimeoutMs: number;
  /** Open the file read-only (the viewer's export): see openReadOnlyFile. */
  queryOnly?: boolean;
  /** Page cache size in KiB (SQLite's default otherwise). */
  cacheKib?: number;
  /** For a writer: WAL frames between checkpoints (SQLite's default otherwise). */
  walAutocheckpoint?: number;
  /** Called after each batch commits (the webhook's WAL flusher). */
  afterCommit?: () => void;
}

export interface FileConnection extends Writes {
  /**
   * Copies everything in the WAL into the database file and empties the WAL
   * (PRAGMA wal_checkpoint(TRUNCATE)). False when a reader or writer in
   * another connection kept part of it there.
   */
  checkpointAll(): boolean;
  close(): void;
}

/**
 * A connection that cannot write: SQLite opens the file read-only
 * (`mode=ro`), so no statement can change it, `PRAGMA query_only = 0`
 * included, which would switch a query-only connection back to writing.
 */
export function openReadOnlyFile(path: string, busyTimeoutMs: number): Sqlite.Database {
  const db = new Sqlite(`${pathToFileURL(path).href}?mode=ro`);
  try {
    db.exec(`PRAGMA busy_timeout = ${Math.floor(busyTimeoutMs)}`);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/**
 * A connection to a file database that keeps its statements prepared, for
 * the two hot paths: the webhook storing reports, the viewer streaming an
 * export. @libsql/client prepares every statement anew and builds each
 * result row property by property. For a group commit of one to ten
 * reports that made storing take 1.5 to 2.3 times as long (measured on this
 * project's own schema); on an export, each batch's statement held native
 * memory until V8 happened to collect its wrapper. This connection runs the
 * same SQL as everything else (functions/store.ts, runner/viewer/rows.ts); only
 * the way statements reach SQLite differs. A batch is BEGIN IMMEDIATE ...
 * COMMIT in one synchronous call.
 */
export function openFileConnection(path: string, { busyTimeoutMs, queryOnly = false, cacheKib, walAutocheckpoint, afterCommit }: FileConnectionOptions): FileConnection {
  const db = queryOnly ? openReadOnlyFile(path, busyTimeoutMs) : new Sqlite(path);
  try {
    if (!queryOnly) db.exec(`PRAGMA busy_timeout = ${Math.floor(busyTimeoutMs)}`);
    db.exec("PRAGMA synchronous = NORMAL");
    if (cacheKib !== undefined) db.exec(`PRAGMA cache_size = -${Math.floor(cacheKib)}`);
    if (walAutocheckpoint !== undefined) db.exec(`PRAGMA wal_autocheckpoint = ${Math.floor(walAutocheckpoint)}`);
  } catch (err) {
    db.close();
    throw err;
  }
  // Each statement with when it was last used: the least recently used one
  // is dropped when the cache is full. A hit only bumps a counter, so the
  // hot path allocates nothing here.
  const cache = new Map<string, { stmt: Statement; reader: boolean; used: number }>();
  let uses = 0;

  function prepared(sql: string): { stmt: Statement; reader: boolean } {
    let entry = cache.get(sql);
    if (entry === undefined) {
      if (cache.size >= CACHED_STATEMENTS) cache.delete(leastRecentlyUsed());
      const stmt = db.prepare(sql);
      entry = { stmt, reader: stmt.reader, used: 0 };
      cache.set(sql, entry);
    }
    entry.used = ++uses;
    return entry;
  }

  function leastRecentlyUsed(): string {
    let oldest = "";
    let at = Infinity;
    for (const [sql, { used }] of cache)
      if (used < at) {
        at = used;
        oldest = sql;
      }
    return oldest;
  }

  function run(statement: InStatement): ResultSet {
    const sql = typeof statement === "string" ? statement : statement.sql;
    const args = typeof statement === "string" ? [] : (statement.args ?? []);
    const { stmt, reader } = prepared(sql);
    if (!reader) {
      const info = stmt.run(args);
      return resultSet(NO_ROWS, info.changes, BigInt(info.lastInsertRowid));
    }
    return resultSet(stmt.all(args) as Row[], 0, undefined);
  }

  return {
    protocol: "file",
    async execute(statement: InStatement) {
      return run(statement);
    },
    async batch(statements: InStatement[]) {
      run("BEGIN IMMEDIATE");
      let results: ResultSet[];
      try {
        results = statements.map(run);
        run("COMMIT");
      } catch (err) {
        if (db.inTransaction) db.exec("ROLLBACK");
        throw err;
      }
      // Outside the try: once committed, nothing may report the batch as failed (it would be spooled and stored twice).
      afterCommit?.();
      return results;
    },
    checkpointAll() {
      const [result] = db.prepare("PRAGMA wal_checkpoint(TRUNCATE)").all() as { busy: number }[];
      return result?.busy === 0;
    },
    close: () => db.close(),
  };
}

/** The rows of every statement that returns none: one frozen array, not one per call. */
const NO_ROWS = Object.freeze([]) as unknown as Row[];

/**
 * A result in @libsql/client's shape. Rows are plain objects keyed by
 * column name (what storeIncrements and streamRows read), without the
 * client's numeric indexes.
 */

function resultSet(rows: Row[], rowsAffected: number, lastInsertRowid: bigint | undefined): ResultSet {
  const columns = rows.length > 0 ? Object.keys(rows[0]!) : [];
  return { columns, columnTypes: columns.map(() => ""), rows, rowsAffected, lastInsertRowid, toJSON: () => ({ columns, rows, rowsAffected }) };
}
