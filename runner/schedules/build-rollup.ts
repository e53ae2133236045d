import { setTimeout as sleep } from "node:timers/promises";
import { buildRollup, ensureRollup, rollupProgress } from "../../shared/rollup.ts";
import type { Db } from "../../shared/context.ts";
import type { Logger } from "../platform/log.ts";

/** Between chunks: the webhook's writes wait at most one chunk for the lock, then get it. */
const PAUSE_MS = 20;

/**
 * On start: a database without the hourly rollup (one from before migration
 * 9, or whose rollup a person dropped) gets it built from the reports
 * already stored, in the background and in chunks, each committed with its
 * watermark; stopped, the next start resumes it. Until it is done, the live
 * reads sum the reports as before (functions/usage.ts). Returns a stop
 * function; the promise settles when the build ends.
 */
export function buildRollupOnStart(db: Db, log: Logger): { stop: () => void; done: Promise<void> } {
  let stopped = false;
  const done = (async () => {
    if (await ensureRollup(db)) log.warn("the hourly rollup (usage_hourly) was missing: made again, to be built from the reports");
    const at = await rollupProgress(db);
    if (at.builtThroughId >= at.buildUntilId) return;
    const total = at.buildUntilId;
    const percent = (id: number) => Math.floor((100 * id) / total);
    log.info(`building the hourly rollup from the reports stored before it (ids ${at.builtThroughId + 1}..${total}${at.builtThroughId > 0 ? ", resuming" : ""}); reads sum the reports until it is done`);
    let shown = percent(at.builtThroughId);
    const started = Date.now();
    const end = await buildRollup(db, {
      stop: () => stopped,
      pause: () => sleep(PAUSE_MS),
      progress: (p) => {
        // A line per 10%: enough to see it move, not a line per chunk in the journal.
        if (percent(p.builtThroughId) < shown + 10 && p.builtThroughId < total) return;
        shown = percent(p.builtThroughId);
        log.info(`building the hourly rollup: ${p.builtThroughId} of ${total} report ids (${shown}%)`);
      },
    });
    if (end.builtThroughId >= end.buildUntilId) log.info(`the hourly rollup is built (${Math.round((Date.now() - started) / 1000)} s); the live reads use it from now on`);
    else log.info(`stopped building the hourly rollup at id ${end.builtThroughId} of ${total}; the next start resumes it there`);
  })().catch((err: unknown) => {
    log.error(`cannot build the hourly rollup (${(err as Error).message}); the live reads sum the reports meanwhile (slower, same answers). Restart the service to try again.`);
  });
  return { stop: () => (stopped = true), done };
}
