import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "../../runner/platform/libsql-client.ts";
import { migrate } from "../../shared/migrations.ts";
import { startSqld } from "./sqld.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** A halted libSQL server's data directory just after the migrations (backends.ts starts each store's server from a copy). */
    sqldTemplate: string;
  }
}

/**
 * vitest globalSetup of the libSQL-server pass: a server's data directory
 * just after the migrations, made once per run, where migrating each
 * store's server over HTTP took some 350 ms. Each store's server starts
 * from a copy of it, and the migrations still run on each: they find the
 * schema current. Made here, in vitest's own process, it outlives any test
 * file and worker, and is removed when the run ends.
 */
export default async function setup(project: { provide(key: "sqldTemplate", value: string): void }): Promise<() => void> {
  const dir = mkdtempSync(join(tmpdir(), "rs-sqld-migrated-"));
  const server = await startSqld();
  try {
    const database = await openDatabase({ url: server.url });
    await migrate(database.client);
    database.close();
    await server.halt();
    cpSync(server.dataDir, join(dir, "db.sqld"), { recursive: true });
  } finally {
    await server.stop();
  }
  project.provide("sqldTemplate", join(dir, "db.sqld"));
  return () => rmSync(dir, { recursive: true, force: true });
}
