import { toJsonSchema, type JsonSchema } from "@valibot/to-json-schema";
import type * as v from "valibot";
import { adviseSchema } from "../../functions/advise.ts";
import { listAlertsInput } from "../../functions/alerts/list.ts";
import { handlers } from "../../functions/index.ts";
import { batchSchema } from "../../functions/ingestBatch.ts";
import { observationSchema } from "../../functions/quota/observation.ts";
import { MAX_OBSERVATIONS } from "../../functions/quota/recordQuota.ts";
import { queryDailyInput } from "../../functions/queryDaily.ts";
import { reportSchema } from "../../functions/report.ts";
import { otlpRequestSchema } from "../../functions/telemetry/otlp.ts";
import PACKAGE from "../../package.json" with { type: "json" };
import { SCHEMA_VERSION } from "../../shared/migrations.ts";
import * as replies from "./reply-schemas.ts";

/**
 * The webhook's API as OpenAPI 3.1 (GET /openapi.json). Requests are
 * described by converting the very valibot schemas the handlers validate
 * with (@valibot/to-json-schema), replies by reply-schemas.ts. What JSON
 * Schema cannot say (a check's code, a trim) is left out, so a body the
 * description accepts can still be refused with a 400 that names the field.
 */

type Schema = v.GenericSchema;

/** The JSON Schema of what a schema accepts; the checks JSON Schema cannot express are skipped. */
function jsonSchema(schema: Schema): JsonSchema {
  // A pipe that opens with a custom check (reportSchema: "not an array")
  // is described by what follows it: the custom check has no JSON Schema.
  const pipe = (schema as { pipe?: { kind: string; type: string }[] }).pipe;
  const described = pipe?.[0]?.type === "custom" && pipe.slice(1).some((item) => item.kind === "schema") ? ({ ...schema, pipe: pipe.slice(1) } as Schema) : schema;
  const { $schema: _dialect, ...rest } = toJsonSchema(described, { target: "draft-2020-12", typeMode: "input", errorMode: "ignore" });
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const parse = (text: string): unknown => JSON.parse(text);

function components(): Record<string, JsonSchema> {
  const report = jsonSchema(reportSchema);
  return {
    Report: report,
    // The batch's own limits, with each item a report (ingestBatch checks them one by one).
    ReportBatch: { ...jsonSchema(batchSchema), items: ref("Report") },
    QuotaObservation: jsonSchema(observationSchema),
    OtlpMetricsExport: jsonSchema(otlpRequestSchema),
    Failure: jsonSchema(replies.failureReply),
    IngestReply: jsonSchema(replies.ingestReply),
    IngestBatchReply: jsonSchema(replies.ingestBatchReply),
    RecordQuotaReply: jsonSchema(replies.recordQuotaReply),
    QuotaReply: jsonSchema(replies.quotaReply),
    AdviseReply: jsonSchema(replies.adviseReply),
    TodayReply: jsonSchema(replies.todayReply),
    SummaryReply: jsonSchema(replies.summaryReply),
    DailyReply: jsonSchema(replies.dailyReply),
    HealthReply: jsonSchema(replies.healthReply),
    HealthDownReply: jsonSchema(replies.healthDownReply),
    AlertsReply: jsonSchema(replies.alertsReply),
    ExportMetricsReply: jsonSchema(replies.exportMetricsReply),
  };
}

const failure = (description: string) => ({ description, content: { "application/json": { schema: ref("Failure") } } });
const ok = (schema: string, example: unknown, description = "Done.") => ({
  description,
  content: { "application/json": { schema: ref(schema), example } },
});
const refusals = {
  "400": failure("The body or a parameter is wrong (`issues` names each field); nothing was changed."),
  "503": failure("The database cannot answer now; retry after Retry-After seconds."),
  "500": failure("An unexpected fault; the server log has the details."),
};
const writeRefusals = {
  ...refusals,
  "401": failure("A token is needed here and is missing, unknown, revoked or another agent's; nothing was stored."),
  "413": failure("The body is too large; nothing was stored."),
  "415": failure("Content-Type is not application/json; nothing was stored."),
};

const SPARKLE = "Sparkle-Orange";
const ADVICE = {
  recommended_interval: 1800,
  multipliers: { fairness: 1, five_hour: 1, weekly: 1, combined: 1 },
  quota_status: "good",
  advice: { fair_share: 1, share_24h: 1, windows: [], reasons: [] },
};
const STORED = { status: "success", claude_name: SPARKLE, tokens_recorded: 1234, id: 1, timestamp: "2026-12-05T09:01:02.508Z", duplicate: false };
const DAY = {
  claude_name: SPARKLE, date: "2026-12-05", autonomous_tokens: 1244, collaborative_tokens: 20, total_tokens: 1264,
  autonomous_cost: 0, collaborative_cost: 0, total_cost: 0, autonomous_reports: 2, collaborative_reports: 1, report_count: 3,
};
const WINDOW = { window: "seven_day", used_percentage: 63, estimated: false, resets_at: "2026-12-10T18:00:00.000Z", source: "api", observed_at: "2026-12-05T09:00:00.000Z" };
const SPOOL = { mode: "direct", backlog: 0, file: "data/resource_tracking.db.spool" };

const nameParameter = {
  name: "claude_name",
  in: "path",
  required: true,
  description: "The agent's name, URL-encoded.",
  schema: (jsonSchema(adviseSchema) as { properties: Record<string, JsonSchema> }).properties.claude_name,
  example: SPARKLE,
};

function paths() {
  const jsonBody = (schema: unknown, example: unknown) => ({ required: true, content: { "application/json": { schema, example } } });
  const dailyParameters = Object.entries((jsonSchema(queryDailyInput.wrapped) as { properties: Record<string, JsonSchema> }).properties).map(([name, schema]) => ({
    name,
    in: "query",
    required: false,
    schema,
  }));
  const alertsParameters = Object.entries((jsonSchema(listAlertsInput.wrapped) as { properties: Record<string, JsonSchema> }).properties)
    .filter(([name]) => name === "rule" || name === "subject")
    .map(([name, schema]) => ({ name, in: "query", required: false, schema }));
  const writeSecurity = [{}, { agentToken: [] }];
  return {
    "/resource-share/increment": {
      post: {
        operationId: "ingest",
        summary: handlers.ingest.description,
        security: writeSecurity,
        parameters: [{ name: "Idempotency-Key", in: "header", required: false, description: "Stands for the body's event_id when it has none.", schema: { type: "string" } }],
        requestBody: jsonBody(ref("Report"), parse(handlers.ingest.example)),
        responses: { "200": ok("IngestReply", { ...ADVICE, ...STORED }, "Stored (or durable in the spool: then queued is true and id null); the agent's advice."), ...writeRefusals },
      },
    },
    "/resource-share/increments": {
      post: {
        operationId: "ingestBatch",
        summary: handlers.ingestBatch.description,
        security: writeSecurity,
        requestBody: jsonBody(ref("ReportBatch"), parse(handlers.ingestBatch.example)),
        responses: {
          "200": ok("IngestBatchReply", { ...ADVICE, status: "success", stored: 1, duplicates: 0, results: [{ ...STORED, tokens_recorded: 10 }], advice_by_agent: { [SPARKLE]: ADVICE } }, "All stored, or none (then a refusal)."),
          ...writeRefusals,
        },
      },
    },
    "/resource-share/quota": {
      post: {
        operationId: "recordQuota",
        summary: handlers.recordQuota.description,
        security: writeSecurity,
        requestBody: jsonBody(
          { oneOf: [ref("QuotaObservation"), { type: "array", items: ref("QuotaObservation"), minItems: 1, maxItems: MAX_OBSERVATIONS }] },
          parse(handlers.recordQuota.example),
        ),
        responses: { "200": ok("RecordQuotaReply", { status: "success", stored: 1, ignored: [] }), ...writeRefusals },
      },
    },
    "/resource/quota": {
      get: { operationId: "quota", summary: handlers.quota.description, responses: { "200": ok("QuotaReply", { windows: [WINDOW] }), ...refusals } },
    },
    "/resource/advice/{claude_name}": {
      get: {
        operationId: "advise",
        summary: handlers.advise.description,
        parameters: [nameParameter],
        responses: { "200": ok("AdviseReply", { claude_name: SPARKLE, known: true, ...ADVICE }), ...refusals },
      },
    },
    "/resource/today/{claude_name}": {
      get: { operationId: "today", summary: handlers.today.description, parameters: [nameParameter], responses: { "200": ok("TodayReply", { ...DAY, time_zone: "UTC" }), ...refusals } },
    },
    "/resource/summary": {
      get: { operationId: "summary", summary: handlers.summary.description, responses: { "200": ok("SummaryReply", { date: DAY.date, time_zone: "UTC", agents: [DAY], total_tokens: DAY.total_tokens }), ...refusals } },
    },
    "/resource/daily": {
      get: {
        operationId: "queryDaily",
        summary: handlers.queryDaily.description,
        parameters: dailyParameters,
        responses: {
          "200": ok("DailyReply", { time_zone: "UTC", today: DAY.date, from: DAY.date, to: DAY.date, claude_name: null, days: [{ date: DAY.date, closed: false, closed_at: null }], rows: [{ ...DAY, closed: false }] }),
          ...refusals,
        },
      },
    },
    "/resource/alerts": {
      get: {
        operationId: "listAlerts",
        summary: handlers.listAlerts.description,
        parameters: alertsParameters,
        responses: {
          "200": ok("AlertsReply", {
            firing: [{ id: 1, rule: "silent_agent", subject: SPARKLE, state: "firing", since: "2026-12-05T03:10:00.000Z", resolved_at: null, summary: `${SPARKLE} has not reported since 2026-12-05T01:40:00.000Z (expected every 30 min, silent after 1.5 h)`, details: { last_report_at: "2026-12-05T01:40:00.000Z", expected_interval_s: 1800 }, last_notified: "2026-12-05T03:10:01.000Z" }],
            history: [],
            receivers: [{ receiver: "ntfy=https://ntfy.sh/***", pending: 0, delivered: 1, refused: 0, last_delivered_at: "2026-12-05T03:10:01.000Z", last_error: null }],
          }),
          ...refusals,
        },
      },
    },
    "/v1/metrics": {
      post: {
        operationId: "recordMetrics",
        summary: handlers.recordMetrics.description,
        security: writeSecurity,
        requestBody: jsonBody(ref("OtlpMetricsExport"), parse(handlers.recordMetrics.example)),
        responses: { "200": ok("ExportMetricsReply", {}, "Every point taken, or partialSuccess saying how many were not and why (docs/telemetry.md)."), ...writeRefusals },
      },
    },
    "/health": {
      get: {
        operationId: "health",
        summary: handlers.health.description,
        responses: {
          "200": ok("HealthReply", { status: "ok", database: "reachable", schema_version: SCHEMA_VERSION, expected_schema_version: SCHEMA_VERSION, agents_registered: 1, last_increment_id: 3, last_report_at: STORED.timestamp, quota: [WINDOW], spool: SPOOL }),
          "503": ok("HealthDownReply", { status: "error", database: "unreachable", message: "SQLITE_BUSY: database is locked", spool: SPOOL }, "The database does not answer, or its file was deleted or replaced."),
        },
      },
    },
    "/metrics": {
      get: {
        operationId: "metrics",
        summary: "Prometheus metrics (text exposition format 0.0.4); see docs/metrics.md. Off loopback, the viewer's password as HTTP Basic.",
        security: [{}, { viewerPassword: [] }],
        responses: {
          "200": {
            description: "The metrics.",
            content: { "text/plain": { schema: { type: "string" }, example: "# HELP resource_share_reports_accepted_total Reports answered 200 that were new.\n# TYPE resource_share_reports_accepted_total counter\nresource_share_reports_accepted_total 3\n" } },
          },
          "401": failure("Off loopback: no password, a wrong one, or WEB_PASSWORD not set."),
          "429": failure("Too many wrong passwords from this address; wait Retry-After seconds."),
        },
      },
    },
    "/openapi.json": {
      get: {
        operationId: "openapi",
        summary: "This description.",
        responses: { "200": { description: "OpenAPI 3.1.", content: { "application/json": { schema: { type: "object" }, example: { openapi: "3.1.0" } } } } },
      },
    },
  };
}

const version = PACKAGE.version;

/** The document, built once per app. */
export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: "3.1.0",
    info: {
      title: "Resource-Share webhook",
      version,
      description: "How a family of AI agents sharing one subscription report their token usage, and read it back. The README's \"API\" section says the same in prose, with curl examples.",
    },
    servers: [{ url: "http://127.0.0.1:8765" }],
    paths: paths(),
    components: {
      schemas: components(),
      securitySchemes: {
        agentToken: { type: "http", scheme: "bearer", description: "An agent's token (tsx runner invoke issueToken). Needed off loopback or with REQUIRE_TOKENS=1; checked whenever sent." },
        viewerPassword: { type: "http", scheme: "basic", description: "WEB_PASSWORD, any user name. Needed for /metrics when the webhook listens off loopback." },
      },
    },
  };
}
