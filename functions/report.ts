import * as v from "valibot";
import { claudeName, mode, plainText } from "../shared/fields.ts";
import type { HandlerConfig } from "../shared/context.ts";
import { invalid, ok, type Result } from "../shared/result.ts";
import { ISO_WITH_ZONE, parseIsoTime } from "../shared/time.ts";
import { rateLimits, staleness, toQuotaRow, type QuotaRow } from "./quota/observation.ts";

/**
 * One usage report as the agents' timers send it. Unknown fields
 * (`current_interval`, `ip_address`, ...) are dropped, not rejected: old
 * clients send them.
 */
const tokens = v.pipe(
  v.number("must be a number"),
  v.safeInteger("must be a whole number no larger than 2^53-1"),
  v.minValue(0, "must not be negative"),
);

const cost = v.pipe(
  v.number("must be a number"),
  v.finite("must be a finite number"),
  v.minValue(0, "must not be negative"),
);

const percentage = v.nullish(
  v.pipe(v.number("must be a number or null"), v.minValue(0, "must be from 0 to 100"), v.maxValue(100, "must be from 0 to 100")),
);

export const eventId = v.pipe(
  v.string("must be a string"),
  v.minLength(1, "must not be empty"),
  v.maxLength(128, "must be at most 128 characters"),
  plainText,
);

const timestamp = v.pipe(
  v.string("must be an ISO-8601 time with an offset, e.g. 2026-01-02T03:04:05Z"),
  v.regex(ISO_WITH_ZONE, "must be an ISO-8601 time with an offset, e.g. 2026-01-02T03:04:05Z"),
  v.check((s) => parseIsoTime(s) !== undefined, "is not a real time"),
);

// The model that answered, as the transcript names it ("claude-sonnet-4-5-20250929").
const model = v.pipe(v.string("must be a string"), v.minLength(1, "must not be empty"), v.maxLength(100, "must be at most 100 characters"), plainText);

export const reportSchema = v.pipe(
  v.custom<unknown>((x) => !Array.isArray(x), "must be a JSON object, not an array"),
  v.object(
    {
      claude_name: claudeName,
      mode,
      cache_read_increment: v.optional(tokens),
      cost_delta: v.optional(v.nullable(cost)),
      context_percentage: percentage,
      event_id: v.optional(v.nullable(eventId)),
      timestamp: v.optional(v.nullable(timestamp)),
      hostname: v.optional(v.nullable(v.pipe(v.string("must be a string"), v.maxLength(255, "must be at most 255 characters"), plainText))),
      // Claude Code's statusLine shape; stored as quota observations with the report.
      rate_limits: v.optional(v.nullable(rateLimits)),
      // Token classes, sent by the reporter (runner/reporter/); the timers send none.
      input_tokens: v.optional(v.nullable(tokens)),
      output_tokens: v.optional(v.nullable(tokens)),
      cache_creation_tokens: v.optional(v.nullable(tokens)),
      cache_read_tokens: v.optional(v.nullable(tokens)),
      model: v.optional(v.nullable(model)),
    }
  ),
  v.check(
    (r) => r.cache_read_increment !== undefined || (r.cost_delta !== undefined && r.cost_delta !== null),
    "needs cache_read_increment or cost_delta (or both)",
  ),
  // The check above for the API description (GET /openapi.json): a check's code cannot be converted to JSON Schema.
  v.metadata({ anyOf: [{ required: ["cache_read_increment"] }, { required: ["cost_delta"], properties: { cost_delta: { type: "number" } } }] }),
);

export type ReportInput = v.InferOutput<typeof reportSchema>;

/** A report ready to store: every field a column, the time settled. */
export interface IncrementRow {
  claude_name: string;
  timestamp: string;
  mode: "autonomy" | "collaboration";
  cache_read_increment: number;
  context_percentage: number | null;
  cost_delta: number | null;
  event_id: string | null;
  received_at: string;
  host: string | null;
  /** The interval the service advised in its reply to this report (seconds); null without advice. */
  recommended_interval?: number | null;
  /** The report's `rate_limits` as quota observations, stored in the same transaction. */
  quota?: QuotaRow[];
  /** Token classes and model (migration 6); null when the client did not send them, absent in rows spooled before. */
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_tokens?: number | null;
  cache_read_tokens?: number | null;
  model?: string | null;
}

// A replayed report may not claim to come from the future; a little slack
// absorbs clocks that differ between hosts.
const FUTURE_SLACK_MS = 5 * 60_000;

/**
 * Settles a validated report's time against the clock. A client timestamp
 * (a replay of reports it could not deliver) must lie within the replay
 * window; without one the report happened now.
 * A time outside it is a failure naming the `timestamp` field.
 */
export function toRow(report: ReportInput, now: Date, config: HandlerConfig): Result<IncrementRow> {
  let at = now;
  if (report.timestamp) {
    at = new Date(Date.parse(report.timestamp));
    if (at.getTime() > now.getTime() + FUTURE_SLACK_MS) return invalid([{ field: "timestamp", message: "must not be more than 5 minutes in the future" }]);
    if (at.getTime() < now.getTime() - config.replayWindowDays * 86_400_000)
      return invalid([{ field: "timestamp", message: `must not be older than ${config.replayWindowDays} days (the replay window)` }]);
  }
  return ok({
    claude_name: report.claude_name,
    timestamp: at.toISOString(),
    mode: report.mode,
    cache_read_increment: report.cache_read_increment ?? 0,
    context_percentage: report.context_percentage ?? null,
    cost_delta: report.cost_delta ?? null,
    event_id: report.event_id ?? null,
    received_at: now.toISOString(),
    host: report.hostname ?? null,
    // Every row has the same fields from the start (a report's path is hot: an
    // object that changes shape later, or is built by spreading, costs more).
    recommended_interval: null,
    quota: report.rate_limits ? quotaOf(report.rate_limits, report.claude_name, at.getTime(), now) : undefined,
    input_tokens: report.input_tokens ?? null,
    output_tokens: report.output_tokens ?? null,
    cache_creation_tokens: report.cache_creation_tokens ?? null,
    cache_read_tokens: report.cache_read_tokens ?? null,
    model: report.model ?? null,
  });
}

/**
 * A report's rate_limits as observations at the report's time, its agent as
 * source. A reading that says nothing about now (a replayed report whose
 * window has reset since) is left out; the report itself is stored.
 */
function quotaOf(rateLimits: NonNullable<ReportInput["rate_limits"]>, agent: string, at: number, now: Date): QuotaRow[] | undefined {
  const quota: QuotaRow[] = [];
  for (const [window, reading] of Object.entries(rateLimits))
    if (reading && staleness(at, reading.resets_at, now.getTime()) === undefined) quota.push(toQuotaRow({ window, ...reading }, at, agent, now));
  return quota.length > 0 ? quota : undefined;
}
