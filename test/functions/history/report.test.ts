import { describe, expect, it } from "vitest";
import { aggregateDay } from "../../../functions/aggregateDay.ts";
import { report, type ReportOutput } from "../../../functions/history/report.ts";
import { periodOf } from "../../../functions/history/period.ts";
import type { Context } from "../../../shared/context.ts";
import { ROLL_UP_NEW } from "../../../shared/rollup.ts";
import { testContext } from "../../support/context.ts";
import { openTestDatabase, sqlite3 } from "../../support/database.ts";
import { DST_AGENTS, DST_NOW, DST_ZONE, expectedSums, seedDstMonth, sqlite3Local } from "../../support/dst-month.ts";

const DST = { now: DST_NOW, timeZone: DST_ZONE };

async function seeded() {
  const db = await openTestDatabase();
  await seedDstMonth(db.db);
  // September and October up to the 20th closed into daily_resource_share; the rest read live.
  const closed = await aggregateDay({ from: "2026-09-01", to: "2026-10-20" }, testContext(db.db, DST));
  expect(closed.ok).toBe(true);
  return db;
}

async function run(db: Context["db"], input: unknown): Promise<ReportOutput> {
  const result = await report(input, testContext(db, DST));
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

function expectedHours(path: string, from: string, to: string) {
  return sqlite3Local<{ claude_name: string; h: number; a: number; c: number }>(
    path,
    `SELECT claude_name, CAST(strftime('%H', timestamp, 'localtime') AS INTEGER) AS h,
       sum(CASE WHEN mode = 'autonomy' THEN cache_read_increment ELSE 0 END) AS a,
       sum(CASE WHEN mode = 'collaboration' THEN cache_read_increment ELSE 0 END) AS c
     FROM resource_share_increments WHERE date(timestamp, 'localtime') BETWEEN '${from}' AND '${to}' GROUP BY 1, 2`,
  );
}

/** Checks every figure of a report against sqlite3's sums of the same local days. */
function checkAgainstSqlite3(path: string, r: ReportOutput, previous: { from: string; to: string }) {
  const want = expectedSums(path, r.from, r.to);
  const before = new Map(expectedSums(path, previous.from, previous.to).map((e) => [e.claude_name, e]));
  expect(want.length).toBeGreaterThan(1);
  const active = r.agents.filter((a) => a.days_active > 0);
  expect(active.map((a) => a.claude_name)).toEqual(want.map((e) => e.claude_name));
  const hours = expectedHours(path, r.from, r.to);
  const familyAuto = want.reduce((s, e) => s + e.a, 0);
  const weightSum = want.reduce((s, e) => s + DST_AGENTS[e.claude_name as keyof typeof DST_AGENTS], 0);
  const ratios: number[] = [];
  for (const e of want) {
    const got = r.agents.find((a) => a.claude_name === e.claude_name)!;
    const label = `${r.label} ${e.claude_name}`;
    expect(got.autonomous_tokens, label).toBe(e.a);
    expect(got.collaborative_tokens, label).toBe(e.c);
    expect(got.total_tokens, label).toBe(e.a + e.c);
    expect(got.autonomous_cost, label).toBeCloseTo(e.ac, 9);
    expect(got.collaborative_cost, label).toBeCloseTo(e.cc, 9);
    expect(got.reports, label).toBe(e.n);
    expect(got.days_active, label).toBe(e.days);
    const prev = before.get(e.claude_name);
    expect(got.previous.total_tokens, label).toBe(prev ? prev.a + prev.c : 0);
    expect(got.change_tokens_pct, label).toBe(prev ? Math.round((1000 * (e.a + e.c - prev.a - prev.c)) / (prev.a + prev.c)) / 10 : null);
    const mine = hours.filter((h) => h.claude_name === e.claude_name).map((h) => ({ hour: h.h, tokens: h.a + h.c }));
    mine.sort((x, y) => y.tokens - x.tokens || x.hour - y.hour);
    expect(got.busiest_hours, label).toEqual(mine.filter((h) => h.tokens > 0).slice(0, 3));
    const weight = DST_AGENTS[e.claude_name as keyof typeof DST_AGENTS];
    expect(got.weight).toBe(weight);
    expect(got.fair_share!, label).toBeCloseTo(weight / weightSum, 12);
    expect(got.share!, label).toBeCloseTo(e.a / familyAuto, 12);
    ratios.push(e.a / familyAuto / (weight / weightSum));
  }
  const sum = ratios.reduce((s, x) => s + x, 0);
  expect(r.jain_index!).toBeCloseTo((sum * sum) / (ratios.length * ratios.reduce((s, x) => s + x * x, 0)), 12);
  expect(r.jain_index!).toBeLessThan(1);
  for (let h = 0; h < 24; h++) {
    const at = hours.filter((x) => x.h === h);
    expect(r.hours[h], `hour ${h}`).toEqual({ hour: h, autonomous_tokens: at.reduce((s, x) => s + x.a, 0), collaborative_tokens: at.reduce((s, x) => s + x.c, 0) });
  }
  expect(r.family.total_tokens).toBe(want.reduce((s, e) => s + e.a + e.c, 0));
  const peaks = sqlite3Local<{ window: string; peak: number; n: number }>(
    path,
    `SELECT window, max(used_percentage) AS peak, count(*) AS n FROM quota_observations
      WHERE date(observed_at, 'localtime') BETWEEN '${r.from}' AND '${r.to}' GROUP BY window ORDER BY window`,
  );
  expect(r.windows.map((w) => ({ window: w.window, peak: w.peak_percentage, n: w.readings }))).toEqual(peaks);
}

describe("report", () => {
  it("sums a month that crosses the autumn clock change as sqlite3 does in local time, closed days from the table and the rest live", async () => {
    const db = await seeded();
    const r = await run(db.db, { period: "month", of: "2026-10-17" });
    expect([r.label, r.from, r.to, r.complete, r.closed_days, r.live_days]).toEqual(["2026-10", "2026-10-01", "2026-10-31", true, 20, 11]);
    expect(r.previous).toEqual({ label: "2026-09", from: "2026-09-01", to: "2026-09-30" });
    checkAgainstSqlite3(db.path, r, r.previous);
    // The reports at both ends of the 25-hour day are in it; 1 Nov 00:00 CET is not.
    const owl = r.daily.filter((d) => d.claude_name === "Night-Owl" && d.date === "2026-10-25")[0]!;
    expect(owl.autonomous_tokens).toBeGreaterThanOrEqual(700_002 + 700_003 + 700_004 + 700_005);
    // Both 02:00 hours of that night count as 02:00.
    expect(r.hours[2]!.autonomous_tokens).toBeGreaterThanOrEqual(700_003 + 700_004);
    // An agent new this month has no change to show.
    expect(r.agents.find((a) => a.claude_name === "Rare-Finch")!.change_tokens_pct).toBeNull();
  });

  it("sums the same month from the hourly rollup once the reports are rolled up, and reads its hours from there", async () => {
    const db = await seeded();
    await db.db.batch(ROLL_UP_NEW, "write");
    expect(Number(sqlite3(db.path, "SELECT count(*) FROM usage_hourly").trim())).toBeGreaterThan(0);
    const r = await run(db.db, { period: "month", of: "2026-10-17" });
    checkAgainstSqlite3(db.path, r, r.previous);
    // A rollup row changed by hand shows in the hours: they come from it, not from the reports.
    sqlite3(db.path, `UPDATE usage_hourly SET tokens = tokens + 1000
      WHERE (hour_ms, claude_name, mode) = (SELECT hour_ms, claude_name, mode FROM usage_hourly WHERE mode = 'autonomy' AND hour LIKE '2026-10-2%' LIMIT 1)`);
    const tampered = await run(db.db, { period: "month", of: "2026-10-17" });
    const total = (x: ReportOutput) => x.hours.reduce((sum, h) => sum + h.autonomous_tokens, 0);
    expect(total(tampered) - total(r)).toBe(1000);
  });

  it("sums the ISO week with the 25-hour Sunday, against the week before", async () => {
    const db = await seeded();
    const r = await run(db.db, { period: "week", of: "2026-10-22" });
    expect([r.label, r.from, r.to, r.closed_days, r.live_days]).toEqual(["2026-W43", "2026-10-19", "2026-10-25", 2, 5]);
    checkAgainstSqlite3(db.path, r, { from: "2026-10-12", to: "2026-10-18" });
  });

  it("reads a closed day from daily_resource_share, not from the reports again", async () => {
    const db = await seeded();
    const before = await run(db.db, { period: "month", of: "2026-10-01" });
    sqlite3(db.path, "UPDATE daily_resource_share SET autonomous_tokens = autonomous_tokens + 1000, total_tokens = total_tokens + 1000 WHERE date = '2026-10-05' AND claude_name = 'Quiet-Blue'");
    const after = await run(db.db, { period: "month", of: "2026-10-01" });
    const blue = (r: ReportOutput) => r.agents.find((a) => a.claude_name === "Quiet-Blue")!.autonomous_tokens;
    expect(blue(after)).toBe(blue(before) + 1000);
  });

  it("refuses bad input, naming each field", async () => {
    const db = await openTestDatabase();
    const refused = async (input: unknown) => {
      const result = await report(input, testContext(db.db, DST));
      expect(result.ok).toBe(false);
      return result.ok ? [] : (result.error.issues ?? []).map((i) => `${i.field}: ${i.message}`);
    };
    expect(await refused({ period: "year", of: "2026-02-30" })).toEqual(['period: must be "week" or "month"', "of: is not a real calendar day"]);
    expect(await refused({ of: "2026-10-01" })).toEqual(["period: is required"]);
    expect(await refused({ period: "week", of: "1 Oct" })).toContain("of: must be a date as YYYY-MM-DD");
    expect(await refused({ period: "week", when: "2026-10-01" })).toEqual(["when: is not a known field (check its spelling)"]);
    expect(await refused([{ period: "week" }])).toEqual(["body: must be a JSON object, not an array"]);
    // The last month of year 9999 has no next one to step to: refused, not a fault.
    expect(await refused({ period: "month", of: "9999-12-15" })).toEqual(["of: must be a day from 1970-01-01 to 9998-12-31"]);
  });
});

describe("periods", () => {
  it("are ISO weeks from Monday, labelled by their Thursday's year, and calendar months", () => {
    expect(periodOf("week", "2026-12-01")).toEqual({ kind: "week", label: "2026-W49", from: "2026-11-30", to: "2026-12-06" });
    expect(periodOf("week", "2027-01-01")).toEqual({ kind: "week", label: "2026-W53", from: "2026-12-28", to: "2027-01-03" });
    expect(periodOf("week", "2026-01-01")).toEqual({ kind: "week", label: "2026-W01", from: "2025-12-29", to: "2026-01-04" });
    expect(periodOf("week", "2026-10-25")).toEqual({ kind: "week", label: "2026-W43", from: "2026-10-19", to: "2026-10-25" });
    expect(periodOf("month", "2028-02-15")).toEqual({ kind: "month", label: "2028-02", from: "2028-02-01", to: "2028-02-29" });
    expect(periodOf("month", "2026-12-31")).toEqual({ kind: "month", label: "2026-12", from: "2026-12-01", to: "2026-12-31" });
  });
});
