import type { Context } from "../shared/context.ts";
import { invalid, ok, type Result } from "../shared/result.ts";
import { validate } from "../shared/validate.ts";
import { reportSchema, toRow, type IncrementRow } from "./report.ts";
import { storeIncrements, type StoredIncrement } from "./store.ts";
import { familyStateOf } from "./advice/load.ts";
import { advise, type Advice } from "./advice/policy.ts";

/** What a stored report is answered with: the report as recorded, and the agent's advice (the real client applies recommended_interval). */
export type IngestOutput = StoredReport & Partial<Advice>;

export interface StoredReport {
  status: "success";
  claude_name: string;
  tokens_recorded: number;
  /** The stored row's id; null while the report waits to be written (queued). */
  id: number | null;
  timestamp: string;
  duplicate: boolean;
  /** Present when the report was made durable elsewhere and is written to the table shortly. */
  queued?: true;
}

/** Validates one report and settles its time; no database access. */
export function parseReport(input: unknown, ctx: Pick<Context, "now" | "config">): Result<IncrementRow> {
  const parsed = validate(reportSchema, input);
  if (!parsed.ok) return parsed;
  const row = toRow(parsed.value, ctx.now(), ctx.config);
  if (typeof row === "string") return invalid([{ field: "timestamp", message: row }]);
  return ok(row);
}

/**
 * The answer for one report: what the database holds, which for a repeated
 * event id is the first report. `stored` undefined means accepted and
 * queued (in the spool), not yet in the table: then the report as sent.
 */
export function describeStored(row: IncrementRow, stored: StoredIncrement | undefined, advice?: Advice): IngestOutput {
  return {
    ...advice,
    status: "success",
    claude_name: row.claude_name,
    tokens_recorded: stored?.cache_read_increment ?? row.cache_read_increment,
    id: stored?.id ?? null,
    timestamp: stored?.timestamp ?? row.timestamp,
    duplicate: stored?.duplicate ?? false,
    ...(stored ? {} : { queued: true as const }),
  };
}

/**
 * The advice for each agent of `rows`, computed before they are stored so
 * that each agent's last report keeps the interval it is answered with (the
 * cost of its prompts is later measured against it). Earlier reports of a
 * batch were never answered with an interval and keep none.
 */
export function adviseReports(rows: IncrementRow[], adviceFor: (name: string) => Advice): Map<string, Advice> {
  const advice = new Map<string, Advice>();
  for (let i = rows.length - 1; i >= 0; i--) {
    const row = rows[i]!;
    if (advice.has(row.claude_name)) continue;
    const a = adviceFor(row.claude_name);
    advice.set(row.claude_name, a);
    row.recommended_interval = a.recommended_interval;
  }
  return advice;
}

/**
 * Stores one usage report and registers its agent.
 * @example tsx runner invoke ingest '{"claude_name":"Sparkle-Orange","cache_read_increment":1234,"mode":"autonomy"}'
 */
export async function ingest(input: unknown, ctx: Context): Promise<Result<IngestOutput>> {
  const row = parseReport(input, ctx);
  if (!row.ok) return row;
  const state = await familyStateOf(ctx);
  const now = ctx.now().getTime();
  const advice = adviseReports([row.value], (name) => advise(state, name, now));
  const [stored] = await storeIncrements(ctx.db, [row.value]);
  return ok(describeStored(row.value, stored!, advice.get(row.value.claude_name)));
}
