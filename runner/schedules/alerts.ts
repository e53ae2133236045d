import { emptyLedger } from "../../functions/advice/ledger.ts";
import type { ServiceFacts } from "../../functions/alerts/rules.ts";
import type { Config } from "../../shared/config.ts";
import { alertsCycle } from "../alerts/cycle.ts";
import { isUnavailable } from "../platform/libsql-client.ts";
import type { Database } from "../platform/libsql-client.ts";
import type { Logger } from "../platform/log.ts";

/**
 * `npm start` without systemd: evaluates the alerts and delivers what is
 * due every ALERT_EVERY seconds, in this process but never on a request's
 * path (a timer of its own). Under systemd the timer does this instead
 * (`serve` never schedules). Keeps the family's usage in memory between
 * rounds, so a round reads only the reports stored since the last.
 * Returns a stop function; a round under way finishes on its own.
 */
export function scheduleAlerts(config: Config, database: Database, log: Logger, service: () => ServiceFacts | undefined): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let failing = false;
  const ledger = emptyLedger();

  const run = async () => {
    try {
      const { evaluation } = await alertsCycle(database.db, config, log, { ledger, service: service() });
      if (!evaluation.ok) log.error(`alerts: the evaluation was refused: ${evaluation.error.message}`);
      if (failing) log.info("alerts: evaluating again");
      failing = false;
    } catch (err) {
      const why = isUnavailable(err) ? "the database cannot take the alerts' writes (locked or unreachable)" : "an unexpected fault";
      if (!failing) log.error(`alerts: cannot evaluate: ${why}: ${(err as Error).message}. Nothing half-done was kept; trying again every ${config.alerts.everySeconds} s.`);
      failing = true;
    }
    if (!stopped) timer = setTimeout(() => void run(), config.alerts.everySeconds * 1000);
  };

  void run();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
