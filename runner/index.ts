import { COMMANDS } from "./cli/commands.ts";
import { helpText } from "./cli/help.ts";
import { DatabaseUnavailable, StartupError } from "./platform/database.ts";
import { loadConfig } from "./platform/environment.ts";
import { EXIT_FAULT, EXIT_REFUSED } from "./platform/outcome.ts";

/** Entry point: `tsx runner <command>`; the commands are in cli/commands.ts. */
async function main(argv: string[]): Promise<number | undefined> {
  const [name, ...args] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(helpText());
    return name === undefined ? EXIT_REFUSED : 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    process.stderr.write(`Unknown command "${name}".\n\n${helpText()}`);
    return EXIT_REFUSED;
  }
  return command.run(loadConfig(), args);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err: unknown) => {
    // A problem to fix before starting again (exit 1), or one that may pass by itself (exit 2).
    process.stderr.write(`${(err as Error).message ?? String(err)}\n`);
    process.exit(err instanceof StartupError && !(err instanceof DatabaseUnavailable) ? EXIT_REFUSED : EXIT_FAULT);
  },
);
