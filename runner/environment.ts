import { parseConfig, type Config } from "../shared/config.ts";
import type { HandlerConfig } from "../shared/context.ts";
import { createLogger, type Logger } from "./log.ts";

/** The machine's own zone (honours TZ): the default day boundary. */
export const machineZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone;

/**
 * The one place that reads process.env. A bad setting stops the process
 * with one line naming the variable.
 */
export function loadConfig(): Config {
  const parsed = parseConfig(process.env, machineZone);
  if (!parsed.ok) {
    process.stderr.write(`${parsed.message}\nSee the README, section "Configuration".\n`);
    process.exit(1);
  }
  return parsed.config;
}

/** Under systemd, journald stamps each line; elsewhere the logger does. */
export function loggerFor(config: Config): Logger {
  return createLogger(config.logLevel, { withTime: !process.env.JOURNAL_STREAM });
}

export const handlerConfig = (config: Config): HandlerConfig => ({
  timeZone: config.timeZone,
  replayWindowDays: config.replayWindowDays,
  advice: config.advice,
});
