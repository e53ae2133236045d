import type { Client, IntMode, TransactionMode } from "@libsql/client";
import type { Db } from "../../shared/context.ts";
import { createTurns } from "./connection-turns.ts";
import { readOnlyDb } from "./read-only-db.ts";

export interface DatabaseOptions {
  url: string;
  authToken?: string | undefined;
  /** Refuse every write on this connection (the viewer, the SQL console). */
  queryOnly?: boolean;
  /**
   * How long a write waits for another writer's lock before SQLITE_BUSY; on
   * a server, how long any call waits for the answer.
   */
  busyTimeoutMs?: number;
  /** How integers are read; "bigint" keeps values beyond 2^53 exact (the copy tool). */
  intMode?: IntMode;
  /** On a file: SQLite's page cache for this connection, in KiB, where its default of 2 MB is too small for what it reads. */
  cacheKib?: number;
}

export interface Database {
  client: Client;
  /** True for an embedded file database, false for a libSQL server. */
  isFile: boolean;
  /**
   * Re-opens the connection and re-applies its settings. Needed after a
   * SQLITE_BUSY failure: the client otherwise fails every later transaction
   * at COMMIT although the lock is free (libsql-client-ts#352).
   */
  recover(): Promise<void>;
  /**
   * The client for handlers, recovering by itself: a call that fails with
   * SQLITE_BUSY still fails, but the next call works once the lock is free.
   * On a query-only connection to a server (which refuses PRAGMA
   * query_only) it is the read-only guard of read-only-db.ts instead.
   */
  db: Db;
  close(): void;
}

/** How long a connection waits for another writer's lock unless told otherwise. */
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/**
 * Opens the database the way every process here uses it. On a file: one
 * connection (so per-connection PRAGMAs hold for every statement), WAL so
 * readers never block the writer, synchronous=NORMAL (survives a process
 * crash; power loss may drop the last commits). A libSQL server refuses
 * these PRAGMAs, so none is sent there; query-only access to a server goes
 * through readOnlyDb instead.
 */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  // A file needs only the client's SQLite part; the full client brings the
  // HTTP and WebSocket protocols too, megabytes of resident memory.
  const { createClient } = options.url.startsWith("file:") ? await import("@libsql/client/sqlite3") : await import("@libsql/client");
  const client = createClient({
    url: options.url,
    ...(options.authToken ? { authToken: options.authToken } : {}),
    concurrency: 1,
    timeout: busyTimeoutMs,
    ...(options.intMode ? { intMode: options.intMode } : {}),
    // The client's `timeout` applies to files only: over HTTP, abort the request itself.
    fetch: (request: Request) => fetch(request, { signal: AbortSignal.timeout(busyTimeoutMs) }),
  });
  const isFile = client.protocol === "file";
  const isWebSocket = client.protocol === "ws" || client.protocol === "wss";

  async function applySettings(): Promise<void> {
    if (!isFile) return;
    await client.execute(`PRAGMA busy_timeout = ${Math.floor(busyTimeoutMs)}`);
    if (!options.queryOnly) {
      // Stored in the file: set once, then every process and the CLI use it.
      const mode = await client.execute("PRAGMA journal_mode");
      if (String(mode.rows[0]?.[0]).toLowerCase() !== "wal") await client.execute("PRAGMA journal_mode = WAL");
    }
    await client.execute("PRAGMA synchronous = NORMAL");
    if (options.cacheKib !== undefined) await client.execute(`PRAGMA cache_size = -${Math.floor(options.cacheKib)}`);
    if (options.queryOnly) await client.execute("PRAGMA query_only = 1");
  }

  try {
    await applySettings();
  } catch (err) {
    client.close();
    throw err;
  }
  async function recover(): Promise<void> {
    await client.reconnect();
    await applySettings();
  }
  const guard = <T>(call: () => Promise<T>): Promise<T> =>
    (isWebSocket ? withDeadline(call(), busyTimeoutMs, async () => client.reconnect()) : call()).catch(async (err: unknown) => {
      if (isBusy(err)) await recover().catch(() => undefined);
      throw err;
    });
  // A server gives each transaction a stream of its own; a file has one connection, taken in turns.
  const turns = isFile ? createTurns(busyTimeoutMs) : undefined;
  const inTurn = async <T>(call: () => Promise<T>): Promise<T> => {
    const end = await turns?.take();
    try {
      return await call();
    } finally {
      end?.();
    }
  };
  const db: Db = {
    protocol: client.protocol,
    execute: ((stmt: never, args?: never) => inTurn(() => guard(() => client.execute(stmt, args)))) as Client["execute"],
    batch: (stmts, mode) => inTurn(() => guard(() => client.batch(stmts, mode))),
    transaction: (async (mode?: TransactionMode) => {
      // The turn lasts until the transaction ends: commit, rollback or close.
      const end = (await turns?.take()) ?? (() => {});
      try {
        return await guard(async () => {
          const tx = await client.transaction(mode);
          // The poisoned COMMIT shows up here, so guard the transaction's calls too.
          const inner = { execute: tx.execute.bind(tx), batch: tx.batch.bind(tx), commit: tx.commit.bind(tx), rollback: tx.rollback.bind(tx), close: tx.close.bind(tx) };
          tx.execute = (stmt) => guard(() => inner.execute(stmt));
          tx.batch = (stmts) => guard(() => inner.batch(stmts));
          tx.commit = () => guard(() => inner.commit()).finally(end);
          tx.rollback = () => inner.rollback().finally(end);
          tx.close = () => {
            inner.close();
            end();
          };
          return tx;
        });
      } catch (err) {
        end();
        throw err;
      }
    }) as Client["transaction"],
  };
  if (options.queryOnly && !isFile) return { client, isFile, recover, db: readOnlyDb(client), close: () => client.close() };
  return { client, isFile, recover, db, close: () => client.close() };
}

/** What a call to a server that did not answer in time fails with. */
export class ServerTimeoutError extends Error {
  readonly code = "SERVER_TIMEOUT";
}

/**
 * A WebSocket to a server that stopped answering would hang its callers:
 * give up after the deadline and open a fresh socket for the next call.
 */
function withDeadline<T>(work: Promise<T>, ms: number, reset: () => Promise<void>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void reset().catch(() => undefined);
      reject(new ServerTimeoutError(`The libSQL server did not answer within ${ms} ms.`));
    }, ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** Errors that mean "the database cannot take this write right now", not "this write is wrong". */
export function isUnavailable(err: unknown): boolean {
  const e = err as { code?: string; rawCode?: number; message?: string; cause?: unknown } | undefined;
  const code = e?.code ?? "";
  if (/^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY)/.test(code)) return true;
  if (code === "SERVER_ERROR" || code === "SERVER_TIMEOUT" || code === "HRANA_WEBSOCKET_ERROR" || code === "HRANA_CLOSED_ERROR") return true;
  const text = `${e?.message ?? ""} ${String((e?.cause as { code?: string } | undefined)?.code ?? "")} ${(err as Error | undefined)?.name ?? ""}`;
  return /fetch failed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|socket hang up|database is locked|TimeoutError|aborted due to timeout/i.test(text);
}

/** Busy errors poison later transactions on this client until recover(). */
export function isBusy(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | undefined;
  return /^SQLITE_(BUSY|LOCKED)/.test(e?.code ?? "") || /database is locked/i.test(e?.message ?? "");
}
