import type { Context } from "../shared/context.ts";
import { invalid, ok, type Result } from "../shared/result.ts";
import { validate } from "../shared/validate.ts";
import { reportSchema, toRow, type IncrementRow } from "./report.ts";
import { storeIncrements, type StoredIncrement } from "./store.ts";

export interface IngestOutput {
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
export function describeStored(row: IncrementRow, stored: StoredIncrement | undefined): IngestOutput {
  return {
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
 * Stores one usage report and registers its agent.
 * @example tsx runner invoke ingest '{"claude_name":"Sparkle-Orange","cache_read_increment":1234,"mode":"autonomy"}'
 */
export async function ingest(input: unknown, ctx: Context): Promise<Result<IngestOutput>> {
  const row = parseReport(input, ctx);
  if (!row.ok) return row;
  const [stored] = await storeIncrements(ctx.db, [row.value]);
  return ok(describeStored(row.value, stored!));
}
