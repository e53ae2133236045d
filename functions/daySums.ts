import type { Db } from "../shared/context.ts";
import { dayBounds } from "../shared/time.ts";

/** One agent's usage over one local day, split by mode. */
export interface DayRow {
  claude_name: string;
  date: string;
  autonomous_tokens: number;
  collaborative_tokens: number;
  total_tokens: number;
  autonomous_cost: number;
  collaborative_cost: number;
  total_cost: number;
  autonomous_reports: number;
  collaborative_reports: number;
  report_count: number;
}

const SUMS = `SELECT claude_name,
    coalesce(sum(CASE WHEN mode = 'autonomy' THEN cache_read_increment END), 0) AS autonomous_tokens,
    coalesce(sum(CASE WHEN mode = 'collaboration' THEN cache_read_increment END), 0) AS collaborative_tokens,
    total(CASE WHEN mode = 'autonomy' THEN cost_delta END) AS autonomous_cost,
    total(CASE WHEN mode = 'collaboration' THEN cost_delta END) AS collaborative_cost,
    count(CASE WHEN mode = 'autonomy' THEN 1 END) AS autonomous_reports,
    count(CASE WHEN mode = 'collaboration' THEN 1 END) AS collaborative_reports
  FROM resource_share_increments
  WHERE timestamp_ms >= ? AND timestamp_ms < ?`;

/**
 * Sums one local day straight from the increments: the one definition of a
 * day's usage, used for live figures and for closing days alike.
 */
export async function sumDay(db: Db, day: string, timeZone: string, claudeName?: string): Promise<DayRow[]> {
  const { start, end } = dayBounds(day, timeZone);
  const rs = await db.execute(
    claudeName === undefined
      ? { sql: `${SUMS} GROUP BY claude_name ORDER BY claude_name`, args: [start, end] }
      : { sql: `${SUMS} AND claude_name = ? GROUP BY claude_name`, args: [start, end, claudeName] },
  );
  return rs.rows.map((r) => {
    const autonomous_tokens = Number(r.autonomous_tokens);
    const collaborative_tokens = Number(r.collaborative_tokens);
    const autonomous_cost = Number(r.autonomous_cost);
    const collaborative_cost = Number(r.collaborative_cost);
    const autonomous_reports = Number(r.autonomous_reports);
    const collaborative_reports = Number(r.collaborative_reports);
    return {
      claude_name: String(r.claude_name),
      date: day,
      autonomous_tokens,
      collaborative_tokens,
      total_tokens: autonomous_tokens + collaborative_tokens,
      autonomous_cost,
      collaborative_cost,
      total_cost: autonomous_cost + collaborative_cost,
      autonomous_reports,
      collaborative_reports,
      report_count: autonomous_reports + collaborative_reports,
    };
  });
}
