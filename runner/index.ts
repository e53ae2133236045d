import { StartupError, openConfigured } from "./database.ts";
import { loadConfig, loggerFor } from "./environment.ts";
import { helpText } from "./help.ts";
import { invoke } from "./invoke.ts";
import { stopOnSignals } from "./lifecycle.ts";
import { EXIT_FAULT, EXIT_REFUSED } from "./outcome.ts";
import { startWebhook } from "./serve.ts";

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
    case "serve":
    case "start": {
      const log = loggerFor(config);
      const database = await openConfigured(config);
      const server = await startWebhook(config, database, log);
      stopOnSignals(log, [server], [() => database.close()]);
      return undefined; // keeps running
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
