import type { Client, InStatement, ResultSet, Transaction, TransactionMode } from "@libsql/client";
import type { Db } from "./context.ts";

/**
 * Raised instead of running a statement on a read-only connection. Its code
 * is SQLite's own for "attempt to write a readonly database", so callers
 * handle a refusal the same way on a file (PRAGMA query_only) and on a server.
 */
export class ReadOnlyError extends Error {
  readonly code = "SQLITE_READONLY";
  constructor(what: string) {
    super(`This connection is read-only: ${what}. Only single SELECT, WITH, VALUES, EXPLAIN or reading PRAGMA statements run here.`);
    this.name = "ReadOnlyError";
  }
}

const READ_START = /^(SELECT|WITH|VALUES|EXPLAIN)\b/i;
const PRAGMA = /^PRAGMA\b/i;

/** Leading whitespace and SQL comments hide nothing from the check. */
function firstWords(sql: string): string {
  let s = sql;
  for (;;) {
    const trimmed = s.replace(/^\s+/, "").replace(/^--[^\n]*(\n|$)/, "").replace(/^\/\*[\s\S]*?\*\//, "");
    if (trimmed === s) return s;
    s = trimmed;
  }
}

/** Refuses anything but one statement that reads. */
export function checkReadStatement(stmt: InStatement): void {
  const sql = typeof stmt === "string" ? stmt : stmt.sql;
  const text = firstWords(sql);
  if (PRAGMA.test(text)) {
    if (text.includes("=")) throw new ReadOnlyError("a PRAGMA that sets a value was refused");
    return;
  }
  if (!READ_START.test(text)) throw new ReadOnlyError(`"${text.split(/\s+/, 1)[0]?.slice(0, 20) ?? ""}" statements are refused`);
}

/**
 * A libSQL server refuses `PRAGMA query_only`, so read-only access to one is
 * enforced here, twice over: only single read statements pass the check
 * (the server itself refuses several statements in one string), and every
 * call runs inside a transaction that is always rolled back, so a statement
 * that reads but also writes (`WITH ... DELETE ... RETURNING`) leaves
 * nothing behind.
 */
export function readOnlyDb(client: Client): Db {
  async function inRolledBack<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    const tx = await client.transaction("read");
    try {
      return await work(tx);
    } finally {
      await tx.rollback().catch(() => undefined);
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
      if (mode !== undefined && mode !== "read") throw new ReadOnlyError(`a "${mode}" transaction was refused`);
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
      tx.executeMultiple = () => Promise.reject(new ReadOnlyError("several statements in one string were refused"));
      return tx;
    }) as Client["transaction"],
  };
}
