import type { Db } from "../../shared/context.ts";
import type { InStatement } from "../../shared/libsql.ts";
import { addDays, dayStarts } from "../../shared/time.ts";
import { COST_METRIC, TOKEN_METRIC } from "./otlp.ts";

/** One agent's closed day by both sources: a row of telemetry_comparisons. */
export interface Comparison {
  claude_name: string;
  date: string;
  /** Cache-read tokens, the reports' meaning of "tokens" (their daily sums' total_tokens). */
  report_tokens: number;
  /** The same from telemetry: claude_code.token.usage with type cacheRead. */
  telemetry_tokens: number;
  /** |difference| over the larger of the two, in percent; null when the day's reports carry no token counts (cost-only clients). */
  tokens_diff_percent: number | null;
  report_cost: number;
  telemetry_cost: number;
  /** As tokens_diff_percent; null when no report of the day carries a cost. */
  cost_diff_percent: number | null;
  margin_percent: number;
  /** A compared figure is further apart than the margin. */
  disagrees: boolean;
  compared_at: string;
}

/** |a - b| over the larger, in percent; 0 when both are 0. */
const diffPercent = (a: number, b: number): number => {
  const larger = Math.max(a, b);
  return larger === 0 ? 0 : (Math.abs(a - b) / larger) * 100;
};

/**
 * Compares each agent's closed days from the reports with the same days
 * from telemetry and replaces those days' rows in telemetry_comparisons.
 * An agent is compared from the first day it sent telemetry: before that
 * there is nothing to compare with, and agents that never send any are
 * left out (so the catch-up over years of reports costs nothing more when
 * no telemetry arrives). Days are the half-open spans of shared/time.ts, as
 * for the reports' own sums. Returns how many rows were written and how
 * many of them disagree.
 */
export async function compareDays(
  db: Db,
  days: string[],
  timeZone: string,
  marginPercent: number,
  comparedAt: string,
): Promise<{ compared: number; disagreeing: number }> {
  const out = { compared: 0, disagreeing: 0 };
  if (days.length === 0) return out;
  const firstMs = await firstTelemetry(db);
  if (firstMs.size === 0) return out;
  const sorted = [...new Set(days)].sort();
  const bounds = dayStarts(sorted.flatMap((d) => [d, addDays(d, 1)]), timeZone);
  for (const [i, day] of sorted.entries()) {
    const start = bounds[2 * i]!;
    const end = bounds[2 * i + 1]!;
    const agents = [...firstMs].filter(([, first]) => first < end).map(([name]) => name);
    const statements: InStatement[] = [{ sql: "DELETE FROM telemetry_comparisons WHERE date = ?", args: [day] }];
    if (agents.length > 0) {
      const rows = await compareDay(db, agents, day, start, end, marginPercent, comparedAt);
      for (const r of rows) {
        statements.push({
          sql: `INSERT INTO telemetry_comparisons (claude_name, date, report_tokens, telemetry_tokens, tokens_diff_percent, report_cost, telemetry_cost,
            cost_diff_percent, margin_percent, disagrees, compared_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          args: [r.claude_name, r.date, r.report_tokens, r.telemetry_tokens, r.tokens_diff_percent, r.report_cost, r.telemetry_cost,
            r.cost_diff_percent, r.margin_percent, r.disagrees ? 1 : 0, r.compared_at],
        });
        out.compared++;
        if (r.disagrees) out.disagreeing++;
      }
    }
    await db.batch(statements, "write");
  }
  return out;
}

/** Each agent that sent telemetry, with the time of its first point; found by seeking the index, not by reading every point. */
async function firstTelemetry(db: Db): Promise<Map<string, number>> {
  const rs = await db.execute(`WITH RECURSIVE agents (name) AS (
      SELECT min(claude_name) FROM telemetry_points
      UNION ALL SELECT (SELECT min(claude_name) FROM telemetry_points WHERE claude_name > name) FROM agents WHERE name IS NOT NULL)
    SELECT name, (SELECT min(time_ms) FROM telemetry_points WHERE claude_name = name) AS first_ms FROM agents WHERE name IS NOT NULL`);
  return new Map(rs.rows.map((r) => [String(r.name), Number(r.first_ms)]));
}

async function compareDay(db: Db, agents: string[], day: string, start: number, end: number, margin: number, comparedAt: string): Promise<Comparison[]> {
  const names = agents.map(() => "?").join(", ");
  // Which measures the day's reports carry: the agents' older timers send
  // tokens only or cost only, and a measure nobody reported is not a disagreement.
  const reports = await db.execute({
    sql: `SELECT claude_name, sum(cache_read_increment) AS tokens, total(cost_delta) AS cost, count(cost_delta) AS with_cost,
        count(CASE WHEN cost_delta IS NULL OR cache_read_increment > 0 THEN 1 END) AS with_tokens
      FROM resource_share_increments WHERE claude_name IN (${names}) AND timestamp_ms >= ? AND timestamp_ms < ? GROUP BY claude_name`,
    args: [...agents, start, end],
  });
  const telemetry = await db.execute({
    sql: `SELECT claude_name, total(CASE WHEN metric = ? AND type = 'cacheRead' THEN value END) AS tokens, total(CASE WHEN metric = ? THEN value END) AS cost
      FROM telemetry_points WHERE claude_name IN (${names}) AND time_ms >= ? AND time_ms < ? GROUP BY claude_name`,
    args: [TOKEN_METRIC, COST_METRIC, ...agents, start, end],
  });
  const byAgent = new Map<string, { r?: (typeof reports.rows)[number]; t?: (typeof telemetry.rows)[number] }>();
  for (const r of reports.rows) byAgent.set(String(r.claude_name), { r });
  for (const t of telemetry.rows) byAgent.set(String(t.claude_name), { ...byAgent.get(String(t.claude_name)), t });
  return [...byAgent].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, { r, t }]) => {
    const reportTokens = Number(r?.tokens ?? 0);
    const reportCost = Number(r?.cost ?? 0);
    const telemetryTokens = Math.round(Number(t?.tokens ?? 0));
    const telemetryCost = Number(t?.cost ?? 0);
    // No report at all that day, while telemetry counted usage: both measures disagree.
    const tokensPct = r === undefined || Number(r.with_tokens) > 0 ? diffPercent(reportTokens, telemetryTokens) : null;
    const costPct = r === undefined || Number(r.with_cost) > 0 ? diffPercent(reportCost, telemetryCost) : null;
    return {
      claude_name: name,
      date: day,
      report_tokens: reportTokens,
      telemetry_tokens: telemetryTokens,
      tokens_diff_percent: tokensPct,
      report_cost: reportCost,
      telemetry_cost: telemetryCost,
      cost_diff_percent: costPct,
      margin_percent: margin,
      disagrees: (tokensPct ?? 0) > margin || (costPct ?? 0) > margin,
      compared_at: comparedAt,
    };
  });
}

/**
 * The days whose two sources disagree by more than the margin they were
 * compared with, newest first (for the viewer, and for an alert rule):
 * optionally within [from, to] and for one agent.
 */
export async function disagreeingDays(
  db: Pick<Db, "execute">,
  { from, to, claudeName }: { from?: string; to?: string; claudeName?: string } = {},
): Promise<Comparison[]> {
  const where = ["disagrees = 1"];
  const args: string[] = [];
  if (from !== undefined) where.push("date >= ?"), args.push(from);
  if (to !== undefined) where.push("date <= ?"), args.push(to);
  if (claudeName !== undefined) where.push("claude_name = ?"), args.push(claudeName);
  const rs = await db.execute({ sql: `SELECT * FROM telemetry_comparisons WHERE ${where.join(" AND ")} ORDER BY date DESC, claude_name`, args });
  return rs.rows.map((r) => ({
    claude_name: String(r.claude_name),
    date: String(r.date),
    report_tokens: Number(r.report_tokens),
    telemetry_tokens: Number(r.telemetry_tokens),
    tokens_diff_percent: r.tokens_diff_percent === null ? null : Number(r.tokens_diff_percent),
    report_cost: Number(r.report_cost),
    telemetry_cost: Number(r.telemetry_cost),
    cost_diff_percent: r.cost_diff_percent === null ? null : Number(r.cost_diff_percent),
    margin_percent: Number(r.margin_percent),
    disagrees: true,
    compared_at: String(r.compared_at),
  }));
}
