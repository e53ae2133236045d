import * as v from "valibot";
import type { Context, Db } from "../shared/context.ts";
import { isoDay } from "../shared/fields.ts";
import { invalid, ok, type Result } from "../shared/result.ts";
import { HOUR_MS, HOUR_OF, ROLL_UP_NEW, rollUp, rollupProgress } from "../shared/rollup.ts";
import { addDays, dayBounds, localDay, MAX_RANGE_DAYS, spanDays } from "../shared/time.ts";
import { validate } from "../shared/validate.ts";

const inputSchema = v.optional(
  v.strictObject(
    { from: v.optional(isoDay), to: v.optional(isoDay), all: v.optional(v.boolean("must be true or false")) },
    'must be a JSON object with optional "from" and "to" (YYYY-MM-DD), or "all": true',
  ),
  {},
);

/** Costs are sums of floating-point numbers added in another order: equal when they differ by less than this share (or a nano-dollar). */
const COST_TOLERANCE = 1e-9;

interface Sums {
  tokens: number;
  cost: number;
  reports: number;
}

export interface RollupDifference {
  hour: string;
  claude_name: string;
  mode: string;
  rollup: Sums;
  reports: Sums;
}

export interface CheckRollupsOutput {
  /** equal: the rollup held the reports' sums; repaired: it did not, and now does; building: it is still being built, nothing was checked. */
  status: "equal" | "repaired" | "building";
  time_zone: string;
  /** Local days checked (null with "all"), as UTC hours from first_hour to last_hour. */
  from: string | null;
  to: string | null;
  first_hour: string | null;
  last_hour: string | null;
  /** Rows of usage_hourly compared (hours, agents and modes with reports or rollup rows). */
  rows_checked: number;
  /** Rows that differed; each of their hours was summed again from the reports. */
  differences: number;
  hours_repaired: number;
  /** The first differences found, at most 20, as they were before the repair. */
  examples: RollupDifference[];
  /** Rollup rows added to for reports no commit had rolled up yet (another program stored them), before the check. */
  caught_up: number;
}

const hourText = (ms: number) => new Date(ms).toISOString().slice(0, 13) + ":00Z";

/**
 * Proves the hourly rollup equal to the sums of the reports, and repairs
 * what is not: over local days `from`..`to` (default yesterday and today),
 * or every hour with `"all": true`. Compares per hour, agent and mode the
 * tokens, report counts (exactly) and costs; each hour with a difference is
 * summed again from the reports in one write transaction. Run by the daily
 * catch-up (aggregateDay {}) over the days it closed; by hand after
 * editing reports in the shell.
 * @example tsx runner invoke checkRollups '{"from":"2026-03-25","to":"2026-03-31"}'
 */
export async function checkRollups(input: unknown, ctx: Context): Promise<Result<CheckRollupsOutput>> {
  if (Array.isArray(input)) return invalid([{ field: "body", message: "must be a JSON object, not an array" }]);
  const parsed = validate(inputSchema, input);
  if (!parsed.ok) return parsed;
  const zone = ctx.config.timeZone;
  const today = localDay(ctx.now(), zone);
  const all = parsed.value.all === true;
  if (all && (parsed.value.from !== undefined || parsed.value.to !== undefined))
    return invalid([{ field: "all", message: 'give either "all": true or "from"/"to", not both' }]);
  const to = parsed.value.to ?? (parsed.value.from !== undefined && parsed.value.from > today ? parsed.value.from : today);
  const from = parsed.value.from ?? addDays(to, -1);
  if (!all && from > to) return invalid([{ field: "from", message: `is after "to" (${from} > ${to})` }]);
  if (!all && spanDays(from, to) > MAX_RANGE_DAYS) return invalid([{ field: "to", message: `the range is longer than ${MAX_RANGE_DAYS} days; use "all": true or check in parts` }]);
  const range = all ? undefined : { start: dayBounds(from, zone).start, end: dayBounds(to, zone).end };
  return ok(await checkRollupHours(ctx.db, zone, range, all ? null : { from, to }, ctx.progress));
}

/**
 * The check itself, over the UTC hours covering [range.start, range.end)
 * (every hour without a range). Differences are found in a read snapshot,
 * so the webhook keeps writing meanwhile; a differing hour is then summed
 * again in a write transaction, from the reports up to the watermark that
 * transaction sees, which is right whatever was committed in between.
 */
export async function checkRollupHours(
  db: Db,
  timeZone: string,
  range: { start: number; end: number } | undefined,
  days: { from: string; to: string } | null,
  progress?: (message: string) => void,
): Promise<CheckRollupsOutput> {
  const first = range ? Math.floor(range.start / HOUR_MS) * HOUR_MS : null;
  const end = range ? Math.ceil(range.end / HOUR_MS) * HOUR_MS : null;
  const out: CheckRollupsOutput = {
    status: "equal", time_zone: timeZone, from: days?.from ?? null, to: days?.to ?? null,
    first_hour: first === null ? null : hourText(first), last_hour: end === null ? null : hourText(end - HOUR_MS),
    rows_checked: 0, differences: 0, hours_repaired: 0, examples: [], caught_up: 0,
  };
  const at = await rollupProgress(db);
  if (at.builtThroughId < at.buildUntilId) {
    progress?.(`the hourly rollup is still being built (${at.builtThroughId} of ${at.buildUntilId} reports); nothing checked`);
    return { ...out, status: "building" };
  }
  const [caughtUp] = await db.batch(ROLL_UP_NEW, "write");
  out.caught_up = caughtUp!.rowsAffected;

  const inRange = (column: string) => (range ? `${column} >= ? AND ${column} < ?` : `${column} IS NOT NULL`);
  const rangeArgs = range ? [first!, end!] : [];
  // One pass over the reports: every group of the range is summed once (kept
  // MATERIALIZED, a few thousand rows on a week of a big family), then read
  // twice, for the groups that differ and for how many were checked.
  const rs = await db.execute({
    sql: `WITH st AS MATERIALIZED (SELECT rolled_through_id AS rolled FROM usage_hourly_state WHERE id = 1),
      grouped AS MATERIALIZED (
        SELECT hour_ms, claude_name, mode,
            coalesce(sum(x_t), 0) AS rt, total(x_c) AS rc, coalesce(sum(x_r), 0) AS rr,
            coalesce(sum(y_t), 0) AS ut, total(y_c) AS uc, coalesce(sum(y_r), 0) AS ur
          FROM (SELECT ${HOUR_OF} AS hour_ms, claude_name, mode, cache_read_increment AS x_t, cost_delta AS x_c, 1 AS x_r, 0 AS y_t, 0 AS y_c, 0 AS y_r
              FROM resource_share_increments WHERE ${inRange("timestamp_ms")} AND id <= (SELECT rolled FROM st)
            UNION ALL
            SELECT hour_ms, claude_name, mode, 0, 0, 0, tokens, cost + cost_residual, reports FROM usage_hourly WHERE ${inRange("hour_ms")})
          GROUP BY hour_ms, claude_name, mode)
      SELECT hour_ms, claude_name, mode, 1 AS n, rt, rc, rr, ut, uc, ur FROM grouped
        WHERE rt != ut OR rr != ur OR abs(rc - uc) > ${COST_TOLERANCE} * max(1, abs(rc))
      UNION ALL
      SELECT NULL, NULL, NULL, count(*), 0, 0, 0, 0, 0, 0 FROM grouped`,
    args: [...rangeArgs, ...rangeArgs],
  });
  const differing = rs.rows.filter((r) => r.hour_ms !== null);
  out.rows_checked = Number(rs.rows.find((r) => r.hour_ms === null)?.n ?? 0);
  out.differences = differing.length;
  out.examples = differing.slice(0, 20).map((r) => ({
    hour: hourText(Number(r.hour_ms)),
    claude_name: String(r.claude_name),
    mode: String(r.mode),
    rollup: { tokens: Number(r.ut), cost: Number(r.uc), reports: Number(r.ur) },
    reports: { tokens: Number(r.rt), cost: Number(r.rc), reports: Number(r.rr) },
  }));
  const hours = [...new Set(differing.map((r) => Number(r.hour_ms)))].sort((a, b) => a - b);
  if (hours.length === 0) {
    progress?.(`the hourly rollup equals the reports' sums: ${out.rows_checked} rows checked`);
    return out;
  }
  progress?.(`the hourly rollup differs from the reports in ${differing.length} row(s) over ${hours.length} hour(s), e.g. ${describe(out.examples[0]!)}; summing those hours again from the reports`);
  const repair = hours.flatMap((h) => [
    { sql: "DELETE FROM usage_hourly WHERE hour_ms = ?", args: [h] },
    { sql: rollUp(`timestamp_ms >= ? AND timestamp_ms < ? AND id <= (SELECT rolled_through_id FROM usage_hourly_state WHERE id = 1)`), args: [h, h + HOUR_MS] },
  ]);
  await db.batch(repair, "write");
  out.hours_repaired = hours.length;
  out.status = "repaired";
  progress?.(`repaired ${hours.length} hour(s) of the hourly rollup`);
  return out;
}

const describe = (d: RollupDifference) =>
  `${d.claude_name} ${d.mode} at ${d.hour}: rollup ${d.rollup.tokens} tokens in ${d.rollup.reports} report(s), reports ${d.reports.tokens} tokens in ${d.reports.reports}`;
