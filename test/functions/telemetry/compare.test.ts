import { describe, expect, it } from "vitest";
import { disagreeingDays } from "../../../functions/telemetry/compare.ts";
import { runHandler } from "../../../runner/platform/run-handler.ts";
import { openStore } from "../../support/backends.ts";
import { testContext } from "../../support/context.ts";
import { costMetric, ns, otlpExport, tokenMetric } from "../../support/otlp.ts";

/**
 * Europe/Berlin is UTC+1 in December: the local day 2026-12-04 runs from
 * 2026-12-03T23:00Z to 2026-12-04T23:00Z. Points at 23:30Z on the 3rd
 * belong to the 4th; points at 23:30Z on the 4th to the 5th.
 */
const BERLIN = { now: "2026-12-05T12:00:00Z", timeZone: "Europe/Berlin" };
const DAY = "2026-12-04";
const utc = (iso: string) => Date.parse(iso);

describe("the nightly comparison of reports with telemetry", () => {
  it("records each agent's day by both sources, marks those apart by more than the margin, and leaves the reports' sums alone", async () => {
    const store = await openStore();
    const ctx = testContext(store.db, BERLIN);
    // Reports, as the agents' clients stored them (cache-read tokens and cost).
    const reports: [string, string, number, number | null][] = [
      ["Agrees", "2026-12-03T23:30:00Z", 6_000, 0.6], // the 4th in Berlin
      ["Agrees", "2026-12-04T12:00:00Z", 4_000, 0.4],
      ["Apart", "2026-12-04T12:00:00Z", 10_000, 1.0],
      ["Apart", "2026-12-04T23:30:00Z", 99_999, 9.9], // the 5th in Berlin: not this day
      ["CostOnly", "2026-12-04T12:00:00Z", 0, 2.0],
      ["NoTelemetry", "2026-12-04T12:00:00Z", 5_000, 0.5],
      ["Silent", "2026-12-04T12:00:00Z", 7_000, 0.7],
    ];
    await store.db.batch(
      reports.map(([name, ts, tokens, cost]) => ({
        sql: "INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment, cost_delta) VALUES (?, ?, 'autonomy', ?, ?)",
        args: [name, ts, tokens, cost],
      })),
      "write",
    );
    // Telemetry, through the handler POST /v1/metrics runs.
    const send = async (agent: string, iso: string, cacheRead: number, cost: number, input = 0) => {
      const time = ns(utc(iso));
      const body = otlpExport(agent, [
        tokenMetric(1, [{ time, value: cacheRead, type: "cacheRead" }, { time, value: input, type: "input" }]),
        costMetric(1, [{ time, value: cost }]),
      ]);
      const out = await runHandler("recordMetrics", body, ctx);
      expect(out).toEqual({ ok: true, value: {} });
    };
    await send("Agrees", "2026-12-03T23:45:00Z", 6_100, 0.61, 500_000); // input tokens are not the reports' "tokens"
    await send("Agrees", "2026-12-04T12:00:00Z", 4_100, 0.41);
    await send("Apart", "2026-12-04T12:00:00Z", 12_000, 1.0); // 16.7% more tokens
    await send("Apart", "2026-12-04T23:45:00Z", 99_999, 9.9);
    await send("CostOnly", "2026-12-04T12:00:00Z", 50_000, 2.0); // tokens not reported: compared by cost only
    await send("Silent", "2026-12-03T12:00:00Z", 1, 0.01); // it sent telemetry the day before, none on the 4th

    const closed = await runHandler("aggregateDay", { date: DAY }, ctx);
    expect(closed).toMatchObject({ ok: true, value: { telemetry: { compared: 4, disagreeing: 2, margin_percent: 5 } } });
    const rows = store.rows<Record<string, unknown>>(
      "SELECT claude_name, report_tokens, telemetry_tokens, round(tokens_diff_percent, 1) AS tokens_pct, report_cost, telemetry_cost, round(cost_diff_percent, 1) AS cost_pct, margin_percent, disagrees FROM telemetry_comparisons WHERE date = '2026-12-04' ORDER BY claude_name",
    );
    expect(rows).toEqual([
      { claude_name: "Agrees", report_tokens: 10_000, telemetry_tokens: 10_200, tokens_pct: 2.0, report_cost: 1.0, telemetry_cost: 1.02, cost_pct: 2.0, margin_percent: 5, disagrees: 0 },
      { claude_name: "Apart", report_tokens: 10_000, telemetry_tokens: 12_000, tokens_pct: 16.7, report_cost: 1.0, telemetry_cost: 1.0, cost_pct: 0, margin_percent: 5, disagrees: 1 },
      { claude_name: "CostOnly", report_tokens: 0, telemetry_tokens: 50_000, tokens_pct: null, report_cost: 2.0, telemetry_cost: 2.0, cost_pct: 0, margin_percent: 5, disagrees: 0 },
      { claude_name: "Silent", report_tokens: 7_000, telemetry_tokens: 0, tokens_pct: 100, report_cost: 0.7, telemetry_cost: 0, cost_pct: 100, margin_percent: 5, disagrees: 1 },
    ]);
    // The reports' own day is what the reports say: telemetry is never added to it.
    expect(store.rows("SELECT claude_name, total_tokens FROM daily_resource_share WHERE date = '2026-12-04' AND claude_name = 'Apart'")).toEqual([
      { claude_name: "Apart", total_tokens: 10_000 },
    ]);
    expect((await disagreeingDays(store.db)).map((d) => [d.date, d.claude_name])).toEqual([[DAY, "Apart"], [DAY, "Silent"]]);
    expect((await disagreeingDays(store.db, { claudeName: "Silent", from: DAY, to: DAY })).map((d) => d.claude_name)).toEqual(["Silent"]);
    expect(await disagreeingDays(store.db, { from: "2026-12-05" })).toEqual([]);

    // A wider margin, closed again: the day's rows are replaced, not added to.
    const again = await runHandler("aggregateDay", { date: DAY }, testContext(store.db, { ...BERLIN, telemetryMarginPercent: 20 }));
    expect(again).toMatchObject({ ok: true, value: { telemetry: { compared: 4, disagreeing: 1, margin_percent: 20 } } });
    expect(store.rows("SELECT count(*) AS n FROM telemetry_comparisons")).toEqual([{ n: 4 }]);
    expect((await disagreeingDays(store.db)).map((d) => d.claude_name)).toEqual(["Silent"]);
  });

  it("costs the catch-up nothing when no telemetry ever arrived, and compares the days it closes once it has", async () => {
    const store = await openStore();
    const ctx = testContext(store.db, BERLIN);
    await store.db.execute("INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment) VALUES ('Agrees', '2026-12-04T12:00:00Z', 'autonomy', 100)");
    expect(await runHandler("aggregateDay", {}, ctx)).toMatchObject({ ok: true, value: { days_closed: 1, telemetry: { compared: 0, disagreeing: 0 } } });
    const body = otlpExport("Agrees", [tokenMetric(2, [{ time: ns(utc("2026-12-04T12:30:00Z")), start: ns(utc("2026-12-04T08:00:00Z")), value: 100, type: "cacheRead" }])]);
    expect(await runHandler("recordMetrics", body, ctx)).toEqual({ ok: true, value: {} });
    expect(await runHandler("aggregateDay", { date: DAY }, ctx)).toMatchObject({ ok: true, value: { telemetry: { compared: 1, disagreeing: 0 } } });
  });
});
