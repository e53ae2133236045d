import { chmodSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { sqlite3, tempDatabasePath, tempDir } from "../../support/database.ts";
import { webhookApp } from "../../support/apps.ts";
import { runRunner } from "../../support/server.ts";

/** Tests run as root, who may write anywhere: permission faults are tried as the user nobody. */
const NOBODY = 65534;
const STACK = /\n\s+at /;

/** A real database with a day of reports in it, as a user's file would be. */
function userDatabase(): { path: string; bytes: () => Buffer } {
  const path = tempDatabasePath();
  sqlite3(
    path,
    `CREATE TABLE resource_share_increments (id INTEGER PRIMARY KEY, claude_name TEXT, timestamp TEXT, mode TEXT, cache_read_increment INTEGER);
     WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
     INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment) SELECT 'Agent-' || (i % 7), '2026-01-02 03:04:05', 'autonomy', i FROM n;`,
  );
  return { path, bytes: () => readFileSync(path) };
}

describe("a database file that cannot be used at start", () => {
  it("refuses a damaged database with a clear message and a non-zero exit, leaving the file as it was", async () => {
    const { path, bytes } = userDatabase();
    // Damage the schema page past its header: the file still says "SQLite format 3".
    const damaged = bytes();
    damaged.fill(0x5a, 100, 4096);
    writeFileSync(path, damaged);
    const run = await runRunner(["serve"], { DATABASE_URL: `file:${path}` });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`${path} is not a readable SQLite database`);
    expect(run.stderr).toMatch(/Restore it from a backup/);
    expect(run.stderr).not.toMatch(STACK);
    expect(bytes().equals(damaged)).toBe(true);
    expect(readdirSync(dirname(path))).toEqual(["resource_tracking.db"]);
  });

  it("refuses a database its user may not write, naming the file, and leaves it as it was", async () => {
    const { path, bytes } = userDatabase();
    chmodSync(dirname(path), 0o755);
    chmodSync(path, 0o644);
    const before = bytes();
    const run = await runRunner(["serve"], { DATABASE_URL: `file:${path}` }, { asUser: NOBODY });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`Cannot write ${path}`);
    expect(run.stderr).not.toMatch(STACK);
    expect(bytes().equals(before)).toBe(true);
  });

  it("refuses a database path that is a directory", async () => {
    const path = tempDatabasePath();
    mkdirSync(path);
    const run = await runRunner(["serve"], { DATABASE_URL: `file:${path}` });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${path} is a directory, not a database file`);
    expect(run.stderr).not.toMatch(STACK);
    expect(readdirSync(path)).toEqual([]);
  });

  it("refuses a spool directory that is missing or not writable, before taking any report", async () => {
    const { path } = userDatabase();
    const dir = tempDir();
    const missing = await runRunner(["serve"], { DATABASE_URL: `file:${path}`, SPOOL_DIR: join(dir, "nope") });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`The spool directory ${join(dir, "nope")} does not exist`);
    expect(missing.stderr).toContain("SPOOL_DIR");
    const file = join(dir, "a-file");
    writeFileSync(file, "");
    const notDir = await runRunner(["serve"], { DATABASE_URL: `file:${path}`, SPOOL_DIR: file });
    expect(notDir.code).toBe(1);
    expect(notDir.stderr).toContain("is not a directory");
    expect(`${missing.stderr}${notDir.stderr}`).not.toMatch(STACK);
  });
});

describe("GET /health", () => {
  it("reports a database file that was deleted or replaced under the running service", async () => {
    const path = tempDatabasePath();
    const webhook = await webhookApp({ DATABASE_URL: `file:${path}` });
    const health = async () => {
      const res = await webhook.request("/health");
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };
    expect(await health()).toMatchObject({ status: 200, body: { status: "ok", spool: { backlog: 0 } } });

    // Replaced: someone restores an old copy over the live file.
    sqlite3(`${path}.copy`, "CREATE TABLE t (x)");
    const original = `${path}.moved`;
    renameSync(path, original);
    renameSync(`${path}.copy`, path);
    const replaced = await health();
    expect(replaced.status).toBe(503);
    expect(replaced.body).toMatchObject({ status: "error", database: "gone" });
    expect(replaced.body.message).toContain("was replaced");

    // Deleted.
    rmSync(path);
    const deleted = await health();
    expect(deleted.status).toBe(503);
    expect(deleted.body.message).toContain("was deleted");
    expect(deleted.body.message).toContain("Restore the file");
    await expect.poll(() => webhook.output()).toMatch(/ERROR health check: The database file .* was deleted/);

    // Back in place: healthy again.
    renameSync(original, path);
    expect((await health()).status).toBe(200);
    await webhook.close();
  });
});
