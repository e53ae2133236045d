import type { Row } from "../shared/libsql.ts";
import type { Db } from "../shared/context.ts";
import { daysBetween, localDay } from "../shared/time.ts";
import { DAY_COLUMNS, daySumsStatement } from "./daySums.ts";

/** Why a day is (re)closed; shown to the person running the job. */
export type CloseReason = "requested" | "never closed" | "late reports" | "time zone changed";

/**
 * The DAY_COLUMNS a day's rows are written with: all but those SQLite
 * computes itself. The original system's first version may define
 * `total_tokens` as a generated column (pragma_table_xinfo's `hidden` is 2
 * for VIRTUAL, 3 for STORED), which refuses any INSERT naming it, and
 * whose value is the same sum anyway.
 */
async function writtenDayColumns(db: Db): Promise<string> {
  const rs = await db.execute("SELECT name FROM pragma_table_xinfo('daily_resource_share') WHERE hidden IN (2, 3)");
  const computed = new Set(rs.rows.map((r) => String(r.name)));
  return DAY_COLUMNS.filter((c) => !computed.has(c)).join(", ");
}

/**
 * Closes one local day: replaces its rows in daily_resource_share with the
 * sums of its increments and records the close, all in one write
 * transaction. Because the sums and the highest increment id are read inside
 * that transaction, a report that an ingest in another process commits at
 * the same moment is either in both or in neither: counted now, or seen as
 * late by the next catch-up. Returns the number of agent rows written.
 */
export async function closeDay(db: Db, day: string, timeZone: string, closedAt: string): Promise<number> {
  const sums = daySumsStatement([day], timeZone);
  const columns = await writtenDayColumns(db);
  const [, inserted] = await db.batch(
    [
      { sql: "DELETE FROM daily_resource_share WHERE date = ?", args: [day] },
      { sql: `INSERT INTO daily_resource_share (${columns}, last_updated) SELECT ${columns}, ? FROM (${sums.sql})`, args: [closedAt, ...sums.args] },
      {
        sql: `INSERT INTO closed_days (date, time_zone, closed_at, max_increment_id, agents)
          VALUES (?, ?, ?, (SELECT coalesce(max(id), 0) FROM resource_share_increments), (SELECT count(*) FROM daily_resource_share WHERE date = ?))
          ON CONFLICT (date) DO UPDATE SET time_zone = excluded.time_zone, closed_at = excluded.closed_at,
            max_increment_id = excluded.max_increment_id, agents = excluded.agents`,
        args: [day, timeZone, closedAt, day],
      },
    ],
    "write",
  );
  return inserted!.rowsAffected;
}

export interface CatchUpPlan {
  /** Days to close, ascending, each with its reason. */
  days: { date: string; reason: CloseReason }[];
  /** Every increment up to this id has been looked at once these days are closed. */
  checkedThrough: number;
}

/**
 * Which days up to `lastDay` need closing: every day from the first day with
 * increments that is not closed (or was closed in another zone), and every
 * closed day that has received reports since it was closed. Late reports are
 * found among the increments that arrived since the last catch-up only.
 */
export async function planCatchUp(db: Db, timeZone: string, lastDay: string): Promise<CatchUpPlan> {
  // Read the newest id first: anything committed later is left for the next run.
  const head = await db.execute(
    `SELECT coalesce((SELECT max(id) FROM resource_share_increments), 0) AS newest,
            (SELECT min(timestamp_ms) FROM resource_share_increments) AS first_ms,
            (SELECT checked_through_id FROM aggregation_state WHERE id = 1) AS checked`,
  );
  const newest = Number(head.rows[0]!.newest);
  const firstMs = head.rows[0]!.first_ms;
  const checked = Number(head.rows[0]!.checked ?? 0);
  if (firstMs === null || firstMs === undefined) return { days: [], checkedThrough: newest };
  const firstDay = localDay(Number(firstMs), timeZone);
  if (firstDay > lastDay) return { days: [], checkedThrough: newest };

  const closedRs = await db.execute({
    sql: "SELECT date, time_zone, max_increment_id FROM closed_days WHERE date >= ? AND date <= ?",
    args: [firstDay, lastDay],
  });
  const closed = new Map(closedRs.rows.map((r) => [String(r.date), { zone: String(r.time_zone), seen: Number(r.max_increment_id) }]));
  const plan = new Map<string, CloseReason>();
  for (const day of daysBetween(firstDay, lastDay)) {
    const c = closed.get(day);
    if (!c) plan.set(day, "never closed");
    else if (c.zone !== timeZone) plan.set(day, "time zone changed");
  }

  // Late reports matter only for days already closed in this zone: a first
  // catch-up (a year of history, say) skips this scan of every increment.
  if (![...closed.values()].some((c) => c.zone === timeZone)) {
    const days = [...plan].map(([date, reason]) => ({ date, reason }));
    return { days, checkedThrough: newest };
  }

  // Reports that arrived since the last look.
  const lateRs = await db.execute({ sql: lateMinutesSql("id > ? AND id <= ? AND timestamp_ms IS NOT NULL"), args: [checked, newest] });
  const seen = new Map([...closed].filter(([day, c]) => day <= lastDay && c.zone === timeZone).map(([day, c]) => [day, c.seen]));
  for (const day of daysWithLateReports(lateRs.rows, seen, timeZone)) if (!plan.has(day)) plan.set(day, "late reports");
  const days = [...plan].map(([date, reason]) => ({ date, reason })).sort((a, b) => (a.date < b.date ? -1 : 1));
  return { days, checkedThrough: newest };
}

/**
 * Reports picked by `where`, bucketed by the minute they describe, each
 * minute with the newest id among them: few rows however many reports.
 * Read them with daysWithLateReports.
 */
export const lateMinutesSql = (where: string): string =>
  `SELECT timestamp_ms / 60000 AS minute, max(id) AS newest_id FROM resource_share_increments WHERE ${where} GROUP BY minute`;

/**
 * The closed days that reports arrived for after they were closed: `seen`
 * maps each closed day to the highest increment id its close saw. Zone
 * offsets are whole minutes, so a minute straddles at most one midnight;
 * both of its days are checked.
 */
export function daysWithLateReports(minutes: Row[], seen: Map<string, number>, timeZone: string): Set<string> {
  const late = new Set<string>();
  for (const r of minutes) {
    const minuteStart = Number(r.minute) * 60_000;
    for (const day of [localDay(minuteStart, timeZone), localDay(minuteStart + 59_999, timeZone)]) {
      const closedWith = seen.get(day);
      if (closedWith !== undefined && Number(r.newest_id) > closedWith) late.add(day);
    }
  }
  return late;
}

/** Records that the catch-up has looked at every increment up to `id`. */
export async function markChecked(db: Db, id: number): Promise<void> {
  await db.execute({ sql: "UPDATE aggregation_state SET checked_through_id = max(checked_through_id, ?) WHERE id = 1", args: [id] });
}
