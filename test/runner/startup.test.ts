import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sqlite3Rows, tempDatabasePath, tempDir } from "../support/database.ts";
import { postJson, runRunner, startRunner } from "../support/server.ts";

/** What a person sees when `runner serve` cannot start, and what it leaves behind. */

const lines = (text: string) => text.trim().split("\n");

describe("starting the webhook", () => {
  it.each(["http", "70000", "0"])("PORT=%s stops it with exit 1 and one line naming PORT, creating nothing", async (port) => {
    const dir = tempDir();
    const run = await runRunner(["serve"], { PORT: port, DATABASE_URL: `file:${join(dir, "rs.db")}` });
    expect(run.code).toBe(1);
    expect(lines(run.stderr)).toEqual([expect.stringMatching(/^Invalid setting: PORT must be a port number from 1 to 65535 .*See the README, section "Configuration"\.$/)]);
    expect(run.stderr).toContain(JSON.stringify(port));
    expect(run.stdout).toBe("");
    expect(readdirSync(dir)).toEqual([]);
  });

  it("refuses an IPv4 HOST with a number over 255 in one line naming HOST, creating nothing", async () => {
    const dir = tempDir();
    const run = await runRunner(["serve"], { HOST: "999.1.1.1", DATABASE_URL: `file:${join(dir, "rs.db")}` });
    expect(run.code).toBe(1);
    expect(lines(run.stderr)).toEqual([expect.stringMatching(/^Invalid setting: HOST must be an IPv4 address: each of its four numbers must be from 0 to 255 \(got "999\.1\.1\.1"\)/)]);
    expect(run.stderr).not.toContain("ENOTFOUND");
    expect(readdirSync(dir)).toEqual([]);
  });

  it.each([
    ["serve", "HOST"],
    ["web", "WEB_HOST"],
  ])("runner %s refuses a %s name that does not resolve, naming the setting, creating nothing", async (command, setting) => {
    const dir = tempDir();
    // .invalid never resolves (RFC 6761).
    const run = await runRunner([command], { [setting]: "no-such-host.invalid", DATABASE_URL: `file:${join(dir, "rs.db")}` });
    expect(run.code).toBe(1);
    expect(lines(run.stderr)).toEqual([expect.stringMatching(new RegExp(`^Invalid setting: ${setting}: the name "no-such-host\\.invalid" does not resolve`))]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("refuses a DATABASE_URL whose directory is missing, saying what to do, and creates nothing", async () => {
    const dir = tempDir();
    const missing = join(dir, "no-such-mount", "data");
    const run = await runRunner(["serve"], { DATABASE_URL: `file:${join(missing, "resource_tracking.db")}` });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`The database directory ${missing} does not exist`);
    expect(run.stderr).toContain("mkdir -p");
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("creates the default database directory on first start, relative to the working directory, and the console reads that file", async () => {
    const cwd = tempDir();
    // Empty counts as unset, so the default URL applies whatever the test's environment holds.
    // Started as people start it (tsx, from a directory that is not the project's), so the
    // console's query process, which tsx loads too, must find the same relative file.
    const server = await startRunner("start", { DATABASE_URL: "" }, { cwd, viaTsx: true, waitFor: /viewer listening on (http:\/\/[\d.:]+)/ });
    expect(server.output()).toContain("database file:data/resource_tracking.db");
    const webhook = /webhook listening on (http:\/\/[\d.:]+)/.exec(server.output())![1]!;
    const posted = await postJson(`${webhook}/resource-share/increment`, { claude_name: "First-Start", cache_read_increment: 8, mode: "autonomy" });
    expect(posted.status).toBe(200);
    const sql = "SELECT claude_name, cache_read_increment FROM resource_share_increments";
    const queried = await fetch(`${server.url}/query/export/json?${new URLSearchParams({ sql }).toString()}`);
    expect(queried.status).toBe(200);
    expect(await queried.json()).toEqual([{ claude_name: "First-Start", cache_read_increment: 8 }]);
    expect(await server.stop()).toBe(0);
    const path = join(cwd, "data", "resource_tracking.db");
    expect(sqlite3Rows(path, sql)).toEqual([{ claude_name: "First-Start", cache_read_increment: 8 }]);
  });

  it("refuses a file that is not a database, leaving it as it was", async () => {
    const path = tempDatabasePath();
    writeFileSync(path, "these are somebody's notes, not a database\n".repeat(200));
    const before = readFileSync(path);
    const run = await runRunner(["serve"], { DATABASE_URL: `file:${path}` });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("is not a readable SQLite database");
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it("says the port is taken when another process listens on it", async () => {
    const first = await startRunner("serve", { DATABASE_URL: `file:${tempDatabasePath()}`, REQUIRE_TOKENS: "1" });
    // Its start-up line says who may write.
    expect(first.output()).toContain("writes need an agent token");
    const port = new URL(first.url).port;
    const run = await runRunner(["serve"], { PORT: port, DATABASE_URL: `file:${tempDatabasePath()}` });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`127.0.0.1:${port} is already in use`);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(await first.stop()).toBe(0);
  });

  it("refuses an unknown command with exit 1 and the help text", async () => {
    const run = await runRunner(["serv"], { DATABASE_URL: `file:${tempDatabasePath()}` });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Unknown command "serv"');
    expect(run.stderr).toContain("Usage: tsx runner <command>");
  });

  it("leaves nothing behind for a refused setting even with the default database", async () => {
    const cwd = tempDir();
    const run = await runRunner(["serve"], { DATABASE_URL: "", LOG_LEVEL: "chatty" }, { cwd });
    expect(run.code).toBe(1);
    expect(lines(run.stderr)[0]).toMatch(/^Invalid setting: LOG_LEVEL must be one of debug, info, warn, error/);
    expect(existsSync(join(cwd, "data"))).toBe(false);
  });
});
