import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { copyCommand } from "../../../runner/cli/copy.ts";
import { machineZone } from "../../../runner/platform/environment.ts";
import { parseConfig } from "../../../shared/config.ts";
import { openDatabase } from "../../../runner/platform/libsql-client.ts";
import { migrate } from "../../../shared/migrations.ts";
import { sqlite3, sqlite3Rows, tempDatabasePath } from "../../support/database.ts";
import { runInvoke, runRunner } from "../../support/server.ts";
import { startSqld } from "../../support/sqld.ts";

const TABLES = ["claude_identities", "resource_share_increments", "daily_resource_share", "fair_allocations", "closed_days", "aggregation_state"];

/** A database with what real ones hold: service rows, rows of the original system, closed days, huge values. */
async function seedTemplate(path: string): Promise<void> {
  const db = await openDatabase({ url: `file:${path}` });
  await migrate(db.client);
  db.close();
  sqlite3(
    path,
    `INSERT INTO claude_identities (name, first_seen, last_seen, active) VALUES
       ('Sparkle-Orange', '2026-11-01T08:00:00.000Z', '2026-11-27T23:59:00.000Z', 1), ('Quiet-Blue', '2026-11-02T09:00:00.000Z', NULL, 0);
     INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment, context_percentage, cost_delta, event_id, received_at, host)
       VALUES ('Sparkle-Orange', '2026-11-27T10:00:00.123Z', 'autonomy', 1234, 61.5, 0.0421, 'e-1', '2026-11-27T10:00:00.200Z', 'clap-1');
     WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1200)
     INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment, context_percentage, cost_delta, host)
     SELECT 'Agent-' || (i % 7), '2026-11-' || printf('%02d', 1 + i % 27) || ' 0' || (i % 10) || ':15:00',
            CASE i % 3 WHEN 0 THEN 'collaboration' ELSE 'autonomy' END, i * 37,
            CASE WHEN i % 4 = 0 THEN NULL ELSE (i % 100) + 0.5 END, CASE WHEN i % 5 = 0 THEN NULL ELSE i * 0.00137 END, 'clap-' || (i % 3)
     FROM n;
     INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment) VALUES ('Old-Python', '2025-01-02 03:04:05', 'autonomy', 1152921504606846976);
     INSERT INTO resource_share_increments (claude_name, timestamp, mode) VALUES ('Deleted-Later', '2026-11-27T11:00:00Z', 'autonomy');
     DELETE FROM resource_share_increments WHERE id = 7 OR claude_name = 'Deleted-Later';
     INSERT INTO daily_resource_share (claude_name, date, autonomous_tokens, collaborative_tokens, total_tokens, last_updated, total_cost, report_count)
       VALUES ('Agent-1', '2026-11-02', 10, 20, 30, '2026-11-03T00:00:01Z', 0.25, 3), ('Agent-2', '2026-11-02', 0, 5, 5, NULL, 0, 1);
     INSERT INTO fair_allocations (claude_name, date, fair_share_tokens, used_tokens, calculated_at) VALUES ('Agent-1', '2026-11-02', 100, 30, '2026-11-03T00:00:02Z');
     INSERT INTO closed_days (date, time_zone, closed_at, max_increment_id, agents) VALUES ('2026-11-02', 'Europe/London', '2026-11-03T00:00:01Z', 900, 2);
     UPDATE aggregation_state SET checked_through_id = 1000;`,
  );
}

let template = "";
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), "rs-copy-template-"));
  template = join(dir, "template.db");
  await seedTemplate(template);
  return () => rmSync(dir, { recursive: true, force: true });
});

/** A fresh copy of the seeded database for one test. */
function seededDatabase(): string {
  const path = tempDatabasePath();
  sqlite3(template, `VACUUM INTO '${path}'`);
  sqlite3(path, "PRAGMA journal_mode = WAL");
  return path;
}

const dump = (path: string, table: string) => sqlite3(path, `SELECT * FROM ${table} ORDER BY rowid`);

/**
 * `runner copy ARGS` in this process: copyCommand, the function the CLI runs,
 * with the settings a process would read from `env`, and what it prints
 * captured. It maps every failure to its exit code itself, so the process
 * adds nothing but start-up; the first and last tests run the real CLI.
 */
async function copyInProcess(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const parsed = parseConfig(env, machineZone);
  if (!parsed.ok) throw new Error(parsed.message);
  let stdout = "";
  let stderr = "";
  const capture = (add: (text: string) => void) => (chunk: string | Uint8Array) => {
    add(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString());
    return true;
  };
  const out = vi.spyOn(process.stdout, "write").mockImplementation(capture((t) => (stdout += t)) as typeof process.stdout.write);
  const err = vi.spyOn(process.stderr, "write").mockImplementation(capture((t) => (stderr += t)) as typeof process.stderr.write);
  try {
    const code = await copyCommand(parsed.config, args);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe("runner copy", () => {
  it("moves a seeded database to a libSQL server and back with identical rows and sums", async () => {
    const source = seededDatabase();
    const server = await startSqld();
    const there = await runRunner(["copy", "--to", server.url, "--chunk", "100"], { DATABASE_URL: `file:${source}` });
    expect(there.code, there.stderr).toBe(0);
    expect(there.stdout).toContain("Verified");
    expect(there.stdout).toMatch(/resource_share_increments\s+1,201\s+1,201\s+1,201\s+0/);
    expect(there.stderr).toContain("copy: resource_share_increments: 1,201 rows copied, 0 already there");
    // The destination's migrations seeded this row; the source's values replace it.
    expect(there.stderr).toContain("copy: aggregation_state: 1 rows copied, 0 already there");

    const back = tempDatabasePath();
    const home = await runRunner(["copy", "--to", `file:${back}`], { DATABASE_URL: server.url });
    expect(home.code, home.stderr).toBe(0);
    expect(home.stdout).toContain("Verified");

    for (const table of TABLES) expect(dump(back, table), table).toBe(dump(source, table));
    const sums = `SELECT count(*) AS n, sum(cache_read_increment) AS tokens, total(cost_delta) AS cost, sum(typeof(cost_delta) = 'real') AS reals
                  FROM resource_share_increments`;
    expect(sqlite3Rows(back, sums)).toEqual(sqlite3Rows(source, sums));
    // The 2^60 token count of the old row came through exactly, not rounded through a float.
    expect(sqlite3(back, "SELECT cache_read_increment FROM resource_share_increments WHERE claude_name = 'Old-Python'").trim()).toBe("1152921504606846976");
    // The derived day column is recomputed by the destination, and the id counter carried over.
    expect(sqlite3(back, "SELECT sum(timestamp_ms) FROM resource_share_increments")).toBe(sqlite3(source, "SELECT sum(timestamp_ms) FROM resource_share_increments"));
    expect(sqlite3(back, "SELECT seq FROM sqlite_sequence WHERE name = 'resource_share_increments'")).toBe(
      sqlite3(source, "SELECT seq FROM sqlite_sequence WHERE name = 'resource_share_increments'"),
    );
    // The hourly rollup is not copied: the copy's starts empty, to be built from every copied report.
    const lastId = Number(sqlite3(source, "SELECT max(id) FROM resource_share_increments").trim());
    expect(sqlite3Rows(back, "SELECT rolled_through_id, built_through_id, build_until_id FROM usage_hourly_state")).toEqual([
      { rolled_through_id: lastId, built_through_id: 0, build_until_id: lastId },
    ]);
    expect(sqlite3(back, "SELECT count(*) FROM usage_hourly").trim()).toBe("0");
  });

  it("resumes: a second run copies only the rows the destination does not hold yet", async () => {
    const source = seededDatabase();
    const server = await startSqld();
    expect((await copyInProcess(["--to", server.url], { DATABASE_URL: `file:${source}` })).code).toBe(0);
    sqlite3(source, "INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment) VALUES ('Late', '2026-11-28T10:00:00Z', 'autonomy', 7), ('Late', '2026-11-28T10:01:00Z', 'autonomy', 8)");

    const again = await copyInProcess(["--to", server.url], { DATABASE_URL: `file:${source}` });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain("resource_share_increments: 2 rows copied, 1,201 already there");
    expect(again.stdout).toMatch(/resource_share_increments\s+1,203\s+1,203\s+2\s+1,201/);
    const reader = await openDatabase({ url: server.url });
    try {
      const rs = await reader.client.execute("SELECT count(*) AS n, sum(cache_read_increment) AS t FROM resource_share_increments WHERE claude_name = 'Late'");
      expect({ ...rs.rows[0] }).toEqual({ n: 2, t: 15 });
    } finally {
      reader.close();
    }
  });

  it("refuses a libSQL server holding rows the source does not, writing nothing to it", async () => {
    const source = seededDatabase();
    const server = await startSqld();
    const other = await runInvoke("ingest", '{"claude_name":"Someone-Else","cache_read_increment":5,"mode":"autonomy"}', { DATABASE_URL: server.url });
    expect(other.code, other.stderr).toBe(0);
    const reader = await openDatabase({ url: server.url });
    await reader.client.execute("UPDATE resource_share_increments SET id = 99999 WHERE claude_name = 'Someone-Else'");
    const everything = async () =>
      Promise.all(TABLES.map(async (t) => (await reader.client.execute(`SELECT * FROM ${t} ORDER BY rowid`)).rows.map((r) => ({ ...r }))));
    const before = await everything();

    const r = await copyInProcess(["--to", server.url], { DATABASE_URL: `file:${source}` });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    // Its identity took id 1, which the source gives Sparkle-Orange.
    expect(r.stderr).toContain('claude_identities: 1 row(s); the first, id 1: name "Someone-Else" there, "Sparkle-Orange" in the source');
    expect(r.stderr).toContain("resource_share_increments: 1 row(s); the first, id 99999 is not in the source");
    expect(r.stderr).toContain("Nothing was written. Copy into an empty database");
    expect(await everything()).toEqual(before);
    reader.close();
  });

  it("refuses a file destination with another agent's report under the source's id, as the README's first user met it, changing nothing", async () => {
    const [source, destination] = [tempDatabasePath(), tempDatabasePath()];
    expect((await runInvoke("ingest", '{"claude_name":"Src","cache_read_increment":5,"mode":"autonomy"}', { DATABASE_URL: `file:${source}` })).code).toBe(0);
    expect((await runInvoke("ingest", '{"claude_name":"Other","cache_read_increment":7,"mode":"autonomy"}', { DATABASE_URL: `file:${destination}` })).code).toBe(0);
    const before = TABLES.map((t) => dump(destination, t));

    const r = await copyInProcess(["--to", `file:${destination}`], { DATABASE_URL: `file:${source}` });
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain("Verified");
    expect(r.stderr).toContain('resource_share_increments: 1 row(s); the first, id 1: claude_name "Other" there, "Src" in the source');
    expect(TABLES.map((t) => dump(destination, t))).toEqual(before);
    expect(sqlite3(destination, "SELECT claude_name FROM resource_share_increments").trim()).toBe("Other");
  });

  it("refuses a destination with more rows than the source before replacing the ones they share", async () => {
    const source = seededDatabase();
    const destination = seededDatabase();
    // The destination is another history that shares the source's first ids, and goes further.
    sqlite3(destination, "UPDATE resource_share_increments SET cache_read_increment = cache_read_increment + 1 WHERE id = 600");
    sqlite3(destination, "INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment) VALUES ('Elsewhere', '2026-11-28T10:00:00Z', 'autonomy', 3)");
    const before = TABLES.map((t) => dump(destination, t));

    const r = await copyInProcess(["--to", `file:${destination}`, "--chunk", "100"], { DATABASE_URL: `file:${source}` });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/resource_share_increments: 2 row\(s\); the first, id 600: cache_read_increment \d+ there, \d+ in the source/);
    expect(TABLES.map((t) => dump(destination, t))).toEqual(before);
  });

  it("carries on from an interrupted copy: the rows it wrote and the migrations' own row are taken as its own", async () => {
    const source = seededDatabase();
    const destination = tempDatabasePath();
    expect((await copyInProcess(["--to", `file:${destination}`], { DATABASE_URL: `file:${source}` })).code).toBe(0);
    // What a run stopped in resource_share_increments leaves: its first chunks (ids up to 500, 7 deleted), nothing of the later tables
    // but the row the migrations created.
    sqlite3(
      destination,
      `DELETE FROM resource_share_increments WHERE id > 500; DELETE FROM daily_resource_share; DELETE FROM fair_allocations;
       DELETE FROM closed_days; UPDATE aggregation_state SET checked_through_id = 0`,
    );

    const again = await copyInProcess(["--to", `file:${destination}`, "--chunk", "100"], { DATABASE_URL: `file:${source}` });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("Verified");
    expect(again.stderr).toContain("resource_share_increments: 702 rows copied, 499 already there");
    expect(again.stderr).toContain("aggregation_state: 1 rows copied, 0 already there");
    for (const table of TABLES) expect(dump(destination, table), table).toBe(dump(source, table));
  });

  it("refuses a copy onto itself, without a destination, with a bad chunk, to an unreachable server or into a missing folder, changing nothing", async () => {
    const source = seededDatabase();
    const before = dump(source, "resource_share_increments");
    // Four refusals, independent of each other: run side by side.
    const [self, none, chunk, unreachable] = await Promise.all([
      runRunner(["copy", "--to", `file:${source}`], { DATABASE_URL: `file:${source}` }),
      runRunner(["copy"], { DATABASE_URL: `file:${source}` }),
      runRunner(["copy", "--to", "http://127.0.0.1:9", "--chunk", "0"], { DATABASE_URL: `file:${source}` }),
      runRunner(["copy", "--to", "http://127.0.0.1:9"], { DATABASE_URL: `file:${source}` }),
    ]);
    expect(self.code).toBe(1);
    expect(self.stderr).toContain("is the database in DATABASE_URL itself");
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("Name the destination with --to URL");
    expect(chunk.code).toBe(1);
    expect(chunk.stderr).toContain("--chunk must be a whole number of rows from 1 to 5000");
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain("The destination: Cannot reach the libSQL server in --to");
    expect(unreachable.stderr).toContain("COPY_TO_AUTH_TOKEN");
    const nowhere = await runRunner(["copy", "--to", `file:${source}-missing-folder/copy.db`], { DATABASE_URL: `file:${source}` });
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toContain("or set --to to a file in an existing directory");
    expect(nowhere.stderr).not.toContain("DATABASE_URL");
    expect(dump(source, "resource_share_increments")).toBe(before);
  });

});
