import type { InStatement, ResultSet, Row } from "@libsql/client";
import Sqlite from "libsql";
import type { Writes } from "../functions/store.ts";

/** Distinct statements kept prepared: the multi-row INSERTs for 1..n rows, the upserts, BEGIN and COMMIT. */
const CACHED_STATEMENTS = 64;

type Statement = Sqlite.Statement;

/**
 * WAL frames after which a commit also checkpoints: copies the WAL into the
 * file and waits for two fsyncs, during which no report is answered. With
 * SQLite's default (1000) that was a 5-15 ms stall every ~200 reports at one
 * connection, 0.5% of them; at 4000 it is a 25-35 ms stall every ~800, rare
 * enough to stay out of the 99th percentile, with a WAL of up to ~16 MB. A
 * checkpoint copies each page once however often it changed, so fewer of them
 * also cost less in all.
 */
export const WEBHOOK_WAL_AUTOCHECKPOINT = 4000;

export interface FileWriter extends Writes {
  close(): void;
}

/**
 * The webhook's own connection for storing reports in a file database.
 * @libsql/client prepares every statement anew and builds each result row
 * property by property; for a group commit of one to ten reports that made
 * storing take 1.5 to 2.3 times as long as with prepared statements
 * (measured on this project's own schema). This connection keeps its statements prepared
 * and runs a batch as BEGIN IMMEDIATE ... COMMIT in one synchronous call.
 * It runs the same SQL as every other writer (functions/store.ts); only the
 * way statements reach SQLite differs.
 */
export function openFileWriter(path: string, busyTimeoutMs: number): FileWriter {
  const db = new Sqlite(path);
  try {
    db.exec(`PRAGMA busy_timeout = ${Math.floor(busyTimeoutMs)}`);
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec(`PRAGMA wal_autocheckpoint = ${WEBHOOK_WAL_AUTOCHECKPOINT}`);
  } catch (err) {
    db.close();
    throw err;
  }
  const cache = new Map<string, Statement>();

  function prepared(sql: string): Statement {
    let stmt = cache.get(sql);
    if (stmt) {
      // Most recently used last, so the first key is the one to evict.
      cache.delete(sql);
    } else {
      stmt = db.prepare(sql);
      if (cache.size >= CACHED_STATEMENTS) cache.delete(cache.keys().next().value!);
    }
    cache.set(sql, stmt);
    return stmt;
  }

  function run(statement: InStatement): ResultSet {
    const { sql, args } = typeof statement === "string" ? { sql: statement, args: [] } : statement;
    const stmt = prepared(sql);
    if (!stmt.reader) {
      const info = stmt.run(args);
      return resultSet([], info.changes, BigInt(info.lastInsertRowid));
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
      try {
        const results = statements.map(run);
        run("COMMIT");
        return results;
      } catch (err) {
        if (db.inTransaction) db.exec("ROLLBACK");
        throw err;
      }
    },
    close: () => db.close(),
  };
}

/**
 * A result in @libsql/client's shape. Rows are plain objects keyed by
 * column name (what storeIncrements reads), without the client's numeric
 * indexes.
 */
function resultSet(rows: Row[], rowsAffected: number, lastInsertRowid: bigint | undefined): ResultSet {
  const columns = rows.length > 0 ? Object.keys(rows[0]!) : [];
  return { columns, columnTypes: columns.map(() => ""), rows, rowsAffected, lastInsertRowid, toJSON: () => ({ columns, rows, rowsAffected }) };
}
