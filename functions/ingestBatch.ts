import * as v from "valibot";
import type { Context } from "../shared/context.ts";
import { invalid, ok, type FieldIssue, type Result } from "../shared/result.ts";
import { validate } from "../shared/validate.ts";
import { describeStored, parseReport, storeReports, type IngestContext, type IngestOutput, type StoredReport } from "./ingest.ts";
import type { Advice } from "./advice/policy.ts";
import type { IncrementRow } from "./report.ts";
import type { StoredIncrement } from "./store.ts";

/** A day of 30-second reports is 2,880; a backlog larger than this is sent in parts. */
export const MAX_BATCH = 5000;

export const batchSchema = v.pipe(
  v.array(v.unknown(), "must be a JSON array of reports"),
  v.minLength(1, "must hold at least one report"),
  v.maxLength(MAX_BATCH, `must hold at most ${MAX_BATCH} reports; send the rest in another batch`),
);

export type IngestBatchOutput = {
  status: "success";
  stored: number;
  duplicates: number;
  results: StoredReport[];
  /** The advice for each agent of the batch, by name. */
  advice_by_agent?: Record<string, Advice>;
} & Partial<Advice>;

/** Validates a batch; every problem is named by its index (`[3].mode`). No database access. */
export function parseBatch(input: unknown, ctx: Pick<Context, "now" | "config">): Result<IncrementRow[]> {
  const list = validate(batchSchema, input);
  if (!list.ok) return list;
  const rows: IncrementRow[] = [];
  const issues: FieldIssue[] = [];
  list.value.forEach((item, index) => {
    const row = parseReport(item, ctx);
    if (row.ok) rows.push(row.value);
    else for (const i of row.error.issues ?? []) issues.push({ field: `[${index}]${i.field === "body" ? "" : `.${i.field}`}`, message: i.message });
  });
  return issues.length > 0 ? invalid(issues) : ok(rows);
}

/** The answer for a batch; `stored` undefined means accepted and queued. */
/** The answer for a batch; `stored` undefined means accepted and queued. With one agent, its advice is also at the top level, as for one report. */
export function describeBatch(rows: IncrementRow[], stored: StoredIncrement[] | undefined, advice?: Map<string, Advice>): IngestBatchOutput {
  const results: IngestOutput[] = rows.map((row, i) => describeStored(row, stored?.[i]));
  const duplicates = results.filter((r) => r.duplicate).length;
  const batch: IngestBatchOutput = { status: "success", stored: results.length - duplicates, duplicates, results };
  if (!advice) return batch;
  batch.advice_by_agent = Object.fromEntries(advice);
  const only = advice.size === 1 ? [...advice.values()][0]! : undefined;
  // Plain literals rather than spreads, as describeStored explains.
  if (!only) return batch;
  return { recommended_interval: only.recommended_interval, multipliers: only.multipliers, quota_status: only.quota_status, advice: only.advice, ...batch };
}

/**
 * Stores a backlog of reports, all or none: one invalid report rejects the
 * batch and stores nothing, with every problem named by its index.
 * @example tsx runner invoke ingestBatch '[{"claude_name":"Sparkle-Orange","cache_read_increment":10,"mode":"autonomy","event_id":"a1"}]'
 */
export async function ingestBatch(input: unknown, ctx: IngestContext): Promise<Result<IngestBatchOutput>> {
  const rows = parseBatch(input, ctx);
  if (!rows.ok) return rows;
  const done = await storeReports(rows.value, ctx);
  if (!done.ok) return done;
  const { stored, advice } = done.value;
  return ok(describeBatch(rows.value, stored === "spooled" ? undefined : stored, advice));
}
