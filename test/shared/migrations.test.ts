import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sumDay } from "../../functions/daySums.ts";
import { openDatabase } from "../../runner/platform/libsql-client.ts";
import { MIGRATIONS, SCHEMA_VERSION, migrate } from "../../shared/migrations.ts";
import { sqlite3, sqlite3Rows, tempDatabasePath, tempDir } from "../support/database.ts";
import { webhookApp } from "../support/apps.ts";
import { runInvoke } from "../support/server.ts";
import { firstVersionTables } from "../support/seed-schema.ts";

/**
 * A database as the original Python system left it: the seed's tables with
 * only their original columns, SQLite's own `CURRENT_TIMESTAMP` text
 * (`YYYY-MM-DD HH:MM:SS`, UTC) in `timestamp`, written by the sqlite3 CLI.
 */
const SEED_SCHEMA = `${firstVersionTables()}
INSERT INTO claude_identities (name, first_seen, last_seen, active) VALUES
  ('Sparkle-Orange', '2025-12-16 10:00:00', '2026-01-02 03:04:05', 1),
  ('Quiet-Teal', '2025-12-17 08:30:00', '2026-01-01 23:59:59', 0);
INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment, context_percentage) VALUES
  ('Sparkle-Orange', '2026-01-02 03:04:05', 'autonomy', 1000, NULL),
  ('Sparkle-Orange', '2026-01-02 23:30:00', 'collaboration', 250, 61.5),
  ('Quiet-Teal', '2026-01-01 23:59:59', 'autonomy', 40, 12.0),
  ('Quiet-Teal', '2026-01-02 00:00:00', 'collaboration', 2, NULL);
INSERT INTO daily_resource_share (claude_name, date, autonomous_tokens, collaborative_tokens, total_tokens, last_updated) VALUES
  ('Sparkle-Orange', '2026-01-01', 500, 100, 600, '2026-01-02 00:00:01'),
  ('Quiet-Teal', '2026-01-01', 40, 0, 40, '2026-01-02 00:00:01');
INSERT INTO fair_allocations (claude_name, date, fair_share_tokens, used_tokens) VALUES ('Sparkle-Orange', '2026-01-01', 300, 600);
`;

const SEED_COLUMNS: Record<string, string> = {
  claude_identities: "id, name, first_seen, last_seen, active",
  resource_share_increments: "id, claude_name, timestamp, mode, cache_read_increment, context_percentage",
  daily_resource_share: "id, claude_name, date, autonomous_tokens, collaborative_tokens, total_tokens, last_updated",
  fair_allocations: "id, claude_name, date, fair_share_tokens, used_tokens",
};

function seedDatabase(path: string): void {
  sqlite3(path, SEED_SCHEMA);
}

/** Every seed column of every row of every table, as sqlite3 shows them. */
function seedContents(path: string): Record<string, unknown[]> {
  return Object.fromEntries(
    Object.entries(SEED_COLUMNS).map(([table, cols]) => [table, sqlite3Rows(path, `SELECT ${cols} FROM ${table} ORDER BY id`)]),
  );
}

const columnsOf = (path: string, table: string) =>
  sqlite3Rows<{ name: string }>(path, `SELECT name FROM pragma_table_xinfo('${table}')`).map((r) => r.name);

/** The schema as text: what a no-op migration must leave exactly as it was. */
const schemaText = (path: string) => sqlite3(path, "SELECT type, name, sql FROM sqlite_master ORDER BY type, name");

async function migrateFile(path: string) {
  const db = await openDatabase({ url: `file:${path}` });
  try {
    return await migrate(db.client);
  } finally {
    db.close();
  }
}

describe("adopting a database of the original Python system", () => {
  it("keeps every row, adds the missing columns and records the schema version", async () => {
    const path = tempDatabasePath();
    seedDatabase(path);
    const before = seedContents(path);
    expect(before.resource_share_increments).toHaveLength(4);

    const report = await migrateFile(path);
    expect(report).toEqual({ from: 0, to: SCHEMA_VERSION, applied: MIGRATIONS.map((m) => `${m.version}: ${m.name}`) });

    expect(seedContents(path)).toEqual(before);
    expect(columnsOf(path, "resource_share_increments")).toEqual(
      expect.arrayContaining(["cost_delta", "event_id", "received_at", "host", "timestamp_ms"]),
    );
    expect(columnsOf(path, "daily_resource_share")).toEqual(
      expect.arrayContaining(["autonomous_cost", "collaborative_cost", "total_cost", "autonomous_reports", "collaborative_reports", "report_count"]),
    );
    expect(columnsOf(path, "fair_allocations")).toEqual(expect.arrayContaining(["calculated_at"]));
    // The added columns of old rows are empty or their defaults, not invented values.
    expect(sqlite3Rows(path, "SELECT DISTINCT cost_delta, event_id, received_at, host FROM resource_share_increments")).toEqual([
      { cost_delta: null, event_id: null, received_at: null, host: null },
    ]);
    expect(sqlite3Rows(path, "SELECT DISTINCT total_cost, report_count FROM daily_resource_share")).toEqual([{ total_cost: 0, report_count: 0 }]);
    expect(sqlite3Rows(path, "SELECT max(version) AS v FROM schema_migrations")).toEqual([{ v: SCHEMA_VERSION }]);
  });

  it("gives every agent a weight of 1 and no pause, and adds the quota table the shell can read", async () => {
    const path = tempDatabasePath();
    seedDatabase(path);
    await migrateFile(path);
    expect(sqlite3Rows(path, "SELECT name, weight, paused_until, note FROM claude_identities ORDER BY name")).toEqual([
      { name: "Quiet-Teal", weight: 1, paused_until: null, note: null },
      { name: "Sparkle-Orange", weight: 1, paused_until: null, note: null },
    ]);
    expect(sqlite3Rows(path, "SELECT DISTINCT recommended_interval FROM resource_share_increments")).toEqual([{ recommended_interval: null }]);
    sqlite3(path, "INSERT INTO quota_observations (observed_at, window, used_percentage, resets_at, source, received_at) VALUES ('2026-01-02T10:00:00.000Z', 'seven_day', 63, '2026-01-05T18:00:00.000Z', 'shell', '2026-01-02T10:00:01.000Z')");
    expect(sqlite3Rows(path, "SELECT window, used_percentage FROM quota_observations WHERE window = 'seven_day' ORDER BY observed_at")).toEqual([
      { window: "seven_day", used_percentage: 63 },
    ]);
    expect(sqlite3(path, "EXPLAIN QUERY PLAN SELECT * FROM quota_observations WHERE window = 'five_hour' ORDER BY observed_at DESC LIMIT 1")).toMatch(/quota_observations_window_time/);
  });

  it("counts old 'YYYY-MM-DD HH:MM:SS' rows (UTC) in the right local day", async () => {
    const path = tempDatabasePath();
    seedDatabase(path);
    await migrateFile(path);
    expect(sqlite3Rows(path, "SELECT timestamp, timestamp_ms FROM resource_share_increments ORDER BY id")).toEqual([
      { timestamp: "2026-01-02 03:04:05", timestamp_ms: Date.UTC(2026, 0, 2, 3, 4, 5) },
      { timestamp: "2026-01-02 23:30:00", timestamp_ms: Date.UTC(2026, 0, 2, 23, 30, 0) },
      { timestamp: "2026-01-01 23:59:59", timestamp_ms: Date.UTC(2026, 0, 1, 23, 59, 59) },
      { timestamp: "2026-01-02 00:00:00", timestamp_ms: Date.UTC(2026, 0, 2, 0, 0, 0) },
    ]);

    const db = await openDatabase({ url: `file:${path}` });
    try {
      const totals = async (day: string, zone: string) =>
        Object.fromEntries((await sumDay(db.db, day, zone)).map((r) => [r.claude_name, [r.autonomous_tokens, r.collaborative_tokens]]));
      // UTC: the midnight row belongs to the 2nd, the second before it to the 1st.
      expect(await totals("2026-01-01", "UTC")).toEqual({ "Quiet-Teal": [40, 0] });
      expect(await totals("2026-01-02", "UTC")).toEqual({ "Quiet-Teal": [0, 2], "Sparkle-Orange": [1000, 250] });
      // New York (UTC-5 in January): 03:04 and 00:00 UTC on the 2nd are still the 1st there.
      expect(await totals("2026-01-01", "America/New_York")).toEqual({ "Quiet-Teal": [40, 2], "Sparkle-Orange": [1000, 0] });
      expect(await totals("2026-01-02", "America/New_York")).toEqual({ "Sparkle-Orange": [0, 250] });
      // Tokyo (UTC+9): 23:30 UTC on the 2nd is the 3rd.
      expect(await totals("2026-01-03", "Asia/Tokyo")).toEqual({ "Sparkle-Orange": [0, 250] });
    } finally {
      db.close();
    }
  });

  it("is a no-op the second time: nothing applied, schema and rows unchanged", async () => {
    const path = tempDatabasePath();
    seedDatabase(path);
    await migrateFile(path);
    const schema = schemaText(path);
    const rows = seedContents(path);
    const again = await migrateFile(path);
    expect(again).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION, applied: [] });
    expect(schemaText(path)).toBe(schema);
    expect(seedContents(path)).toEqual(rows);
    expect(sqlite3Rows(path, "SELECT count(*) AS n FROM schema_migrations")).toEqual([{ n: MIGRATIONS.length }]);
  });

  it("takes new reports through the real webhook after adoption, beside the old rows", async () => {
    const path = tempDatabasePath();
    seedDatabase(path);
    const before = seedContents(path);
    const webhook = await webhookApp({ DATABASE_URL: `file:${path}` });
    const first = await webhook.post("/resource-share/increment", {
      claude_name: "Sparkle-Orange", cache_read_increment: 5, mode: "autonomy", event_id: "after-adoption",
    });
    const again = await webhook.post("/resource-share/increment", {
      claude_name: "Sparkle-Orange", cache_read_increment: 5, mode: "autonomy", event_id: "after-adoption",
    });
    expect([first.status, again.status]).toEqual([200, 200]);
    expect(again.body.id).toBe(first.body.id);
    await webhook.close();
    // Ids continue after the old ones; the old rows are untouched.
    expect(first.body.id).toBe(5);
    const after = seedContents(path);
    expect(after.resource_share_increments!.slice(0, 4)).toEqual(before.resource_share_increments);
    expect(after.resource_share_increments).toHaveLength(5);
    expect(after.claude_identities).toHaveLength(2);
    expect(after.daily_resource_share).toEqual(before.daily_resource_share);
  });

  it("is safe when several processes start on the same old database at once", async () => {
    const dir = tempDir();
    const path = join(dir, "resource_tracking.db");
    seedDatabase(path);
    const before = seedContents(path);
    const runs = await Promise.all([1, 2, 3].map(() => runInvoke("health", "{}", { DATABASE_URL: `file:${path}` })));
    for (const run of runs) {
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ schema_version: SCHEMA_VERSION, agents_registered: 2 });
    }
    expect(sqlite3Rows(path, "SELECT version FROM schema_migrations ORDER BY version")).toEqual(MIGRATIONS.map((m) => ({ version: m.version })));
    expect(seedContents(path)).toEqual(before);
    // Each column was added exactly once.
    const cols = columnsOf(path, "resource_share_increments");
    expect(new Set(cols).size).toBe(cols.length);
  });

  it("is safe when several processes create a new database at once", async () => {
    const path = tempDatabasePath();
    const runs = await Promise.all([1, 2, 3].map(() => runInvoke("health", "{}", { DATABASE_URL: `file:${path}` })));
    for (const run of runs) expect([run.code, run.stderr]).toEqual([0, ""]);
    expect(sqlite3Rows(path, "SELECT version FROM schema_migrations ORDER BY version")).toEqual(MIGRATIONS.map((m) => ({ version: m.version })));
    expect(sqlite3(path, "PRAGMA journal_mode").trim()).toBe("wal");
  });
});

describe("migration 4: the idempotency index holds only rows with an event id", () => {
  it("rebuilds the index of a version-3 database as partial, keeping every row, and event ids still count once", async () => {
    const path = tempDatabasePath();
    const db = await openDatabase({ url: `file:${path}` });
    try {
      await migrate(db.client);
      // Back to what versions 1 to 3 left: the index over every row.
      sqlite3(
        path,
        `DROP INDEX increments_event;
         CREATE UNIQUE INDEX increments_event ON resource_share_increments (claude_name, event_id);
         DELETE FROM schema_migrations WHERE version >= 4;
         INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment, event_id) VALUES
           ('Sparkle-Orange', '2026-03-01T10:00:00.000Z', 'autonomy', 10, NULL),
           ('Sparkle-Orange', '2026-03-01T10:00:30.000Z', 'autonomy', 20, NULL),
           ('Sparkle-Orange', '2026-03-01T10:01:00.000Z', 'collaboration', 30, 'e-1');`,
      );
      const before = sqlite3Rows(path, "SELECT * FROM resource_share_increments ORDER BY id");
      const report = await migrate(db.client);
      expect(report).toMatchObject({ from: 3, to: SCHEMA_VERSION });
      expect(report.applied).toContain("4: reports without an event id stay out of the idempotency index");
      expect(sqlite3(path, "SELECT sql FROM sqlite_master WHERE name = 'increments_event'")).toMatch(/WHERE event_id IS NOT NULL/);
      expect(sqlite3Rows(path, "SELECT * FROM resource_share_increments ORDER BY id")).toEqual(before);
      // The index holds the one row with an event id; the sqlite3 CLI reads it, as people do.
      expect(sqlite3Rows(path, "SELECT count(*) AS n FROM resource_share_increments INDEXED BY increments_event WHERE event_id IS NOT NULL")).toEqual([{ n: 1 }]);
      // The same event id is refused by the index; reports without one are all kept.
      expect(() =>
        sqlite3(path, "INSERT INTO resource_share_increments (claude_name, timestamp, mode, event_id) VALUES ('Sparkle-Orange', '2026-03-01T10:02:00.000Z', 'autonomy', 'e-1')"),
      ).toThrow(/UNIQUE/);
      sqlite3(path, "INSERT INTO resource_share_increments (claude_name, timestamp, mode) VALUES ('Sparkle-Orange', '2026-03-01T10:02:00.000Z', 'autonomy')");
      expect(sqlite3Rows(path, "SELECT count(*) AS n FROM resource_share_increments WHERE event_id IS NULL")).toEqual([{ n: 3 }]);
    } finally {
      db.close();
    }
  });
});

describe("migrations numbered on branches built at the same time", () => {
  it("applies a migration missing below the highest one applied, as version 5 will be on a database that got version 6 first", async () => {
    const path = tempDatabasePath();
    const db = await openDatabase({ url: `file:${path}` });
    try {
      await migrate(db.client);
      // A database that has every migration but version 4, as one that ran a branch without it would be.
      sqlite3(
        path,
        `DROP INDEX increments_event;
         CREATE UNIQUE INDEX increments_event ON resource_share_increments (claude_name, event_id);
         DELETE FROM schema_migrations WHERE version = 4;`,
      );
      const report = await migrate(db.client);
      expect(report.applied).toEqual(["4: reports without an event id stay out of the idempotency index"]);
      expect(sqlite3(path, "SELECT sql FROM sqlite_master WHERE name = 'increments_event'")).toMatch(/WHERE event_id IS NOT NULL/);
      expect(await migrate(db.client)).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION, applied: [] });
    } finally {
      db.close();
    }
  });
});
