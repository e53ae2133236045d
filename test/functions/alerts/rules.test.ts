import { describe, expect, it } from "vitest";
import { emptyLedger } from "../../../functions/advice/ledger.ts";
import { alerts, type AlertsContext } from "../../../functions/alerts.ts";
import type { ServiceFacts } from "../../../functions/alerts/rules.ts";
import { ALERT_RULES, DEFAULT_ALERTS, type AlertRule, type AlertSettings } from "../../../shared/alert-settings.ts";
import type { Db } from "../../../shared/context.ts";
import { openStore as openTestDatabase } from "../../support/backends.ts";
import { testContext } from "../../support/context.ts";

const T0 = Date.parse("2026-12-02T12:00:00.000Z");
const MIN = 60_000;
const HOUR = 60 * MIN;
const iso = (ms: number) => new Date(ms).toISOString();

/** Only `rule` on, so each test sees its own rule's changes; receivers as keys in the outbox. */
function settings(rule: AlertRule, extra: Partial<AlertSettings> = {}): AlertSettings {
  return { ...DEFAULT_ALERTS, off: ALERT_RULES.filter((r) => r !== rule), ...extra };
}

/** An evaluator with a simulated clock, keeping the family's usage between rounds as the schedule does. */
function evaluator(db: Db, s: AlertSettings, service?: () => ServiceFacts) {
  const ledger = emptyLedger();
  return async (at: number) => {
    const ctx: AlertsContext = { ...testContext(db, { now: at, alerts: s }), ledger, ...(service ? { service: service() } : {}) };
    const result = await alerts({}, ctx);
    if (!result.ok) throw new Error(result.error.message);
    return result.value.changes.map((c) => `${c.event} ${c.rule} ${c.subject}`);
  };
}

async function report(db: Db, name: string, at: number, tokens: number, interval: number | null = null, mode = "autonomy") {
  await db.execute({
    sql: "INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment, recommended_interval, received_at) VALUES (?, ?, ?, ?, ?, ?)",
    args: [name, iso(at), mode, tokens, interval, iso(at)],
  });
  await db.execute({
    sql: `INSERT INTO claude_identities (name, first_seen, last_seen, active) VALUES (?, ?, ?, 1)
          ON CONFLICT (name) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)`,
    args: [name, iso(at), iso(at)],
  });
}

async function reading(db: Db, window: string, percent: number, observedAt: number, resetsAt: number) {
  await db.execute({
    sql: "INSERT INTO quota_observations (observed_at, window, used_percentage, resets_at, source, received_at) VALUES (?, ?, ?, ?, 'test', ?)",
    args: [iso(observedAt), window, percent, iso(resetsAt), iso(observedAt)],
  });
}

describe("alert rules over a real database, with a simulated clock", () => {
  it("fires for an agent silent for over three of its advised intervals, once, and resolves at its next report", async () => {
    const { db } = await openTestDatabase();
    await report(db, "Quiet-Teal", T0, 100, 600);
    const run = evaluator(db, settings("silent_agent"));
    expect(await run(T0 + 29 * MIN)).toEqual([]);
    expect(await run(T0 + 31 * MIN)).toEqual(["firing silent_agent Quiet-Teal"]);
    // A restart (a new evaluator) neither forgets it nor tells it again.
    expect(await evaluator(db, settings("silent_agent"))(T0 + 32 * MIN)).toEqual([]);
    await report(db, "Quiet-Teal", T0 + 40 * MIN, 100, 600);
    expect(await run(T0 + 41 * MIN)).toEqual(["resolved silent_agent Quiet-Teal"]);
    const rows = await db.execute("SELECT state, since, resolved_at FROM alerts");
    expect(rows.rows.map((r) => ({ ...r }))).toEqual([{ state: "resolved", since: iso(T0 + 31 * MIN), resolved_at: iso(T0 + 41 * MIN) }]);
  });

  it("keeps quiet about a paused or inactive agent, and uses ADVICE_BASE_INTERVAL for one never advised", async () => {
    const { db } = await openTestDatabase();
    await report(db, "Paused-One", T0, 100, 600);
    await report(db, "Retired-One", T0, 100, 600);
    await report(db, "Unadvised", T0, 100, null);
    await db.execute({ sql: "UPDATE claude_identities SET paused_until = ? WHERE name = 'Paused-One'", args: [iso(T0 + 10 * HOUR)] });
    await db.execute("UPDATE claude_identities SET active = 0 WHERE name = 'Retired-One'");
    const run = evaluator(db, settings("silent_agent"));
    // The base interval is 1800 s: silent after 90 minutes.
    expect(await run(T0 + 80 * MIN)).toEqual([]);
    expect(await run(T0 + 91 * MIN)).toEqual(["firing silent_agent Unadvised"]);
  });

  it("fires for an hour far above the agent's own usual hour, and resolves when its pace is back to usual", async () => {
    const { db } = await openTestDatabase();
    // Two days of a steady 1000 tokens an hour, then 12,000 in the last hour.
    for (let h = 48; h >= 2; h--) await report(db, "Busy-Bee", T0 - h * HOUR, 1000);
    for (let m = 5; m <= 55; m += 5) await report(db, "Busy-Bee", T0 - HOUR + m * MIN, 1100);
    const run = evaluator(db, settings("unusual_hour"));
    expect(await run(T0)).toEqual(["firing unusual_hour Busy-Bee"]);
    const firing = await db.execute("SELECT summary, details FROM alerts WHERE state = 'firing'");
    expect(JSON.parse(String(firing.rows[0]!.details))).toEqual({ last_hour_tokens: 12100, usual_hour_tokens: 1000 });
    await report(db, "Busy-Bee", T0 + 90 * MIN, 1000);
    expect(await run(T0 + 2 * HOUR)).toEqual(["resolved unusual_hour Busy-Bee"]);
  });

  it("does not call a verbose agent unusual for being verbose", async () => {
    const { db } = await openTestDatabase();
    for (let h = 48; h >= 1; h--) await report(db, "Verbose", T0 - h * HOUR + 30 * MIN, 500_000);
    expect(await evaluator(db, settings("unusual_hour"))(T0)).toEqual([]);
  });

  it("fires for one report far larger than any before, and resolves an hour later", async () => {
    const { db } = await openTestDatabase();
    for (let i = 0; i < 30; i++) await report(db, "Spiky", T0 - 3 * HOUR + i * MIN, 1000 + i);
    const run = evaluator(db, settings("unusual_report"));
    expect(await run(T0)).toEqual([]);
    await report(db, "Spiky", T0 + MIN, 50_000);
    expect(await run(T0 + 2 * MIN)).toEqual(["firing unusual_report Spiky"]);
    expect(await run(T0 + 30 * MIN)).toEqual([]);
    expect(await run(T0 + 62 * MIN)).toEqual(["resolved unusual_report Spiky"]);
  });

  it("tells each threshold a window crosses once per period, and resolves at the reset", async () => {
    const { db } = await openTestDatabase();
    const reset = T0 + 3 * 24 * HOUR;
    const run = evaluator(db, settings("window_threshold"));
    await reading(db, "seven_day", 40, T0, reset);
    expect(await run(T0 + MIN)).toEqual([]);
    await reading(db, "seven_day", 55, T0 + HOUR, reset);
    expect(await run(T0 + HOUR + MIN)).toEqual(["firing window_threshold seven_day"]);
    await reading(db, "seven_day", 58, T0 + 2 * HOUR, reset);
    expect(await run(T0 + 2 * HOUR + MIN)).toEqual([]);
    await reading(db, "seven_day", 91, T0 + 3 * HOUR, reset);
    expect(await run(T0 + 3 * HOUR + MIN)).toEqual(["firing window_threshold seven_day"]);
    const details = await db.execute("SELECT details FROM alerts WHERE state = 'firing'");
    expect(JSON.parse(String(details.rows[0]!.details))).toMatchObject({ used_percentage: 91, threshold: 90 });
    // After the reset the window starts its next period empty.
    expect(await run(reset + MIN)).toEqual(["resolved window_threshold seven_day"]);
    expect((await db.execute("SELECT count(*) AS n FROM alerts")).rows[0]!.n).toBe(1);
  });

  it("fires when the family's pace overruns a window before its reset, and resolves when the pace drops", async () => {
    const { db } = await openTestDatabase();
    const reset = T0 + 2 * 24 * HOUR;
    // 20 points moved over 200,000 tokens: 10,000 tokens a point; at this pace the window would be full long before the reset.
    await reading(db, "seven_day", 40, T0 - 3 * HOUR, reset);
    for (let m = 0; m < 120; m += 6) await report(db, "Runner", T0 - 3 * HOUR + m * MIN + MIN, 10_000);
    await reading(db, "seven_day", 60, T0 - HOUR, reset);
    for (let m = 0; m < 60; m += 6) await report(db, "Runner", T0 - HOUR + m * MIN + MIN, 10_000);
    const run = evaluator(db, settings("window_overrun"));
    expect(await run(T0)).toEqual(["firing window_overrun seven_day"]);
    const details = await db.execute("SELECT details FROM alerts WHERE state = 'firing'");
    expect(JSON.parse(String(details.rows[0]!.details)).projected_at_reset).toBeGreaterThan(100);
    // Three quiet hours: the present pace is nothing, the window stays where it is.
    expect(await run(T0 + 3 * HOUR)).toEqual(["resolved window_overrun seven_day"]);
  });

  it("reminds at the configured pace while an alert fires, queues each change for every receiver, and resolves what a rule turned off had firing", async () => {
    const { db } = await openTestDatabase();
    await report(db, "Quiet-Teal", T0, 100, 600);
    const receivers = [
      { shape: "slack" as const, url: "http://127.0.0.1:1/services/T/B/secret", key: "slack=http://127.0.0.1:1/services/T/B/***" },
      { shape: "ntfy" as const, url: "http://127.0.0.1:1/topic", key: "ntfy=http://127.0.0.1:1/topic" },
    ];
    const run = evaluator(db, settings("silent_agent", { remindSeconds: 3600, receivers }));
    expect(await run(T0 + HOUR)).toEqual(["firing silent_agent Quiet-Teal"]);
    expect(await run(T0 + 2 * HOUR - MIN)).toEqual([]);
    expect(await run(T0 + 2 * HOUR)).toEqual(["reminder silent_agent Quiet-Teal"]);
    const off = evaluator(db, { ...DEFAULT_ALERTS, off: [...ALERT_RULES], receivers });
    expect(await off(T0 + 2 * HOUR + MIN)).toEqual(["resolved silent_agent Quiet-Teal"]);
    const outbox = await db.execute("SELECT event, receiver FROM alert_outbox ORDER BY id");
    expect(outbox.rows.map((r) => `${r.event} ${r.receiver}`)).toEqual(
      ["firing", "reminder", "resolved"].flatMap((e) => receivers.map((r) => `${e} ${r.key}`)),
    );
  });

  it("fires for a day that should have been closed two hours after midnight, and resolves once it is closed", async () => {
    const { db } = await openTestDatabase();
    const midnight = Date.parse("2026-12-03T00:00:00.000Z");
    await report(db, "Night-Owl", midnight - HOUR, 100);
    const run = evaluator(db, settings("day_not_closed"));
    expect(await run(midnight + HOUR)).toEqual([]);
    expect(await run(midnight + 2 * HOUR + MIN)).toEqual(["firing day_not_closed service"]);
    await db.execute("INSERT INTO closed_days (date, time_zone, closed_at, max_increment_id, agents) VALUES ('2026-12-02', 'UTC', '2026-12-03T02:05:00Z', 1, 1)");
    expect(await run(midnight + 2 * HOUR + 5 * MIN)).toEqual(["resolved day_not_closed service"]);
  });

  it("fires for an agent whose reports and telemetry disagree on a day of the last week, tells a newer such day again, and resolves when none is left", async () => {
    const { db } = await openTestDatabase();
    const compared = async (date: string, disagrees: boolean) =>
      db.execute({
        sql: `INSERT INTO telemetry_comparisons (claude_name, date, report_tokens, telemetry_tokens, tokens_diff_percent, report_cost, telemetry_cost, cost_diff_percent, margin_percent, disagrees, compared_at)
              VALUES ('Two-Clocks', ?, 1000, 800, 20, 1, 1, 0, 5, ?, '2026-12-02T00:10:00Z')
              ON CONFLICT (claude_name, date) DO UPDATE SET disagrees = excluded.disagrees`,
        args: [date, disagrees ? 1 : 0],
      });
    const run = evaluator(db, settings("telemetry_disagrees"));
    await compared("2026-11-20", true); // older than a week: history, not an alert
    expect(await run(T0)).toEqual([]);
    await compared("2026-11-30", true);
    expect(await run(T0)).toEqual(["firing telemetry_disagrees Two-Clocks"]);
    expect(await run(T0 + MIN)).toEqual([]);
    await compared("2026-12-01", true);
    expect(await run(T0 + 2 * MIN)).toEqual(["resolved telemetry_disagrees Two-Clocks", "firing telemetry_disagrees Two-Clocks"]);
    await compared("2026-11-30", false);
    await compared("2026-12-01", false);
    expect(await run(T0 + 3 * MIN)).toEqual(["resolved telemetry_disagrees Two-Clocks"]);
  });

  it("fires when the spool holds reports past ALERT_SPOOL_AGE and when the database refuses writes for a minute, each resolved when the webhook says so", async () => {
    const { db } = await openTestDatabase();
    let facts: ServiceFacts = { backlog: 12, spooledSince: T0, refusedSince: T0 };
    const both = { ...DEFAULT_ALERTS, off: ALERT_RULES.filter((r) => r !== "spool_backlog" && r !== "database_unwritable") };
    const run = evaluator(db, both, () => facts);
    expect(await run(T0 + 50_000)).toEqual([]);
    expect(await run(T0 + 2 * MIN)).toEqual(["firing database_unwritable service"]);
    expect(await run(T0 + 5 * MIN + 1000)).toEqual(["firing spool_backlog service"]);
    facts = { backlog: 12, spooledSince: T0, refusedSince: null };
    expect(await run(T0 + 6 * MIN)).toEqual(["resolved database_unwritable service"]);
    facts = { backlog: 0, spooledSince: null, refusedSince: null };
    expect(await run(T0 + 7 * MIN)).toEqual(["resolved spool_backlog service"]);
    // Without the webhook's facts (the CLI, the webhook not answering) these rules keep their state.
    facts = { backlog: 3, spooledSince: T0, refusedSince: T0 };
    expect(await run(T0 + 20 * MIN)).toEqual(["firing spool_backlog service", "firing database_unwritable service"]);
    expect(await evaluator(db, both)(T0 + 21 * MIN)).toEqual([]);
  });
});
