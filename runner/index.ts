import { copyCommand } from "./copy.ts";
import { StartupError, openConfigured } from "./database.ts";
import { loadConfig, loggerFor } from "./environment.ts";
import { helpText } from "./help.ts";
import { scheduleDailyCatchUp } from "./daily.ts";
import { invoke } from "./invoke.ts";
import { stopOnSignals } from "./lifecycle.ts";
import { EXIT_FAULT, EXIT_REFUSED } from "./outcome.ts";
import { startWebhook, webhookTimeoutMs } from "./serve.ts";
import { startViewer } from "./web/serve.ts";

/** Entry point: `tsx runner <command>`. */
async function main(argv: string[]): Promise<number | undefined> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(helpText());
    return command === undefined ? EXIT_REFUSED : 0;
  }
  const config = loadConfig();
  switch (command) {
    case "invoke":
      return invoke(config, rest[0], rest[1]);
    case "aggregate": // the daily timer's command: catch up every day not closed
      return invoke(config, "aggregateDay", "{}");
    case "copy":
      return copyCommand(config, rest);
    case "serve":
    case "start": {
      const log = loggerFor(config);
      const database = await openConfigured(config, { busyTimeoutMs: webhookTimeoutMs(config.databaseUrl) });
      const webhook = await startWebhook(config, database, log);
      // Under systemd the timer closes days; `start` stands alone.
      const stopDaily = command === "start" ? scheduleDailyCatchUp(config, database, log) : () => {};
      const viewer = command === "start" ? await startViewer(config, log) : undefined;
      stopOnSignals(log, viewer ? [webhook.server, viewer.server] : [webhook.server], [stopDaily, webhook.close, () => viewer?.close(), () => database.close()]);
      return undefined; // keeps running
    }
    case "web": {
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
