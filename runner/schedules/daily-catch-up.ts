import type { Config } from "../../shared/config.ts";
import type { Database } from "../platform/libsql-client.ts";
import { addDays, dayBounds, localDay } from "../../shared/time.ts";
import { handlerConfig } from "../platform/environment.ts";
import { runHandler } from "../platform/run-handler.ts";
import type { Logger } from "../platform/log.ts";

/** After a failed catch-up, try again this soon rather than a day later. */
const RETRY_MS = 10 * 60_000;

/** The next local midnight after `now` in `timeZone`, as Unix ms (23- and 25-hour days included). */
export function nextMidnight(now: number, timeZone: string): number {
  return dayBounds(addDays(localDay(now, timeZone), 1), timeZone).start;
}

/**
 * `npm start` without systemd: runs the daily catch-up (aggregateDay {})
 * once now and again at each local midnight, in this process. Under systemd
 * the timer does this instead (`serve` never schedules). Returns a stop
 * function.
 */
export function scheduleDailyCatchUp(config: Config, database: Database, log: Logger): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const zone = config.timeZone;

  const arm = (at: number) => {
    if (stopped) return;
    // A timer may fire a little early (clock adjustments): re-arm until the day has really turned.
    timer = setTimeout(() => (Date.now() < at ? arm(at) : void run()), Math.max(0, at - Date.now()));
  };

  const run = async () => {
    let retry = false;
    try {
      const result = await runHandler("aggregateDay", {}, {
        db: database.db,
        now: () => new Date(),
        config: handlerConfig(config),
        progress: (message) => log.info(`daily catch-up: ${message}`),
      });
      if (result.ok) {
        const r = result.value;
        log.info(r.days_closed === 0
          ? `daily catch-up: every day up to ${r.up_to} is already closed`
          : `daily catch-up: closed ${r.days_closed} day(s) up to ${r.up_to}, ${r.rows_written} agent row(s) written`);
        if (r.telemetry.disagreeing > 0)
          log.warn(`daily catch-up: ${r.telemetry.disagreeing} agent day(s) differ between the reports and Claude Code's telemetry by more than ${r.telemetry.margin_percent}%; see the viewer's Telemetry page`);
      } else log.error(`daily catch-up refused: ${result.error.message}`);
    } catch (err) {
      retry = true;
      log.error(`daily catch-up failed: ${(err as Error).message}. Nothing half-done was kept; retrying in ${RETRY_MS / 60_000} minutes.`);
    }
    const next = retry ? Date.now() + RETRY_MS : nextMidnight(Date.now(), zone);
    log.debug(`daily catch-up: next run at ${new Date(next).toISOString()}`);
    arm(next);
  };

  void run();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
