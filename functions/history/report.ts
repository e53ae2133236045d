import * as v from "valibot";
import type { Context, Db } from "../../shared/context.ts";
import { isoDay } from "../../shared/fields.ts";
import { invalid, ok, type Result } from "../../shared/result.ts";
import { localDay, localMinute, startOfDay } from "../../shared/time.ts";
import { validate } from "../../shared/validate.ts";
import { fairShares, jain, usableWeight } from "../advice/fairness.ts";
import { addSums, emptySums, type DayRow, type Sums } from "../daySums.ts";
import { queryDaily } from "../queryDaily.ts";
import { hoursOfDay } from "./hours.ts";
import { nextPeriod, periodOf, previousPeriod, type Period } from "./period.ts";

const inputSchema = v.strictObject(
  {
    period: v.picklist(["week", "month"], 'must be "week" or "month"'),
    // Bounded so that the period before and after are real days too.
    of: v.optional(v.pipe(isoDay, v.check((d) => d >= "1970-01-01" && d <= "9998-12-31", "must be a day from 1970-01-01 to 9998-12-31"))),
  },
  'must be a JSON object with "period" ("week" or "month") and optional "of" (YYYY-MM-DD, a day in the period; default today)',
);

/** How many of an agent's busiest hours a report names. */
const BUSIEST = 3;

export interface AgentReport extends Sums {
  claude_name: string;
  /** From claude_identities (1 when not set). */
  weight: number;
  reports: number;
  /** Local days with at least one report. */
  days_active: number;
  /** Its busiest local hours of the day (0-23), most tokens first. */
  busiest_hours: { hour: number; tokens: number }[];
  previous: { total_tokens: number; total_cost: number };
  /** Change of the totals against the previous period, in %; null when the previous had none. */
  change_tokens_pct: number | null;
  change_cost_pct: number | null;
  /** Its part of the family's autonomous tokens; null when there were none. */
  share: number | null;
  /** Its weight over the weights of the agents active in the period; null when it was not active. */
  fair_share: number | null;
  /** share ÷ fair_share: 1 is exactly fair. */
  share_ratio: number | null;
}

export interface WindowPeak {
  window: string;
  peak_percentage: number;
  /** When the peak was read, ISO-8601 UTC and local. */
  peak_at: string;
  peak_at_local: string;
  readings: number;
}

export interface ReportOutput {
  period: Period["kind"];
  label: string;
  from: string;
  to: string;
  time_zone: string;
  generated_at: string;
  /** False while the period has days to come (today included). */
  complete: boolean;
  /** Days read from daily_resource_share, and days summed live from the increments. */
  closed_days: number;
  live_days: number;
  previous: { label: string; from: string; to: string };
  next: { label: string; from: string; to: string };
  family: Sums & {
    reports: number;
    previous: { total_tokens: number; total_cost: number };
    change_tokens_pct: number | null;
    change_cost_pct: number | null;
  };
  /** Jain's index of the agents' share ÷ fair share (1: all got their fair share); null without autonomous work. */
  jain_index: number | null;
  agents: AgentReport[];
  /** Each quota window's highest reading in the period (quota_observations); empty without readings. */
  windows: WindowPeak[];
  /** Per agent per day of the period, days with reports only (the charts). */
  daily: DayRow[];
  /** The family's tokens per local hour of the day (0-23), summed over the period. */
  hours: { hour: number; autonomous_tokens: number; collaborative_tokens: number }[];
}

const change = (now: number, before: number): number | null => (before > 0 ? Math.round((1000 * (now - before)) / before) / 10 : null);

/**
 * A history report for an ISO week or a calendar month of local days in
 * RESOURCE_SHARE_TZ: per agent, tokens and cost by mode, days active, the
 * busiest hours, the change against the previous period, the share of
 * autonomous work against the fair share, the period's Jain index, and the
 * quota windows' peaks. Days come through queryDaily (closed days from
 * daily_resource_share, the others live), so a year of history costs the
 * report no more than its own days.
 * @example tsx runner invoke report '{"period":"week","of":"2026-12-01"}'
 */
export async function report(input: unknown, ctx: Context): Promise<Result<ReportOutput>> {
  if (Array.isArray(input)) return invalid([{ field: "body", message: "must be a JSON object, not an array" }]);
  const parsed = validate(inputSchema, input);
  if (!parsed.ok) return parsed;
  const zone = ctx.config.timeZone;
  const now = ctx.now();
  const today = localDay(now, zone);
  const period = periodOf(parsed.value.period, parsed.value.of ?? today);
  const previous = previousPeriod(period);

  const daily = await queryDaily({ from: previous.from, to: period.to }, ctx);
  if (!daily.ok) throw new Error(`queryDaily refused ${previous.from}..${period.to}: ${daily.error.message}`);
  const days = daily.value.days.filter((d) => d.date >= period.from && d.date <= today);
  const [hours, weights, windows] = await Promise.all([
    period.from <= today ? hoursOfDay(ctx.db, period.from, period.to < today ? period.to : today, zone) : [],
    ctx.db.execute("SELECT name, weight FROM claude_identities"),
    windowPeaks(ctx.db, period, zone),
  ]);
  const weightOf = new Map(weights.rows.map((r) => [String(r.name), usableWeight(r.weight)]));

  const agents = new Map<string, AgentReport>();
  const agent = (name: string): AgentReport => {
    let a = agents.get(name);
    if (!a)
      agents.set(name, (a = {
        claude_name: name, weight: weightOf.get(name) ?? 1, ...emptySums(), reports: 0, days_active: 0, busiest_hours: [],
        previous: { total_tokens: 0, total_cost: 0 }, change_tokens_pct: null, change_cost_pct: null, share: null, fair_share: null, share_ratio: null,
      }));
    return a;
  };
  const family = { ...emptySums(), reports: 0, previous: { total_tokens: 0, total_cost: 0 }, change_tokens_pct: null as number | null, change_cost_pct: null as number | null };
  const rows: DayRow[] = [];
  for (const { closed: _closed, ...row } of daily.value.rows) {
    const a = agent(row.claude_name);
    if (row.date < period.from) {
      a.previous.total_tokens += row.total_tokens;
      a.previous.total_cost += row.total_cost;
      family.previous.total_tokens += row.total_tokens;
      family.previous.total_cost += row.total_cost;
      continue;
    }
    rows.push(row);
    addSums(a, row);
    addSums(family, row);
    a.reports += row.report_count;
    family.reports += row.report_count;
    if (row.report_count > 0) a.days_active++;
  }
  family.change_tokens_pct = change(family.total_tokens, family.previous.total_tokens);
  family.change_cost_pct = change(family.total_cost, family.previous.total_cost);

  const familyHours = Array.from({ length: 24 }, (_, hour) => ({ hour, autonomous_tokens: 0, collaborative_tokens: 0 }));
  const agentHours = new Map<string, { hour: number; tokens: number }[]>();
  for (const h of hours) {
    familyHours[h.hour]!.autonomous_tokens += h.autonomous_tokens;
    familyHours[h.hour]!.collaborative_tokens += h.collaborative_tokens;
    const list = agentHours.get(h.claude_name) ?? [];
    list.push({ hour: h.hour, tokens: h.autonomous_tokens + h.collaborative_tokens });
    agentHours.set(h.claude_name, list);
  }

  // Fair shares among the agents that worked in the period, as the advice
  // shares the windows among the active ones; of autonomous work, the part
  // the advice paces.
  const list = [...agents.values()].sort((a, b) => (a.claude_name < b.claude_name ? -1 : a.claude_name > b.claude_name ? 1 : 0));
  const active = list.filter((a) => a.days_active > 0);
  const fair = fairShares(active.map((a) => a.weight));
  const ratios: number[] = [];
  active.forEach((a, i) => {
    a.fair_share = fair[i]!;
    if (family.autonomous_tokens > 0) {
      a.share = a.autonomous_tokens / family.autonomous_tokens;
      a.share_ratio = a.share / a.fair_share;
      ratios.push(a.share_ratio);
    }
  });
  for (const a of list) {
    a.change_tokens_pct = change(a.total_tokens, a.previous.total_tokens);
    a.change_cost_pct = change(a.total_cost, a.previous.total_cost);
    a.busiest_hours = (agentHours.get(a.claude_name) ?? [])
      .filter((h) => h.tokens > 0)
      .sort((x, y) => y.tokens - x.tokens || x.hour - y.hour)
      .slice(0, BUSIEST);
  }

  const next = nextPeriod(period);
  return ok({
    period: period.kind,
    label: period.label,
    from: period.from,
    to: period.to,
    time_zone: zone,
    generated_at: now.toISOString(),
    complete: period.to < today,
    closed_days: days.filter((d) => d.closed).length,
    live_days: days.filter((d) => !d.closed).length,
    previous: { label: previous.label, from: previous.from, to: previous.to },
    next: { label: next.label, from: next.from, to: next.to },
    family,
    jain_index: ratios.length > 0 ? jain(ratios) : null,
    agents: list,
    windows,
    daily: rows,
    hours: familyHours,
  });
}

/**
 * Each window's highest reading within the period, with one grouped query
 * (SQLite answers a bare column beside max() from the row that holds the
 * max: the peak's time).
 */
async function windowPeaks(db: Db, period: Period, timeZone: string): Promise<WindowPeak[]> {
  const [start, end] = [period.from, nextPeriod(period).from].map((day) => new Date(startOfDay(day, timeZone)).toISOString());
  const rs = await db.execute({
    sql: `SELECT window, max(used_percentage) AS peak, observed_at, count(*) AS readings
      FROM quota_observations WHERE observed_at >= ? AND observed_at < ? GROUP BY window ORDER BY window`,
    args: [start!, end!],
  });
  return rs.rows.map((r) => {
    const at = Date.parse(String(r.observed_at));
    return {
      window: String(r.window),
      peak_percentage: Number(r.peak),
      peak_at: new Date(at).toISOString(),
      peak_at_local: localMinute(at, timeZone),
      readings: Number(r.readings),
    };
  });
}
