import type { Context } from "../shared/context.ts";
import { fail, invalid, ok, type Result } from "../shared/result.ts";
import { validate } from "../shared/validate.ts";
import { reportSchema, toRow, type IncrementRow } from "./report.ts";
import { storeIncrements, type StoredIncrement } from "./store.ts";
import { familyStateOf } from "./advice/load.ts";
import { advise, type Advice } from "./advice/policy.ts";
import type { AdviceContext, FamilyState } from "./advice/state.ts";

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

/**
 * Makes reports durable: stored (with their ids), or "spooled" when the
 * runtime kept them somewhere durable to store shortly.
 */
export type ReportWriter = (rows: IncrementRow[]) => Promise<StoredIncrement[] | "spooled">;

/**
 * The ingest handlers' context. The webhook hands in its spool-aware writer
 * (by default reports go straight to ctx.db) and the family's state kept in
 * memory with the advice memoised per state (by default both are computed).
 */
export interface IngestContext extends AdviceContext {
  writeReports?: ReportWriter;
  adviceFor?: (state: FamilyState, name: string) => Advice;
}

/** Validates one report and settles its time; no database access. */
export function parseReport(input: unknown, ctx: Pick<Context, "now" | "config">): Result<IncrementRow> {
  const parsed = validate(reportSchema, input);
  if (!parsed.ok) return parsed;
  return toRow(parsed.value, ctx.now(), ctx.config);
}

/**
 * The answer for one report: what the database holds, which for a repeated
 * event id is the first report. `stored` undefined means accepted and
 * queued (in the spool), not yet in the table: then the report as sent.
 *
 * Built from plain literals on purpose: made by spreading the advice and a
 * conditional `queued` into one literal, every answer left the webhook with
 * more to promote to V8's old generation, and its peak memory under load
 * grew by tens of MB (docs/performance.md, "Settings chosen by measurement").
 */
export function describeStored(row: IncrementRow, stored: StoredIncrement | undefined, advice?: Advice): IngestOutput {
  const report: StoredReport = {
    status: "success",
    claude_name: row.claude_name,
    tokens_recorded: stored?.cache_read_increment ?? row.cache_read_increment,
    id: stored?.id ?? null,
    timestamp: stored?.timestamp ?? row.timestamp,
    duplicate: stored?.duplicate ?? false,
  };
  if (!stored) report.queued = true;
  if (!advice) return report;
  return {
    recommended_interval: advice.recommended_interval,
    multipliers: advice.multipliers,
    quota_status: advice.quota_status,
    advice: advice.advice,
    ...report,
  };
}

/**
 * Refuses reports for another agent than the request's token names (an
 * agent cannot report as another) before anything else is done for them;
 * then advises each agent (adviseReports) and makes the reports durable.
 */
export async function storeReports(
  rows: IncrementRow[],
  ctx: IngestContext,
): Promise<Result<{ stored: StoredIncrement[] | "spooled"; advice: Map<string, Advice> }>> {
  const agent = ctx.request?.agent;
  const other = agent === undefined ? undefined : rows.find((r) => r.claude_name !== agent);
  if (other)
    return fail(
      "unauthorized",
      `the token belongs to ${JSON.stringify(agent)}, not to ${JSON.stringify(other.claude_name)}; nothing was stored. Send each agent's reports with its own token.`,
    );
  const advice = await adviseReports(rows, ctx);
  const write = ctx.writeReports ?? ((r: IncrementRow[]) => storeIncrements(ctx.db, r));
  return ok({ stored: await write(rows), advice });
}

type Body = Record<string, unknown>;
const isObject = (x: unknown): x is Body => x !== null && typeof x === "object" && !Array.isArray(x);
const hasEventId = (b: Body) => b.event_id !== undefined && b.event_id !== null;

/** The Idempotency-Key stands for `event_id` when the report has none; both, and different, is a client bug worth hearing about. */
function withIdempotencyKey(input: unknown, key: string | undefined): Result<unknown> {
  if (key === undefined || !isObject(input)) return ok(input);
  if (!hasEventId(input)) return ok({ ...input, event_id: key });
  if (input.event_id !== key) return invalid([{ field: "event_id", message: "differs from the Idempotency-Key header; send one or make them equal" }]);
  return ok(input);
}

/**
 * The advice for each agent of `rows`, computed before they are stored so
 * that each agent's last report keeps the interval it is answered with (the
 * cost of its prompts is later measured against it). Earlier reports of a
 * batch were never answered with an interval and keep none.
 */
async function adviseReports(rows: IncrementRow[], ctx: IngestContext): Promise<Map<string, Advice>> {
  const state = await familyStateOf(ctx);
  const now = ctx.now().getTime();
  const adviceFor = ctx.adviceFor ?? ((st: FamilyState, name: string) => advise(st, name, now));
  const advice = new Map<string, Advice>();
  for (let i = rows.length - 1; i >= 0; i--) {
    const row = rows[i]!;
    if (advice.has(row.claude_name)) continue;
    const a = adviceFor(state, row.claude_name);
    advice.set(row.claude_name, a);
    row.recommended_interval = a.recommended_interval;
  }
  return advice;
}

/**
 * Stores one usage report and registers its agent.
 * @example tsx runner invoke ingest '{"claude_name":"Sparkle-Orange","cache_read_increment":1234,"mode":"autonomy"}'
 */
export async function ingest(input: unknown, ctx: IngestContext): Promise<Result<IngestOutput>> {
  const keyed = withIdempotencyKey(input, ctx.request?.idempotencyKey);
  if (!keyed.ok) return keyed;
  const row = parseReport(keyed.value, ctx);
  if (!row.ok) return row;
  const done = await storeReports([row.value], ctx);
  if (!done.ok) return done;
  const { stored, advice } = done.value;
  return ok(describeStored(row.value, stored === "spooled" ? undefined : stored[0], advice.get(row.value.claude_name)));
}
