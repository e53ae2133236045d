import { describe, expect, it } from "vitest";
import { handlers, type HandlerName } from "../../../functions/index.ts";
import { runHandler } from "../../../runner/platform/run-handler.ts";
import { webhookApp } from "../../support/apps.ts";
import { openTestDatabase, sqlite3Rows, tempDatabasePath } from "../../support/database.ts";
import { invokeContext } from "../../support/context.ts";
import { runInvoke, runRunner } from "../../support/server.ts";

/**
 * `tsx runner invoke NAME '{json}'` as a person runs it: a real process over
 * a real file. What a test only needs in the database beforehand goes in
 * through runHandler, the path `runner invoke` takes, without a process.
 */

const countRows = (path: string) => Number(sqlite3Rows<{ n: number }>(path, "SELECT count(*) AS n FROM resource_share_increments")[0]!.n);

describe("runner invoke", () => {
  it("ingest stores a row and prints it as JSON", async () => {
    const path = tempDatabasePath();
    const env = { DATABASE_URL: `file:${path}` };
    // Through tsx from source, as typed; the other tests start the test run's build of the runner.
    const run = await runInvoke("ingest", '{"claude_name":"Cli-Agent","cache_read_increment":1234,"mode":"autonomy","context_percentage":null}', env, { viaTsx: true });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const printed = JSON.parse(run.stdout);
    expect(printed).toMatchObject({ status: "success", claude_name: "Cli-Agent", tokens_recorded: 1234, duplicate: false });
    expect(sqlite3Rows(path, "SELECT id, claude_name, timestamp, mode, cache_read_increment FROM resource_share_increments")).toEqual([
      { id: printed.id, claude_name: "Cli-Agent", timestamp: printed.timestamp, mode: "autonomy", cache_read_increment: 1234 },
    ]);
  });

  it("refuses invalid input with exit 1, the errors on stderr and as JSON on stdout, storing nothing", async () => {
    const { db, path } = await openTestDatabase();
    const env = { DATABASE_URL: `file:${path}` };
    expect(await runHandler("ingest", { claude_name: "Cli-Agent", cache_read_increment: 1, mode: "autonomy" }, invokeContext(db))).toMatchObject({ ok: true });
    const run = await runInvoke("ingest", '{"claude_name":"","cache_read_increment":-3,"mode":"holiday"}', env);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("ingest refused the input");
    for (const field of ["claude_name", "cache_read_increment", "mode"]) expect(run.stderr).toContain(`${field}:`);
    const printed = JSON.parse(run.stdout);
    expect(printed).toMatchObject({ status: "error", error: "invalid_input" });
    expect(printed.issues.map((i: { field: string }) => i.field).sort()).toEqual(["cache_read_increment", "claude_name", "mode"]);
    expect(countRows(path)).toBe(1);
  });

  it("refuses text that is not JSON with exit 1 and an example, before touching the database", async () => {
    const path = tempDatabasePath();
    const run = await runInvoke("ingest", "{claude_name: Sparkle}", { DATABASE_URL: `file:${path}` });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/not valid JSON/);
    expect(run.stderr).toContain("tsx runner invoke ingest '");
    expect(JSON.parse(run.stdout)).toMatchObject({ status: "error", error: "invalid_json", message: expect.stringMatching(/not valid JSON/) });
  });

  it("refuses an unknown handler with exit 1, listing the handlers", async () => {
    const run = await runInvoke("ingestt", "{}", { DATABASE_URL: `file:${tempDatabasePath()}` });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('No handler named "ingestt"');
    for (const name of Object.keys(handlers)) expect(run.stderr).toContain(name);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: "error", error: "not_found" });
  });

  it("prints the same failure body as the webhook answers for the same input", async () => {
    const path = tempDatabasePath();
    const bad = { claude_name: "Cli-Agent", cache_read_increment: 1.5, mode: "autonomy", rate: "nonsense" };
    const run = await runInvoke("ingest", JSON.stringify(bad), { DATABASE_URL: `file:${path}` });
    expect(run.code).toBe(1);
    const webhook = await webhookApp({ DATABASE_URL: `file:${path}` });
    const res = await webhook.post("/resource-share/increment", bad);
    expect(res.status).toBe(400);
    expect(JSON.parse(run.stdout)).toEqual(res.body);
  });

  it("runs a read handler without input", async () => {
    const path = tempDatabasePath();
    const run = await runInvoke("summary", undefined, { DATABASE_URL: `file:${path}`, RESOURCE_SHARE_TZ: "Europe/London" });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ time_zone: "Europe/London", agents: [], total_tokens: 0 });
  });

  it("--help lists every handler with its description and a working example", async () => {
    const run = await runRunner(["--help"], {});
    expect([run.code, run.stderr]).toEqual([0, ""]);
    const help = run.stdout;
    for (const [name, entry] of Object.entries(handlers)) {
      expect(help).toContain(entry.description);
      expect(help).toContain(`tsx runner invoke ${name} '${entry.example}'`);
    }
    expect(help).toMatch(/invoke NAME/);
    expect(help).toMatch(/Configuration/);
  });

  it("every --help example is accepted by its handler", async () => {
    const { db } = await openTestDatabase();
    // Each example through runHandler, as `runner invoke` calls it (the
    // tests above cover the CLI's own part: parsing, printing, exit codes).
    // The examples' agent has reported first, as issueToken and revokeToken expect of a name.
    expect(await runHandler("ingest", JSON.parse(handlers.ingest.example), invokeContext(db))).toMatchObject({ ok: true });
    for (const [name, entry] of Object.entries(handlers)) {
      const result = await runHandler(name as HandlerName, JSON.parse(entry.example), invokeContext(db));
      expect([name, result.ok], JSON.stringify(result)).toEqual([name, true]);
      // What the CLI prints: the result as JSON.
      expect(() => JSON.parse(JSON.stringify(result.ok ? result.value : null)), name).not.toThrow();
    }
  });
});
