import type { ServerType } from "@hono/node-server";
import { StartupError } from "./platform/database.ts";
import { checkListenAddresses, loadConfig, loggerFor } from "./platform/environment.ts";
import { helpText } from "./cli/help.ts";
import { stopOnSignals } from "./platform/lifecycle.ts";
import { openWhenFree } from "./webhook/open-when-free.ts";
import { EXIT_FAULT, EXIT_REFUSED } from "./platform/outcome.ts";

/**
 * Entry point: `tsx runner <command>`. Each command loads only the modules
 * it runs: the webhook process does not carry the viewer's pages or the
 * copy tool (less to compile at start, less resident memory).
 */
async function main(argv: string[]): Promise<number | undefined> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(helpText());
    return command === undefined ? EXIT_REFUSED : 0;
  }
  const config = loadConfig();
  switch (command) {
    case "invoke": {
      const { invoke } = await import("./cli/invoke.ts");
      return invoke(config, rest[0], rest[1]);
    }
    case "aggregate": { // the daily timer's command: catch up every day not closed
      const { invoke } = await import("./cli/invoke.ts");
      return invoke(config, "aggregateDay", "{}");
    }
    case "copy": {
      const { copyCommand } = await import("./cli/copy.ts");
      return copyCommand(config, rest);
    }
    case "serve":
    case "start": {
      await checkListenAddresses(config, command === "start" ? ["HOST", "WEB_HOST"] : ["HOST"]);
      // Loaded together, before anything starts: start-up does not pause halfway to compile the viewer.
      const [{ startWebhook, webhookTimeoutMs }, { scheduleDailyCatchUp }, web] = await Promise.all([
        import("./webhook/start.ts"),
        import("./schedules/daily-catch-up.ts"),
        command === "start" ? import("./viewer/start.ts") : undefined,
      ]);
      const log = loggerFor(config);
      const { database, ready, locked } = await openWhenFree(config, log, webhookTimeoutMs(config.databaseUrl));
      const webhook = await startWebhook(config, database, log, { ready });
      const servers = [webhook.server];
      let viewer: { server: ServerType; close: () => void } | undefined;
      let stopDaily = () => {};
      // The viewer and the daily catch-up need the schema up to date: on a
      // database locked at start they follow once the lock is released.
      const rest = async () => {
        viewer = web ? await web.startViewer(config, log) : undefined;
        if (viewer) servers.push(viewer.server);
        // Under systemd the timer closes days; `start` stands alone.
        if (command === "start") stopDaily = scheduleDailyCatchUp(config, database, log);
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
      stopOnSignals(log, servers, [() => stopDaily(), webhook.close, () => viewer?.close(), () => database.close()]);
      return undefined; // keeps running
    }
    case "web": {
      await checkListenAddresses(config, ["WEB_HOST"]);
      const { startViewer } = await import("./viewer/start.ts");
      const log = loggerFor(config);
      const viewer = await startViewer(config, log);
      stopOnSignals(log, [viewer.server], [viewer.close]);
      return undefined;
    }
    default:
      process.stderr.write(`Unknown command "${command}".\n\n${helpText()}`);
      return EXIT_REFUSED;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof StartupError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(EXIT_REFUSED);
    }
    process.stderr.write(`${(err as Error).message ?? String(err)}\n`);
    process.exit(EXIT_FAULT);
  },
);
