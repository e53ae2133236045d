import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach } from "vitest";
import { openDatabase, type Database } from "../../shared/db.ts";
import { migrate } from "../../shared/migrations.ts";

/** A fresh directory removed after the test. */
export function tempDir(prefix = "rs-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A fresh directory for a whole describe block: call remove() in afterAll. */
export function sharedTempDir(prefix = "rs-test-"): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A fresh database file path (not yet created) in its own temporary directory. */
export function tempDatabasePath(): string {
  return join(tempDir(), "resource_tracking.db");
}

/** Opens (creating and migrating) a database file; closed after the test. */
export async function openTestDatabase(path = tempDatabasePath()): Promise<Database & { path: string }> {
  const db = await openDatabase({ url: `file:${path}` });
  await migrate(db.client);
  afterEach(() => db.close());
  return Object.assign(db, { path });
}

/** Runs SQL through the real sqlite3 CLI and returns its output (`-json` rows when asked). */
export function sqlite3(path: string, sql: string, { json = false } = {}): string {
  return execFileSync("sqlite3", [...(json ? ["-json"] : []), path, sql], { encoding: "utf8" });
}

export function sqlite3Rows<T = Record<string, unknown>>(path: string, sql: string): T[] {
  const out = sqlite3(path, sql, { json: true }).trim();
  return out ? (JSON.parse(out) as T[]) : [];
}
