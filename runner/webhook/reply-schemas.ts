import * as v from "valibot";
import { FAILURE_CODES } from "../platform/outcome.ts";

/**
 * The webhook's replies as valibot schemas, for its API description
 * (openapi.ts) only: the handlers build replies from their types and never
 * parse them. Loose objects: a reply may carry more than is named here.
 * test/runner/webhook/openapi.test.ts checks real replies against them,
 * which keeps them true.
 */

const whole = v.pipe(v.number(), v.integer());
const count = v.pipe(v.number(), v.integer(), v.minValue(0));
const instant = v.pipe(v.string(), v.isoTimestamp());

export const failureReply = v.looseObject({
  status: v.literal("error"),
  error: v.picklist(FAILURE_CODES),
  message: v.string(),
  issues: v.optional(v.array(v.object({ field: v.string(), message: v.string() }))),
});

const window = v.looseObject({
  window: v.string(),
  used_percentage: v.number(),
  estimated: v.boolean(),
  resets_at: instant,
});

const adviceFields = {
  recommended_interval: v.pipe(whole, v.description("seconds until the agent's next autonomous prompt (a whole number)")),
  multipliers: v.looseObject({ fairness: v.number(), five_hour: v.number(), weekly: v.number(), combined: v.number() }),
  quota_status: v.picklist(["good", "medium", "high", "critical", "paused", "unknown"]),
  advice: v.looseObject({ fair_share: v.number(), share_24h: v.number(), windows: v.array(window), reasons: v.array(v.string()) }),
};
const optionalAdvice = Object.fromEntries(Object.entries(adviceFields).map(([k, s]) => [k, v.optional(s)])) as {
  [K in keyof typeof adviceFields]: v.OptionalSchema<(typeof adviceFields)[K], undefined>;
};

const storedReport = v.looseObject({
  status: v.literal("success"),
  claude_name: v.string(),
  tokens_recorded: count,
  id: v.pipe(v.nullable(whole), v.description("the stored row's id; null while the report waits in the spool")),
  timestamp: instant,
  duplicate: v.boolean(),
  queued: v.optional(v.literal(true)),
});

export const ingestReply = v.looseObject({ ...storedReport.entries, ...optionalAdvice });

export const ingestBatchReply = v.looseObject({
  status: v.literal("success"),
  stored: count,
  duplicates: count,
  results: v.array(storedReport),
  advice_by_agent: v.optional(v.record(v.string(), v.looseObject(adviceFields))),
  ...optionalAdvice,
});

export const recordQuotaReply = v.looseObject({
  status: v.literal("success"),
  stored: count,
  ignored: v.array(v.object({ index: count, window: v.string(), reason: v.string() })),
});

export const quotaReply = v.looseObject({ windows: v.array(window) });

export const adviseReply = v.looseObject({ claude_name: v.string(), known: v.boolean(), ...adviceFields });

const day = v.pipe(v.string(), v.isoDate());
const dayRowEntries = {
  claude_name: v.string(),
  date: day,
  autonomous_tokens: count,
  collaborative_tokens: count,
  total_tokens: count,
  autonomous_cost: v.number(),
  collaborative_cost: v.number(),
  total_cost: v.number(),
  autonomous_reports: count,
  collaborative_reports: count,
  report_count: count,
};

export const todayReply = v.looseObject({ ...dayRowEntries, time_zone: v.string() });

export const summaryReply = v.looseObject({ date: day, time_zone: v.string(), agents: v.array(v.looseObject(dayRowEntries)), total_tokens: count });

export const dailyReply = v.looseObject({
  time_zone: v.string(),
  today: day,
  from: day,
  to: day,
  claude_name: v.nullable(v.string()),
  days: v.array(v.object({ date: day, closed: v.boolean(), closed_at: v.nullable(v.string()) })),
  rows: v.array(v.looseObject({ ...dayRowEntries, closed: v.boolean() })),
});

const spool = v.object({
  mode: v.picklist(["direct", "spooling"]),
  backlog: count,
  file: v.string(),
  since: v.optional(v.nullable(instant)),
  refused_since: v.optional(v.nullable(instant)),
});

export const healthReply = v.looseObject({
  status: v.literal("ok"),
  database: v.literal("reachable"),
  schema_version: whole,
  expected_schema_version: whole,
  agents_registered: count,
  last_increment_id: whole,
  last_report_at: v.nullable(v.string()),
  quota: v.array(window),
  spool,
});

export const healthDownReply = v.looseObject({
  status: v.literal("error"),
  database: v.picklist(["gone", "unreachable"]),
  message: v.string(),
  spool,
});

const alert = v.looseObject({
  id: whole,
  rule: v.string(),
  subject: v.string(),
  state: v.picklist(["firing", "resolved"]),
  since: v.string(),
  resolved_at: v.nullable(v.string()),
  summary: v.string(),
  details: v.record(v.string(), v.unknown()),
  last_notified: v.nullable(v.string()),
});

const receiver = v.looseObject({
  receiver: v.string(),
  pending: count,
  delivered: count,
  refused: count,
  last_delivered_at: v.nullable(v.string()),
  last_error: v.nullable(v.string()),
});

export const alertsReply = v.looseObject({ firing: v.array(alert), history: v.array(alert), receivers: v.array(receiver) });

/** OTLP's ExportMetricsServiceResponse: {} when every point was taken. */
export const exportMetricsReply = v.looseObject({
  partialSuccess: v.optional(v.looseObject({ rejectedDataPoints: v.string(), errorMessage: v.string() })),
});
