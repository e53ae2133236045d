import * as v from "valibot";
import { DEFAULT_ALERTS } from "../shared/alert-settings.ts";
import type { Context } from "../shared/context.ts";
import { ok, type Result } from "../shared/result.ts";
import { validate } from "../shared/validate.ts";
import { emptyLedger, type Ledger } from "./advice/ledger.ts";
import { loadFacts } from "./alerts/facts.ts";
import { record, type AlertChange } from "./alerts/record.ts";
import { evaluate, type ServiceFacts } from "./alerts/rules.ts";

/**
 * What only a long-running door can hand in: the family's usage kept in
 * memory between evaluations (without it, the last week is read afresh),
 * and the webhook's write path (without it, the spool and database rules
 * are not evaluated and keep their state).
 */
export interface AlertsContext extends Context {
  ledger?: Ledger;
  service?: ServiceFacts;
}

export interface AlertsOutput {
  evaluated_at: string;
  /** Rules evaluated this time (off ones included: they resolve what they had firing). */
  rules: string[];
  changes: AlertChange[];
  /** Alerts firing after this evaluation. */
  firing: number;
  /** Notifications queued in the outbox for delivery (one per change per receiver). */
  queued: number;
}

/**
 * Evaluates every rule once at ctx.now(), records what changed in the
 * alerts table and queues each change for each receiver in the outbox, all
 * in one transaction. Delivery is the runner's (runner/alerts/deliver.ts).
 * @example tsx runner invoke alerts '{}'
 */
export async function alerts(input: unknown, ctx: AlertsContext): Promise<Result<AlertsOutput>> {
  const parsed = validate(v.optional(v.strictObject({}), {}), input);
  if (!parsed.ok) return parsed;
  const settings = ctx.config.alerts ?? DEFAULT_ALERTS;
  const now = ctx.now().getTime();
  const facts = await loadFacts(ctx.db, now, ctx.config, ctx.ledger ?? emptyLedger(), ctx.service);
  const evaluation = evaluate(facts, settings);
  const receivers = settings.receivers.map((r) => r.key);
  const changes = await record(ctx.db, evaluation, now, settings.remindSeconds, receivers);
  const count = await ctx.db.execute("SELECT count(*) AS n FROM alerts WHERE state = 'firing'");
  return ok({
    evaluated_at: new Date(now).toISOString(),
    rules: [...evaluation.keys()],
    changes,
    firing: Number(count.rows[0]!.n),
    queued: changes.length * receivers.length,
  });
}
