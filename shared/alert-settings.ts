/**
 * The alerts' settings (ALERT_*), parsed from their environment text once at
 * start (shared/config.ts). Each parser returns the value or a message for
 * the person who set it. docs/alerts.md says what each rule does.
 */

export const ALERT_RULES = [
  "silent_agent",
  "unusual_hour",
  "unusual_report",
  "window_threshold",
  "window_overrun",
  "spool_backlog",
  "database_unwritable",
  "day_not_closed",
  "telemetry_disagrees",
] as const;
export type AlertRule = (typeof ALERT_RULES)[number];

export const RECEIVER_SHAPES = ["alertmanager", "ntfy", "discord", "slack"] as const;
export type ReceiverShape = (typeof RECEIVER_SHAPES)[number];

/** A place notifications go. `key` names it everywhere it is shown or stored: the URL with its secrets masked. */
export interface Receiver {
  shape: ReceiverShape;
  url: string;
  key: string;
}

export interface AlertSettings {
  /** Rules turned off (ALERT_OFF). */
  off: AlertRule[];
  /** Seconds between evaluations in `npm start` (ALERT_EVERY). */
  everySeconds: number;
  /** Seconds between reminders while an alert fires; 0: none (ALERT_REMIND). */
  remindSeconds: number;
  /** An agent is silent after this many of its expected intervals (ALERT_SILENT_FACTOR). */
  silentFactor: number;
  /** "Far above": an hour over this many times the agent's normal hour, a report over this many times its largest before (ALERT_USAGE_FACTOR). */
  usageFactor: number;
  /** Used % of a window that each raise an alert once per period, ascending (ALERT_WINDOW_THRESHOLDS). */
  windowThresholds: number[];
  /** Seconds a report may wait in the spool before it is an alert (ALERT_SPOOL_AGE). */
  spoolAgeSeconds: number;
  /** Seconds a receiver gets to answer one notification, which stays claimed that long plus 5 s (ALERT_SEND_TIMEOUT). */
  sendTimeoutSeconds: number;
  receivers: Receiver[];
}

export const DEFAULT_ALERTS: AlertSettings = {
  off: [],
  everySeconds: 60,
  remindSeconds: 4 * 3600,
  silentFactor: 3,
  usageFactor: 4,
  windowThresholds: [50, 75, 90, 100],
  spoolAgeSeconds: 300,
  sendTimeoutSeconds: 10,
  receivers: [],
};

/** ALERT_OFF: "silent_agent,unusual_hour" or "all". */
export function parseRuleList(text: string): AlertRule[] | string {
  const names = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (names.length === 1 && names[0] === "all") return [...ALERT_RULES];
  const unknown = names.filter((n) => !(ALERT_RULES as readonly string[]).includes(n));
  if (unknown.length > 0) return `names no rule ${unknown.map((n) => JSON.stringify(n)).join(", ")}: use "all" or a comma-separated list of ${ALERT_RULES.join(", ")}`;
  return names as AlertRule[];
}

/** ALERT_WINDOW_THRESHOLDS: "50,75,90,100", or "off". */
export function parseThresholds(text: string): number[] | string {
  if (text.trim() === "off") return [];
  const parts = text.split(",").map((s) => s.trim());
  if (parts.some((p) => !/^\d+(\.\d+)?$/.test(p) || Number(p) <= 0 || Number(p) > 100))
    return 'must be "off" or a comma-separated list of percentages from 1 to 100, e.g. 50,75,90,100';
  return [...new Set(parts.map(Number))].sort((a, b) => a - b);
}

/**
 * ALERT_RECEIVERS: comma-separated `shape=url`. The message never repeats a
 * URL: it may carry a token.
 */
export function parseReceivers(text: string): Receiver[] | string {
  const receivers: Receiver[] = [];
  const items = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const [i, item] of items.entries()) {
    const at = `item ${i + 1}`;
    const eq = item.indexOf("=");
    const shape = eq < 0 ? item : item.slice(0, eq);
    if (eq < 0 || !(RECEIVER_SHAPES as readonly string[]).includes(shape))
      return `${at} must be shape=url with shape one of ${RECEIVER_SHAPES.join(", ")} (got the shape ${JSON.stringify(shape.slice(0, 20))})`;
    let url: URL;
    try {
      url = new URL(item.slice(eq + 1));
    } catch {
      return `${at} (${shape}) has no valid URL after "=": write it in full, e.g. ${shape}=https://example.org/...`;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return `${at} (${shape}) must be an http:// or https:// URL`;
    receivers.push({ shape: shape as ReceiverShape, url: url.href, key: `${shape}=${redactUrl(url.href, shape as ReceiverShape)}` });
  }
  const keys = receivers.map((r) => r.key);
  const twice = keys.find((k, i) => keys.indexOf(k) !== i);
  if (twice) return `names the receiver ${twice} twice`;
  return receivers;
}

const MASK = "***";

/**
 * A receiver's URL as it may be shown: no user or password, no query
 * values, and for Discord and Slack no path past the webhook's id (their
 * token is the path).
 */
export function redactUrl(href: string, shape: ReceiverShape): string {
  const url = new URL(href);
  const userinfo = url.username || url.password ? `${MASK}@` : "";
  let path = url.pathname;
  const parts = path.split("/");
  // discord.com/api/webhooks/ID/TOKEN; hooks.slack.com/services/T.../B.../TOKEN: keep the ids, mask the token.
  if (shape === "discord" || shape === "slack") {
    const keep = Math.min(4, parts.length - 1);
    if (keep >= 1) path = [...parts.slice(0, keep), MASK].join("/");
  }
  const query = [...url.searchParams.keys()].map((k) => `${k}=${MASK}`).join("&");
  return `${url.protocol}//${userinfo}${url.host}${path}${query ? `?${query}` : ""}`;
}
