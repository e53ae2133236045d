import { DEFAULT_ALERTS, type Receiver } from "../../shared/alert-settings.ts";
import type { Db } from "../../shared/context.ts";
import type { Logger } from "../platform/log.ts";
import { messageFor, type Notification } from "./shapes.ts";

/** Retries back off from 30 s, doubling, to an hour between tries. */
const FIRST_RETRY_MS = 30_000;
const MAX_RETRY_MS = 3_600_000;
/** Notifications sent per receiver per round: a backlog drains over a few rounds, not in one burst. */
const PER_ROUND = 50;

export const backoffMs = (attempts: number): number => Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1));

export interface DeliveryReport {
  delivered: number;
  /** Refused by their receiver (4xx): kept, never sent again. */
  refused: number;
  /** Failed this time (unreachable, 5xx, timeout): tried again later. */
  retrying: number;
}

export interface DeliverOptions {
  now?: () => Date;
  /** Where a person sees the alerts (the viewer's /alerts), put in Alertmanager's URLs. */
  viewerUrl?: string;
  /** How long a receiver gets to answer one notification (ALERT_SEND_TIMEOUT). */
  timeoutMs?: number;
}

/**
 * Sends what the outbox holds and is due, at least once: a notification is
 * marked delivered only after its receiver answered 2xx, so a process killed
 * in between sends it again after its restart. Each is first claimed (its
 * next attempt moved past the send's timeout) so that two processes
 * delivering at once do not both send it. A receiver that fails (down, 5xx,
 * 408, 429) is tried again with back-off, and the rest of its queue waits
 * for that; one that answers another 4xx refuses a well-formed message (a
 * revoked webhook, a wrong topic): that notification is marked refused, told
 * in the log and /health, and not sent again. Logs name receivers by their
 * redacted URL only.
 */
export async function deliverDue(db: Db, receivers: Receiver[], log: Logger, { now = () => new Date(), viewerUrl = "", timeoutMs = DEFAULT_ALERTS.sendTimeoutSeconds * 1000 }: DeliverOptions = {}): Promise<DeliveryReport> {
  const report: DeliveryReport = { delivered: 0, refused: 0, retrying: 0 };
  const byKey = new Map(receivers.map((r) => [r.key, r]));
  const due = await db.execute({
    sql: `SELECT o.id, o.receiver, o.event, o.attempts, a.rule, a.subject, a.summary, a.details, a.since, a.resolved_at
            FROM alert_outbox AS o JOIN alerts AS a ON a.id = o.alert_id
           WHERE o.delivered_at IS NULL AND o.refused_at IS NULL AND o.next_attempt_at <= ?
           ORDER BY o.id`,
    args: [now().toISOString()],
  });
  const failed = new Set<string>();
  const sent = new Map<string, number>();
  for (const r of due.rows) {
    const key = String(r.receiver);
    const id = Number(r.id);
    if (failed.has(key) || (sent.get(key) ?? 0) >= PER_ROUND) continue;
    const receiver = byKey.get(key);
    if (!receiver) {
      await db.execute({ sql: "UPDATE alert_outbox SET refused_at = ?, last_error = ? WHERE id = ?", args: [now().toISOString(), "the receiver is no longer in ALERT_RECEIVERS", id] });
      log.warn(`alert notification ${id} was for ${key}, which ALERT_RECEIVERS no longer lists: not sent`);
      report.refused++;
      continue;
    }
    // Claimed: another process (or this one after a crash) tries it only once the send has had its time.
    const claimed = await db.execute({
      sql: "UPDATE alert_outbox SET next_attempt_at = ? WHERE id = ? AND delivered_at IS NULL AND refused_at IS NULL AND next_attempt_at <= ?",
      args: [new Date(now().getTime() + timeoutMs + 5000).toISOString(), id, now().toISOString()],
    });
    if (claimed.rowsAffected === 0) continue;
    sent.set(key, (sent.get(key) ?? 0) + 1);
    const n: Notification = {
      outboxId: id,
      event: r.event as Notification["event"],
      rule: String(r.rule),
      subject: String(r.subject),
      summary: String(r.summary),
      details: parseDetails(r.details),
      since: String(r.since),
      resolvedAt: r.resolved_at === null ? null : String(r.resolved_at),
    };
    const outcome = await send(receiver, n, viewerUrl, timeoutMs);
    const attempts = Number(r.attempts) + 1;
    const at = now();
    if (outcome.kind === "delivered") {
      await db.execute({ sql: "UPDATE alert_outbox SET delivered_at = ?, attempts = ?, last_error = NULL WHERE id = ?", args: [at.toISOString(), attempts, id] });
      report.delivered++;
    } else if (outcome.kind === "refused") {
      await db.execute({ sql: "UPDATE alert_outbox SET refused_at = ?, attempts = ?, last_error = ? WHERE id = ?", args: [at.toISOString(), attempts, outcome.error, id] });
      log.error(`alert receiver ${key} refused a notification (${outcome.error}); it is not sent again. Check the receiver's URL in ALERT_RECEIVERS (a deleted webhook, a wrong topic, a revoked token).`);
      report.refused++;
    } else {
      const next = new Date(at.getTime() + backoffMs(attempts));
      await db.execute({ sql: "UPDATE alert_outbox SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE id = ?", args: [attempts, next.toISOString(), outcome.error, id] });
      log.warn(`alert receiver ${key} could not take a notification (${outcome.error}); trying again at ${next.toISOString()} (attempt ${attempts})`);
      failed.add(key);
      report.retrying++;
    }
  }
  return report;
}

type Outcome = { kind: "delivered" } | { kind: "refused"; error: string } | { kind: "retry"; error: string };

async function send(receiver: Receiver, n: Notification, viewerUrl: string, timeoutMs: number): Promise<Outcome> {
  const message = messageFor(receiver.shape, n, viewerUrl);
  // fetch() refuses a URL with credentials: they go as HTTP basic auth, as curl would send them.
  const url = new URL(receiver.url);
  const headers = { ...message.headers };
  if (url.username || url.password) {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString("base64")}`;
    url.username = "";
    url.password = "";
  }
  try {
    const res = await fetch(url, { method: "POST", body: message.body, headers, signal: AbortSignal.timeout(timeoutMs), redirect: "manual" });
    // What it said, briefly (the body of an error page can be long); never the URL, which may hold the token.
    const said = res.ok ? "" : (await res.text().catch(() => "")).replace(/\s+/g, " ").slice(0, 200);
    if (res.ok) return { kind: "delivered" };
    const error = `HTTP ${res.status}${said ? `: ${said}` : ""}`;
    if (res.status < 400) return { kind: "refused", error: `${error} (a redirect: put the URL it points to in ALERT_RECEIVERS)` };
    if (res.status < 500 && res.status !== 408 && res.status !== 429) return { kind: "refused", error };
    return { kind: "retry", error };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const reason = e.name === "TimeoutError" ? `no answer within ${timeoutMs / 1000} s` : (e.cause?.code ?? e.message);
    return { kind: "retry", error: reason.split(receiver.url).join(receiver.key) };
  }
}

function parseDetails(text: unknown): Record<string, unknown> {
  try {
    return JSON.parse(String(text)) as Record<string, unknown>;
  } catch {
    return {};
  }
}
