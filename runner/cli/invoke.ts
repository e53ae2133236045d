import { handlers, isHandlerName, type HandlerEntry } from "../../functions/index.ts";
import type { Config } from "../../shared/config.ts";
import type { Db } from "../../shared/context.ts";
import { ok, type Failure, type Result } from "../../shared/result.ts";
import { createLogger } from "../platform/log.ts";
import { openConfigured } from "../platform/database.ts";
import { handlerConfig } from "../platform/environment.ts";
import { isUnavailable } from "../platform/libsql-client.ts";
import { EXIT_OK, exitCode, failureBody } from "../platform/outcome.ts";
import { runHandler } from "../platform/run-handler.ts";

/** `runner invoke NAME ['{json}'] [--format F]`, the option anywhere after the command. */
export function invokeCommand(config: Config, args: string[]): Promise<number> {
  const positional: string[] = [];
  let format: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--format") format = args[++i] ?? "";
    else if (arg.startsWith("--format=")) format = arg.slice("--format=".length);
    else positional.push(arg);
  }
  return invoke(config, positional[0], positional[1], format);
}

/**
 * `runner invoke NAME '{json}'`: runs one handler and prints its result as
 * JSON on stdout, or in another format the handler's entry declares
 * (`--format markdown`); a failure prints the same JSON body the webhook
 * answers with. A line for a person goes to stderr; the exit code says
 * which kind (0 done, 1 refused, 2 fault).
 */
export async function invoke(config: Config, name: string | undefined, json: string | undefined, format?: string): Promise<number> {
  if (!name || !isHandlerName(name)) {
    const known = `Handlers: ${Object.keys(handlers).join(", ")}.`;
    return refuse(
      { code: "not_found", message: `${name ? `No handler named "${name}".` : "Name a handler."} ${known}` },
      'Run "tsx runner --help" for what each does.',
    );
  }
  const entry: HandlerEntry = handlers[name];
  const formats = entry.formats ?? {};
  if (format !== undefined && format !== "json" && !Object.hasOwn(formats, format)) {
    const offered = ["json", ...Object.keys(formats)].map((f) => `"${f}"`).join(", ");
    return refuse(
      { code: "invalid_input", message: `${name} cannot print as "${format}"; it offers ${offered}.`, issues: [{ field: "--format", message: `must be one of ${offered}` }] },
      "Nothing was run.",
    );
  }
  let input: unknown = {};
  if (json !== undefined) {
    const text = json === "-" ? await readStdin() : json;
    try {
      input = JSON.parse(text);
    } catch (err) {
      return refuse(
        { code: "invalid_json", message: `The input is not valid JSON (${(err as Error).message}).` },
        `Example: tsx runner invoke ${name} '${handlers[name].example}'`,
      );
    }
  }
  const database = await openConfigured(config);
  try {
    const result = name === "alerts" && isEmptyObject(input)
      ? await evaluateAndDeliver(config, database.db)
      : await runHandler(name, input, {
          db: database.db,
          now: () => new Date(),
          config: handlerConfig(config),
          progress: (message) => process.stderr.write(`${name}: ${message}\n`),
        });
    if (result.ok) {
      const render = format === undefined || format === "json" ? undefined : formats[format];
      process.stdout.write(render ? render(result.value) : `${JSON.stringify(result.value, null, 2)}\n`);
      return EXIT_OK;
    }
    return refuse(result.error, `${name} refused the input; nothing was changed.`);
  } catch (err) {
    const failure: Failure = isUnavailable(err)
      ? { code: "unavailable", message: `The database could not take the work (locked by another process, or unreachable): ${(err as Error).message}. Nothing was changed; try again shortly.` }
      : { code: "internal", message: `${name} failed: ${(err as Error).message}. An unexpected fault; nothing was committed.` };
    return refuse(failure, failure.message);
  } finally {
    database.close();
  }
}

const isEmptyObject = (x: unknown) => typeof x === "object" && x !== null && !Array.isArray(x) && Object.keys(x).length === 0;

/**
 * `invoke alerts`: as the schedule does it, evaluation then delivery of what
 * is due, the webhook's spool state asked of its /health. Delivery's log
 * lines go to stderr; its counts join the handler's result.
 */
async function evaluateAndDeliver(config: Config, db: Db): Promise<Result<unknown>> {
  const { alertsCycle, serviceFactsFromWebhook } = await import("../alerts/cycle.ts");
  const service = await serviceFactsFromWebhook(config);
  const log = createLogger(config.logLevel, { withTime: false, out: process.stderr });
  const { evaluation, delivery } = await alertsCycle(db, config, log, service ? { service } : {});
  log.flush();
  return evaluation.ok ? ok({ ...evaluation.value, service_rules: service ? "evaluated" : "skipped: the webhook's /health did not answer", delivery }) : evaluation;
}

/** Prints the failure's JSON body on stdout and a line for a person on stderr; returns its exit code. */
function refuse(failure: Failure, hint: string): number {
  process.stderr.write(`${failure.message}\n${hint === failure.message ? "" : `${hint}\n`}`);
  process.stdout.write(`${JSON.stringify(failureBody(failure), null, 2)}\n`);
  return exitCode(failure);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
