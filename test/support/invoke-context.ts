import { handlerConfig, machineZone } from "../../runner/platform/environment.ts";
import { parseConfig } from "../../shared/config.ts";
import type { Context, Db } from "../../shared/context.ts";

/**
 * The context `runner invoke` hands a handler (runner/cli/invoke.ts), over
 * `db`, from settings given as the process would get them in its
 * environment (RESOURCE_SHARE_TZ, ADVICE_*, ...): for calling a handler
 * through runHandler, the path `invoke` takes, where a process would add
 * nothing. Progress lines, which the CLI writes to stderr, are collected.
 */
export function invokeContext(db: Db, env: Record<string, string> = {}): Context & { progressLines: string[] } {
  const parsed = parseConfig(env, machineZone);
  if (!parsed.ok) throw new Error(`bad settings for runner invoke: ${parsed.message}`);
  const progressLines: string[] = [];
  return { db, now: () => new Date(), config: handlerConfig(parsed.config), progress: (line) => void progressLines.push(line), progressLines };
}
