import * as v from "valibot";
import { ALERT_RULES } from "../../shared/alert-settings.ts";
import type { Context, Db } from "../../shared/context.ts";
import { plainText } from "../../shared/fields.ts";
import { ok, type Result } from "../../shared/result.ts";
import { validate } from "../../shared/validate.ts";

export interface AlertView {
  id: number;
  rule: string;
  subject: string;
  state: "firing" | "resolved";
  since: string;
  resolved_at: string | null;
  summary: string;
  details: Record<string, unknown>;
  last_notified: string | null;
}

/** How delivery to one receiver stands, from the outbox (the receiver named by its redacted URL). */
export interface ReceiverStatus {
  receiver: string;
  /** Notifications waiting (not yet delivered, not refused). */
  pending: number;
  delivered: number;
  /** Notifications the receiver answered 4xx to: not sent again. */
  refused: number;
  last_delivered_at: string | null;
  last_error: string | null;
}

export interface AlertsList {
  firing: AlertView[];
  history: AlertView[];
  receivers: ReceiverStatus[];
}

/** listAlerts' input; its rule and subject are also GET /resource/alerts' query parameters. */
export const listAlertsInput = v.optional(
  v.strictObject({
    rule: v.optional(v.picklist(ALERT_RULES, `must be one of ${ALERT_RULES.join(", ")}`)),
    subject: v.optional(v.pipe(plainText, v.maxLength(64, "must be at most 64 characters"))),
    limit: v.optional(v.pipe(v.number("must be a number"), v.integer("must be a whole number"), v.minValue(1, "must be from 1 to 1000"), v.maxValue(1000, "must be from 1 to 1000")), 100),
  }),
  {},
);

/**
 * The alerts firing now and the latest episodes (newest first), optionally
 * of one rule and one subject (an agent, a window, "service"), and how
 * delivery stands per receiver.
 * @example tsx runner invoke listAlerts '{"rule":"silent_agent"}'
 */
export async function listAlerts(raw: unknown, ctx: Context): Promise<Result<AlertsList>> {
  const parsed = validate(listAlertsInput, raw);
  if (!parsed.ok) return parsed;
  const { rule, subject, limit } = parsed.value as { rule?: string; subject?: string; limit: number };
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (rule !== undefined) where.push("rule = ?") && args.push(rule);
  if (subject !== undefined) where.push("subject = ?") && args.push(subject);
  const filter = where.length ? `AND ${where.join(" AND ")}` : "";
  const columns = "id, rule, subject, state, since, resolved_at, summary, details, last_notified";
  const [firing, history] = await ctx.db.batch(
    [
      { sql: `SELECT ${columns} FROM alerts WHERE state = 'firing' ${filter} ORDER BY since DESC, id DESC`, args },
      { sql: `SELECT ${columns} FROM alerts WHERE 1 = 1 ${filter} ORDER BY since DESC, id DESC LIMIT ?`, args: [...args, limit] },
    ],
    "read",
  );
  return ok({ firing: firing!.rows.map(view), history: history!.rows.map(view), receivers: await receiverStatus(ctx.db) });
}

function view(r: Record<string, unknown>): AlertView {
  let details: Record<string, unknown> = {};
  try {
    details = JSON.parse(String(r.details)) as Record<string, unknown>;
  } catch {
    // A row edited by hand: show it without its details.
  }
  return {
    id: Number(r.id),
    rule: String(r.rule),
    subject: String(r.subject),
    state: r.state === "firing" ? "firing" : "resolved",
    since: String(r.since),
    resolved_at: r.resolved_at === null ? null : String(r.resolved_at),
    summary: String(r.summary),
    details,
    last_notified: r.last_notified === null ? null : String(r.last_notified),
  };
}

/** Per receiver in the outbox: what waits, what was delivered, what it refused, its last error. */
export async function receiverStatus(db: Db): Promise<ReceiverStatus[]> {
  const rs = await db.execute(`SELECT receiver,
      count(CASE WHEN delivered_at IS NULL AND refused_at IS NULL THEN 1 END) AS pending,
      count(delivered_at) AS delivered, count(refused_at) AS refused, max(delivered_at) AS last_delivered_at,
      (SELECT last_error FROM alert_outbox AS o WHERE o.receiver = a.receiver AND last_error IS NOT NULL ORDER BY id DESC LIMIT 1) AS last_error
    FROM alert_outbox AS a GROUP BY receiver ORDER BY receiver`);
  return rs.rows.map((r) => ({
    receiver: String(r.receiver),
    pending: Number(r.pending),
    delivered: Number(r.delivered),
    refused: Number(r.refused),
    last_delivered_at: r.last_delivered_at === null ? null : String(r.last_delivered_at),
    last_error: r.last_error === null ? null : String(r.last_error),
  }));
}

/** How many alerts fire now, per rule (every rule named, 0 where none fires): for /metrics. */
export async function firingByRule(db: Pick<Db, "execute">): Promise<{ rule: string; firing: number }[]> {
  const rs = await db.execute("SELECT rule, count(*) AS n FROM alerts WHERE state = 'firing' GROUP BY rule");
  const counts = new Map(rs.rows.map((r) => [String(r.rule), Number(r.n)]));
  return ALERT_RULES.map((rule) => ({ rule, firing: counts.get(rule) ?? 0 }));
}
