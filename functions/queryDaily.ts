import * as v from "valibot";
import type { Context } from "../shared/context.ts";
import { claudeName, isoDay } from "../shared/fields.ts";
import { invalid, ok, type FieldIssue, type Result } from "../shared/result.ts";
import { addDays, daysBetween, dayStarts, localDay, MAX_RANGE_DAYS, spanDays } from "../shared/time.ts";
import { validate } from "../shared/validate.ts";
import { daysWithLateReports, lateMinutesSql } from "./closeDays.ts";
import { byDayThenAgent, DAY_COLUMNS, dayRowsAsJson, parseDayRows, sumDays, type DayRow } from "./daySums.ts";
import { rollupReady } from "./usage.ts";
import { HOUR_MS } from "../shared/rollup.ts";

export const queryDailyInput = v.optional(
  v.strictObject(
    { from: v.optional(isoDay), to: v.optional(isoDay), claude_name: v.optional(claudeName) },
    'must be a JSON object with optional "from", "to" (YYYY-MM-DD) and "claude_name"',
  ),
  {},
);

/** A day's row for one agent, saying whether it comes from a closed day. */
export interface DailyRow extends DayRow {
  /** True: read from daily_resource_share. False: summed live from the increments. */
  closed: boolean;
}

export interface DailyOutput {
  time_zone: string;
  today: string;
  from: string;
  to: string;
  claude_name: string | null;
  /** Every day of the range: closed (from the table) or live. */
  days: { date: string; closed: boolean; closed_at: string | null }[];
  /** One row per agent per day with activity, by day then agent. */
  rows: DailyRow[];
}

/**
 * Per-agent daily usage for a range of local days (default: the last 7,
 * today included). Closed days come from daily_resource_share; days not
 * closed (today, a day the timer missed, a closed day that received late
 * reports) are summed live from the increments, so the answer is never stale.
 * @example tsx runner invoke queryDaily '{"from":"2026-03-25","to":"2026-03-31","claude_name":"Sparkle-Orange"}'
 */
export async function queryDaily(input: unknown, ctx: Context): Promise<Result<DailyOutput>> {
  // valibot's object schemas accept arrays; a batch sent here is a mistake.
  if (Array.isArray(input)) return invalid([{ field: "body", message: "must be a JSON object, not an array" }]);
  const parsed = validate(queryDailyInput, input);
  if (!parsed.ok) return parsed;
  const zone = ctx.config.timeZone;
  const today = localDay(ctx.now(), zone);
  const name = parsed.value.claude_name;
  const to = parsed.value.to ?? (parsed.value.from !== undefined && parsed.value.from > today ? parsed.value.from : today);
  const from = parsed.value.from ?? addDays(to, -6);
  const issues: FieldIssue[] = [];
  if (from > to) issues.push({ field: "from", message: `is after "to" (${from} > ${to})` });
  else if (spanDays(from, to) > MAX_RANGE_DAYS) issues.push({ field: "to", message: `the range is longer than ${MAX_RANGE_DAYS} days; ask in parts` });
  if (issues.length > 0) return invalid(issues);

  // One read transaction, so a day closed meanwhile is seen with its rows.
  // A day is closed when closed_days says so for this zone, or when the
  // table has rows for it but closed_days has no record: the original
  // system closed it (days before the first increment are never recomputed).
  const byAgent = name === undefined ? "" : " AND claude_name = ?";
  const closedDates = `SELECT date FROM closed_days WHERE date >= ? AND date <= ? AND time_zone = ?`;
  // A closed day that received reports after its close is live until the
  // catch-up closes it again. Such reports are among those the catch-up has
  // not looked at yet (aggregation_state): normally only today's. Whether
  // any is not today's is asked of the hourly rollup's max_id (without it,
  // while it is built: counting those and today's share of them, which walks
  // today's reports in the time index); only when some are not today's are
  // those read (lateDays). Closed days all lie before today, so a range of
  // today alone skips all this.
  const lastClosable = to < today ? to : addDays(today, -1);
  const checkLate = from <= lastClosable;
  const [fromStart, afterRange, todayStart] = checkLate ? dayStarts([from, addDays(lastClosable, 1), today], zone) : [];
  const ready = checkLate && (await rollupReady(ctx.db));
  const [closedRs, rowsRs, sinceRs] = await ctx.db.batch(
    [
      {
        sql: `SELECT date, closed_at, max_increment_id AS seen FROM closed_days WHERE date >= ? AND date <= ? AND time_zone = ?
          UNION ALL
          SELECT date, max(last_updated), 0 FROM daily_resource_share
            WHERE date >= ? AND date <= ? AND date NOT IN (SELECT date FROM closed_days) GROUP BY date`,
        args: [from, to, zone, from, to],
      },
      {
        // No ORDER BY: parseDayRows sorts by day then agent anyway, and the
        // rows come nearly sorted (aggregateDay inserts them in that order);
        // SQLite's sort of a year's rows cost about a third of this statement.
        sql: dayRowsAsJson(`SELECT ${DAY_COLUMNS.join(", ")} FROM daily_resource_share
          WHERE date >= ? AND date <= ?${byAgent}
            AND (date IN (${closedDates}) OR date NOT IN (SELECT date FROM closed_days))`),
        args: [from, to, ...(name === undefined ? [] : [name]), from, to, zone],
      },
      ...(checkLate
        ? [ready
          ? {
              // Through the rollup: the hours that reports since the catch-up went into are rows whose max_id is above
              // it (an index range over the hours touched since), not a walk over today's reports. The hour that holds
              // today's start in a zone off the hour, and reports not rolled up yet, are looked at in the table.
              sql: `WITH s AS MATERIALIZED (SELECT checked_through_id AS checked FROM aggregation_state WHERE id = 1)
                SELECT checked, 0 AS since_today,
                  EXISTS (SELECT 1 FROM usage_hourly WHERE max_id > checked AND hour_ms + ${HOUR_MS} <= ?)
                  OR EXISTS (SELECT 1 FROM resource_share_increments INDEXED BY increments_time WHERE timestamp_ms >= ? AND timestamp_ms < ? AND id > checked)
                  OR EXISTS (SELECT 1 FROM resource_share_increments WHERE id > (SELECT rolled_through_id FROM usage_hourly_state WHERE id = 1) AND id > checked AND +timestamp_ms < ?)
                  AS since FROM s`,
              args: [todayStart!, Math.floor(todayStart! / HOUR_MS) * HOUR_MS, todayStart!, todayStart!],
            }
          : {
            // MATERIALIZED: counted once, not once per mention of "since".
            sql: `WITH s AS MATERIALIZED (SELECT checked_through_id AS checked,
                (SELECT count(*) FROM resource_share_increments WHERE id > checked_through_id) AS since
                FROM aggregation_state WHERE id = 1)
              SELECT checked, since, CASE WHEN since > 0 THEN
                (SELECT count(*) FROM resource_share_increments INDEXED BY increments_time WHERE timestamp_ms >= ? AND id > checked)
                ELSE 0 END AS since_today FROM s`,
            args: [todayStart!],
          }]
        : []),
    ],
    "read",
  );
  const closedAt = new Map(closedRs!.rows.map((r) => [String(r.date), r.closed_at === null ? null : String(r.closed_at)]));
  const since = sinceRs?.rows[0];
  const late =
    since && Number(since.since) > Number(since.since_today)
      ? await lateDays(ctx.db, Number(since.checked), fromStart!, afterRange!, new Map(closedRs!.rows.map((r) => [String(r.date), Number(r.seen)])), zone)
      : new Set<string>();
  for (const day of late) closedAt.delete(day);
  const days = daysBetween(from, to).map((date) => ({ date, closed: closedAt.has(date), closed_at: closedAt.get(date) ?? null }));
  // Days after today have no reports yet: nothing to sum.
  const liveDays = days.filter((d) => !d.closed && d.date <= today).map((d) => d.date);
  const live = liveDays.length > 0 ? await sumDays(ctx.db, liveDays, zone, name) : [];

  let rows = parseDayRows(rowsRs!.rows[0]?.day_rows) as DailyRow[];
  if (late.size > 0) rows = rows.filter((r) => !late.has(r.date));
  for (const r of rows) r.closed = true;
  // Both lists come sorted (parseDayRows, sumDays): only their merge needs sorting again.
  if (live.length > 0) {
    for (const r of live as DailyRow[]) r.closed = false;
    rows.push(...(live as DailyRow[]));
    rows.sort(byDayThenAgent);
  }
  return ok({ time_zone: zone, today, from, to, claude_name: name ?? null, days, rows });
}

/**
 * The closed days (`seen`: each with the highest increment id its close
 * saw) that reports stored after increment `checked` belong to, among
 * reports in [start, end). Reads those reports by rowid: after the snapshot
 * queryDaily read, so a late report committed meanwhile counts too, and a
 * day the catch-up closed again meanwhile is summed live, rightly.
 */
async function lateDays(db: Context["db"], checked: number, start: number, end: number, seen: Map<string, number>, timeZone: string): Promise<Set<string>> {
  // "+": the rowid range, not the time index (which would walk the whole range).
  const rs = await db.execute({ sql: lateMinutesSql("id > ? AND +timestamp_ms >= ? AND +timestamp_ms < ?"), args: [checked, start, end] });
  return daysWithLateReports(rs.rows, seen, timeZone);
}
