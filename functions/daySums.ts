import type { Db } from "../shared/context.ts";
import type { InValue } from "../shared/libsql.ts";
import { jsonRow, unwrapJsonRow } from "../shared/jsonRows.ts";
import { addDays, dayStarts } from "../shared/time.ts";
import { rollupReady, usageRowsStatement } from "./usage.ts";

/** Tokens and cost over a period, split by mode. */
export interface Sums {
  autonomous_tokens: number;
  collaborative_tokens: number;
  total_tokens: number;
  autonomous_cost: number;
  collaborative_cost: number;
  total_cost: number;
}

export const emptySums = (): Sums => ({
  autonomous_tokens: 0, collaborative_tokens: 0, total_tokens: 0,
  autonomous_cost: 0, collaborative_cost: 0, total_cost: 0,
});

/** Adds `row`'s sums into `into`. */
export function addSums(into: Sums, row: Sums): void {
  into.autonomous_tokens += row.autonomous_tokens;
  into.collaborative_tokens += row.collaborative_tokens;
  into.total_tokens += row.total_tokens;
  into.autonomous_cost += row.autonomous_cost;
  into.collaborative_cost += row.collaborative_cost;
  into.total_cost += row.total_cost;
}

/** One agent's usage over one local day, split by mode. */
export interface DayRow extends Sums {
  claude_name: string;
  date: string;
  autonomous_reports: number;
  collaborative_reports: number;
  report_count: number;
}

/** The columns of a DayRow, in daily_resource_share's names and order. */
export const DAY_COLUMNS = [
  "claude_name", "date", "autonomous_tokens", "collaborative_tokens", "total_tokens",
  "autonomous_cost", "collaborative_cost", "total_cost",
  "autonomous_reports", "collaborative_reports", "report_count",
] as const;

/** Declared types of DAY_COLUMNS in daily_resource_share (shared/schema.ts), for a shorter JSON encoding. */
const DAY_COLUMN_TYPES = DAY_COLUMNS.map((c) => (c === "claude_name" || c === "date" ? "TEXT" : c.endsWith("_cost") ? "REAL" : "INTEGER"));

// Days per statement: three bound values each keeps a statement far below
// SQLite's limit on parameters.
const DAYS_PER_STATEMENT = 500;

/**
 * The one definition of a day's sums, as SQL: one row per agent per day with
 * activity, columns as in DAY_COLUMNS. Days are half-open spans [start, end)
 * of Unix ms from shared/time.ts, so 23- and 25-hour days come out right.
 * aggregateDay inserts exactly this SELECT into daily_resource_share, and
 * live figures read it, so closed and live days can never disagree.
 */
export function daySumsStatement(days: string[], timeZone: string, claudeName?: string): { sql: string; args: (string | number)[] } {
  if (days.length === 0) throw new Error("daySumsStatement needs at least one day");
  const sorted = [...new Set(days)].sort();
  // Each day's start and the next day's start, ascending: dayStarts is cheap on runs.
  const bounds = dayStarts(sorted.flatMap((day) => [day, addDays(day, 1)]), timeZone);
  const args: (string | number)[] = [];
  const values: string[] = [];
  sorted.forEach((day, i) => {
    values.push("(?, ?, ?)");
    args.push(day, bounds[2 * i]!, bounds[2 * i + 1]!);
  });
  if (claudeName !== undefined) args.push(claudeName);
  const sql = `WITH days (date, day_start, day_end) AS (VALUES ${values.join(", ")})
SELECT claude_name, date,
    a AS autonomous_tokens, c AS collaborative_tokens, a + c AS total_tokens,
    ac AS autonomous_cost, cc AS collaborative_cost, ac + cc AS total_cost,
    ar AS autonomous_reports, cr AS collaborative_reports, ar + cr AS report_count
  FROM (SELECT i.claude_name, d.date,
      coalesce(sum(CASE WHEN i.mode = 'autonomy' THEN i.cache_read_increment END), 0) AS a,
      coalesce(sum(CASE WHEN i.mode = 'collaboration' THEN i.cache_read_increment END), 0) AS c,
      total(CASE WHEN i.mode = 'autonomy' THEN i.cost_delta END) AS ac,
      total(CASE WHEN i.mode = 'collaboration' THEN i.cost_delta END) AS cc,
      count(CASE WHEN i.mode = 'autonomy' THEN 1 END) AS ar,
      count(CASE WHEN i.mode = 'collaboration' THEN 1 END) AS cr
    FROM days d JOIN resource_share_increments i
      ON i.timestamp_ms >= d.day_start AND i.timestamp_ms < d.day_end${claudeName === undefined ? "" : " AND i.claude_name = ?"}
    GROUP BY d.date, i.claude_name)
  ORDER BY date, claude_name`;
  return { sql, args };
}

/**
 * Wraps a SELECT of DAY_COLUMNS into a statement answering one row with one
 * cell, day_rows: every row as a JSON array (shared/jsonRows.ts says why).
 * Read it with parseDayRows.
 */
export function dayRowsAsJson(select: string): string {
  return `SELECT json_group_array(${jsonRow(DAY_COLUMNS, DAY_COLUMN_TYPES)}) AS day_rows FROM (${select})`;
}

export const byDayThenAgent = (a: DayRow, b: DayRow): number =>
  a.date !== b.date ? (a.date < b.date ? -1 : 1) : a.claude_name < b.claude_name ? -1 : a.claude_name > b.claude_name ? 1 : 0;

const count = (value: unknown): number => Number(value ?? 0);

/** The rows in the day_rows cell of a dayRowsAsJson statement, by day then agent; missing numbers read as 0. */
export function parseDayRows(cell: unknown): DayRow[] {
  const rows = (JSON.parse(String(cell)) as unknown[][]).map((v): DayRow => {
    unwrapJsonRow(v);
    // In DAY_COLUMNS' order. One literal gives every row the same shape at
    // once; setting the keys one by one in a loop took half as long again
    // for a year of 20 agents.
    return {
      claude_name: String(v[0]),
      date: String(v[1]),
      autonomous_tokens: count(v[2]),
      collaborative_tokens: count(v[3]),
      total_tokens: count(v[4]),
      autonomous_cost: count(v[5]),
      collaborative_cost: count(v[6]),
      total_cost: count(v[7]),
      autonomous_reports: count(v[8]),
      collaborative_reports: count(v[9]),
      report_count: count(v[10]),
    };
  });
  // SQL promises no order for an aggregate's input: sorting costs next to
  // nothing when SQLite kept the subquery's order, and is right when not.
  return rows.sort(byDayThenAgent);
}

/**
 * The sums of local days as daySumsStatement gives them, but read through
 * the hourly rollup (functions/usage.ts): whole hours from usage_hourly,
 * partial ones from the increments. Same rows, same order of columns.
 */
export function rolledDaySumsStatement(days: string[], timeZone: string, ready: boolean, claudeName?: string): { sql: string; args: InValue[] } {
  const sorted = [...new Set(days)].sort();
  const bounds = dayStarts(sorted.flatMap((day) => [day, addDays(day, 1)]), timeZone);
  const usage = usageRowsStatement(sorted.map((day, i) => ({ key: day, start: bounds[2 * i]!, end: bounds[2 * i + 1]! })), ready, { claudeName });
  const sql = `SELECT claude_name, date,
    a AS autonomous_tokens, c AS collaborative_tokens, a + c AS total_tokens,
    ac AS autonomous_cost, cc AS collaborative_cost, ac + cc AS total_cost,
    ar AS autonomous_reports, cr AS collaborative_reports, ar + cr AS report_count
  FROM (SELECT u.claude_name, u.key AS date,
      coalesce(sum(CASE WHEN u.mode = 'autonomy' THEN u.tokens END), 0) AS a,
      coalesce(sum(CASE WHEN u.mode = 'collaboration' THEN u.tokens END), 0) AS c,
      total(CASE WHEN u.mode = 'autonomy' THEN u.cost END) AS ac,
      total(CASE WHEN u.mode = 'collaboration' THEN u.cost END) AS cc,
      coalesce(sum(CASE WHEN u.mode = 'autonomy' THEN u.reports END), 0) AS ar,
      coalesce(sum(CASE WHEN u.mode = 'collaboration' THEN u.reports END), 0) AS cr
    FROM (${usage.sql}) AS u
    -- Agent first: SQLite's sort for the grouping then compares the agent's name, not the same day, first (a tenth
    -- faster on a busy day); parseDayRows puts the rows in day order again.
    GROUP BY u.claude_name, u.key)`;
  return { sql, args: usage.args };
}

/**
 * Sums local days for the live figures, ordered by day then agent; days
 * without activity have no rows. Through the hourly rollup: equal to
 * daySumsStatement's sums (what closing a day writes), checked by
 * checkRollups, at a fraction of the cost on a busy day.
 */
export async function sumDays(db: Pick<Db, "execute">, days: string[], timeZone: string, claudeName?: string): Promise<DayRow[]> {
  const sorted = [...new Set(days)].sort();
  const ready = await rollupReady(db);
  const rows: DayRow[] = [];
  for (let i = 0; i < sorted.length; i += DAYS_PER_STATEMENT) {
    const { sql, args } = rolledDaySumsStatement(sorted.slice(i, i + DAYS_PER_STATEMENT), timeZone, ready, claudeName);
    const rs = await db.execute({ sql: dayRowsAsJson(sql), args });
    rows.push(...parseDayRows(rs.rows[0]?.day_rows));
  }
  return rows;
}

/** One local day's sums per agent, for live figures. */
export function sumDay(db: Pick<Db, "execute">, day: string, timeZone: string, claudeName?: string): Promise<DayRow[]> {
  return sumDays(db, [day], timeZone, claudeName);
}
