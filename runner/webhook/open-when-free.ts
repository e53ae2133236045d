import type { Config } from "../../shared/config.ts";
import type { Db } from "../../shared/context.ts";
import type { Database } from "../platform/libsql-client.ts";
import { DatabaseLocked, filePath, openConfigured } from "../platform/database.ts";
import type { Logger } from "../platform/log.ts";

/** Between tries to bring the schema up to date while another process holds the lock. */
const RETRY_MS = 1000;
/**
 * How long each later try waits for the lock. The wait happens inside a
 * synchronous native call that holds up the event loop, and by then the
 * webhook is answering reports: keep it as short as the webhook's own.
 */
const RETRY_BUSY_TIMEOUT_MS = 100;

export interface OpenedWhenFree {
  /** Its `db` fails every call as unavailable (SQLITE_BUSY) until `ready`, then is the database itself. */
  database: Database;
  /** Resolves once the schema is up to date and the database open; never when closed before. */
  ready: Promise<void>;
  /** True when the database was locked at start and `ready` is still to come. */
  locked: boolean;
}

/**
 * Opens the webhook's database like openConfigured, but a database that is
 * locked at start (a long sqlite3 session, a copy in progress) does not stop
 * the service: its migrations are tried again every second while the webhook
 * runs and keeps reports in its spool. Until they ran, nothing reads or
 * writes the tables, whose schema may not be what this code expects.
 */
export async function openWhenFree(config: Config, log: Logger, busyTimeoutMs: number): Promise<OpenedWhenFree> {
  try {
    return { database: await openConfigured(config, { busyTimeoutMs }), ready: Promise.resolve(), locked: false };
  } catch (err) {
    if (!(err instanceof DatabaseLocked)) throw err;
    log.warn(
      `${filePath(config.databaseUrl) ?? "The database"} is locked by another process (a long sqlite3 session?), so its schema cannot be brought up to date yet. ` +
        "Starting anyway: reports are kept in the spool and applied once the lock is released.",
    );
  }

  let current: Database | undefined;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let markReady = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const started = Date.now();

  const attempt = async () => {
    try {
      const opened = await openConfigured(config, { busyTimeoutMs, migrationBusyTimeoutMs: RETRY_BUSY_TIMEOUT_MS });
      if (closed) return opened.close();
      current = opened;
      log.info(`the database is free again after ${((Date.now() - started) / 1000).toFixed(1)} s: its schema is up to date; applying the spool`);
      markReady();
      return;
    } catch (err) {
      if (!(err instanceof DatabaseLocked))
        log.error(`cannot open the database yet: ${(err as Error).message} Reports are kept in the spool meanwhile; trying again every ${RETRY_MS / 1000} s.`);
    }
    if (!closed) timer = setTimeout(() => void attempt(), RETRY_MS);
  };
  timer = setTimeout(() => void attempt(), RETRY_MS);

  const locked = () =>
    Promise.reject(
      Object.assign(new Error("database is locked: the schema is brought up to date once another process releases its lock"), { code: "SQLITE_BUSY" }),
    );
  const db: Db = {
    protocol: config.databaseUrl.startsWith("file:") ? "file" : "libsql",
    execute: ((...args: Parameters<Db["execute"]>) => (current ? current.db.execute(...args) : locked())) as Db["execute"],
    batch: ((...args: Parameters<Db["batch"]>) => (current ? current.db.batch(...args) : locked())) as Db["batch"],
    transaction: ((...args: Parameters<Db["transaction"]>) => (current ? current.db.transaction(...args) : locked())) as Db["transaction"],
  };
  const database: Database = {
    get client() {
      if (!current) throw new Error("the database is not open yet: wait for `ready`");
      return current.client;
    },
    isFile: config.databaseUrl.startsWith("file:"),
    recover: async () => current?.recover(),
    db,
    close() {
      closed = true;
      clearTimeout(timer);
      current?.close();
    },
  };
  return { database, ready, locked: true };
}
