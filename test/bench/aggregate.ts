import { execFileSync } from "node:child_process";
import { aggregateDay } from "../../functions/aggregateDay.ts";
import { daySumsStatement } from "../../functions/daySums.ts";
import { queryDaily } from "../../functions/queryDaily.ts";
import { openDatabase } from "../../runner/platform/libsql-client.ts";
import { daysBetween } from "../../shared/time.ts";
import { testContext } from "../support/context.ts";
import type { History } from "./history.ts";
import { median } from "./median.ts";

export interface AggregateResults {
  days: number;
  rows: number;
  /** aggregateDay {} on a file with nothing closed, in s. */
  catchUpSeconds: number;
  daysClosed: number;
  /** The same per-day GROUP BY run by the sqlite3 CLI, in s (the better of two runs). */
  sqlite3Seconds: number[];
  /** queryDaily over the whole period for every agent, in ms (each run). */
  queryDailyMs: number[];
  queryDailyRows: number;
}

/** A statement with its parameters written in as literals, for the sqlite3 CLI. */
function inline({ sql, args }: { sql: string; args: (string | number)[] }): string {
  let i = 0;
  return sql.replace(/\?/g, () => {
    const v = args[i++]!;
    return typeof v === "number" ? String(v) : `'${v.replace(/'/g, "''")}'`;
  });
}

/** Seconds the sqlite3 CLI takes to run each day's sums (daySums.ts, the SQL aggregateDay runs) over the file. */
function sqlite3PerDay(path: string, days: string[], timeZone: string): number {
  const script = days.map((day) => `${inline(daySumsStatement([day], timeZone))};`).join("\n");
  const started = performance.now();
  execFileSync("sqlite3", ["-readonly", path], { input: script, stdio: ["pipe", "ignore", "inherit"], maxBuffer: 1 << 26 });
  return (performance.now() - started) / 1000;
}

/**
 * Catches up every day of the history with aggregateDay (in this process,
 * through the same client and code as `runner invoke aggregateDay`), and
 * runs the same per-day sums with the sqlite3 CLI before and after as the
 * reference. Then reads the whole period back with queryDaily.
 */
export async function benchAggregate(h: History, timeZone: string, log: (line: string) => void): Promise<AggregateResults> {
  // Start from nothing closed, whatever an earlier run left in the cached file.
  execFileSync("sqlite3", [h.path, "DELETE FROM daily_resource_share; DELETE FROM closed_days; UPDATE aggregation_state SET checked_through_id = 0;"]);
  const days = daysBetween(h.from, h.to);
  const sqlite3Seconds = [sqlite3PerDay(h.path, days, timeZone)];
  log(`  sqlite3 CLI, ${days.length} per-day sums: ${sqlite3Seconds[0]!.toFixed(2)} s`);

  const database = await openDatabase({ url: `file:${h.path}` });
  try {
    const ctx = testContext(database.db, { timeZone, replayWindowDays: 30 });
    const started = performance.now();
    const result = await aggregateDay({}, ctx);
    const catchUpSeconds = (performance.now() - started) / 1000;
    if (!result.ok) throw new Error(`aggregateDay failed: ${JSON.stringify(result.error)}`);
    log(`  aggregateDay catch-up: ${result.value.days_closed} days in ${catchUpSeconds.toFixed(2)} s`);

    sqlite3Seconds.push(sqlite3PerDay(h.path, days, timeZone));
    log(`  sqlite3 CLI again: ${sqlite3Seconds[1]!.toFixed(2)} s`);

    const queryDailyMs: number[] = [];
    let queryDailyRows = 0;
    // Two calls first, as the dashboard gets two requests: a running service has compiled its code.
    for (let i = 0; i < 9; i++) {
      const t = performance.now();
      const q = await queryDaily({ from: h.from, to: h.to }, ctx);
      if (i >= 2) queryDailyMs.push(performance.now() - t);
      if (!q.ok) throw new Error(`queryDaily failed: ${JSON.stringify(q.error)}`);
      queryDailyRows = q.value.rows.length;
    }
    log(`  queryDaily ${h.from}..${h.to}: ${queryDailyRows} rows, median ${median(queryDailyMs).toFixed(1)} ms`);
    return { days: days.length, rows: h.rows, catchUpSeconds, daysClosed: result.value.days_closed, sqlite3Seconds, queryDailyMs, queryDailyRows };
  } finally {
    database.close();
  }
}
