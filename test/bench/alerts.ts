import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { emptyLedger } from "../../functions/advice/ledger.ts";
import { alerts, type AlertsContext } from "../../functions/alerts.ts";
import { openDatabase } from "../../runner/platform/libsql-client.ts";
import { DEFAULT_ALERTS } from "../../shared/alert-settings.ts";
import { testContext } from "../support/context.ts";
import { ROOT } from "../support/process.ts";
import { makeHistory } from "./history.ts";
import { median } from "./median.ts";
import type { Figure } from "./table.ts";

export const ALERT_AGENTS = 50;
const ROUNDS = 20;
/** The bench's rows, told apart from the history's and removed after. */
const MARK = "alerts-bench-";

export interface AlertsResults {
  agents: number;
  days: number;
  rows: number;
  /** The first round: the week of usage and every agent's largest report read from the database. */
  firstMs: number;
  /** The rounds that read the look-back's largest reports, a slice each. */
  catchUpMs: number[];
  /** Rounds a minute apart, with a minute of reports (2 per agent) stored between them, as the schedule runs them. */
  roundMs: number[];
}

/**
 * Every rule for the family of ALERT_AGENTS over `days` of history (the
 * bench's database, made by history.ts), evaluated as `npm start`'s
 * schedule does: the family's usage kept between rounds, a minute of new
 * reports before each. Quota readings make the window rules work too.
 */
export async function benchAlerts(seed: number, days: number, timeZone: string, log: (line: string) => void): Promise<AlertsResults> {
  const h = await makeHistory(join(ROOT, "bench-results"), seed, ALERT_AGENTS, days, timeZone, log);
  const reset = `DELETE FROM alert_outbox; DELETE FROM alerts; DELETE FROM alert_marks; UPDATE alert_state SET marked_through_ms = 0;
    DELETE FROM resource_share_increments WHERE event_id LIKE '${MARK}%'; DELETE FROM quota_observations WHERE source = '${MARK}';`;
  execFileSync("sqlite3", [h.path, reset]);
  const database = await openDatabase({ url: `file:${h.path}` });
  const db = database.db;
  try {
    let now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    // Readings of both windows, the weekly one moving: thresholds and the projection have something to say.
    await db.batch(
      [
        ["seven_day", 40, now - 6 * 3_600_000, now + 3 * 86_400_000],
        ["seven_day", 62, now - 600_000, now + 3 * 86_400_000],
        ["five_hour", 30, now - 600_000, now + 2 * 3_600_000],
      ].map(([w, p, at, r]) => ({
        sql: "INSERT INTO quota_observations (observed_at, window, used_percentage, resets_at, source, received_at) VALUES (?, ?, ?, ?, ?, ?)",
        args: [iso(at as number), w as string, p as number, iso(r as number), MARK, iso(at as number)],
      })),
      "write",
    );
    const ledger = emptyLedger();
    const alertSettings = { ...DEFAULT_ALERTS, receivers: [{ shape: "slack" as const, url: "http://127.0.0.1:9/x", key: "slack=http://127.0.0.1:9/***" }] };
    const ctx = (): AlertsContext => ({ ...testContext(db, { now, timeZone, replayWindowDays: 30, alerts: alertSettings }), ledger });
    const round = async () => {
      const t = performance.now();
      const r = await alerts({}, ctx());
      const ms = performance.now() - t;
      if (!r.ok) throw new Error(`alerts refused: ${r.error.message}`);
      return { ms, firing: r.value.firing };
    };
    let n = 0;
    const minute = async () => {
      now += 60_000;
      await db.batch(
        h.agents.flatMap((a) => [0, 30_000].map((dt) => ({
          sql: "INSERT INTO resource_share_increments (claude_name, timestamp, mode, cache_read_increment, recommended_interval, event_id, received_at) VALUES (?, ?, 'autonomy', ?, 600, ?, ?)",
          args: [a.name, iso(now - dt), 2000 + ((n * 7919) % 3000), `${MARK}${n++}`, iso(now)],
        }))),
        "write",
      );
      return round();
    };
    const first = await round();
    log(`  first round (the week's usage read afresh): ${first.ms.toFixed(0)} ms, ${first.firing} firing`);
    // The largest reports of the look-back are read a slice a round (facts.ts): rounds until that is done.
    const catchUpMs: number[] = [];
    const caughtUp = async () => Number((await db.execute("SELECT marked_through_ms AS ms FROM alert_state")).rows[0]!.ms) >= now - 3_600_000;
    while (!(await caughtUp())) catchUpMs.push((await minute()).ms);
    log(`  ${catchUpMs.length} rounds reading the look-back's largest reports: max ${Math.max(0, ...catchUpMs).toFixed(0)} ms`);
    const roundMs: number[] = [];
    for (let i = 0; i < ROUNDS + 2; i++) {
      const r = await minute();
      // Two rounds first: a running service has compiled its code.
      if (i >= 2) roundMs.push(r.ms);
    }
    log(`  ${ROUNDS} rounds a minute apart: median ${median(roundMs).toFixed(1)} ms, max ${Math.max(...roundMs).toFixed(1)} ms`);
    return { agents: ALERT_AGENTS, days, rows: h.rows, firstMs: first.ms, catchUpMs, roundMs };
  } finally {
    database.close();
    execFileSync("sqlite3", [h.path, reset]);
  }
}

export function alertsFigures(a: AlertsResults): Figure[] {
  const m = median(a.roundMs);
  const rows = `${(a.rows / 1e6).toFixed(1)}M rows`;
  return [
    { name: `alerts round, ${a.agents} agents x ${a.days} days (${rows})`, value: m, unit: "ms", reference: "target", referenceValue: 50, ratio: m / 50, target: "< 50 ms", met: m < 50 },
    { name: "alerts first round after start", value: a.firstMs, unit: "ms", reference: "(info)", referenceValue: Number.NaN, ratio: Number.NaN, target: "(info)", met: null },
    { name: `alerts rounds catching up (${a.catchUpMs.length}), slowest`, value: Math.max(0, ...a.catchUpMs), unit: "ms", reference: "(info)", referenceValue: Number.NaN, ratio: Number.NaN, target: "(info)", met: null },
  ];
}
