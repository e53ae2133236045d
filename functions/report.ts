import * as v from "valibot";
import { claudeName, mode, plainText } from "../shared/fields.ts";
import type { HandlerConfig } from "../shared/context.ts";
import { invalid, ok, type Result } from "../shared/result.ts";

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

// ISO-8601 with a zone: "2026-01-02T03:04:05Z", "...05.678+01:00".
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

const timestamp = v.pipe(
  v.string("must be an ISO-8601 time with an offset, e.g. 2026-01-02T03:04:05Z"),
  v.regex(ISO_WITH_ZONE, "must be an ISO-8601 time with an offset, e.g. 2026-01-02T03:04:05Z"),
  v.check((s) => {
    const ms = Date.parse(s);
    // Date.parse rolls 2026-02-30 over to March: compare the date part back.
    return !Number.isNaN(ms) && new Date(ms + offsetMs(s)).toISOString().slice(0, 10) === s.slice(0, 10);
  }, "is not a real time"),
);

function offsetMs(iso: string): number {
  const m = /([+-])(\d{2}):(\d{2})$/.exec(iso);
  return m ? (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) * 60_000 : 0;
}

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
    input_tokens: report.input_tokens ?? null,
    output_tokens: report.output_tokens ?? null,
    cache_creation_tokens: report.cache_creation_tokens ?? null,
    cache_read_tokens: report.cache_read_tokens ?? null,
    model: report.model ?? null,
  });
}
