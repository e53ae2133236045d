import type { ServerType } from "@hono/node-server";
import type { Config } from "../../shared/config.ts";
import { StartupError } from "../platform/database.ts";
import { checkListenAddresses, loggerFor } from "../platform/environment.ts";
import { stopOnSignals } from "../platform/lifecycle.ts";
import { EXIT_FAULT, EXIT_REFUSED } from "../platform/outcome.ts";
import { openWhenFree } from "../webhook/open-when-free.ts";

/**
 * `start` (webhook, viewer, the daily catch-up and the alerts in one process) and
 * `serve` (the webhook alone, as its systemd unit runs it). Keeps running
 * until a signal stops it.
 */
export async function startServices(config: Config, command: "start" | "serve"): Promise<undefined> {
  await checkListenAddresses(config, command === "start" ? ["HOST", "WEB_HOST"] : ["HOST"]);
  // Loaded together, before anything starts: start-up does not pause halfway to compile the viewer.
  const [{ startWebhook, webhookTimeoutMs }, { scheduleDailyCatchUp }, { scheduleAlerts }, { serviceFacts }, { buildRollupOnStart }, web] = await Promise.all([
    import("../webhook/start.ts"),
    import("../schedules/daily-catch-up.ts"),
    import("../schedules/alerts.ts"),
    import("../alerts/cycle.ts"),
    import("../schedules/build-rollup.ts"),
    command === "start" ? import("../viewer/start.ts") : undefined,
  ]);
  const log = loggerFor(config);
  const { database, ready, locked } = await openWhenFree(config, log, webhookTimeoutMs(config.databaseUrl));
  const webhook = await startWebhook(config, database, log, { ready });
  const servers = [webhook.server];
  let viewer: { server: ServerType; close: () => void } | undefined;
  let stopDaily = () => {};
  let stopAlerts = () => {};
  let stopBuild: () => Promise<void> | void = () => {};
  // The viewer and the daily catch-up need the schema up to date: on a
  // database locked at start they follow once the lock is released.
  const rest = async () => {
    // The rollup's build stops between two chunks (its current one committed) before the database closes.
    const build = buildRollupOnStart(database.db, log);
    stopBuild = () => {
      build.stop();
      return build.done;
    };
    viewer = web ? await web.startViewer(config, log) : undefined;
    if (viewer) servers.push(viewer.server);
    // Under systemd the timer closes days; `start` stands alone.
    if (command === "start") {
      stopDaily = scheduleDailyCatchUp(config, database, log);
      // The alerts read the webhook's write path from memory: it is this process's.
      stopAlerts = scheduleAlerts(config, database, log, () => serviceFacts(webhook.spool()));
    }
  };
  if (!locked) await rest();
  else {
    if (web) log.info("the viewer starts once the database's lock is released");
    void ready.then(rest).catch((err: unknown) => {
      log.flush();
      process.stderr.write(`${(err as Error).message}\n`);
      process.exit(err instanceof StartupError ? EXIT_REFUSED : EXIT_FAULT);
    });
  }
  // Registered last: a SIGTERM after the first log line always finds them.
  stopOnSignals(log, servers, [() => stopDaily(), () => stopAlerts(), () => stopBuild(), webhook.close, () => viewer?.close(), () => database.close()]);
  return undefined;
}

/** `web`: the viewer alone, read-only (its systemd unit). */
export async function startViewerOnly(config: Config): Promise<undefined> {
  await checkListenAddresses(config, ["WEB_HOST"]);
  const { startViewer } = await import("../viewer/start.ts");
  const log = loggerFor(config);
  const viewer = await startViewer(config, log);
  stopOnSignals(log, [viewer.server], [viewer.close]);
  return undefined;
}
