import { execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onTestFinished } from "vitest";
import { openDatabase, type Database } from "../../runner/platform/libsql-client.ts";
import { migrate } from "../../shared/migrations.ts";

/** A fresh directory removed after the test. */
export function tempDir(prefix = "rs-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
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
  onTestFinished(() => db.close());
  return Object.assign(db, { path });
}

/** Runs SQL through the real sqlite3 CLI and returns its output (`-json` rows when asked). */
export function sqlite3(path: string, sql: string, { json = false } = {}): string {
  // Room for whole tables: exports are checked against all of their rows.
  // stdio given: execFileSync would otherwise also copy sqlite3's stderr to the test run's, so an error a test
  // expects (and checks: it is in the thrown error's message) would be printed as if something had failed.
  return execFileSync("sqlite3", [...(json ? ["-json"] : []), path, sql], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, stdio: "pipe" });
}

export function sqlite3Rows<T = Record<string, unknown>>(path: string, sql: string): T[] {
  const out = sqlite3(path, sql, { json: true }).trim();
  return out ? (JSON.parse(out) as T[]) : [];
}

export interface HeldLock {
  /** COMMIT, end the sqlite3 session and wait for it to exit. */
  release(): Promise<void>;
}

/**
 * Holds the database's write lock from the real sqlite3 CLI, as a person in
 * a shell would with `BEGIN IMMEDIATE;`. Resolves once the lock is held.
 */
export async function holdWriteLock(path: string): Promise<HeldLock> {
  const cli = spawn("sqlite3", [path], { stdio: ["pipe", "pipe", "pipe"] });
  const exited = once(cli, "exit");
  onTestFinished(async () => {
    if (cli.exitCode === null && cli.signalCode === null) {
      cli.kill("SIGKILL");
      await exited;
    }
  });
  let out = "";
  cli.stdout.on("data", (d: Buffer) => (out += d.toString()));
  cli.stderr.on("data", (d: Buffer) => (out += d.toString()));
  cli.stdin.write("BEGIN IMMEDIATE;\nSELECT 'lock held';\n");
  await new Promise<void>((resolve, reject) => {
    const check = () => {
      if (out.includes("lock held")) resolve();
      else if (/error/i.test(out)) reject(new Error(`sqlite3 could not take the lock: ${out}`));
    };
    cli.stdout.on("data", check);
    cli.stderr.on("data", check);
    cli.once("exit", () => reject(new Error(`sqlite3 exited before taking the lock: ${out}`)));
  });
  return {
    async release() {
      cli.stdin.end("COMMIT;\n");
      await exited;
    },
  };
}
