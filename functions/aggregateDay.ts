import * as v from "valibot";
import type { Context } from "../shared/context.ts";
import { isoDay } from "../shared/fields.ts";
import { invalid, ok, type FieldIssue, type Result } from "../shared/result.ts";
import { addDays, dayBounds, daysBetween, localDay, MAX_RANGE_DAYS, spanDays } from "../shared/time.ts";
import { validate } from "../shared/validate.ts";
import { DEFAULT_TELEMETRY_MARGIN_PERCENT } from "../shared/config.ts";
import { compareDays } from "./telemetry/compare.ts";
import { checkRollupHours, type CheckRollupsOutput } from "./checkRollups.ts";
import { closeDay, markChecked, planCatchUp, type CloseReason } from "./closeDays.ts";

const inputSchema = v.optional(
  v.strictObject(
    { date: v.optional(isoDay), from: v.optional(isoDay), to: v.optional(isoDay) },
    'must be a JSON object with "date", or "from" and "to", or nothing (catch up)',
  ),
  {},
);

export interface AggregateOutput {
  time_zone: string;
  /** The last day that may be closed: yesterday, local time. */
  up_to: string;
  days_closed: number;
  rows_written: number;
  days: { date: string; reason: CloseReason; rows: number }[];
  /** Agent days compared with telemetry (functions/telemetry/compare.ts), and how many disagree beyond the margin. */
  telemetry: { compared: number; disagreeing: number; margin_percent: number };
  /** The catch-up's check of the hourly rollup over the days it closed and yesterday (functions/checkRollups.ts); absent for a requested day or range. */
  rollup_check?: CheckRollupsOutput;
}

/**
 * Closes local days into daily_resource_share: one day (`date`), a range
 * (`from`, `to`), or with no input every day not yet closed, or that
 * received reports after it was closed, up to yesterday. Re-running is
 * harmless: each day's rows are replaced, never added to.
 * @example tsx runner invoke aggregateDay '{"date":"2026-03-29"}'
 */
export async function aggregateDay(input: unknown, ctx: Context): Promise<Result<AggregateOutput>> {
  // valibot's object schemas accept arrays; a batch sent here is a mistake.
  if (Array.isArray(input)) return invalid([{ field: "body", message: "must be a JSON object, not an array" }]);
  const parsed = validate(inputSchema, input);
  if (!parsed.ok) return parsed;
  const { date, from, to } = parsed.value;
  const zone = ctx.config.timeZone;
  const today = localDay(ctx.now(), zone);
  const yesterday = addDays(today, -1);

  const issues: FieldIssue[] = [];
  if (date !== undefined && (from !== undefined || to !== undefined))
    issues.push({ field: "date", message: 'give either "date" or "from" and "to", not both' });
  if ((from === undefined) !== (to === undefined))
    issues.push({ field: from === undefined ? "from" : "to", message: 'is required with "from"/"to": give both ends of the range' });
  for (const [field, day] of [["date", date], ["to", to]] as const)
    if (day !== undefined && day > yesterday)
      issues.push({ field, message: `${day} is not over yet in ${zone} (today is ${today}); days up to ${yesterday} can be closed` });
  if (from !== undefined && to !== undefined && from > to) issues.push({ field: "from", message: `is after "to" (${from} > ${to})` });
  else if (from !== undefined && to !== undefined && spanDays(from, to) > MAX_RANGE_DAYS)
    issues.push({ field: "to", message: `the range is longer than ${MAX_RANGE_DAYS} days; close it in parts` });
  if (issues.length > 0) return invalid(issues);

  let plan: { date: string; reason: CloseReason }[];
  let checkedThrough: number | undefined;
  if (date !== undefined) plan = [{ date, reason: "requested" }];
  else if (from !== undefined && to !== undefined) plan = daysBetween(from, to).map((d) => ({ date: d, reason: "requested" as const }));
  else {
    const catchUp = await planCatchUp(ctx.db, zone, yesterday);
    plan = catchUp.days;
    checkedThrough = catchUp.checkedThrough;
  }

  const margin = ctx.config.telemetryMarginPercent ?? DEFAULT_TELEMETRY_MARGIN_PERCENT;
  const out: AggregateOutput = {
    time_zone: zone, up_to: yesterday, days_closed: 0, rows_written: 0, days: [],
    telemetry: { compared: 0, disagreeing: 0, margin_percent: margin },
  };
  for (const [i, day] of plan.entries()) {
    const rows = await closeDay(ctx.db, day.date, zone, ctx.now().toISOString());
    out.days.push({ ...day, rows });
    out.days_closed++;
    out.rows_written += rows;
    ctx.progress?.(`closed ${day.date} (${day.reason}): ${rows} agent row${rows === 1 ? "" : "s"} [${i + 1}/${plan.length}]`);
  }
  // The second source, for the same days: apart from the reports, never added to them.
  const compared = await compareDays(ctx.db, plan.map((d) => d.date), zone, margin, ctx.now().toISOString());
  out.telemetry.compared = compared.compared;
  out.telemetry.disagreeing = compared.disagreeing;
  if (compared.compared > 0)
    ctx.progress?.(`compared ${compared.compared} agent day(s) with telemetry: ${compared.disagreeing} disagree by more than ${margin}%`);
  // Only once every planned day is closed: a failure above leaves the late
  // reports to be found again by the next run.
  if (checkedThrough !== undefined) {
    await markChecked(ctx.db, checkedThrough);
    // The daily job proves the rollup the live reads use equal to what it just closed, and repairs it if not.
    const first = plan[0]?.date !== undefined && plan[0].date < yesterday ? plan[0].date : yesterday;
    out.rollup_check = await checkRollupHours(ctx.db, zone, { start: dayBounds(first, zone).start, end: dayBounds(yesterday, zone).end }, { from: first, to: yesterday }, ctx.progress);
  }
  return ok(out);
}
