import { describe, expect, it } from "vitest";
import { aggregateDay } from "../../functions/aggregateDay.ts";
import { dashboard } from "../../functions/dashboard.ts";
import { ROLL_UP_NEW } from "../../shared/rollup.ts";
import { testContext } from "../support/context.ts";
import { openTestDatabase } from "../support/database.ts";
import { insertIncrements } from "../support/increments.ts";

// 2026-03-29 is the day London's clocks go forward: 23 hours, no 01:00.
// Now is 12:00 BST (11:00 UTC) that day.
const LONDON = { now: "2026-03-29T11:00:00Z", timeZone: "Europe/London" };

describe("dashboard", () => {
  it("counts today by local hour on a 23-hour day and sums periods from closed and live days alike", async () => {
    const db = await openTestDatabase();
    await db.client.execute("INSERT INTO claude_identities (name) VALUES ('Never-Reported')");
    await insertIncrements(db.db, [
      // 00:30 GMT, and 02:30 BST (01:30 UTC): the second local hour of the day.
      { claude_name: "Sparkle-Orange", timestamp: "2026-03-29T00:30:00.000Z", mode: "autonomy", cache_read_increment: 10, cost_delta: 0.5 },
      { claude_name: "Sparkle-Orange", timestamp: "2026-03-29T01:30:00.000Z", mode: "collaboration", cache_read_increment: 20 },
      // Yesterday (closed below), 6 days ago (in the week), 29 days ago (in the month only), 30 days ago (in neither).
      { claude_name: "Quill-Blue", timestamp: "2026-03-28 12:00:00", mode: "autonomy", cache_read_increment: 300 },
      { claude_name: "Quill-Blue", timestamp: "2026-03-23T12:00:00.000Z", mode: "collaboration", cache_read_increment: 4000 },
      { claude_name: "Quill-Blue", timestamp: "2026-02-28T12:00:00.000Z", mode: "autonomy", cache_read_increment: 50000 },
      { claude_name: "Quill-Blue", timestamp: "2026-02-27T12:00:00.000Z", mode: "autonomy", cache_read_increment: 600000 },
    ]);
    expect((await aggregateDay({ date: "2026-03-28" }, testContext(db.db, LONDON))).ok).toBe(true);

    const result = await dashboard({}, testContext(db.db, LONDON));
    if (!result.ok) throw new Error(result.error.message);
    const d = result.value;
    expect(d.today).toBe("2026-03-29");
    expect(d.period_starts).toEqual({ today: "2026-03-29", week: "2026-03-23", month: "2026-02-28" });
    expect(d.hourly).toHaveLength(23);
    expect(d.hourly.slice(0, 3).map((h) => [h.label, h.autonomous_tokens, h.collaborative_tokens])).toEqual([
      ["00:00", 10, 0],
      ["02:00", 0, 20],
      ["03:00", 0, 0],
    ]);
    const agent = (name: string) => d.agents.find((a) => a.claude_name === name)!;
    expect(d.agents.map((a) => a.claude_name)).toEqual(["Never-Reported", "Quill-Blue", "Sparkle-Orange"]);
    expect(agent("Never-Reported").last_report_ms).toBeNull();
    expect(agent("Sparkle-Orange").last_report_ms).toBe(Date.parse("2026-03-29T01:30:00Z"));
    expect(agent("Sparkle-Orange").periods.today).toMatchObject({ autonomous_tokens: 10, collaborative_tokens: 20, total_tokens: 30, autonomous_cost: 0.5 });
    expect(agent("Quill-Blue").periods.today.total_tokens).toBe(0);
    expect(agent("Quill-Blue").periods.week).toMatchObject({ autonomous_tokens: 300, collaborative_tokens: 4000 });
    expect(agent("Quill-Blue").periods.month).toMatchObject({ autonomous_tokens: 50300, collaborative_tokens: 4000 });
    expect(d.family.month.total_tokens).toBe(54330);
    expect(d.daily.find((r) => r.date === "2026-03-28")).toMatchObject({ claude_name: "Quill-Blue", closed: true, total_tokens: 300 });

    // The same once the webhook has rolled the reports up: today's hours then come from usage_hourly.
    await db.db.batch(ROLL_UP_NEW, "write");
    const rolled = await dashboard({}, testContext(db.db, LONDON));
    if (!rolled.ok) throw new Error(rolled.error.message);
    expect(rolled.value.hourly).toEqual(d.hourly);
    expect(rolled.value.agents).toEqual(d.agents);
    // A report not rolled up yet, in an hour the rollup holds: both count, once each.
    await insertIncrements(db.db, [{ claude_name: "Quill-Blue", timestamp: "2026-03-29T00:45:00.000Z", mode: "autonomy", cache_read_increment: 5 }]);
    const later = await dashboard({}, testContext(db.db, LONDON));
    if (!later.ok) throw new Error(later.error.message);
    expect(later.value.hourly.slice(0, 2).map((h) => [h.label, h.autonomous_tokens, h.collaborative_tokens])).toEqual([
      ["00:00", 15, 0],
      ["02:00", 0, 20],
    ]);
  });

  it("refuses input it does not understand, naming the problem", async () => {
    const db = await openTestDatabase();
    const result = await dashboard("today please", testContext(db.db, LONDON));
    expect(result).toMatchObject({ ok: false, error: { code: "invalid_input" } });
  });
});
