import type { Client, InStatement, ResultSet, Transaction, TransactionMode } from "@libsql/client";
import type { Db } from "../../shared/context.ts";
import { checkReadOnlySql } from "./read-only-sql.ts";

/**
 * Raised instead of running a statement on a read-only connection. Its code
 * is SQLite's own for "attempt to write a readonly database", so callers
 * handle a refusal the same way on a file (PRAGMA query_only) and on a server.
 */
export class ReadOnlyError extends Error {
  readonly code = "SQLITE_READONLY";
  constructor(message: string) {
    super(message);
    this.name = "ReadOnlyError";
  }
}

/** Refuses anything but one statement that reads (read-only-sql.ts). */
export function checkReadStatement(stmt: InStatement): void {
  const check = checkReadOnlySql(typeof stmt === "string" ? stmt : stmt.sql);
  if (!check.ok) throw new ReadOnlyError(check.message);
}

/**
 * A libSQL server refuses `PRAGMA query_only`, so read-only access to one is
 * enforced here, twice over: only single SELECT, WITH or VALUES statements
 * pass the check (read-only-sql.ts), and every
 * call runs inside a transaction that is always rolled back, so a statement
 * that reads but also writes (`WITH ... DELETE ... RETURNING`) leaves
 * nothing behind.
 */
export function readOnlyDb(client: Client): Db {
  async function inRolledBack<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    const tx = await client.transaction("read");
    // The rollback is asked for at once, not after the answer: the client
    // then sends BEGIN, the statement, ROLLBACK and the stream's close in one
    // request, in that order. Awaited in turn they were two round trips, and
    // the viewer on a server makes several reads per page.
    const done = work(tx);
    const rolledBack = tx.rollback().catch(() => undefined);
    try {
      return await done;
    } finally {
      await rolledBack;
      tx.close();
    }
  }
  return {
    protocol: client.protocol,
    // async: a refusal arrives as a rejected promise, like the server's own errors.
    execute: (async (stmt: InStatement | string, args?: unknown) => {
      const s: InStatement = typeof stmt === "string" && args !== undefined ? ({ sql: stmt, args } as InStatement) : stmt;
      checkReadStatement(s);
      return inRolledBack((tx) => tx.execute(s));
    }) as Client["execute"],
    async batch(stmts: InStatement[], _mode?: TransactionMode): Promise<ResultSet[]> {
      stmts.forEach(checkReadStatement);
      return inRolledBack((tx) => tx.batch(stmts));
    },
    transaction: (async (mode?: TransactionMode) => {
      if (mode !== undefined && mode !== "read") throw new ReadOnlyError(`This connection is read-only: a "${mode}" transaction was refused.`);
      const tx = await client.transaction("read");
      const inner = { execute: tx.execute.bind(tx), batch: tx.batch.bind(tx), rollback: tx.rollback.bind(tx) };
      tx.execute = async (stmt) => {
        checkReadStatement(stmt);
        return inner.execute(stmt);
      };
      tx.batch = async (stmts) => {
        stmts.forEach(checkReadStatement);
        return inner.batch(stmts);
      };
      // Nothing a read-only transaction did may be kept: "commit" rolls back.
      tx.commit = () => inner.rollback();
      tx.executeMultiple = () => Promise.reject(new ReadOnlyError("This connection is read-only: several statements in one string were refused."));
      return tx;
    }) as Client["transaction"],
  };
}
