import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { parseConfig, type Config } from "../../shared/config.ts";
import type { HandlerConfig } from "../../shared/context.ts";
import { StartupError } from "./database.ts";
import { createLogger, type Logger } from "./log.ts";

const SEE_README = 'See the README, section "Configuration".';

/** The machine's own zone (honours TZ): the default day boundary. */
export const machineZone = (): string => Intl.DateTimeFormat().resolvedOptions().timeZone;

/**
 * The one place that reads process.env. A bad setting stops the process
 * with one line naming the variable (exit 1).
 */
export function loadConfig(): Config {
  const parsed = parseConfig(process.env, machineZone);
  if (!parsed.ok) {
    process.stderr.write(`${parsed.message}. ${SEE_README}\n`);
    process.exit(1);
  }
  return parsed.config;
}

/**
 * What the reporter reads (runner/reporter/settings.ts checks it): the
 * agent, where the webhook is, and where Claude Code and XDG keep files.
 */
export function reporterEnvironment(): Record<string, string | undefined> {
  const e = process.env;
  return {
    CLAUDE_NAME: e.CLAUDE_NAME,
    RESOURCE_SHARE_URL: e.RESOURCE_SHARE_URL,
    RESOURCE_SHARE_TOKEN: e.RESOURCE_SHARE_TOKEN,
    CLAUDE_CONFIG_DIR: e.CLAUDE_CONFIG_DIR,
    XDG_STATE_HOME: e.XDG_STATE_HOME,
    HOME: e.HOME,
  };
}

/**
 * A listen address given as a name (HOST or WEB_HOST) must resolve, checked
 * before anything is opened: otherwise the server fails later with
 * "getaddrinfo ENOTFOUND", naming no setting. IP addresses were checked
 * with the other settings.
 */
export async function checkListenAddresses(config: Config, settings: ("HOST" | "WEB_HOST")[]): Promise<void> {
  for (const setting of settings) {
    const host = setting === "HOST" ? config.host : config.webHost;
    if (isIP(host) !== 0) continue;
    try {
      await lookup(host);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new StartupError(
        `Invalid setting: ${setting}: the name ${JSON.stringify(host)} does not resolve to an address (${code}); use an IP address of this machine such as 127.0.0.1, or a name in /etc/hosts or DNS. ${SEE_README}`,
      );
    }
  }
}

/** Under systemd, journald stamps each line; elsewhere the logger does. */
export function loggerFor(config: Config): Logger {
  return createLogger(config.logLevel, { withTime: !process.env.JOURNAL_STREAM });
}

export const handlerConfig = (config: Config): HandlerConfig => ({
  timeZone: config.timeZone,
  replayWindowDays: config.replayWindowDays,
  advice: config.advice,
  telemetryMarginPercent: config.telemetryMarginPercent,
  alerts: config.alerts,
});
