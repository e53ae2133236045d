import { describe, expect, it, vi } from "vitest";
import { daySumsStatement, dayRowsAsJson, parseDayRows, sumDays } from "../../functions/daySums.ts";
import { usageByHour } from "../../functions/usage.ts";
import { aggregateDay } from "../../functions/aggregateDay.ts";
import { queryDaily } from "../../functions/queryDaily.ts";
import { storeIncrements } from "../../functions/store.ts";
import type { IncrementRow } from "../../functions/report.ts";
import { buildRollup, ensureRollup, ROLL_UP_NEW, rollupProgress } from "../../shared/rollup.ts";
import { webhookApp } from "../support/apps.ts";
import { openStore, type TestStore } from "../support/backends.ts";
import { testContext } from "../support/context.ts";
import { ROLLUP_DIFFERENCES_SQL } from "../support/rollup.ts";

const differing = (store: TestStore) => Number(store.rows<{ differing: number }>(ROLLUP_DIFFERENCES_SQL)[0]!.differing);
const rollupRows = (store: TestStore) => store.rows("SELECT hour, claude_name, mode, tokens, cost, reports FROM usage_hourly ORDER BY hour_ms, claude_name, mode");

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

const row = (over: Partial<IncrementRow>): IncrementRow => ({
  claude_name: "Sparkle-Orange", timestamp: "2026-03-01T10:00:00.000Z", mode: "autonomy", cache_read_increment: 100,
  context_percentage: null, cost_delta: null, event_id: null, received_at: "2026-03-01T10:00:00.000Z", host: null, ...over,
});

/** Reports spread over two days at odd minutes, so half-hour and quarter-hour zones cut hours in two. */
function spread(from: number, n: number): IncrementRow[] {
  return Array.from({ length: n }, (_, i) => {
    const at = from + i * 7 * 60_000 + (i % 5) * 13_000;
    return row({
      claude_name: `Agent-${i % 4}`, mode: i % 3 === 0 ? "collaboration" : "autonomy", cache_read_increment: 10 + i,
      cost_delta: i % 4 === 0 ? null : (i % 7) / 100, timestamp: iso(at), received_at: iso(at),
    });
  });
}

/** A day's sums straight from the reports: what closing the day writes, and what the live reads gave before the rollup. */
async function rawDays(store: TestStore, days: string[], zone: string, name?: string) {
  const { sql, args } = daySumsStatement(days, zone, name);
  const rs = await store.db.execute({ sql: dayRowsAsJson(sql), args });
  return parseDayRows(rs.rows[0]?.day_rows);
}

describe("the hourly rollup", () => {
  it("equals the reports' sums after ordinary, late, batch and replayed reports, and a refused replay changes no row of it", async () => {
    const store = await openStore();
    const webhook = await webhookApp(store.env);
    const now = Date.now();
    const ok = (r: { status: number }) => expect(r.status).toBe(200);
    ok(await webhook.post("/resource-share/increment", { claude_name: "Sparkle-Orange", cache_read_increment: 1234, mode: "autonomy", cost_delta: 0.25 }));
    ok(await webhook.post("/resource-share/increment", { claude_name: "Quiet-Teal", cache_read_increment: 50, mode: "collaboration" }));
    // Late: two days and five hours ago, into hours long closed.
    ok(await webhook.post("/resource-share/increment", { claude_name: "Quiet-Teal", cache_read_increment: 70, mode: "autonomy", cost_delta: 0.1, event_id: "late-1", timestamp: iso(now - 53 * HOUR) }));
    const batch = Array.from({ length: 30 }, (_, i) => ({
      claude_name: `Agent-${i % 3}`, cache_read_increment: 100 + i, mode: i % 2 ? "autonomy" : "collaboration",
      cost_delta: i / 100, event_id: `b-${i}`, timestamp: iso(now - (i % 6) * HOUR - i * 1000),
    }));
    const first = await webhook.post("/resource-share/increments", batch);
    ok(first);
    expect(first.body.stored).toBe(30);
    // The webhook rolls its commits up within a second.
    await vi.waitFor(() => expect(differing(store)).toBe(0), { timeout: 5000, interval: 100 });
    expect(store.rows("SELECT sum(reports) AS n FROM usage_hourly")).toEqual([{ n: 33 }]);

    const before = rollupRows(store);
    const again = await webhook.post("/resource-share/increments", [...batch.slice(0, 10), batch[0]]);
    ok(again);
    expect(again.body.duplicates).toBe(11);
    ok(await webhook.post("/resource-share/increment", { claude_name: "Quiet-Teal", cache_read_increment: 70, mode: "autonomy", cost_delta: 0.1, event_id: "late-1", timestamp: iso(now - 53 * HOUR) }));
    // Closing rolls up whatever is left.
    await webhook.close();
    expect(rollupRows(store)).toEqual(before);
    expect(differing(store)).toBe(0);
  });

  it("gives the live day sums the reports give, in zones 30 and 45 minutes off UTC and on a 23-hour day, reports the shell inserted included", async () => {
    const store = await openStore();
    // 2026-03-29: Europe/Berlin moves its clocks forward (a 23-hour day).
    await storeIncrements(store.db, spread(Date.parse("2026-03-28T00:00:00Z"), 350));
    await store.db.batch(ROLL_UP_NEW, "write");
    // Rolled up in two parts, as the webhook does second by second.
    await storeIncrements(store.db, spread(Date.parse("2026-03-28T00:03:00Z"), 350));
    await store.db.batch(ROLL_UP_NEW, "write");
    expect(differing(store)).toBe(0);
    // Inserted by hand, as the original system or a person would: no commit of the service has rolled it up.
    store.run("INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment, cost_delta) VALUES ('By-Hand', '2026-03-28 12:34:56', 'autonomy', 999, 0.5)");
    const days = ["2026-03-27", "2026-03-28", "2026-03-29", "2026-03-30", "2026-03-31"];
    for (const zone of ["UTC", "Asia/Kolkata", "Asia/Kathmandu", "Europe/Berlin", "America/St_Johns"]) {
      expect(await sumDays(store.db, days, zone), zone).toEqual(await rawDays(store, days, zone));
      expect(await sumDays(store.db, days, zone, "Agent-2"), zone).toEqual(await rawDays(store, days, zone, "Agent-2"));
    }
    expect((await sumDays(store.db, ["2026-03-28"], "UTC")).find((r) => r.claude_name === "By-Hand")?.total_tokens).toBe(999);
  });

  it("answers usage per UTC hour, partial hours at the ends from the reports", async () => {
    const store = await openStore();
    const t0 = Date.parse("2026-03-28T10:00:00Z");
    await storeIncrements(store.db, [
      row({ timestamp: iso(t0 + 5 * 60_000), cache_read_increment: 1 }),
      row({ timestamp: iso(t0 + 40 * 60_000), cache_read_increment: 2, cost_delta: 0.5 }),
      row({ timestamp: iso(t0 + HOUR + 10 * 60_000), cache_read_increment: 4, mode: "collaboration" }),
      row({ timestamp: iso(t0 + 2 * HOUR + 50 * 60_000), cache_read_increment: 8 }),
    ]);
    await store.db.batch(ROLL_UP_NEW, "write");
    const hours = await usageByHour(store.db, t0 + 30 * 60_000, t0 + 2 * HOUR + 30 * 60_000);
    expect(hours).toEqual([
      { hour_ms: t0, claude_name: "Sparkle-Orange", mode: "autonomy", tokens: 2, cost: 0.5, reports: 1 },
      { hour_ms: t0 + HOUR, claude_name: "Sparkle-Orange", mode: "collaboration", tokens: 4, cost: 0, reports: 1 },
    ]);
  });

  it("is made again when a person dropped it, built in chunks that a stop interrupts and the next build resumes, never counting a report twice", async () => {
    const store = await openStore();
    await storeIncrements(store.db, spread(Date.parse("2026-03-28T00:00:00Z"), 100));
    store.run("DROP TABLE usage_hourly");
    expect(await ensureRollup(store.db)).toBe(true);
    expect(await ensureRollup(store.db)).toBe(false);
    expect(await rollupProgress(store.db)).toEqual({ builtThroughId: 0, buildUntilId: 100 });

    let chunks = 0;
    const stopped = await buildRollup(store.db, { chunk: 30, stop: () => chunks >= 2, progress: () => chunks++ });
    expect(stopped).toEqual({ builtThroughId: 60, buildUntilId: 100 });
    // Half built, with a report committed meanwhile: the reads sum the reports.
    await storeIncrements(store.db, [row({ timestamp: "2026-03-28T05:00:00.000Z", claude_name: "Agent-1", cache_read_increment: 5000 })]);
    await store.db.batch(ROLL_UP_NEW, "write");
    const days = ["2026-03-28", "2026-03-29"];
    expect(await sumDays(store.db, days, "Asia/Kolkata")).toEqual(await rawDays(store, days, "Asia/Kolkata"));
    expect(differing(store)).toBeGreaterThan(0);

    expect(await buildRollup(store.db, { chunk: 30 })).toEqual({ builtThroughId: 100, buildUntilId: 100 });
    expect(differing(store)).toBe(0);
    expect(await sumDays(store.db, days, "UTC")).toEqual(await rawDays(store, days, "UTC"));
  });

  it.each([
    ["UTC", "2026-03-28T10:00:00.000Z"],
    // 23:50 on the 29th there, in the UTC hour (18:00) that also holds the start of today (18:15 UTC): looked at in the table.
    ["Asia/Kathmandu", "2026-03-29T18:05:00.000Z"],
  ])("finds a late report for a closed day in %s through the rollup, rolled up or not yet, and the day is live until closed again", async (zone, lateAt) => {
    const store = await openStore();
    await storeIncrements(store.db, spread(Date.parse("2026-03-27T00:00:00Z"), 400));
    await store.db.batch(ROLL_UP_NEW, "write");
    const ctx = testContext(store.db, { now: "2026-03-30T12:00:00Z", timeZone: zone, replayWindowDays: 7 });
    expect((await aggregateDay({}, ctx)).ok).toBe(true);
    // A report for today, as every day has: not late.
    await storeIncrements(store.db, [row({ timestamp: "2026-03-30T11:00:00.000Z", claude_name: "Agent-1" })]);
    await store.db.batch(ROLL_UP_NEW, "write");
    const closed = async () => {
      const r = await queryDaily({ from: "2026-03-27", to: "2026-03-30" }, ctx);
      if (!r.ok) throw new Error(r.error.message);
      return r.value.days.filter((d) => d.closed).map((d) => d.date);
    };
    expect(await closed()).toEqual(["2026-03-27", "2026-03-28", "2026-03-29"]);
    const lateDay = new Date(Date.parse(lateAt)).toLocaleDateString("en-CA", { timeZone: zone });
    await storeIncrements(store.db, [row({ timestamp: lateAt, claude_name: "Late-One", cache_read_increment: 777 })]);
    // Not rolled up yet, then rolled up: live either way.
    expect(await closed()).not.toContain(lateDay);
    await store.db.batch(ROLL_UP_NEW, "write");
    expect(await closed()).not.toContain(lateDay);
    const r = await queryDaily({ from: lateDay, to: lateDay, claude_name: "Late-One" }, ctx);
    expect(r.ok && r.value.rows.map((x) => [x.date, x.total_tokens, x.closed])).toEqual([[lateDay, 777, false]]);
    expect((await aggregateDay({}, ctx)).ok).toBe(true);
    expect(await closed()).toEqual(["2026-03-27", "2026-03-28", "2026-03-29"]);
  });
});
