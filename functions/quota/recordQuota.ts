import type { Context } from "../../shared/context.ts";
import { invalid, ok, type FieldIssue, type Result } from "../../shared/result.ts";
import { validate } from "../../shared/validate.ts";
import { insertQuotaRows, observationSchema, staleness, toQuotaRow, type QuotaRow } from "./observation.ts";

/** A scraper sends a handful of windows; a backlog of a week at one reading a minute stays under this. */
export const MAX_OBSERVATIONS = 20_000;

export interface RecordQuotaOutput {
  status: "success";
  stored: number;
  /** Observations that say nothing about now, by their index in the input (0 for a single one). */
  ignored: { index: number; window: string; reason: string }[];
}

/**
 * Records readings of the quota windows (a scraper, a cron job): one
 * observation or an array of them, all valid or none stored. A reading from
 * the future or of a window that has reset since is ignored, and the reply
 * says which and why.
 * @example tsx runner invoke recordQuota '{"window":"seven_day","used_percentage":63,"resets_at":"2026-12-10T18:00:00Z"}'
 */
export async function recordQuota(input: unknown, ctx: Context): Promise<Result<RecordQuotaOutput>> {
  const single = !Array.isArray(input);
  const list = single ? [input] : (input as unknown[]);
  if (list.length === 0) return invalid([{ field: "body", message: "must hold at least one observation" }]);
  if (list.length > MAX_OBSERVATIONS) return invalid([{ field: "body", message: `must hold at most ${MAX_OBSERVATIONS} observations; send the rest in another request` }]);
  const now = ctx.now();
  const rows: QuotaRow[] = [];
  const ignored: RecordQuotaOutput["ignored"] = [];
  const issues: FieldIssue[] = [];
  list.forEach((item, index) => {
    const parsed = validate(observationSchema, item);
    if (!parsed.ok) {
      for (const i of parsed.error.issues ?? [])
        issues.push({ field: single ? i.field : `[${index}]${i.field === "body" ? "" : `.${i.field}`}`, message: i.message });
      return;
    }
    const o = parsed.value;
    const observedAt = o.observed_at ?? now.getTime();
    const reason = staleness(observedAt, o.resets_at, now.getTime());
    if (reason) ignored.push({ index, window: o.window, reason });
    else rows.push(toQuotaRow(o, observedAt, o.source ?? "api", now));
  });
  if (issues.length > 0) return invalid(issues);
  if (rows.length > 0) await ctx.db.batch(insertQuotaRows(rows), "write");
  return ok({ status: "success", stored: rows.length, ignored });
}
