import type { Config } from "../../shared/config.ts";
import { reporterEnvironment } from "../platform/environment.ts";

/**
 * Every command of `tsx runner`, in the order `--help` lists them. Adding a
 * command is one entry here: the entry point dispatches through this table
 * and the help text is made from it. Each command loads its own modules
 * when it runs, so the webhook process does not carry the viewer's pages or
 * the copy tool.
 */
export interface Command {
  /** The command line after `tsx runner`, as --help shows it. */
  usage: string;
  /** What it does, one or two short lines for --help. */
  summary: string[];
  /** Returns the exit code, or undefined for a command that keeps running (a server). */
  run(config: Config, args: string[]): Promise<number | undefined>;
}

export const COMMANDS: Record<string, Command> = {
  start: {
    usage: "start",
    summary: ["webhook (:8765), viewer (:8082) and daily catch-up in one process (npm start)"],
    run: async (config) => (await import("./start.ts")).startServices(config, "start"),
  },
  serve: {
    usage: "serve",
    summary: ["the webhook only (resource-share-server.service)"],
    run: async (config) => (await import("./start.ts")).startServices(config, "serve"),
  },
  aggregate: {
    usage: "aggregate",
    summary: ["close every day not closed yet, or with late reports, up to yesterday", "(the daily timer's command; same as invoke aggregateDay '{}')"],
    run: async (config) => (await import("./invoke.ts")).invoke(config, "aggregateDay", "{}"),
  },
  alerts: {
    usage: "alerts",
    summary: ["evaluate the alerts once and deliver what is due (the alerts timer's command;", "same as invoke alerts '{}'); ALERT_RECEIVERS says where"],
    run: async (config) => (await import("./invoke.ts")).invoke(config, "alerts", "{}"),
  },
  web: {
    usage: "web",
    summary: ["the viewer only, read-only (resource-share-web.service)"],
    run: async (config) => (await import("./start.ts")).startViewerOnly(config),
  },
  invoke: {
    usage: "invoke NAME ['{json}'] [--format F]",
    summary: [
      "run one handler and print its JSON result; '-' reads the JSON from stdin;",
      "--format F prints it as F where the handler offers one (listed under Handlers)",
      "exit 0 done, 1 refused (bad input, not found, ...), 2 fault (database unavailable, a bug)",
    ],
    run: async (config, args) => (await import("./invoke.ts")).invokeCommand(config, args),
  },
  copy: {
    usage: "copy --to URL",
    summary: ["copy every row into another database (file <-> libSQL server),", "resumable, verified by row counts and sums; copy --help for more"],
    run: async (config, args) => (await import("./copy.ts")).copyCommand(config, args),
  },
  report: {
    usage: "report [--once] [--every SECONDS] [--dir PATH]... [--mode MODE]",
    summary: ["post this agent's Claude Code tokens (CLAUDE_NAME), each message once, to the webhook;", "queued on disk while it is down; report --help for more"],
    run: async (config, args) => (await import("../reporter/command.ts")).reportCommand(config, args, reporterEnvironment()),
  },
  statusline: {
    usage: "statusline [--timeout-ms MS]",
    summary: ["Claude Code's statusLine command: this agent's tokens today, the windows, the advice", "(stdin: the statusLine JSON); forwards rate_limits; never fails, waits at most MS (100) for the webhook"],
    run: async (_config, args) => (await import("../reporter/statusline.ts")).statuslineCommand(args, reporterEnvironment()),
  },
};
