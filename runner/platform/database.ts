import { accessSync, constants, existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { DEFAULT_DATABASE_URL, type Config } from "../../shared/config.ts";
import type { IntMode } from "@libsql/client";
import { openDatabase, type Database } from "./libsql-client.ts";
import { migrate } from "../../shared/migrations.ts";

/** A problem the person starting the process must fix; printed as is, exit 1. */
export class StartupError extends Error {}

/** Another process holds the database's write lock, so the schema could not be brought up to date. */
/** The database is there but cannot be used right now (locked, or its server unreachable): worth trying again, exit 2. */
export class DatabaseUnavailable extends StartupError {}
export class DatabaseLocked extends DatabaseUnavailable {}

/** The file path of a `file:` URL, or undefined for a server URL. */
export function filePath(url: string): string | undefined {
  if (!url.startsWith("file:")) return undefined;
  const rest = url.slice("file:".length).replace(/\?.*$/, "");
  return resolve(rest.startsWith("//") ? rest.slice(2) : rest);
}

/**
 * Checks a file database's surroundings before opening it, so that a typo or
 * a missing mount stops the process with a message instead of quietly
 * starting a new empty database beside the user's data. Only the default
 * location's directory is created on first start.
 */
function checkFile(config: Config, path: string, queryOnly: boolean, setting: string): void {
  const dir = dirname(path);
  if (!existsSync(dir)) {
    if (config.databaseUrl === DEFAULT_DATABASE_URL) mkdirSync(dir, { recursive: true });
    else
      throw new StartupError(
        `The database directory ${dir} does not exist. Create it (mkdir -p ${dir}) or set ${setting} to a file in an existing directory.`,
      );
  }
  if (!statSync(dir).isDirectory()) throw new StartupError(`${dir} is not a directory; ${setting} must name a file inside a directory.`);
  if (existsSync(path) && !statSync(path).isFile())
    throw new StartupError(`${path} is a directory, not a database file. Set ${setting} to a file path, e.g. file:${path}/resource_tracking.db.`);
  const needed = queryOnly ? constants.R_OK : constants.R_OK | constants.W_OK;
  const target = existsSync(path) ? path : dir;
  try {
    accessSync(target, needed);
  } catch {
    throw new StartupError(
      `Cannot ${queryOnly ? "read" : "write"} ${target} as user ${process.getuid?.() ?? "?"}. Fix its permissions (the services run as clap-admin) or set ${setting} elsewhere.`,
    );
  }
}

/**
 * Opens the configured database for a runner process and brings its schema
 * up to date. `queryOnly` connections (the viewer) migrate through a
 * short-lived writable connection first, then refuse every write.
 */
export async function openConfigured(
  config: Config,
  {
    queryOnly = false,
    busyTimeoutMs,
    migrationBusyTimeoutMs,
    intMode,
    cacheKib,
    settings = { url: "DATABASE_URL", token: "DATABASE_AUTH_TOKEN" },
  }: {
    queryOnly?: boolean;
    /** The page cache of the connection returned (openDatabase's cacheKib). */
    cacheKib?: number;
    busyTimeoutMs?: number;
    /** How long the migrations wait for another writer's lock (the default 5 s unless given). */
    migrationBusyTimeoutMs?: number;
    intMode?: IntMode;
    /** The settings named in error messages (the copy tool's destination has its own). */
    settings?: { url: string; token: string };
  } = {},
): Promise<Database> {
  const path = filePath(config.databaseUrl);
  if (path) checkFile(config, path, queryOnly, settings.url);
  const where = path ?? `the libSQL server in ${settings.url}`;
  const options = { url: config.databaseUrl, authToken: config.databaseAuthToken, busyTimeoutMs, intMode };
  let db: Database | undefined;
  try {
    // Migrations wait the default 5 s for other writers (unless told
    // otherwise); a connection that wants another wait (the webhook's) is
    // opened after them.
    db = await openDatabase({ ...options, busyTimeoutMs: migrationBusyTimeoutMs });
    await migrate(db.client);
    if (!queryOnly && busyTimeoutMs === migrationBusyTimeoutMs && cacheKib === undefined) return db;
    db.close();
    return await openDatabase({ ...options, queryOnly, ...(cacheKib === undefined ? {} : { cacheKib }) });
  } catch (err) {
    db?.close();
    throw describeOpenError(err, where, settings);
  }
}

function describeOpenError(err: unknown, where: string, settings: { url: string; token: string }): Error {
  const e = err as { code?: string; message?: string };
  const text = `${e.code ?? ""} ${e.message ?? ""}`;
  if (/NOTADB|not a database|CORRUPT|malformed/i.test(text))
    return new StartupError(
      `${where} is not a readable SQLite database (corrupt, or another kind of file). Nothing was changed. Restore it from a backup, or set ${settings.url} to another file.`,
    );
  if (/BUSY|locked/i.test(text))
    return new DatabaseLocked(`${where} is locked by another process (a long sqlite3 session?). Close it and start again.`);
  if (/CANTOPEN|READONLY|permission/i.test(text))
    return new StartupError(`Cannot open ${where} for writing: ${e.message}. Check the file's permissions and free disk space.`);
  if (/\b(401|403)\b|Unauthorized|AUTH_JWT/i.test(text))
    return new StartupError(
      `${where.charAt(0).toUpperCase()}${where.slice(1)} refused the credentials (${e.message}). Check ${settings.token}: it must be a token this server accepts, with write access.`,
    );
  if (/fetch failed|ECONNREFUSED|ENOTFOUND/i.test(text))
    return new DatabaseUnavailable(`Cannot reach ${where}: ${e.message}. Check ${settings.url}, ${settings.token} and that the server runs.`);
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * For a file database: a check that the file the process opened is still the
 * one at its path. Deleted or replaced under a running service, SQLite keeps
 * writing to the old, unreachable file; /health must say so.
 * Returns a problem in words, or undefined when all is well.
 */
export function watchDatabaseFile(databaseUrl: string): () => string | undefined {
  const path = filePath(databaseUrl);
  if (!path) return () => undefined;
  const opened = statSync(path);
  return () => {
    let now;
    try {
      now = statSync(path);
    } catch {
      return `The database file ${path} was deleted while the service runs; what it writes now is lost at the next restart. Restore the file from a backup and restart the service.`;
    }
    if (now.ino !== opened.ino || now.dev !== opened.dev)
      return `The database file ${path} was replaced while the service runs; the service still writes to the old file. Restart the service to use the new one.`;
    return undefined;
  };
}
