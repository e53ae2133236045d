import { describe, expect, it } from "vitest";
import { ingest } from "../../../functions/ingest.ts";
import { ingestBatch } from "../../../functions/ingestBatch.ts";
import { quota } from "../../../functions/quota/quota.ts";
import { recordQuota } from "../../../functions/quota/recordQuota.ts";
import { DEFAULT_ADVICE } from "../../../shared/advice-settings.ts";
import { testContext } from "../../support/context.ts";
import { openTestDatabase, sqlite3, sqlite3Rows } from "../../support/database.ts";
import { insertIncrements } from "../../support/increments.ts";

// Saturday 5 December 2026, 12:00 UTC.
const NOW = "2026-12-05T12:00:00.000Z";
const rowsOf = (path: string) => sqlite3Rows(path, "SELECT observed_at, window, used_percentage, resets_at, source FROM quota_observations ORDER BY id");

describe("recordQuota", () => {
  it("stores one observation or an array, resets as ISO-8601 or epoch seconds, observed now unless told", async () => {
    const db = await openTestDatabase();
    const one = await recordQuota({ window: "seven_day", used_percentage: 63, resets_at: "2026-12-10T19:00:00+01:00" }, testContext(db.db, { now: NOW }));
    expect(one).toEqual({ ok: true, value: { status: "success", stored: 1, ignored: [] } });
    const many = await recordQuota(
      [
        { window: "five_hour", used_percentage: 41.5, resets_at: Date.parse("2026-12-05T14:00:00Z") / 1000, observed_at: "2026-12-05T11:30:00Z", source: "scraper" },
        { window: "seven_day_sonnet", used_percentage: 0, resets_at: "2026-12-10T18:00:00Z" },
      ],
      testContext(db.db, { now: NOW }),
    );
    expect(many).toMatchObject({ ok: true, value: { stored: 2, ignored: [] } });
    expect(rowsOf(db.path)).toEqual([
      { observed_at: NOW, window: "seven_day", used_percentage: 63, resets_at: "2026-12-10T18:00:00.000Z", source: "api" },
      { observed_at: "2026-12-05T11:30:00.000Z", window: "five_hour", used_percentage: 41.5, resets_at: "2026-12-05T14:00:00.000Z", source: "scraper" },
      { observed_at: NOW, window: "seven_day_sonnet", used_percentage: 0, resets_at: "2026-12-10T18:00:00.000Z", source: "api" },
    ]);
  });

  it("ignores a reading from the future or of a window that has reset since, and says which and why", async () => {
    const db = await openTestDatabase();
    const result = await recordQuota(
      [
        { window: "seven_day", used_percentage: 10, resets_at: "2026-12-10T18:00:00Z", observed_at: "2026-12-05T12:00:50Z" },
        { window: "seven_day", used_percentage: 10, resets_at: "2026-12-10T18:00:00Z", observed_at: "2026-12-05T12:05:00Z" },
        { window: "five_hour", used_percentage: 99, resets_at: "2026-12-05T11:59:00Z", observed_at: "2026-12-05T09:00:00Z" },
      ],
      testContext(db.db, { now: NOW }),
    );
    if (!result.ok) throw new Error(result.error.message);
    expect(result.value.stored).toBe(1);
    expect(result.value.ignored).toEqual([
      { index: 1, window: "seven_day", reason: expect.stringMatching(/future/) },
      { index: 2, window: "five_hour", reason: expect.stringMatching(/resets_at has passed/) },
    ]);
    expect(rowsOf(db.path)).toHaveLength(1);
  });

  const bad: [string, unknown, string][] = [
    ["a percentage over 100", { window: "seven_day", used_percentage: 100.1, resets_at: "2026-12-10T18:00:00Z" }, "used_percentage"],
    ["a negative percentage", { window: "seven_day", used_percentage: -1, resets_at: "2026-12-10T18:00:00Z" }, "used_percentage"],
    ["a percentage as text", { window: "seven_day", used_percentage: "63", resets_at: "2026-12-10T18:00:00Z" }, "used_percentage"],
    ["a reset that is not a time", { window: "seven_day", used_percentage: 63, resets_at: "next Thursday" }, "resets_at"],
    ["a reset without an offset", { window: "seven_day", used_percentage: 63, resets_at: "2026-12-10T18:00:00" }, "resets_at"],
    ["a reset in milliseconds", { window: "seven_day", used_percentage: 63, resets_at: 1765389600000 }, "resets_at"],
    ["an unknown window", { window: "monthly", used_percentage: 63, resets_at: "2026-12-10T18:00:00Z" }, "window"],
    ["a window family in capitals", { window: "seven_day_Opus", used_percentage: 63, resets_at: "2026-12-10T18:00:00Z" }, "window"],
    ["an observed_at that is not a time", { window: "seven_day", used_percentage: 63, resets_at: "2026-12-10T18:00:00Z", observed_at: "now" }, "observed_at"],
  ];
  it.each(bad)("refuses %s naming the field, and stores nothing", async (_what, observation, field) => {
    const db = await openTestDatabase();
    const good = { window: "five_hour", used_percentage: 1, resets_at: "2026-12-05T14:00:00Z" };
    const single = await recordQuota(observation, testContext(db.db, { now: NOW }));
    expect(single).toMatchObject({ ok: false, error: { code: "invalid_input", issues: [expect.objectContaining({ field })] } });
    const inArray = await recordQuota([good, observation], testContext(db.db, { now: NOW }));
    expect(inArray).toMatchObject({ ok: false, error: { issues: [expect.objectContaining({ field: `[1].${field}` })] } });
    expect(rowsOf(db.path)).toEqual([]);
  });
});

describe("quota", () => {
  it("estimates a window between readings from the family's usage, calibrated by two readings of the same period", async () => {
    const db = await openTestDatabase();
    const resets = "2026-12-10T18:00:00Z";
    await recordQuota({ window: "seven_day", used_percentage: 20, resets_at: resets, observed_at: "2026-12-05T08:00:00Z" }, testContext(db.db, { now: NOW }));
    await insertIncrements(db.db, [{ claude_name: "A", timestamp: "2026-12-05T09:00:00.000Z", mode: "autonomy", cache_read_increment: 1_000_000 }]);
    await recordQuota({ window: "seven_day", used_percentage: 40, resets_at: resets, observed_at: "2026-12-05T10:00:00Z" }, testContext(db.db, { now: NOW }));
    // 1M tokens moved it 20 points: 50,000 a point; 500,000 more since are 10 points.
    await insertIncrements(db.db, [{ claude_name: "B", timestamp: "2026-12-05T11:00:00.000Z", mode: "collaboration", cache_read_increment: 500_000 }]);
    const result = await quota({}, testContext(db.db, { now: NOW }));
    expect(result).toEqual({
      ok: true,
      value: { windows: [{ window: "seven_day", used_percentage: 50, estimated: true, resets_at: "2026-12-10T18:00:00.000Z", source: "api", observed_at: "2026-12-05T10:00:00.000Z" }] },
    });
  });

  it("calibrates a window that has just reset by the period before, and knows a reset window until its next reading", async () => {
    const db = await openTestDatabase();
    const sql = (observed: string, percent: number, resets: string) =>
      db.db.execute({ sql: "INSERT INTO quota_observations (observed_at, window, used_percentage, resets_at, source, received_at) VALUES (?, 'seven_day', ?, ?, 'api', ?)", args: [observed, percent, resets, observed] });
    // Last week: 10 points for 2M tokens (200,000 a point); this week's first reading has not moved yet.
    await sql("2026-11-30T08:00:00.000Z", 60, "2026-12-03T18:00:00.000Z");
    await insertIncrements(db.db, [{ claude_name: "A", timestamp: "2026-12-01T09:00:00.000Z", mode: "autonomy", cache_read_increment: 2_000_000 }]);
    await sql("2026-12-02T08:00:00.000Z", 70, "2026-12-03T18:00:00.000Z");
    await sql("2026-12-04T08:00:00.000Z", 0, "2026-12-10T18:00:00.000Z");
    await insertIncrements(db.db, [{ claude_name: "A", timestamp: "2026-12-05T09:00:00.000Z", mode: "autonomy", cache_read_increment: 1_000_000 }]);
    const result = await quota({}, testContext(db.db, { now: NOW }));
    expect(result).toMatchObject({ ok: true, value: { windows: [{ window: "seven_day", used_percentage: 5, estimated: true }] } });
    // A week later, with no reading since its reset, the window is empty, not unknown.
    const week = await quota({}, testContext(db.db, { now: "2026-12-11T12:00:00.000Z" }));
    expect(week).toMatchObject({ ok: true, value: { windows: [{ window: "seven_day", used_percentage: 0, resets_at: "2026-12-17T18:00:00.000Z", source: "api, reset since" }] } });
  });

  it("reads the seed's quota_info table as the cron job writes it, skipping rows without a usable reset", async () => {
    const db = await openTestDatabase();
    sqlite3(
      db.path,
      `CREATE TABLE quota_info (timestamp TEXT PRIMARY KEY, session_5hour INTEGER, week_all INTEGER, week_sonnet INTEGER, session_5hour_reset, week_reset);
       INSERT INTO quota_info VALUES ('2026-12-05 10:00:00', 12, 50, 30, '2026-12-05T13:00:00+00:00', ${Date.parse("2026-12-10T18:00:00Z") / 1000});
       INSERT INTO quota_info VALUES ('2026-12-05 11:30:00', 35, NULL, NULL, 'soon', NULL);`,
    );
    const result = await quota({}, testContext(db.db, { now: NOW }));
    if (!result.ok) throw new Error(result.error.message);
    expect(result.value.windows.map((w) => [w.window, w.used_percentage, w.resets_at, w.source, w.observed_at])).toEqual([
      ["five_hour", 12, "2026-12-05T13:00:00.000Z", "quota_info", "2026-12-05T10:00:00.000Z"],
      ["seven_day", 50, "2026-12-10T18:00:00.000Z", "quota_info", "2026-12-05T10:00:00.000Z"],
      ["seven_day_sonnet", 30, "2026-12-10T18:00:00.000Z", "quota_info", "2026-12-05T10:00:00.000Z"],
    ]);
  });

  it("falls back to a configured budget where no reading exists: the family's usage since the weekly reset over the budget", async () => {
    const db = await openTestDatabase();
    await insertIncrements(db.db, [
      // Before the reset of Monday 30 November 00:00 UTC: not in this period.
      { claude_name: "A", timestamp: "2026-11-29T23:00:00.000Z", mode: "autonomy", cache_read_increment: 9_000_000 },
      { claude_name: "A", timestamp: "2026-12-01T10:00:00.000Z", mode: "autonomy", cache_read_increment: 30_000_000 },
      { claude_name: "B", timestamp: "2026-12-04T10:00:00.000Z", mode: "collaboration", cache_read_increment: 20_000_000 },
    ]);
    const result = await quota({}, testContext(db.db, { now: NOW, advice: { ...DEFAULT_ADVICE, budgets: [{ window: "seven_day", amount: 200_000_000, unit: "tokens" }], weeklyReset: { weekday: 1, minutes: 0 } } }));
    expect(result).toMatchObject({
      ok: true,
      value: { windows: [{ window: "seven_day", used_percentage: 25, estimated: true, resets_at: "2026-12-07T00:00:00.000Z", source: "budget" }] },
    });
  });
});

describe("a report's rate_limits and its event id", () => {
  it("keeps the readings of a repeated report once: a repeat, alone or in a batch, changes nothing", async () => {
    const db = await openTestDatabase();
    const report = {
      claude_name: "Sparkle-Orange", cache_read_increment: 5, mode: "autonomy", event_id: "ev-1",
      rate_limits: { five_hour: { used_percentage: 41, resets_at: Date.parse("2026-12-05T14:00:00Z") / 1000 }, seven_day: { used_percentage: 63, resets_at: "2026-12-10T18:00:00Z" } },
    };
    expect(await ingest(report, testContext(db.db, { now: NOW }))).toMatchObject({ ok: true, value: { duplicate: false } });
    expect(await ingest(report, testContext(db.db, { now: NOW }))).toMatchObject({ ok: true, value: { duplicate: true } });
    expect(await ingestBatch([report, { ...report, event_id: "ev-2" }, { ...report, event_id: "ev-2" }], testContext(db.db, { now: NOW }))).toMatchObject({ ok: true, value: { stored: 1, duplicates: 2 } });
    expect(sqlite3Rows(db.path, "SELECT window, count(*) AS n FROM quota_observations GROUP BY window ORDER BY window")).toEqual([
      { window: "five_hour", n: 2 },
      { window: "seven_day", n: 2 },
    ]);
    // A report without an event id cannot be a repeat: its readings are kept every time.
    const { event_id: _, ...plain } = report;
    await ingest(plain, testContext(db.db, { now: NOW }));
    expect(sqlite3Rows(db.path, "SELECT count(*) AS n FROM quota_observations")).toEqual([{ n: 6 }]);
  });
});
