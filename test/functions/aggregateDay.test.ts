import { describe, expect, it } from "vitest";
import { aggregateDay } from "../../functions/aggregateDay.ts";
import { openStore, type TestStore } from "../support/backends.ts";
import { testContext } from "../support/context.ts";
import { insertIncrements, seededRandom, type TestIncrement } from "../support/increments.ts";

/**
 * Local midnights around the 2026 daylight-saving changes, in UTC, written
 * down from the zones' rules (not computed by the code under test):
 * London: forward 29 March 01:00 UTC, back 25 October 01:00 UTC.
 * New York: forward 8 March 07:00 UTC, back 1 November 06:00 UTC.
 * Each case: four consecutive local midnights, so three whole days.
 */
const CASES = [
  { zone: "Europe/London", hours: [24, 23, 24], midnights: [
    ["2026-03-28", "2026-03-28T00:00:00.000Z"], ["2026-03-29", "2026-03-29T00:00:00.000Z"],
    ["2026-03-30", "2026-03-29T23:00:00.000Z"], ["2026-03-31", "2026-03-30T23:00:00.000Z"]] },
  { zone: "Europe/London", hours: [24, 25, 24], midnights: [
    ["2026-10-24", "2026-10-23T23:00:00.000Z"], ["2026-10-25", "2026-10-24T23:00:00.000Z"],
    ["2026-10-26", "2026-10-26T00:00:00.000Z"], ["2026-10-27", "2026-10-27T00:00:00.000Z"]] },
  { zone: "America/New_York", hours: [24, 23, 24], midnights: [
    ["2026-03-07", "2026-03-07T05:00:00.000Z"], ["2026-03-08", "2026-03-08T05:00:00.000Z"],
    ["2026-03-09", "2026-03-09T04:00:00.000Z"], ["2026-03-10", "2026-03-10T04:00:00.000Z"]] },
  { zone: "America/New_York", hours: [24, 25, 24], midnights: [
    ["2026-10-31", "2026-10-31T04:00:00.000Z"], ["2026-11-01", "2026-11-01T04:00:00.000Z"],
    ["2026-11-02", "2026-11-02T05:00:00.000Z"], ["2026-11-03", "2026-11-03T05:00:00.000Z"]] },
] as const;

const AGENTS = ["Sparkle-Orange", "Quill-Blue", "Moss-Green"];
const legacy = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace("T", " ");

/**
 * Edge rows at every midnight M: 1 token at M-1ms and 100 at M-1s (the
 * original system's format) belong to the day before; 10 at M and 1000 at M
 * (original format) to the day starting at M. So agent "Edge" has exactly
 * 1111 tokens in 4 reports on each whole day. Plus random rows spread over
 * the days and six hours either side, with costs in 1/1024 USD so that sums
 * are exact whatever order they are added in.
 */
function incrementsAround(midnights: readonly (readonly [string, string])[], seed: number): TestIncrement[] {
  const rows: TestIncrement[] = [];
  for (const [, iso] of midnights) {
    const m = Date.parse(iso);
    rows.push(
      { claude_name: "Edge", timestamp: new Date(m - 1).toISOString(), mode: "autonomy", cache_read_increment: 1 },
      { claude_name: "Edge", timestamp: legacy(m - 1000), mode: "collaboration", cache_read_increment: 100 },
      { claude_name: "Edge", timestamp: new Date(m).toISOString(), mode: "collaboration", cache_read_increment: 10 },
      { claude_name: "Edge", timestamp: legacy(m), mode: "autonomy", cache_read_increment: 1000 },
    );
  }
  const random = seededRandom(seed);
  const first = Date.parse(midnights[0]![1]) - 6 * 3_600_000;
  const span = Date.parse(midnights[3]![1]) + 6 * 3_600_000 - first;
  for (let i = 0; i < 400; i++) {
    const at = first + Math.floor(random() * span);
    rows.push({
      claude_name: AGENTS[Math.floor(random() * AGENTS.length)]!,
      timestamp: random() < 0.2 ? legacy(at) : new Date(at).toISOString(),
      mode: random() < 0.5 ? "autonomy" : "collaboration",
      cache_read_increment: Math.floor(random() * 100_000),
      cost_delta: random() < 0.3 ? null : Math.floor(random() * 4096) / 1024,
    });
  }
  return rows;
}

const DAILY = `SELECT claude_name, date, autonomous_tokens, collaborative_tokens, total_tokens, autonomous_cost, collaborative_cost,
  total_cost, autonomous_reports, collaborative_reports, report_count FROM daily_resource_share`;

/** The day's sums as SQLite computes them from the text timestamps and the bounds written above (sqlite3 on a file). */
function independentSums(db: TestStore, date: string, start: string, end: string) {
  return db.rows(
    `SELECT claude_name, '${date}' AS date,
       coalesce(sum(CASE WHEN mode = 'autonomy' THEN cache_read_increment END), 0) AS autonomous_tokens,
       coalesce(sum(CASE WHEN mode = 'collaboration' THEN cache_read_increment END), 0) AS collaborative_tokens,
       sum(cache_read_increment) AS total_tokens,
       total(CASE WHEN mode = 'autonomy' THEN cost_delta END) AS autonomous_cost,
       total(CASE WHEN mode = 'collaboration' THEN cost_delta END) AS collaborative_cost,
       total(cost_delta) AS total_cost,
       count(CASE WHEN mode = 'autonomy' THEN 1 END) AS autonomous_reports,
       count(CASE WHEN mode = 'collaboration' THEN 1 END) AS collaborative_reports,
       count(*) AS report_count
     FROM resource_share_increments
     WHERE julianday(timestamp) >= julianday('${start}') AND julianday(timestamp) < julianday('${end}')
     GROUP BY claude_name ORDER BY claude_name`,
  );
}

describe("aggregateDay", () => {
  it.each(CASES.map((c, i) => [`${c.zone} around ${c.midnights[1]![0]}`, c, i] as const))(
    "closes the days around a daylight-saving change in %s exactly as sqlite3 sums them",
    async (_name, c, i) => {
      const db = await openStore();
      await insertIncrements(db.db, incrementsAround(c.midnights, 1000 + i));
      const days = c.midnights.slice(0, 3).map(([d]) => d);
      const ctx = testContext(db.db, { now: "2026-12-15T12:00:00Z", timeZone: c.zone });

      const result = await aggregateDay({ from: days[0], to: days[2] }, ctx);
      expect(result).toMatchObject({ ok: true, value: { days_closed: 3, time_zone: c.zone } });

      for (const [k, day] of days.entries()) {
        const [start, end] = [c.midnights[k]![1], c.midnights[k + 1]![1]];
        expect((Date.parse(end) - Date.parse(start)) / 3_600_000).toBe(c.hours[k]);
        const closed = db.rows(`${DAILY} WHERE date = '${day}' ORDER BY claude_name`);
        expect(closed).toEqual(independentSums(db, day, start, end));
        expect(closed.find((r) => r.claude_name === "Edge")).toMatchObject({ total_tokens: 1111, report_count: 4 });
        expect(closed.length).toBe(AGENTS.length + 1);
      }
    },
  );

  it("gives identical rows when run twice, and the catch-up then finds nothing to do", async () => {
    const db = await openStore();
    const c = CASES[3];
    await insertIncrements(db.db, incrementsAround(c.midnights, 7));
    const ctx = testContext(db.db, { now: "2026-11-05T15:00:00Z", timeZone: c.zone });
    const first = await aggregateDay({}, ctx);
    expect(first.ok).toBe(true);
    const before = db.text(`${DAILY} ORDER BY date, claude_name`);
    const again = await aggregateDay({ from: "2026-10-30", to: "2026-11-04" }, testContext(db.db, { now: "2026-11-05T16:00:00Z", timeZone: c.zone }));
    expect(again).toMatchObject({ ok: true, value: { days_closed: 6 } });
    expect(db.text(`${DAILY} ORDER BY date, claude_name`)).toBe(before);
    expect(await aggregateDay({}, ctx)).toMatchObject({ ok: true, value: { days_closed: 0, rows_written: 0 } });
  });

  it("starts the first catch-up at the first day with increments and closes up to yesterday", async () => {
    const db = await openStore();
    await insertIncrements(db.db, [
      { claude_name: "Sparkle-Orange", timestamp: "2026-03-07T04:59:59.999Z", mode: "autonomy", cache_read_increment: 5 },
    ]);
    // 2026-03-10 01:00 in New York: yesterday is 2026-03-09; the report fell on 2026-03-06 local.
    const result = await aggregateDay({}, testContext(db.db, { now: "2026-03-10T05:00:00Z", timeZone: "America/New_York" }));
    expect(result.ok && result.value.days.map((d) => [d.date, d.reason, d.rows])).toEqual([
      ["2026-03-06", "never closed", 1],
      ["2026-03-07", "never closed", 0],
      ["2026-03-08", "never closed", 0],
      ["2026-03-09", "never closed", 0],
    ]);
    expect(db.text("SELECT group_concat(date, ',') FROM (SELECT date FROM closed_days ORDER BY date)").trim()).toBe(
      "2026-03-06,2026-03-07,2026-03-08,2026-03-09",
    );
  });

  it("counts a late report for a closed day after the next catch-up, and closes only that day again", async () => {
    const db = await openStore();
    const c = CASES[0];
    await insertIncrements(db.db, incrementsAround(c.midnights, 11));
    const ctx = testContext(db.db, { now: "2026-04-02T09:00:00Z", timeZone: c.zone });
    expect((await aggregateDay({}, ctx)).ok).toBe(true);
    const edge = `SELECT total_tokens, report_count FROM daily_resource_share WHERE claude_name = 'Edge' AND date = '2026-03-29'`;
    expect(db.rows(edge)).toEqual([{ total_tokens: 1111, report_count: 4 }]);

    // A replay of a report from the short day, received days later; and one for a day closed empty.
    await insertIncrements(db.db, [
      { claude_name: "Edge", timestamp: "2026-03-29T22:59:59.999Z", mode: "autonomy", cache_read_increment: 50_000 },
      { claude_name: "Late-Comer", timestamp: "2026-04-01T10:00:00.000Z", mode: "collaboration", cache_read_increment: 7 },
    ]);
    const result = await aggregateDay({}, ctx);
    expect(result.ok && result.value.days.map((d) => [d.date, d.reason])).toEqual([
      ["2026-03-29", "late reports"],
      ["2026-04-01", "late reports"],
    ]);
    expect(db.rows(edge)).toEqual([{ total_tokens: 51_111, report_count: 5 }]);
    expect(db.rows(`SELECT claude_name, collaborative_tokens FROM daily_resource_share WHERE date = '2026-04-01'`)).toEqual([
      { claude_name: "Late-Comer", collaborative_tokens: 7 },
    ]);
    expect(db.rows(`${DAILY} WHERE date = '2026-03-29' ORDER BY claude_name`)).toEqual(
      independentSums(db, "2026-03-29", "2026-03-29T00:00:00.000Z", "2026-03-29T23:00:00.000Z"),
    );
    expect(await aggregateDay({}, ctx)).toMatchObject({ ok: true, value: { days_closed: 0 } });
  });

  it("closes every day again when the time zone changes", async () => {
    const db = await openStore();
    await insertIncrements(db.db, [
      { claude_name: "Sparkle-Orange", timestamp: "2026-03-08T03:00:00.000Z", mode: "autonomy", cache_read_increment: 9 },
    ]);
    expect((await aggregateDay({}, testContext(db.db, { now: "2026-03-10T12:00:00Z", timeZone: "Europe/London" }))).ok).toBe(true);
    expect(db.text("SELECT date FROM daily_resource_share").trim()).toBe("2026-03-08");
    const moved = await aggregateDay({}, testContext(db.db, { now: "2026-03-10T12:00:00Z", timeZone: "America/New_York" }));
    expect(moved.ok && moved.value.days.map((d) => [d.date, d.reason])).toEqual([
      ["2026-03-07", "never closed"],
      ["2026-03-08", "time zone changed"],
      ["2026-03-09", "time zone changed"],
    ]);
    // 03:00 UTC is 22:00 the evening before in New York.
    expect(db.text("SELECT date FROM daily_resource_share").trim()).toBe("2026-03-07");
  });

  it.each([
    [{ date: "2026-02-30" }, "date", "not a real calendar day"],
    [{ date: "2026-04-02" }, "date", "not over yet"],
    [{ from: "2026-03-01" }, "to", "give both ends"],
    [{ from: "2026-03-05", to: "2026-03-01" }, "from", "is after"],
    [{ from: "2000-01-01", to: "2026-03-01" }, "to", "longer than"],
    [{ date: "2026-03-01", to: "2026-03-02" }, "date", "not both"],
    [{ day: "2026-03-01" }, "day", "not a known field"],
    [[], "body", "JSON object"],
  ])("refuses %j naming %s, and changes nothing", async (input, field, message) => {
    const db = await openStore();
    await insertIncrements(db.db, [
      { claude_name: "Sparkle-Orange", timestamp: "2026-03-01T12:00:00.000Z", mode: "autonomy", cache_read_increment: 9 },
    ]);
    const result = await aggregateDay(input, testContext(db.db, { now: "2026-04-02T12:00:00Z", timeZone: "Europe/London" }));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe("invalid_input");
    expect(result.error.issues?.find((i) => i.field === field)?.message).toContain(message);
    expect(db.text("SELECT (SELECT count(*) FROM closed_days) + (SELECT count(*) FROM daily_resource_share)").trim()).toBe("0");
  });
});
