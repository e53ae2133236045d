import { createHash } from "node:crypto";
import type { ReceiverShape } from "../../shared/alert-settings.ts";

/** One notification as the outbox holds it, joined with its alert. */
export interface Notification {
  outboxId: number;
  event: "firing" | "reminder" | "resolved";
  rule: string;
  subject: string;
  summary: string;
  details: Record<string, unknown>;
  since: string;
  resolvedAt: string | null;
}

/** An HTTP request for a receiver: the body and its headers. */
export interface Message {
  body: string;
  headers: Record<string, string>;
}

/** What a person reads first: the state, the rule and its subject. */
export function headline(n: Notification): string {
  const tag = n.event === "resolved" ? "RESOLVED" : n.event === "reminder" ? `STILL FIRING since ${n.since}` : "FIRING";
  return `[${tag}] ${n.rule} (${n.subject})`;
}

const text = (n: Notification) => `${headline(n)}: ${n.summary}`;

/** Alertmanager's "zero" time: an alert still firing has no end. */
const NO_END = "0001-01-01T00:00:00Z";

/**
 * The body for each shape. Alertmanager's is its webhook JSON version 4 (what
 * Alertmanager itself posts to a webhook receiver), one alert per message;
 * ntfy takes plain text with a title header; Discord `{"content"}` (at most
 * 2000 characters), Slack `{"text"}`.
 */
export function messageFor(shape: ReceiverShape, n: Notification, viewerUrl: string): Message {
  const json = { "content-type": "application/json" };
  switch (shape) {
    case "alertmanager": {
      const status = n.event === "resolved" ? "resolved" : "firing";
      const labels = { alertname: n.rule, subject: n.subject, service: "resource-share" };
      const annotations = { summary: n.summary };
      const fingerprint = createHash("sha256").update(`${n.rule}\u0000${n.subject}\u0000${n.since}`).digest("hex").slice(0, 16);
      const body = {
        version: "4",
        groupKey: `{}:{alertname="${n.rule}",subject="${n.subject}"}`,
        truncatedAlerts: 0,
        status,
        receiver: "resource-share",
        groupLabels: { alertname: n.rule },
        commonLabels: labels,
        commonAnnotations: annotations,
        externalURL: viewerUrl,
        alerts: [
          {
            status,
            labels,
            annotations,
            startsAt: n.since,
            // A firing notice delivered late still says firing: the end belongs to the resolved one.
            endsAt: n.event === "resolved" && n.resolvedAt ? n.resolvedAt : NO_END,
            generatorURL: viewerUrl,
            fingerprint,
          },
        ],
      };
      return { body: JSON.stringify(body), headers: json };
    }
    case "ntfy":
      return {
        body: n.summary,
        headers: {
          "content-type": "text/plain; charset=utf-8",
          // Header values must be ASCII (Latin-1 at most): the summary may hold any name, the title only ours.
          Title: headline(n).replace(/[^\x20-\x7e]/g, "?"),
          Tags: n.event === "resolved" ? "white_check_mark" : "warning",
          Priority: n.event === "firing" ? "high" : "default",
        },
      };
    case "discord":
      return { body: JSON.stringify({ content: text(n).slice(0, 2000) }), headers: json };
    case "slack":
      return { body: JSON.stringify({ text: text(n) }), headers: json };
  }
}
