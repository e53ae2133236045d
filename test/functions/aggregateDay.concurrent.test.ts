import { describe, expect, it } from "vitest";
import { aggregateDay, type AggregateOutput } from "../../functions/aggregateDay.ts";
import { testContext } from "../support/context.ts";
import { openTestDatabase, sqlite3Rows } from "../support/database.ts";
import { seededRandom } from "../support/increments.ts";
import { postJson, startRunner } from "../support/server.ts";

const REPORTS = 300;
const IN_FLIGHT = 8;

describe("aggregateDay while the webhook ingests", () => {
  it("loses and double-counts nothing when reports for the days being closed arrive meanwhile", async () => {
    const db = await openTestDatabase();
    const server = await startRunner("serve", { DATABASE_URL: `file:${db.path}`, RESOURCE_SHARE_TZ: "UTC" });
    // UTC days: their bounds are plain dates, no zone arithmetic involved.
    const today = new Date().toISOString().slice(0, 10);
    const dayStart = (offset: number) => Date.parse(`${today}T00:00:00Z`) + offset * 86_400_000;
    const days = [new Date(dayStart(-2)).toISOString().slice(0, 10), new Date(dayStart(-1)).toISOString().slice(0, 10)];
    const random = seededRandom(42);
    const reports = Array.from({ length: REPORTS }, (_, i) => ({
      claude_name: ["Sparkle-Orange", "Quill-Blue", "Moss-Green"][i % 3],
      mode: random() < 0.5 ? "autonomy" : "collaboration",
      cache_read_increment: i + 1,
      // Replays spread over the two finished days, including their first and last milliseconds.
      timestamp: new Date(i === 0 ? dayStart(-2) : i === 1 ? dayStart(0) - 1 : dayStart(-2) + Math.floor(random() * 2 * 86_400_000)).toISOString(),
    }));

    let next = 0;
    const statuses: number[] = [];
    const post = async () => {
      while (next < reports.length) {
        const res = await postJson(`${server.url}/resource-share/increment`, reports[next++]);
        statuses.push(res.status);
      }
    };
    const posting = Promise.all(Array.from({ length: IN_FLIGHT }, post));

    // Close the days over and over while the reports come in.
    const runs: AggregateOutput[] = [];
    let done = false;
    void posting.finally(() => (done = true));
    const ctx = testContext(db.db);
    while (!done) {
      const result = runs.length % 4 === 3 ? await aggregateDay({ date: days[1] }, ctx) : await aggregateDay({}, ctx);
      if (!result.ok) throw new Error(result.error.message);
      runs.push(result.value);
      // The embedded client answers without yielding: let the posting (in this process) move on.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await posting;
    const last = await aggregateDay({}, ctx);
    expect(last.ok).toBe(true);
    expect(await server.stop()).toBe(0);

    expect(statuses.filter((s) => s === 200)).toHaveLength(REPORTS);
    // The loop really overlapped the ingest: some runs found reports that arrived after a close.
    expect(runs.some((r) => r.days.some((d) => d.reason === "late reports"))).toBe(true);

    const expectedTokens = reports.reduce((sum, r) => sum + r.cache_read_increment, 0);
    expect(sqlite3Rows(db.path, "SELECT count(*) AS n, sum(cache_read_increment) AS tokens FROM resource_share_increments")).toEqual([
      { n: REPORTS, tokens: expectedTokens },
    ]);
    expect(
      sqlite3Rows(db.path, `SELECT sum(report_count) AS n, sum(total_tokens) AS tokens FROM daily_resource_share WHERE date IN ('${days[0]}', '${days[1]}')`),
    ).toEqual([{ n: REPORTS, tokens: expectedTokens }]);
    for (const day of days) {
      const independent = sqlite3Rows(
        db.path,
        `SELECT claude_name, sum(CASE WHEN mode = 'autonomy' THEN cache_read_increment ELSE 0 END) AS autonomous_tokens,
           sum(CASE WHEN mode = 'collaboration' THEN cache_read_increment ELSE 0 END) AS collaborative_tokens, count(*) AS report_count
         FROM resource_share_increments
         WHERE timestamp >= '${day}T00:00:00.000Z' AND timestamp < '${day}T24:00:00.000Z' GROUP BY claude_name ORDER BY claude_name`,
      );
      expect(
        sqlite3Rows(db.path, `SELECT claude_name, autonomous_tokens, collaborative_tokens, report_count FROM daily_resource_share WHERE date = '${day}' ORDER BY claude_name`),
      ).toEqual(independent);
    }
  });
});
