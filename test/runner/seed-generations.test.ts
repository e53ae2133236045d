import { describe, expect, it } from "vitest";
import { sqlite3, sqlite3Rows, tempDatabasePath } from "../support/database.ts";
import { firstVersionTables, laterVersionTables } from "../support/seed-schema.ts";
import { postJson, runInvoke, startRunner, waitForOutput } from "../support/server.ts";

/**
 * Databases of the original Python system's versions, as `npm start` finds
 * them in families' homes, written by the sqlite3 CLI from the seed's
 * description (resource-share-system.md) and what its versions added.
 * Each holds a few rows per table; all increments fall on 2026-01-02 (UTC),
 * and the daily table has a row from before the first increment.
 */
const FAIR_ALLOCATION_ROW = "INSERT INTO fair_allocations (claude_name, date, fair_share_tokens, used_tokens) VALUES ('Sparkle-Orange', '2025-12-20', 300, 600);";

/** The first version: its aggregation never writes total_tokens, SQLite computes it (VIRTUAL or STORED). */
const firstVersion = (totalTokens: "VIRTUAL" | "STORED") => `${firstVersionTables(totalTokens)}
${FAIR_ALLOCATION_ROW}
INSERT INTO claude_identities (name, first_seen, last_seen, active) VALUES
  ('Sparkle-Orange', '2025-12-16 10:00:00', '2026-01-02 23:30:00', 1),
  ('Quiet-Teal', '2025-12-17 08:30:00', '2026-01-02 00:00:00', 0);
INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment, context_percentage) VALUES
  ('Sparkle-Orange', '2026-01-02 03:04:05', 'autonomy', 1000, NULL),
  ('Sparkle-Orange', '2026-01-02 23:30:00', 'collaboration', 250, 61.5),
  ('Quiet-Teal', '2026-01-02 00:00:00', 'autonomy', 40, 12.0);
INSERT INTO daily_resource_share (claude_name, date, autonomous_tokens, collaborative_tokens, last_updated) VALUES
  ('Sparkle-Orange', '2025-12-20', 500, 100, '2025-12-21 00:00:01'),
  ('Sparkle-Orange', '2026-01-02', 1000, 250, '2026-01-03 00:00:01'),
  ('Quiet-Teal', '2026-01-02', 40, 0, '2026-01-03 00:00:01');
`;

/**
 * The later version (its tables: laterVersionTables), with rows in each.
 */
const LATER_VERSION = `${laterVersionTables()}
${FAIR_ALLOCATION_ROW}
INSERT INTO claude_identities (name, first_seen, last_seen, active, model, cost_multiplier) VALUES
  ('Sparkle-Orange', '2025-12-16 10:00:00', '2026-01-02 23:30:00', 1, 'opus', 5),
  ('Quiet-Teal', '2025-12-17 08:30:00', '2026-01-02 00:00:00', 0, 'sonnet', 1);
INSERT INTO resource_share_increments
  (claude_name, timestamp, mode, cache_read_increment, context_percentage, weighted_cost, recommended_interval, cost_delta, normalized_usage) VALUES
  ('Sparkle-Orange', '2026-01-02 03:04:05', 'autonomy', 1000, NULL, 5000, 900, 0.5, 0.1),
  ('Sparkle-Orange', '2026-01-02 23:30:00', 'collaboration', 250, 61.5, 1250, 1800, 0.25, 0.05),
  ('Quiet-Teal', '2026-01-02 00:00:00', 'autonomy', 40, 12.0, 40, 900, 0.125, 0.125);
INSERT INTO daily_resource_share
  (claude_name, date, autonomous_tokens, collaborative_tokens, total_tokens, last_updated, autonomous_cost, collaborative_cost, total_cost) VALUES
  ('Sparkle-Orange', '2025-12-20', 500, 100, 600, '2025-12-21 00:00:01', 1.5, 0.5, 2.0),
  ('Sparkle-Orange', '2026-01-02', 1000, 250, 1250, '2026-01-03 00:00:01', 0.5, 0.25, 0.75),
  ('Quiet-Teal', '2026-01-02', 40, 0, 40, '2026-01-03 00:00:01', 0.125, 0, 0.125);
INSERT INTO quota_info (timestamp, session_5hour, week_all, week_sonnet, session_5hour_reset, week_reset) VALUES
  ('2026-01-02 12:00:00', 42, 61, 17, '2026-01-02T15:00:00+00:00', '2026-01-05T09:00:00+00:00'),
  ('2026-01-02 18:00:00', 7, 66, 19, '2026-01-02T20:00:00+00:00', '2026-01-05T09:00:00+00:00');
`;

type Rows = Record<string, unknown>[];

/** Every column (generated ones included) of every row of every table, by table, as sqlite3 shows them. */
function contents(path: string): Record<string, { columns: string[]; rows: Rows }> {
  // wr: a WITHOUT ROWID table (the hourly rollup), read in its key's order.
  const tables = sqlite3Rows<{ name: string; wr: number }>(path, "SELECT name, wr FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name");
  return Object.fromEntries(
    tables.map(({ name, wr }) => {
      const columns = sqlite3Rows<{ name: string }>(path, `SELECT name FROM pragma_table_xinfo('${name}')`).map((c) => c.name);
      return [name, { columns, rows: sqlite3Rows(path, `SELECT ${columns.join(", ")} FROM ${name}${wr ? "" : " ORDER BY rowid"}`) }];
    }),
  );
}

const pick = (row: Record<string, unknown>, columns: string[]) => Object.fromEntries(columns.map((c) => [c, row[c]]));

describe.each([
  ["the first version, total_tokens a VIRTUAL generated column", firstVersion("VIRTUAL")],
  ["the first version, total_tokens a STORED generated column", firstVersion("STORED")],
  ["the later version, with costs, intervals and quota_info", LATER_VERSION],
])("npm start on a database of %s", (_, ddl) => {
  it("adopts it in place, then ingests, aggregates, queries and shows it, every original row and column kept", async () => {
    const path = tempDatabasePath();
    sqlite3(path, ddl);
    const before = contents(path);
    // The longest replay window: the report below is for a day next to the seed's, long past.
    const env = { DATABASE_URL: `file:${path}`, RESOURCE_SHARE_TZ: "UTC", RESOURCE_SHARE_REPLAY_DAYS: "3650" };

    // As `npm start` runs it: tsx, from source.
    const server = await startRunner("start", env, { waitFor: /viewer listening on (http:\/\/[\d.:]+)/, viaTsx: true });
    const webhook = /webhook listening on (http:\/\/[\d.:]+)/.exec(server.output())![1]!;
    // The catch-up at start closes every day since the first increment: the
    // aggregation runs on the adopted table (with a generated total_tokens too).
    await waitForOutput(server, /daily catch-up(: closed \d+ day| failed)/);
    expect(server.output()).not.toMatch(/daily catch-up failed/);

    // A report for a past day, one for now, and the past day closed again.
    for (const report of [
      { claude_name: "Sparkle-Orange", cache_read_increment: 7, mode: "autonomy", timestamp: "2026-01-03T12:00:00Z", cost_delta: 0.01 },
      { claude_name: "New-Agent", cache_read_increment: 3, mode: "collaboration" },
    ]) expect((await postJson(`${webhook}/resource-share/increment`, report)).status).toBe(200);
    const closed = await runInvoke("aggregateDay", '{"date":"2026-01-03"}', env);
    expect([closed.code, closed.stderr]).toEqual([0, "aggregateDay: closed 2026-01-03 (requested): 1 agent row [1/1]\n"]);
    expect(JSON.parse(closed.stdout)).toMatchObject({ days_closed: 1, rows_written: 1 });

    const daily = await fetch(`${webhook}/resource/daily?from=2025-12-20&to=2026-01-03`);
    expect(daily.status).toBe(200);
    const body = (await daily.json()) as { rows: { claude_name: string; date: string; total_tokens: number; closed: boolean }[] };
    expect(body.rows.map((r) => [r.date, r.claude_name, r.total_tokens, r.closed])).toEqual([
      ["2025-12-20", "Sparkle-Orange", 600, true],
      ["2026-01-02", "Quiet-Teal", 40, true],
      ["2026-01-02", "Sparkle-Orange", 1250, true],
      ["2026-01-03", "Sparkle-Orange", 7, true],
    ]);

    for (const page of ["/", "/tables", "/tables/daily_resource_share", "/tables/resource_share_increments", "/tables/claude_identities"]) {
      const res = await fetch(`${server.url}${page}`);
      expect([page, res.status]).toEqual([page, 200]);
      const html = await res.text();
      if (page === "/tables") for (const table of Object.keys(before)) expect(html).toContain(table);
    }
    if (before.quota_info) expect(await (await fetch(`${server.url}/tables/quota_info`)).text()).toContain("2026-01-05T09:00:00+00:00");
    expect(await server.stop()).toBe(0);

    // Every original table, column and row is still there with its values.
    const after = contents(path);
    for (const [table, { columns, rows }] of Object.entries(before)) {
      expect(after[table]!.columns.slice(0, columns.length)).toEqual(columns);
      const kept = after[table]!.rows.map((r) => pick(r, columns));
      if (table === "claude_identities") {
        // Reporting is what moves an agent's last_seen; nothing else changes.
        const reporter = kept.find((r) => r.name === "Sparkle-Orange")!;
        expect(String(reporter.last_seen) > "2026-01-02 23:30:00").toBe(true);
        expect(kept.slice(0, rows.length)).toEqual(rows.map((r) => (r.name === "Sparkle-Orange" ? { ...r, last_seen: reporter.last_seen } : r)));
        continue;
      }
      if (table !== "daily_resource_share") {
        expect(kept.slice(0, rows.length)).toEqual(rows);
        continue;
      }
      // The day before the first increment is the original's alone; a day
      // with increments is closed again from them, to the same sums.
      expect(kept.filter((r) => r.date === "2025-12-20")).toEqual(rows.filter((r) => r.date === "2025-12-20"));
      const sums = (list: Rows) =>
        list
          .filter((r) => r.date === "2026-01-02")
          .map((r) => pick(r, columns.filter((c) => /^(claude_name|date|.*_tokens|.*_cost)$/.test(c))))
          .sort((a, b) => String(a.claude_name).localeCompare(String(b.claude_name)));
      expect(sums(kept)).toEqual(sums(rows));
    }
    // A generated total_tokens stays generated.
    const hidden = (p: string) => sqlite3Rows(p, "SELECT hidden FROM pragma_table_xinfo('daily_resource_share') WHERE name = 'total_tokens'");
    expect(hidden(path)).toEqual(/GENERATED ALWAYS AS \(autonomous_tokens/.test(ddl) ? [{ hidden: /STORED/.test(ddl) ? 3 : 2 }] : [{ hidden: 0 }]);
    // The new reports sit beside the old rows.
    expect(sqlite3Rows(path, "SELECT claude_name, cache_read_increment FROM resource_share_increments WHERE id > 3 ORDER BY id")).toEqual([
      { claude_name: "Sparkle-Orange", cache_read_increment: 7 },
      { claude_name: "New-Agent", cache_read_increment: 3 },
    ]);
  }, 90_000);
});
