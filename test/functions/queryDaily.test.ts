import { describe, expect, it } from "vitest";
import { aggregateDay } from "../../functions/aggregateDay.ts";
import { queryDaily } from "../../functions/queryDaily.ts";
import { summary, today } from "../../functions/summary.ts";
import { openStore } from "../support/backends.ts";
import { testContext } from "../support/context.ts";
import { insertIncrements } from "../support/increments.ts";

// 2026-03-30 13:00 in London (BST, UTC+1). Days, as UTC spans:
// 03-28 [03-28 00:00, 03-29 00:00), 03-29 [03-29 00:00, 03-29 23:00), 03-30 [03-29 23:00, 03-30 23:00).
const LONDON = { now: "2026-03-30T12:00:00Z", timeZone: "Europe/London" };
const pick = (rows: { date: string; claude_name: string; total_tokens: number; closed: boolean }[]) =>
  rows.map((r) => [r.date, r.claude_name, r.total_tokens, r.closed]);

async function seeded() {
  const db = await openStore();
  await insertIncrements(db.db, [
    { claude_name: "Sparkle-Orange", timestamp: "2026-03-28T10:00:00.000Z", mode: "autonomy", cache_read_increment: 100 },
    { claude_name: "Quill-Blue", timestamp: "2026-03-28T23:59:59.999Z", mode: "collaboration", cache_read_increment: 20 },
    { claude_name: "Sparkle-Orange", timestamp: "2026-03-29T22:59:59.999Z", mode: "collaboration", cache_read_increment: 3 },
    { claude_name: "Sparkle-Orange", timestamp: "2026-03-29T23:00:00.000Z", mode: "autonomy", cache_read_increment: 4000 },
  ]);
  return db;
}

describe("queryDaily", () => {
  it("returns closed days from the table and today live, in one range", async () => {
    const db = await seeded();
    expect((await aggregateDay({}, testContext(db.db, LONDON))).ok).toBe(true);
    await insertIncrements(db.db, [{ claude_name: "Quill-Blue", timestamp: "2026-03-30T11:00:00.000Z", mode: "autonomy", cache_read_increment: 50 }]);
    const result = await queryDaily({ from: "2026-03-28", to: "2026-03-30" }, testContext(db.db, LONDON));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.days.map((d) => [d.date, d.closed])).toEqual([
      ["2026-03-28", true],
      ["2026-03-29", true],
      ["2026-03-30", false],
    ]);
    // 23:59:59.999 UTC on the 28th is still GMT: the 28th. 23:00 UTC on the 29th is 00:00 BST: the 30th.
    expect(pick(result.value.rows)).toEqual([
      ["2026-03-28", "Quill-Blue", 20, true],
      ["2026-03-28", "Sparkle-Orange", 100, true],
      ["2026-03-29", "Sparkle-Orange", 3, true],
      ["2026-03-30", "Quill-Blue", 50, false],
      ["2026-03-30", "Sparkle-Orange", 4000, false],
    ]);
  });

  it("counts a late report for a closed day at once: the day is live until the catch-up closes it again", async () => {
    const db = await seeded();
    expect((await aggregateDay({}, testContext(db.db, LONDON))).ok).toBe(true);
    // A late report for the closed 29th (the original system's timestamp format, UTC), and one for today.
    await insertIncrements(db.db, [
      { claude_name: "Quill-Blue", timestamp: "2026-03-29 12:00:00", mode: "autonomy", cache_read_increment: 600, cost_delta: 0.5 },
      { claude_name: "Quill-Blue", timestamp: "2026-03-30T11:00:00.000Z", mode: "autonomy", cache_read_increment: 50 },
    ]);
    const result = await queryDaily({ from: "2026-03-28", to: "2026-03-30" }, testContext(db.db, LONDON));
    if (!result.ok) throw new Error(result.error.message);
    expect(result.value.days.map((d) => [d.date, d.closed, d.closed_at === null])).toEqual([
      ["2026-03-28", true, false],
      ["2026-03-29", false, true],
      ["2026-03-30", false, true],
    ]);
    expect(pick(result.value.rows)).toEqual([
      ["2026-03-28", "Quill-Blue", 20, true],
      ["2026-03-28", "Sparkle-Orange", 100, true],
      ["2026-03-29", "Quill-Blue", 600, false],
      ["2026-03-29", "Sparkle-Orange", 3, false],
      ["2026-03-30", "Quill-Blue", 50, false],
      ["2026-03-30", "Sparkle-Orange", 4000, false],
    ]);
    // A range without the 29th keeps its closed days.
    const before = await queryDaily({ from: "2026-03-28", to: "2026-03-28" }, testContext(db.db, LONDON));
    expect(before.ok && before.value.days.map((d) => [d.date, d.closed])).toEqual([["2026-03-28", true]]);
    // One agent's figures, as /resource/daily?claude_name= asks: the day is live for it too.
    const one = await queryDaily({ from: "2026-03-29", to: "2026-03-29", claude_name: "Quill-Blue" }, testContext(db.db, LONDON));
    expect(one.ok && pick(one.value.rows)).toEqual([["2026-03-29", "Quill-Blue", 600, false]]);
    // The table still holds the old figure; the catch-up closes the day again with the same figures.
    expect(db.rows("SELECT total_tokens FROM daily_resource_share WHERE date = '2026-03-29'")).toEqual([{ total_tokens: 3 }]);
    const catchUp = await aggregateDay({}, testContext(db.db, LONDON));
    expect(catchUp.ok && catchUp.value.days).toEqual([{ date: "2026-03-29", reason: "late reports", rows: 2 }]);
    const after = await queryDaily({ from: "2026-03-28", to: "2026-03-30" }, testContext(db.db, LONDON));
    if (!after.ok) throw new Error(after.error.message);
    expect(after.value.days.map((d) => [d.date, d.closed])).toEqual([
      ["2026-03-28", true],
      ["2026-03-29", true],
      ["2026-03-30", false],
    ]);
    expect(pick(after.value.rows)).toEqual(pick(result.value.rows).map(([date, name, tokens]) => [date, name, tokens, date !== "2026-03-30"]));
  });

  it("sums days that were never closed live, and defaults to the last 7 days with today", async () => {
    const db = await seeded();
    const result = await queryDaily({}, testContext(db.db, LONDON));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect([result.value.from, result.value.to, result.value.today]).toEqual(["2026-03-24", "2026-03-30", "2026-03-30"]);
    expect(result.value.days).toHaveLength(7);
    expect(result.value.days.every((d) => !d.closed)).toBe(true);
    expect(pick(result.value.rows)).toEqual([
      ["2026-03-28", "Quill-Blue", 20, false],
      ["2026-03-28", "Sparkle-Orange", 100, false],
      ["2026-03-29", "Sparkle-Orange", 3, false],
      ["2026-03-30", "Sparkle-Orange", 4000, false],
    ]);
  });

  it("gives today's figures through the same path to /resource/summary and /resource/today", async () => {
    const db = await seeded();
    expect(await summary({}, testContext(db.db, LONDON))).toMatchObject({
      ok: true,
      value: { date: "2026-03-30", total_tokens: 4000, agents: [{ claude_name: "Sparkle-Orange", autonomous_tokens: 4000 }] },
    });
    expect(await today({ claude_name: "Quill-Blue" }, testContext(db.db, LONDON))).toMatchObject({
      ok: true,
      value: { claude_name: "Quill-Blue", date: "2026-03-30", total_tokens: 0, report_count: 0 },
    });
  });

  it("gives costs to the last bit, the same live and closed, as the table holds them", async () => {
    const db = await openStore();
    // Sums whose doubles need 17 significant digits (0.1 + 0.2 is 0.30000000000000004), tiny and huge ones.
    const costs = [0.1, 0.2, 1 / 3, 1e-17, 123456789.12345678, 2 ** 60 + 0.5, 5e-324];
    await insertIncrements(
      db.db,
      costs.flatMap((cost, i) => [
        { claude_name: `Agent-${i}`, timestamp: "2026-03-28T10:00:00.000Z", mode: "autonomy" as const, cache_read_increment: 2 ** 40 + i, cost_delta: cost },
        { claude_name: `Agent-${i}`, timestamp: "2026-03-28T11:00:00.000Z", mode: "autonomy" as const, cache_read_increment: 1, cost_delta: 0.2 },
      ]),
    );
    const costsOf = (rows: { claude_name: string; autonomous_cost: number; total_cost: number; autonomous_tokens: number }[]) =>
      rows.map((r) => [r.claude_name, r.autonomous_cost, r.total_cost, r.autonomous_tokens]);
    const live = await queryDaily({ from: "2026-03-28", to: "2026-03-28" }, testContext(db.db, LONDON));
    expect((await aggregateDay({}, testContext(db.db, LONDON))).ok).toBe(true);
    const closed = await queryDaily({ from: "2026-03-28", to: "2026-03-28" }, testContext(db.db, LONDON));
    if (!live.ok || !closed.ok) throw new Error("queryDaily failed");
    expect(live.value.rows.every((r) => !r.closed) && closed.value.rows.every((r) => r.closed)).toBe(true);
    // What the client reads from the table, cell by cell, and what JavaScript's own sums give.
    const table = await db.db.execute("SELECT claude_name, autonomous_cost, total_cost, autonomous_tokens FROM daily_resource_share ORDER BY claude_name");
    const expected = costs.map((cost, i) => [`Agent-${i}`, cost + 0.2, cost + 0.2, 2 ** 40 + i + 1]);
    expect(costsOf(table.rows as never)).toEqual(expected);
    expect(costsOf(live.value.rows)).toEqual(expected);
    expect(costsOf(closed.value.rows)).toEqual(expected);
    expect(Object.is(closed.value.rows[0]!.autonomous_cost, 0.30000000000000004)).toBe(true);
  });

  it.each([
    [{ from: "2026-03-31", to: "2026-03-30" }, "from", "is after"],
    [{ from: "2026-13-01" }, "from", "not a real calendar day"],
    [{ claude_name: "" }, "claude_name", "empty"],
    [{ name: "Quill-Blue" }, "name", "not a known field"],
  ])("refuses %j naming %s", async (input, field, message) => {
    const db = await seeded();
    const result = await queryDaily(input, testContext(db.db, LONDON));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.issues?.find((i) => i.field === field)?.message).toContain(message);
    expect(db.text("SELECT count(*) FROM closed_days").trim()).toBe("0");
  });

  it("shows days the original system closed from the table, and the catch-up leaves those before the first increment alone", async () => {
    const db = await seeded();
    // As aggregate_daily.py left it: a summary row for a day whose increments are gone.
    db.run(
      `INSERT INTO daily_resource_share (claude_name, date, autonomous_tokens, collaborative_tokens, total_tokens, last_updated)
       VALUES ('Sparkle-Orange', '2026-03-25', 70, 30, 100, '2026-03-26 00:00:05')`,
    );
    const before = await queryDaily({ from: "2026-03-25", to: "2026-03-25" }, testContext(db.db, LONDON));
    expect(before.ok && before.value.days).toEqual([{ date: "2026-03-25", closed: true, closed_at: "2026-03-26 00:00:05" }]);
    expect(before.ok && pick(before.value.rows)).toEqual([["2026-03-25", "Sparkle-Orange", 100, true]]);
    expect((await aggregateDay({}, testContext(db.db, LONDON))).ok).toBe(true);
    expect(db.rows("SELECT total_tokens FROM daily_resource_share WHERE date = '2026-03-25'")).toEqual([{ total_tokens: 100 }]);
  });
});
