import type { AlertsContext, AlertsOutput } from "../../functions/alerts.ts";
import type { ServiceFacts } from "../../functions/alerts/rules.ts";
import type { Ledger } from "../../functions/advice/ledger.ts";
import type { Config } from "../../shared/config.ts";
import type { Db } from "../../shared/context.ts";
import type { Result } from "../../shared/result.ts";
import { handlerConfig } from "../platform/environment.ts";
import type { Logger } from "../platform/log.ts";
import { runHandler } from "../platform/run-handler.ts";
import { deliverDue, type DeliveryReport } from "./deliver.ts";

export interface CycleOptions {
  now?: () => Date;
  /** The family's usage kept between evaluations (a long-running process). */
  ledger?: Ledger;
  /** The webhook's write path, when this process knows it. */
  service?: ServiceFacts;
}

/**
 * One round: the alerts handler evaluates and records (changes and their
 * outbox rows in one transaction), then what is due is delivered. The
 * schedule in `npm start`, the systemd timer's `runner alerts` and
 * `runner invoke alerts` all run this. A delivery that fails leaves the
 * outbox for the next round.
 */
export async function alertsCycle(db: Db, config: Config, log: Logger, { now = () => new Date(), ledger, service }: CycleOptions = {}): Promise<{ evaluation: Result<AlertsOutput>; delivery: DeliveryReport }> {
  const ctx: AlertsContext = { db, now, config: handlerConfig(config), ...(ledger ? { ledger } : {}), ...(service ? { service } : {}) };
  const evaluation = await runHandler("alerts", {}, ctx);
  if (evaluation.ok) for (const c of evaluation.value.changes) log.info(`alert ${c.event}: ${c.rule} (${c.subject}): ${c.summary}`);
  const delivery = await deliverDue(db, config.alerts.receivers, log, { now, viewerUrl: viewerUrl(config), timeoutMs: config.alerts.sendTimeoutSeconds * 1000 });
  return { evaluation, delivery };
}

export const viewerUrl = (config: Config): string => `http://${config.webHost.includes(":") ? `[${config.webHost}]` : config.webHost}:${config.webPort}/alerts`;

/**
 * The webhook's write path as its /health tells it, for an evaluator in
 * another process (the systemd timer's). Undefined when the webhook does
 * not answer within 2 s: the spool and database rules then keep their state.
 */
export async function serviceFactsFromWebhook(config: Config): Promise<ServiceFacts | undefined> {
  const host = config.host === "0.0.0.0" ? "127.0.0.1" : config.host === "::" ? "::1" : config.host;
  try {
    const res = await fetch(`http://${host.includes(":") ? `[${host}]` : host}:${config.port}/health`, { signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as { spool?: { backlog?: number; since?: string | null; refused_since?: string | null } };
    if (!body.spool) return undefined;
    return serviceFacts(body.spool);
  } catch {
    return undefined;
  }
}

/** The durable store's status as the rules read it. */
export function serviceFacts(spool: { backlog?: number; since?: string | null; refused_since?: string | null }): ServiceFacts {
  const ms = (s: string | null | undefined) => (s ? Date.parse(s) : null);
  return { backlog: spool.backlog ?? 0, spooledSince: ms(spool.since), refusedSince: ms(spool.refused_since) };
}
