import { appendFileSync } from "node:fs";
import { join } from "node:path";
import type { Queue, Report } from "./queue.ts";

export interface Delivery {
  sent: number;
  /** Batches still in the queue (the webhook did not take them). */
  waiting: number;
  /** Reports the webhook refused (400), kept in refused.jsonl. */
  refused: number;
  /** Why delivery stopped, when it did. */
  problem?: string;
  /** The advice of the last reply, when the webhook gave some. */
  advice?: { recommended_interval?: unknown; reasons?: unknown };
}

const TIMEOUT_MS = 30_000;

/**
 * Sends the queued batches in order; stops at the first one the webhook
 * does not take, which stays first in the queue. A batch refused as bad
 * input (400) would be refused forever: its faulty reports go to
 * refused.jsonl with the webhook's reasons, the rest are queued again.
 */
export async function deliver(queue: Queue, folder: string, url: string, token: string | undefined): Promise<Delivery> {
  const d: Delivery = { sent: 0, waiting: 0, refused: 0 };
  // Reports requeued after a refusal go round again; each round refuses at least one report, so it ends.
  for (let again = true; again; ) {
    again = false;
    const pending = queue.pending();
    for (const [i, batch] of pending.entries()) {
      let status: number;
      let body: any;
      try {
        const res = await fetch(`${url}/resource-share/increments`, {
          method: "POST",
          headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify(batch.reports),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
        status = res.status;
        const text = await res.text();
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
      } catch (err) {
        d.waiting = pending.length - i;
        d.problem = `the webhook at ${url} did not answer (${(err as Error).cause ?? (err as Error).message})`;
        return d;
      }
      if (status === 200) {
        queue.delivered(batch.end);
        d.sent += batch.reports.length;
        if (body && typeof body === "object" && ("recommended_interval" in body || "reasons" in body))
          d.advice = { recommended_interval: body.recommended_interval, reasons: body.reasons };
        continue;
      }
      if (status === 400) {
        const bad = new Set<number>();
        for (const issue of body?.issues ?? []) {
          const m = /^\[(\d+)\]/.exec(String(issue.field));
          if (m) bad.add(Number(m[1]));
        }
        const refused = bad.size === 0 ? batch.reports : batch.reports.filter((_, j) => bad.has(j));
        const kept: Report[] = bad.size === 0 ? [] : batch.reports.filter((_, j) => !bad.has(j));
        appendFileSync(join(folder, "refused.jsonl"), `${JSON.stringify({ at: new Date().toISOString(), reply: body, reports: refused })}\n`);
        // Queued again before this batch counts as delivered: nothing is lost between the two.
        if (kept.length > 0) queue.append([kept]);
        queue.delivered(batch.end);
        d.refused += refused.length;
        if (kept.length > 0) again = true;
        continue;
      }
      d.waiting = pending.length - i;
      const reason = typeof body === "object" && body ? (body.message ?? body.error ?? JSON.stringify(body)) : String(body).slice(0, 200);
      d.problem = `the webhook answered ${status}: ${reason}`;
      return d;
    }
  }
  return d;
}
