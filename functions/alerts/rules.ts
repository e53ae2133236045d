import type { AlertRule, AlertSettings } from "../../shared/alert-settings.ts";

/**
 * The rules, as arithmetic over facts loaded at one instant (facts.ts): no
 * database, no clock of their own, so a test states the facts and the
 * instant and reads what fires. Each rule says which conditions hold now;
 * record.ts turns the difference from the alerts table into changes.
 */

/** One rule holding for one subject now. */
export interface Condition {
  rule: AlertRule;
  /** An agent's name, a window's name, or "service". */
  subject: string;
  /** One line for a person. */
  summary: string;
  details: Record<string, unknown>;
  /** Orders escalations within one episode (a window's threshold): a higher level is told again. */
  level?: number;
  /** A window's period (its reset): a new period is a new episode. */
  period?: string;
}

export interface AgentFacts {
  name: string;
  active: boolean;
  /** Unix ms; null when not paused. */
  pausedUntil: number | null;
  /** Unix ms of its last report; null if never. */
  lastSeen: number | null;
  /** The recommended_interval stored with its last report (seconds); null when none was advised. */
  lastInterval: number | null;
  /** Its tokens in the last hour. */
  lastHour: number;
  /** Its tokens per hour in the hours it worked over the week before the last hour; null with too little history. */
  normalHour: number | null;
  /** The largest single report among those new since the last evaluation, and the largest before them. */
  largestNew: number;
  largestBefore: number;
  /** How many reports the largest before was the largest of. */
  reportsBefore: number;
  /** When the largest new report was stored (ISO), if any. */
  largestNewAt: string | null;
}

export interface WindowFacts {
  window: string;
  percent: number;
  estimated: boolean;
  resetsAt: string;
  /** Where the family's present pace leaves it at its reset (%); null when nothing tells. */
  projected: number | null;
}

/** What only the webhook process knows: its write path. */
export interface ServiceFacts {
  /** When the oldest report now in the spool was put there (Unix ms); null when the spool is empty. */
  spooledSince: number | null;
  backlog: number;
  /** Since when the database has refused the webhook's writes (Unix ms); null while it takes them. */
  refusedSince: number | null;
}

export interface Facts {
  now: number;
  agents: AgentFacts[];
  windows: WindowFacts[];
  /** Undefined where the evaluating process cannot know (the CLI with no webhook answering). */
  service?: ServiceFacts;
  /** The local day before today, when it had reports and is not closed though it should be by now. */
  unclosedDay: string | null;
  /** The expected interval of an agent that was never advised one (ADVICE_BASE_INTERVAL). */
  defaultInterval: number;
  /** Closed days of the last week whose reports and telemetry disagree beyond the margin, newest first. */
  disagreeingDays: DisagreeingDay[];
}

export interface DisagreeingDay {
  claude_name: string;
  date: string;
  tokens_diff_percent: number | null;
  cost_diff_percent: number | null;
  margin_percent: number;
}

/** How far back a disagreement between reports and telemetry keeps its alert firing (days). */
export const DISAGREEMENT_DAYS = 7;

/** An evaluation of the rules: per rule evaluated, the conditions holding now. Rules absent were not evaluated (off, or unknowable here). */
export type Evaluation = Map<AlertRule, Condition[]>;

/** The usual hour needs this many hours of work in the week to say what is usual. */
export const MIN_HISTORY_HOURS = 12;
/** A report is compared with the largest before it once there were this many. */
export const MIN_REPORTS = 20;
/** The database refusing writes this long (ms) is an alert: a lock held for a moment is not. */
export const REFUSED_MS = 60_000;

const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${Math.round(n / 1e3)}k` : `${Math.round(n)}`);
const minutes = (ms: number) => (ms >= 5_400_000 ? `${(ms / 3_600_000).toFixed(1)} h` : `${Math.round(ms / 60_000)} min`);

export function evaluate(facts: Facts, settings: AlertSettings): Evaluation {
  const out: Evaluation = new Map();
  const on = (rule: AlertRule) => !settings.off.includes(rule);
  const now = facts.now;
  // A rule turned off holds for no one: what it had firing is resolved.
  for (const rule of settings.off) out.set(rule, []);

  if (on("silent_agent")) {
    out.set("silent_agent", facts.agents.flatMap((a): Condition[] => {
      if (!a.active || a.lastSeen === null || (a.pausedUntil !== null && a.pausedUntil > now)) return [];
      const expected = (a.lastInterval ?? facts.defaultInterval) * 1000;
      if (now - a.lastSeen <= settings.silentFactor * expected) return [];
      return [{
        rule: "silent_agent",
        subject: a.name,
        // No running duration in the text: it would change at every round (a write), and a reminder says since when.
        summary: `${a.name} has not reported since ${new Date(a.lastSeen).toISOString()} (expected every ${minutes(expected)}, silent after ${minutes(settings.silentFactor * expected)})`,
        details: { last_report_at: new Date(a.lastSeen).toISOString(), expected_interval_s: expected / 1000 },
      }];
    }));
  }

  if (on("unusual_hour")) {
    out.set("unusual_hour", facts.agents.flatMap((a): Condition[] => {
      if (a.normalHour === null || a.normalHour <= 0 || a.lastHour <= settings.usageFactor * a.normalHour) return [];
      return [{
        rule: "unusual_hour",
        subject: a.name,
        summary: `${a.name} used ${fmt(a.lastHour)} tokens in the last hour, ${(a.lastHour / a.normalHour).toFixed(1)}x its usual ${fmt(a.normalHour)} an hour`,
        details: { last_hour_tokens: Math.round(a.lastHour), usual_hour_tokens: Math.round(a.normalHour) },
      }];
    }));
  }

  if (on("unusual_report")) {
    out.set("unusual_report", facts.agents.flatMap((a): Condition[] => {
      if (a.reportsBefore < MIN_REPORTS || a.largestBefore <= 0 || a.largestNew <= settings.usageFactor * a.largestBefore) return [];
      return [{
        rule: "unusual_report",
        subject: a.name,
        summary: `${a.name} sent one report of ${fmt(a.largestNew)} tokens, ${(a.largestNew / a.largestBefore).toFixed(1)}x its largest before (${fmt(a.largestBefore)})`,
        details: { report_tokens: a.largestNew, largest_before: a.largestBefore, reported_at: a.largestNewAt },
      }];
    }));
  }

  if (on("window_threshold") && settings.windowThresholds.length > 0) {
    out.set("window_threshold", facts.windows.flatMap((w): Condition[] => {
      const crossed = settings.windowThresholds.filter((t) => w.percent >= t);
      if (crossed.length === 0) return [];
      const level = crossed[crossed.length - 1]!;
      return [{
        rule: "window_threshold",
        subject: w.window,
        summary: `the ${w.window} window is at ${w.percent}%${w.estimated ? " (estimated)" : ""}, past ${level}%; it resets at ${w.resetsAt}`,
        details: { used_percentage: w.percent, threshold: level, estimated: w.estimated, resets_at: w.resetsAt },
        level,
        period: w.resetsAt,
      }];
    }));
  }

  if (on("window_overrun")) {
    out.set("window_overrun", facts.windows.flatMap((w): Condition[] => {
      if (w.projected === null || w.projected <= 100 || w.percent >= 100) return [];
      return [{
        rule: "window_overrun",
        subject: w.window,
        summary: `at the present pace the ${w.window} window reaches ${Math.round(w.projected)}% before it resets at ${w.resetsAt} (now ${w.percent}%)`,
        details: { used_percentage: w.percent, projected_at_reset: Math.round(w.projected), resets_at: w.resetsAt },
        period: w.resetsAt,
      }];
    }));
  }

  const s = facts.service;
  if (s && on("spool_backlog")) {
    const age = s.spooledSince === null ? 0 : now - s.spooledSince;
    out.set("spool_backlog", age > settings.spoolAgeSeconds * 1000 ? [{
      rule: "spool_backlog",
      subject: "service",
      summary: `the webhook's spool has held ${s.backlog} report(s) for ${minutes(age)}: the database is not taking them`,
      details: { backlog: s.backlog, spooled_since: new Date(s.spooledSince!).toISOString() },
    }] : []);
  }
  if (s && on("database_unwritable")) {
    const age = s.refusedSince === null ? 0 : now - s.refusedSince;
    out.set("database_unwritable", age > REFUSED_MS ? [{
      rule: "database_unwritable",
      subject: "service",
      summary: `the database has refused the webhook's writes for ${minutes(age)} (locked or unreachable); reports wait in the spool`,
      details: { refused_since: new Date(s.refusedSince!).toISOString() },
    }] : []);
  }

  if (on("day_not_closed")) {
    out.set("day_not_closed", facts.unclosedDay === null ? [] : [{
      rule: "day_not_closed",
      subject: "service",
      summary: `${facts.unclosedDay} is not closed yet: the daily catch-up did not run or failed (run: npx tsx runner aggregate)`,
      details: { date: facts.unclosedDay },
      period: facts.unclosedDay,
    }]);
  }
  if (on("telemetry_disagrees")) {
    const newest = new Map<string, DisagreeingDay>();
    for (const d of facts.disagreeingDays) if (!newest.has(d.claude_name)) newest.set(d.claude_name, d);
    out.set("telemetry_disagrees", [...newest.values()].map((d): Condition => {
      const apart = [d.tokens_diff_percent === null ? "" : `tokens ${d.tokens_diff_percent.toFixed(1)}%`, d.cost_diff_percent === null ? "" : `cost ${d.cost_diff_percent.toFixed(1)}%`].filter(Boolean).join(", ");
      return {
        rule: "telemetry_disagrees",
        subject: d.claude_name,
        // The day is in the text and the period: a newer day that disagrees is told again.
        summary: `${d.claude_name}'s reports and its Claude Code telemetry disagree on ${d.date} (${apart}, margin ${d.margin_percent}%): check its reporter and its OTEL_RESOURCE_ATTRIBUTES`,
        details: { date: d.date, tokens_diff_percent: d.tokens_diff_percent, cost_diff_percent: d.cost_diff_percent, margin_percent: d.margin_percent },
        period: d.date,
      };
    }));
  }
  return out;
}
