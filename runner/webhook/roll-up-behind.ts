import type { Writes } from "../../functions/store.ts";
import { ROLL_UP_NEW } from "../../shared/rollup.ts";
import type { Logger } from "../platform/log.ts";

/**
 * How long the hourly rollup may lag the reports the webhook committed. The
 * reads sum the reports above its watermark themselves (functions/usage.ts),
 * so a lag changes no answer, only how many reports a read sums: at most
 * this long's worth (1,500 at the peak of 1,500 reports/s).
 */
export const ROLL_UP_EVERY_MS = 1000;

export interface RollUpBehind {
  /** This process committed reports: roll them up within ROLL_UP_EVERY_MS. */
  committed(): void;
  /** The same writes, each commit followed by committed(). */
  writes: Writes;
  /** Rolls up what is left (a clean stop leaves the next start no tail). */
  close(): Promise<void>;
}

/**
 * The hourly rollup, kept up by the webhook behind its commits: at most
 * once a second, one transaction rolls up every report above the watermark
 * (shared/rollup.ts, ROLL_UP_NEW), the spool's and other processes' too.
 * Rolling up in each commit's own transaction cost the write path a
 * quarter of its throughput (its pages written again with every commit);
 * once a second, the rollup's pages are written once for all the commits
 * of that second (figures: docs/performance.md, "Hourly rollup"). A failed
 * roll-up (the database locked, the disk full) loses nothing: the next one
 * takes the same reports, the reads sum them meanwhile.
 */
export function rollUpBehind(writes: Writes, log: Logger, everyMs = ROLL_UP_EVERY_MS): RollUpBehind {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let failing = false;
  let closed = false;

  const run = () => {
    timer = undefined;
    running = writes.batch(ROLL_UP_NEW, "write").then(
      () => {
        if (failing) log.info("the hourly rollup is kept up to date again");
        failing = false;
      },
      (err: unknown) => {
        if (!failing) log.warn(`cannot bring the hourly rollup up to date (${(err as Error).message}); reads sum the reports it lacks meanwhile, and it is tried again with the next reports`);
        failing = true;
      },
    );
  };

  const committed = () => {
    if (timer === undefined && !closed) timer = setTimeout(run, everyMs).unref();
  };
  return {
    committed,
    writes: {
      protocol: writes.protocol,
      execute: writes.execute.bind(writes) as Writes["execute"],
      async batch(statements, mode) {
        const results = await writes.batch(statements, mode);
        committed();
        return results;
      },
    },
    async close() {
      closed = true;
      if (timer !== undefined) {
        clearTimeout(timer);
        run();
      }
      await running;
    },
  };
}
