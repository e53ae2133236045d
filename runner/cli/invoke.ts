import { handlers, isHandlerName } from "../../functions/index.ts";
import type { Config } from "../../shared/config.ts";
import { isUnavailable } from "../platform/libsql-client.ts";
import { openConfigured } from "../platform/database.ts";
import { handlerConfig } from "../platform/environment.ts";
import { EXIT_FAULT, EXIT_OK, EXIT_REFUSED } from "../platform/outcome.ts";

/**
 * `runner invoke NAME '{json}'`: runs one handler and prints its result as
 * JSON on stdout. Problems go to stderr; the exit code says which kind
 * (0 done, 1 refused input, 2 fault).
 */
export async function invoke(config: Config, name: string | undefined, json: string | undefined): Promise<number> {
  if (!name || !isHandlerName(name)) {
    process.stderr.write(
      `${name ? `No handler named "${name}".` : "Name a handler."} Handlers: ${Object.keys(handlers).join(", ")}.\nRun "tsx runner --help" for what each does.\n`,
    );
    return EXIT_REFUSED;
  }
  let input: unknown = {};
  if (json !== undefined) {
    const text = json === "-" ? await readStdin() : json;
    try {
      input = JSON.parse(text);
    } catch (err) {
      process.stderr.write(`The input is not valid JSON (${(err as Error).message}).\nExample: tsx runner invoke ${name} '${handlers[name].example}'\n`);
      return EXIT_REFUSED;
    }
  }
  const database = await openConfigured(config);
  try {
    const result = await handlers[name].run(input, {
      db: database.db,
      now: () => new Date(),
      config: handlerConfig(config),
      progress: (message) => process.stderr.write(`${name}: ${message}\n`),
    });
    if (result.ok) {
      process.stdout.write(`${JSON.stringify(result.value, null, 2)}\n`);
      return EXIT_OK;
    }
    process.stderr.write(`${name} refused the input: ${result.error.message}\n`);
    process.stdout.write(`${JSON.stringify({ status: "error", error: result.error.code, issues: result.error.issues ?? [] }, null, 2)}\n`);
    return EXIT_REFUSED;
  } catch (err) {
    const hint = isUnavailable(err)
      ? "The database could not take the work (locked by another process, or unreachable). Nothing was changed; try again shortly."
      : "An unexpected fault; nothing was committed.";
    process.stderr.write(`${name} failed: ${(err as Error).message}\n${hint}\n`);
    return EXIT_FAULT;
  } finally {
    database.close();
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
