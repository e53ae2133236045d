import type { Handler } from "../shared/context.ts";
import { advise } from "./advise.ts";
import { aggregateDay } from "./aggregateDay.ts";
import { alerts } from "./alerts.ts";
import { listAlerts } from "./alerts/list.ts";
import { checkRollups } from "./checkRollups.ts";
import { dashboard } from "./dashboard.ts";
import { issueToken, revokeToken } from "./agentToken.ts";
import { health } from "./health.ts";
import { ingest } from "./ingest.ts";
import { ingestBatch } from "./ingestBatch.ts";
import { quota } from "./quota/quota.ts";
import { recordQuota } from "./quota/recordQuota.ts";
import { queryDaily } from "./queryDaily.ts";
import { report } from "./history/report.ts";
import { reportCsv, reportMarkdown } from "../shared/report-formats.ts";
import { setAgent } from "./setAgent.ts";
import { recordMetrics } from "./telemetry/recordMetrics.ts";
import { summary, today } from "./summary.ts";

/**
 * Every capability, by name. HTTP routes, `runner invoke` and the timer all
 * call handlers through this table, so each input gets the same checks.
 */
export interface HandlerEntry {
  run: Handler<unknown>;
  description: string;
  /** A JSON input that works, shown by `runner --help`. */
  example: string;
  /** Other ways `runner invoke NAME --format F` prints the result than JSON, by name. */
  formats?: Record<string, (value: any) => string>;
}

export const handlers = {
  ingest: {
    run: ingest,
    description: "Store one usage report and register its agent.",
    example: '{"claude_name":"Sparkle-Orange","cache_read_increment":1234,"mode":"autonomy"}',
  },
  ingestBatch: {
    run: ingestBatch,
    description: "Store a backlog of reports, all or none.",
    example: '[{"claude_name":"Sparkle-Orange","cache_read_increment":10,"mode":"autonomy","event_id":"r-1"}]',
  },
  summary: {
    run: summary,
    description: "Today's usage per agent, computed live.",
    example: "{}",
  },
  today: {
    run: today,
    description: "One agent's usage today.",
    example: '{"claude_name":"Sparkle-Orange"}',
  },
  aggregateDay: {
    run: aggregateDay,
    description: "Close local days into daily_resource_share; {} catches up every day not closed or with late reports.",
    example: '{"date":"2026-03-29"}',
  },
  queryDaily: {
    run: queryDaily,
    description: "Per-agent daily usage for a range of days (default the last 7); closed days from the table, others live.",
    example: '{"from":"2026-03-25","to":"2026-03-31","claude_name":"Sparkle-Orange"}',
  },
  report: {
    run: report,
    description: "A week's (ISO, local) or month's usage report: per agent by mode, days active, busiest hours, change, fair share, Jain index, window peaks.",
    example: '{"period":"week","of":"2026-12-01"}',
    formats: { markdown: reportMarkdown, csv: reportCsv },
  },
  checkRollups: {
    run: checkRollups,
    description: "Prove the hourly rollup equal to the reports' sums (default yesterday and today; \"all\": true for every hour) and repair a difference.",
    example: '{"from":"2026-03-30","to":"2026-03-31"}',
  },
  dashboard: {
    run: dashboard,
    description: "Usage per agent today and over 7 and 30 days, daily and hourly series (the viewer's dashboard).",
    example: "{}",
  },
  health: {
    run: health,
    description: "Check the database answers and the schema is current.",
    example: "{}",
  },
  advise: {
    run: advise,
    description: "An agent's fair-share advice now: recommended interval, its factors with reasons, the quota windows.",
    example: '{"claude_name":"Sparkle-Orange"}',
  },
  setAgent: {
    run: setAgent,
    description: "Set an agent's weight, pause it until a time (null resumes), or note why; \"register\": true adds an unknown agent.",
    example: '{"claude_name":"Sparkle-Orange","weight":2,"paused_until":null,"note":"release week","register":true}',
  },
  recordQuota: {
    run: recordQuota,
    description: "Record readings of the quota windows (one or an array); stale ones are ignored and named.",
    example: '{"window":"seven_day","used_percentage":63,"resets_at":"2026-12-10T18:00:00Z"}',
  },
  quota: {
    run: quota,
    description: "Each quota window now: used %, observed or estimated, its reset.",
    example: "{}",
  },
  alerts: {
    run: alerts,
    description: "Evaluate every alert rule now, record what changed and queue its notifications (runner invoke also delivers them).",
    example: "{}",
  },
  listAlerts: {
    run: listAlerts,
    description: "The alerts firing now and the latest ones, optionally of one rule and subject; delivery per receiver.",
    example: '{"rule":"silent_agent"}',
  },
  issueToken: {
    run: issueToken,
    description: 'Issue an agent\'s write token (shown once; replaces any earlier one). For an agent that never reported, add "register": true.',
    example: '{"claude_name":"Sparkle-Orange"}',
  },
  revokeToken: {
    run: revokeToken,
    description: "Revoke an agent's write token.",
    example: '{"claude_name":"Sparkle-Orange"}',
  },
  recordMetrics: {
    run: recordMetrics,
    description: "Record an OTLP/HTTP JSON metrics export from Claude Code (token and cost usage), apart from the reports (POST /v1/metrics).",
    example:
      '{"resourceMetrics":[{"resource":{"attributes":[{"key":"resource_share.claude_name","value":{"stringValue":"Sparkle-Orange"}}]},"scopeMetrics":[{"metrics":[{"name":"claude_code.cost.usage","sum":{"aggregationTemporality":1,"dataPoints":[{"timeUnixNano":"1764900000000000000","asDouble":0.0421,"attributes":[{"key":"model","value":{"stringValue":"claude-sonnet-4-5"}}]}]}}]}]}]}',
  },
} satisfies Record<string, HandlerEntry>;

export type HandlerName = keyof typeof handlers;

export function isHandlerName(name: string): name is HandlerName {
  return Object.hasOwn(handlers, name);
}
