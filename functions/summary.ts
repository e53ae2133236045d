import * as v from "valibot";
import type { Context } from "../shared/context.ts";
import { claudeName } from "../shared/fields.ts";
import { ok, type Result } from "../shared/result.ts";
import { localDay } from "../shared/time.ts";
import { validate } from "../shared/validate.ts";
import type { DayRow } from "./daySums.ts";
import { queryDaily } from "./queryDaily.ts";

export interface SummaryOutput {
  date: string;
  time_zone: string;
  agents: DayRow[];
  total_tokens: number;
}

/** Today's rows through queryDaily, the one path for daily figures. */
async function todayRows(ctx: Context, name?: string): Promise<{ date: string; rows: DayRow[] }> {
  const date = localDay(ctx.now(), ctx.config.timeZone);
  const daily = await queryDaily({ from: date, to: date, ...(name === undefined ? {} : { claude_name: name }) }, ctx);
  // The input is built here from a valid day and a validated name.
  if (!daily.ok) throw new Error(`queryDaily refused today's query: ${daily.error.message}`);
  return { date, rows: daily.value.rows.map(({ closed: _closed, ...row }) => row) };
}

/**
 * Today's usage per agent, computed live from the increments (today is the
 * local day in the configured zone).
 * @example tsx runner invoke summary '{}'
 */
export async function summary(input: unknown, ctx: Context): Promise<Result<SummaryOutput>> {
  const parsed = validate(v.optional(v.object({}), {}), input);
  if (!parsed.ok) return parsed;
  const { date, rows: agents } = await todayRows(ctx);
  return ok({ date, time_zone: ctx.config.timeZone, agents, total_tokens: agents.reduce((s, a) => s + a.total_tokens, 0) });
}

/**
 * One agent's usage today; zeros for an agent that has not reported today.
 * @example tsx runner invoke today '{"claude_name":"Sparkle-Orange"}'
 */
export async function today(input: unknown, ctx: Context): Promise<Result<DayRow & { time_zone: string }>> {
  const parsed = validate(v.object({ claude_name: claudeName }), input);
  if (!parsed.ok) return parsed;
  const name = parsed.value.claude_name;
  const { date, rows: [row] } = await todayRows(ctx, name);
  const zero: DayRow = {
    claude_name: name, date, autonomous_tokens: 0, collaborative_tokens: 0, total_tokens: 0,
    autonomous_cost: 0, collaborative_cost: 0, total_cost: 0, autonomous_reports: 0, collaborative_reports: 0, report_count: 0,
  };
  return ok({ ...(row ?? zero), time_zone: ctx.config.timeZone });
}
