import { onTestFinished } from "vitest";
import { openDatabase, type Database } from "../../shared/db.ts";
import { migrate } from "../../shared/migrations.ts";
import { sqlite3Rows, tempDatabasePath } from "./database.ts";
import { startSqld, type SqldServer } from "./sqld.ts";

/**
 * The two kinds of database the service runs on: the embedded file and a
 * libSQL server. HTTP-level and end-to-end tests run once per backend:
 *
 *   describe.each(BACKENDS)("webhook on $name", (backend) => {
 *     it("...", async () => { const store = await backend.open(); ... });
 *   });
 */
export interface TestStore {
  /** What a runner process needs to use it: DATABASE_URL (and DATABASE_AUTH_TOKEN). */
  env: Record<string, string>;
  url: string;
  /** A migrated connection opened the way the service opens it; closed after the test. */
  database: Database;
  /** Rows as someone outside the service reads them: the sqlite3 CLI on a file, a separate client on a server. */
  rows<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /** The file, for the embedded backend; undefined on a server. */
  path: string | undefined;
  /** The server, for the sqld backend. */
  server: SqldServer | undefined;
}

export interface Backend {
  name: "embedded file" | "libSQL server";
  /** A fresh, empty, migrated database for one test (call inside the test). */
  open(): Promise<TestStore>;
}

async function openMigrated(url: string, authToken?: string): Promise<Database> {
  const database = await openDatabase({ url, authToken });
  onTestFinished(() => database.close());
  await migrate(database.client);
  return database;
}

export const fileBackend: Backend = {
  name: "embedded file",
  async open() {
    const path = tempDatabasePath();
    const url = `file:${path}`;
    const database = await openMigrated(url);
    return { env: { DATABASE_URL: url }, url, database, path, server: undefined, rows: async (sql) => sqlite3Rows(path, sql) };
  },
};

export const sqldBackend: Backend = {
  name: "libSQL server",
  async open() {
    const server = await startSqld();
    const database = await openMigrated(server.url);
    // A connection of its own, so what the tests read does not depend on the service's client.
    const reader = await openDatabase({ url: server.url });
    onTestFinished(() => reader.close());
    return {
      env: { DATABASE_URL: server.url },
      url: server.url,
      database,
      path: undefined,
      server,
      rows: async (sql) => (await reader.client.execute(sql)).rows.map((r) => ({ ...r })) as never,
    };
  },
};

export const BACKENDS: Backend[] = [fileBackend, sqldBackend];
