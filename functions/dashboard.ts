import * as v from "valibot";
import type { Context, Db } from "../shared/context.ts";
import { ok, type Result } from "../shared/result.ts";
import { HOUR_MS } from "../shared/rollup.ts";
import { addDays, dayBounds, localDay } from "../shared/time.ts";
import { validate } from "../shared/validate.ts";
import { addSums, emptySums, type DayRow, type Sums } from "./daySums.ts";
import { queryDaily, type DailyRow } from "./queryDaily.ts";
import { rollupReady, usageRowsStatement } from "./usage.ts";


export const PERIODS = [
  { key: "today", label: "Today", days: 1 },
  { key: "week", label: "Last 7 days", days: 7 },
  { key: "month", label: "Last 30 days", days: 30 },
] as const;
export type PeriodKey = (typeof PERIODS)[number]["key"];

export interface AgentUsage {
  claude_name: string;
  /** Unix ms of the agent's latest report, or null if it never reported. */
  last_report_ms: number | null;
  periods: Record<PeriodKey, Sums>;
}

export interface HourSlot {
  /** Local clock time the slot starts at, e.g. "09:00". */
  label: string;
  start_ms: number;
  autonomous_tokens: number;
  collaborative_tokens: number;
}

export interface DashboardOutput {
  time_zone: string;
  today: string;
  generated_at: string;
  /** First day of each period (the period runs to today). */
  period_starts: Record<PeriodKey, string>;
  agents: AgentUsage[];
  family: Record<PeriodKey, Sums>;
  /** Per agent per day over the last 30 days (days with reports only). */
  daily: DayRow[];
  /** Today by local hour, the whole family. */
  hourly: HourSlot[];
}

/**
 * Per agent per local day from `from` to `to`, both included, through
 * queryDaily: closed days from the summary table, the rest live. A fault
 * there is a fault here; bad input cannot happen (the days are computed).
 */
export async function dailyRows(ctx: Context, from: string, to: string, claudeName?: string): Promise<DailyRow[]> {
  const result = await queryDaily({ from, to, ...(claudeName ? { claude_name: claudeName } : {}) }, ctx);
  if (!result.ok) throw new Error(`queryDaily refused ${from}..${to}: ${result.error.message}`);
  return result.value.rows;
}

/**
 * Today's hours counted from local midnight, so a day with a daylight-saving
 * change has 23 or 25 slots and zones with half-hour offsets still line up.
 * Through the hourly rollup (usage.ts): where local hours are UTC hours, the
 * day is one span whose rollup rows are summed over the agents hour by hour
 * in the rollup's own order; in a zone 30 or 45 minutes off UTC, each slot
 * straddles two UTC hours and is summed from the reports.
 */
async function hourly(db: Db, day: string, timeZone: string): Promise<HourSlot[]> {
  const { start, end } = dayBounds(day, timeZone);
  const clock = new Intl.DateTimeFormat("en-GB", { timeZone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  const slots: HourSlot[] = [];
  for (let t = start; t < end; t += HOUR_MS)
    slots.push({ label: clock.format(t), start_ms: t, autonomous_tokens: 0, collaborative_tokens: 0 });
  const onTheHour = start % HOUR_MS === 0;
  const spans = onTheHour ? [{ key: 0, start, end }] : slots.map((s, i) => ({ key: i, start: s.start_ms, end: Math.min(s.start_ms + HOUR_MS, end) }));
  const usage = usageRowsStatement(spans, await rollupReady(db), { cost: false, agentsTogether: onTheHour });
  const rs = await db.execute({
    sql: `SELECT ${onTheHour ? `(hour_ms - ${start}) / ${HOUR_MS}` : "key"} AS slot,
        coalesce(sum(CASE WHEN mode = 'autonomy' THEN tokens END), 0) AS a,
        coalesce(sum(CASE WHEN mode = 'collaboration' THEN tokens END), 0) AS c
      FROM (${usage.sql}) GROUP BY 1`,
    args: usage.args,
  });
  for (const r of rs.rows) {
    const slot = slots[Number(r.slot)];
    if (!slot) continue;
    slot.autonomous_tokens = Number(r.a);
    slot.collaborative_tokens = Number(r.c);
  }
  return slots;
}

/**
 * Everything the viewer's dashboard shows: per agent, today and the last 7
 * and 30 local days split by mode, the latest report, the daily series and
 * today's hours.
 * @example tsx runner invoke dashboard '{}'
 */
export async function dashboard(input: unknown, ctx: Context): Promise<Result<DashboardOutput>> {
  const parsed = validate(v.optional(v.object({}), {}), input);
  if (!parsed.ok) return parsed;
  const { timeZone } = ctx.config;
  const now = ctx.now();
  const today = localDay(now, timeZone);
  const period_starts = Object.fromEntries(PERIODS.map((p) => [p.key, addDays(today, 1 - p.days)])) as Record<PeriodKey, string>;

  // The four reads do not depend on each other: asked together, a libSQL
  // server answers them side by side (each is a round trip there); a file
  // connection takes them in turn as before.
  const [daily, last, known, hours] = await Promise.all([
    dailyRows(ctx, period_starts.month, today),
    // Each agent's latest report by seeks on (claude_name, timestamp_ms): the
    // recursive step jumps from one agent to the next: a few index seeks per
    // agent instead of the scan of the whole index that GROUP BY claude_name
    // needs (figures: docs/performance.md, "Settings chosen by measurement").
    ctx.db.execute(
      `WITH RECURSIVE names (n) AS (
        SELECT min(claude_name) FROM resource_share_increments
        UNION ALL
        SELECT (SELECT min(claude_name) FROM resource_share_increments WHERE claude_name > n) FROM names WHERE n IS NOT NULL)
      SELECT n AS claude_name, (SELECT max(timestamp_ms) FROM resource_share_increments WHERE claude_name = n) AS last_ms
        FROM names WHERE n IS NOT NULL`,
    ),
    ctx.db.execute("SELECT name FROM claude_identities"),
    hourly(ctx.db, today, timeZone),
  ]);

  const agents = new Map<string, AgentUsage>();
  const agent = (name: string): AgentUsage => {
    let a = agents.get(name);
    if (!a) {
      a = { claude_name: name, last_report_ms: null, periods: { today: emptySums(), week: emptySums(), month: emptySums() } };
      agents.set(name, a);
    }
    return a;
  };
  for (const r of known.rows) agent(String(r.name));
  for (const r of last.rows) agent(String(r.claude_name)).last_report_ms = r.last_ms === null ? null : Number(r.last_ms);

  const family: Record<PeriodKey, Sums> = { today: emptySums(), week: emptySums(), month: emptySums() };
  for (const row of daily)
    for (const p of PERIODS)
      if (row.date >= period_starts[p.key]) {
        addSums(agent(row.claude_name).periods[p.key], row);
        addSums(family[p.key], row);
      }

  return ok({
    time_zone: timeZone,
    today,
    generated_at: now.toISOString(),
    period_starts,
    agents: [...agents.values()].sort((a, b) => a.claude_name.localeCompare(b.claude_name)),
    family,
    daily,
    hourly: hours,
  });
}
